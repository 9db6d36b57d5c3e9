"""Vectorised value conversions client mode applies to each batch: exact, or a clear error naming the column.

No value is converted one by one in Python: every function works on whole Arrow arrays.
"""

from __future__ import annotations

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
