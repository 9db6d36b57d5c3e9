"""Vectorised value conversions client mode applies to each batch: exact, or a clear error naming the column.

No value is converted one by one in Python: every function works on whole Arrow arrays.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# PostgreSQL's sentinels for +-infinity, wrapped around by the binary reader, land far below the
# smallest real value (4713 BC): anything below these is an infinite date / timestamp.
_MIN_DATE32 = -2_500_000
_MIN_TIMESTAMP_US = -220_000_000_000_000_000
_SPECIAL_NUMERIC = r"(?i)^[+-]?(nan|inf|infinity)$"


class ValueConversionError(ValueError):
    """A value cannot be represented in the output type (NaN numeric, decimal too large, ...)."""


def plain(array: pa.Array) -> pa.Array:
    """Drop reader-specific extension types (arrow.uuid, arrow.json, opaque) down to their storage."""
    if isinstance(array.type, pa.BaseExtensionType):
        return array.storage
    return array


def compact_postgres_json(text: pa.Array) -> pa.Array:
    """Remove the whitespace outside string literals from PostgreSQL's jsonb text, exactly.

    One vectorised pass over the whole data buffer, whatever the values hold: the unescaped quotes
    (a quote is escaped iff an odd run of backslashes precedes it) split the buffer into runs that
    alternate between outside and inside string literals; bytes up to 0x20 outside literals are JSON
    whitespace (valid JSON has no raw control characters inside a literal) and are dropped, and each
    value's new end offset is its old one minus the bytes dropped before it. Every value is a complete
    JSON text, so each one starts outside a literal.

    Only PostgreSQL needs it: Materialize prints jsonb compact already (``strconv::format_jsonb``
    writes the value's ``Display``, which is ``serde_json::to_writer`` unless the alternate, pretty,
    form is asked for: ``impl fmt::Display for JsonbRef`` in ``src/repr/src/adt/jsonb.rs``).
    """
    return _compact_json(text, null_slots_empty=False)


def _compact_json(text: pa.Array, *, null_slots_empty: bool) -> pa.Array:
    if not len(text) or text.null_count == len(text):
        return text
    offset_type = np.int64 if pa.types.is_large_string(text.type) else np.int32
    _, offset_buffer, data_buffer = text.buffers()
    if data_buffer is None:
        return text
    offsets = np.frombuffer(
        offset_buffer, dtype=offset_type, count=len(text) + 1, offset=text.offset * offset_type().itemsize
    )
    first, last = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(data_buffer, dtype=np.uint8, count=last - first, offset=first)
    quotes = _unescaped_quotes(data)
    relative = offsets.astype(np.int64) - first
    valid = pc.is_valid(text) if text.null_count else None
    if valid is not None and not null_slots_empty and np.any(np.diff(relative)[~_unpacked(valid)]):
        # Bytes under null slots (allowed by Arrow) could unbalance the quotes: rebuild without them.
        # Checking the null slots' lengths costs a pass over the offsets, not a search per value.
        rebuilt = pc.if_else(valid, text, pa.nulls(len(text), text.type))
        return _compact_json(rebuilt, null_slots_empty=True)
    # In place where possible: each pass over the buffer costs about as much as the arithmetic.
    outside = np.ones(quotes.size + 1, dtype=bool)
    outside[1::2] = False
    drop = np.repeat(outside, np.diff(np.concatenate(([0], quotes, [data.size]))))
    np.logical_and(drop, data <= 0x20, out=drop)
    dropped = np.flatnonzero(drop)
    if not dropped.size:
        return text
    keep = np.logical_not(drop, out=drop)
    new_offsets = (relative - np.searchsorted(dropped, relative)).astype(offset_type)
    validity = valid.buffers()[1] if valid is not None else None
    return pa.Array.from_buffers(
        text.type,
        len(text),
        [validity, pa.py_buffer(new_offsets), pa.py_buffer(data[keep])],
        null_count=text.null_count,
    )


def _unpacked(mask: pa.BooleanArray) -> np.ndarray:
    """A boolean Arrow array without nulls as numpy booleans (``to_numpy`` would import pandas)."""
    bits = np.frombuffer(mask.buffers()[1], dtype=np.uint8)
    return np.unpackbits(bits, count=len(mask) + mask.offset, bitorder="little")[mask.offset :].view(bool)


def _unescaped_quotes(data: np.ndarray) -> np.ndarray:
    """Positions of the ``"`` bytes in ``data`` that no backslash escapes, in order."""
    is_quote = data == ord('"')
    backslashes = np.flatnonzero(data == ord("\\"))
    if backslashes.size:
        breaks = np.flatnonzero(np.diff(backslashes) != 1)
        run_starts = backslashes[np.concatenate(([0], breaks + 1))]
        run_ends = backslashes[np.concatenate((breaks, [backslashes.size - 1]))]
        escaped = run_ends[(run_ends - run_starts) % 2 == 0] + 1  # odd runs escape the next byte
        is_quote[escaped[escaped < data.size]] = False
    return np.flatnonzero(is_quote)


def to_decimal(text: pa.Array, target: pa.Decimal128Type, column: str) -> pa.Array:
    try:
        return pc.cast(text, target)
    except pa.ArrowInvalid as error:
        special = pc.match_substring_regex(text, _SPECIAL_NUMERIC)
        if pc.any(special).as_py():
            value = pc.filter(text, special)[0].as_py()
            raise ValueConversionError(
                f"column {column!r}: Cannot represent special numeric value {value!r} in Parquet decimal; "
                "filter it out or cast the column to double in a query"
            ) from error
        raise ValueConversionError(
            f"column {column!r}: cannot represent decimal value as "
            f"decimal128({target.precision}, {target.scale}) "
            f"({error}); values need at most {target.precision - target.scale} integer and {target.scale} "
            "fractional digits: round or cast the column in a query, e.g. col::numeric(38, 10)"
        ) from error


def reject_infinite(array: pa.Array, column: str) -> None:
    if array.null_count == len(array):
        return
    storage = array.view(pa.int32() if pa.types.is_date32(array.type) else pa.int64())
    smallest = pc.min(storage).as_py()
    floor = _MIN_DATE32 if pa.types.is_date32(array.type) else _MIN_TIMESTAMP_US
    if smallest is not None and smallest < floor:
        raise ValueConversionError(
            f"column {column!r} holds 'infinity' or '-infinity', which Parquet cannot represent; "
            "filter those rows out or replace them in a query"
        )
