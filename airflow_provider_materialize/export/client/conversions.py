"""Vectorised value conversions client mode applies to each batch: exact, or a clear error naming the column.

No value is converted one by one in Python: every function works on whole Arrow arrays.
"""

from __future__ import annotations

import struct

import pyarrow as pa
import pyarrow.compute as pc

# PostgreSQL's sentinels for +-infinity, wrapped around by the binary reader, land far below the
# smallest real value (4713 BC): anything below these is an infinite date / timestamp.
_MIN_DATE32 = -2_500_000
_MIN_TIMESTAMP_US = -220_000_000_000_000_000
_SPECIAL_NUMERIC = r"(?i)^[+-]?(nan|inf|infinity)$"
_JSON_WHITESPACE = r'("(?:[^"\\]|\\.)*")|\s+'
# Values the plain " " -> "" replacement would get wrong: whitespace inside a string literal (found by
# walking the string literals from the start), or whitespace other than a blank anywhere.
_JSON_NEEDS_REGEX = r'^(?:[^"]|"(?:[^"\\]|\\.)*")*"(?:[^"\\]|\\.)*\s|[\t\n\f\r]'


class ValueConversionError(ValueError):
    """A value cannot be represented in the output type (NaN numeric, decimal too large, ...)."""


def plain(array: pa.Array) -> pa.Array:
    """Drop reader-specific extension types (arrow.uuid, arrow.json, opaque) down to their storage."""
    if isinstance(array.type, pa.BaseExtensionType):
        return array.storage
    return array


def compact_postgres_json(text: pa.Array) -> pa.Array:
    """Remove the whitespace outside string literals from PostgreSQL's jsonb text.

    The general regex (keep string literals, drop whitespace runs) must capture every string and is
    about 5x slower than two DFA-only passes, so it only runs on the values that need it; in the others
    every blank is one of PostgreSQL's ", " / ": " separators and is dropped with a plain replace.
    """
    compacted = pc.replace_substring(text, " ", "")
    if not _any_value_matches(text, _JSON_NEEDS_REGEX):
        return compacted
    matches = pc.match_substring_regex(text, _JSON_NEEDS_REGEX)
    # null -> false without pc.fill_null(..., False): making that Python scalar imports pandas
    needs_regex = pc.and_kleene(matches, pc.is_valid(matches))
    tricky = pc.replace_substring_regex(pc.filter(text, needs_regex), _JSON_WHITESPACE, r"\1")
    return pc.replace_with_mask(compacted, needs_regex, tricky)


def _any_value_matches(text: pa.Array, json_pattern: str) -> bool:
    """Whether ``json_pattern`` matches in any value, searched once over all values end to end.

    One search over the whole data buffer costs half as much as one per value. It gives the same
    answer because every value is a complete JSON text: each one starts outside any string literal,
    as the pattern's walk from ``^`` expects. Null slots must be empty for that (they are, from both
    readers); otherwise each value is searched on its own.
    """
    offset_format = "<q" if pa.types.is_large_string(text.type) else "<i"
    offset_width = struct.calcsize(offset_format)
    _, offsets, data = text.buffers()
    if data is None or not len(text):
        return False  # no value has a character to match
    first, last = (
        struct.unpack_from(offset_format, offsets, offset_width * index)[0]
        for index in (text.offset, text.offset + len(text))
    )
    if text.null_count and pc.sum(pc.binary_length(text)).as_py() != last - first:
        return bool(pc.any(pc.match_substring_regex(text, json_pattern)).as_py())
    whole = pa.LargeStringArray.from_buffers(
        1, pa.py_buffer(struct.pack("<2q", 0, last - first)), data.slice(first, last - first)
    )
    return bool(pc.match_substring_regex(whole, json_pattern)[0].as_py())


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
