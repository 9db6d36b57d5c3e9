"""Materialize's types -> the Arrow types its native COPY TO S3 writes, and the vectorised conversions.

The table of scalar types, how each travels from the server (some as text, because that is faster
and exact), and the conversion of what the reader yields into the output type. The target is what
Materialize's COPY TO S3 writes (docs/reference.md's type mapping; Materialize's
``src/arrow-util/src/builder.rs``). :mod:`type_plan` applies this to a query's columns.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_materialize.export.client.conversions import (
    ValueConversionError,
    plain,
    reject_infinite,
    to_decimal,
)
from airflow_provider_materialize.export.describe import DescribedColumn
from airflow_provider_materialize.export.result import MATERIALIZE_TYPE_KEY
from airflow_provider_materialize.sql import DIMENSION_BITS

UNCONSTRAINED_NUMERIC_SCALE = 10
DECIMAL_PRECISION = 38


@dataclass(frozen=True)
class ScalarMapping:
    arrow_type: pa.DataType
    mz_name: str  # Materialize's type name in the ARROW:extension:name metadata
    read_as_text: bool = False


def scalar_mapping(type_name: str, column: DescribedColumn) -> ScalarMapping | None:
    fixed = {
        "bool": ScalarMapping(pa.bool_(), "boolean"),
        "int2": ScalarMapping(pa.int16(), "smallint"),
        "int4": ScalarMapping(pa.int32(), "integer"),
        "int8": ScalarMapping(pa.int64(), "bigint"),
        "uint2": ScalarMapping(pa.uint16(), "uint2", read_as_text=True),
        "uint4": ScalarMapping(pa.uint32(), "uint4", read_as_text=True),
        "uint8": ScalarMapping(pa.uint64(), "uint8", read_as_text=True),
        "float4": ScalarMapping(pa.float32(), "real"),
        "float8": ScalarMapping(pa.float64(), "double"),
        "bytea": ScalarMapping(pa.large_binary(), "bytea"),
        "uuid": ScalarMapping(pa.binary(16), "uuid"),
        "jsonb": ScalarMapping(pa.large_string(), "jsonb", read_as_text=True),
        "date": ScalarMapping(pa.date32(), "date"),
        "time": ScalarMapping(pa.time64("us"), "time"),
        "timestamp": ScalarMapping(pa.timestamp("us"), "timestamp"),
        "timestamptz": ScalarMapping(pa.timestamp("us", tz="+00:00"), "timestamptz"),
        "mz_timestamp": ScalarMapping(pa.uint64(), "mz_timestamp", read_as_text=True),
    }
    if type_name in fixed:
        return fixed[type_name]
    # Not "char" (typname "char"), the one-byte legacy type: Materialize's writer has no arm for it
    # (src/arrow-util/src/builder.rs), so it is refused as there.
    if type_name in ("text", "varchar", "bpchar"):
        arrow_type = pa.string() if column.length is not None and type_name != "text" else pa.large_string()
        return ScalarMapping(arrow_type, "text")
    if type_name == "numeric":
        scale = UNCONSTRAINED_NUMERIC_SCALE if column.scale is None else column.scale
        if scale > DECIMAL_PRECISION:
            return None
        # Read as is: both readers hand numeric over as its decimal text, which is cast exactly.
        return ScalarMapping(pa.decimal128(DECIMAL_PRECISION, scale), "numeric")
    return None


def mz_metadata(mz_name: str) -> dict[bytes, bytes]:
    """The field metadata naming Materialize's type (``materialize.v1.<name>``)."""
    return {MATERIALIZE_TYPE_KEY: f"materialize.v1.{mz_name}".encode()}


# Element / value types of lists and maps whose text form, as Materialize writes it inside a list
# or map, the leaf conversions turn into native's values exactly (tests/unit/export/client/).
NESTED_LEAVES = frozenset(
    {"bool", "int2", "int4", "int8", "uint2", "uint4", "uint8", "float4", "float8", "numeric"}
    | {"text", "varchar", "bpchar", "jsonb", "mz_timestamp"}
)


def read_type(mapping: ScalarMapping) -> pa.DataType:
    """The Arrow type the reader hands a column of this type over as."""
    if (
        mapping.read_as_text
        or pa.types.is_large_string(mapping.arrow_type)
        or pa.types.is_decimal(mapping.arrow_type)
    ):
        return pa.string()
    if pa.types.is_large_binary(mapping.arrow_type):
        return pa.binary()
    if pa.types.is_timestamp(mapping.arrow_type) and mapping.arrow_type.tz is not None:
        return pa.timestamp("us", tz="UTC")
    return mapping.arrow_type


def scalar_converter(mapping: ScalarMapping, column: str) -> Callable[[pa.Array], pa.Array]:
    """The conversion of one read column (``read_type``) into its output type, checking its values."""
    target = mapping.arrow_type

    def convert(array: pa.Array) -> pa.Array:
        array = plain(array)
        if pa.types.is_decimal(target):
            return to_decimal(array, target, column)
        if pa.types.is_date32(target) or pa.types.is_timestamp(target):
            reject_infinite(array, column)
        if array.type.equals(target):
            return array
        try:
            return pc.cast(array, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise ValueConversionError(f"column {column!r}: cannot convert to {target}: {error}") from error

    return convert


def _int32_scalar(value: int) -> pa.Scalar:
    """An int32 scalar built from a buffer: ``pa.scalar()`` (and a plain int passed to a compute
    function) imports pandas where it is installed, which costs the worker memory for nothing."""
    buffer = pa.py_buffer(value.to_bytes(4, sys.byteorder, signed=True))
    return pa.Array.from_buffers(pa.int32(), 1, [None, buffer])[0]


_DIMENSION_MASK = _int32_scalar((1 << DIMENSION_BITS) - 1)


def unpack_dimensions(packed: pa.Array, position: int) -> pa.Array:
    """One array column's dimension counts out of the packed values the read selects (``sql``'s
    ``packed_dimensions_expression``: three bits per column, the first lowest)."""
    shifted = pc.shift_right(packed, _int32_scalar(DIMENSION_BITS * position)) if position else packed
    return pc.cast(pc.bit_wise_and(shifted, _DIMENSION_MASK), pa.uint8())


def array_converter(
    items_field: pa.Field, dims_field: pa.Field, convert_element: Callable[[pa.Array], pa.Array]
) -> Callable[[pa.Array, pa.Array], pa.Array]:
    """The conversion of an array column (its items and its dimension count) into native's struct."""

    def convert(items: pa.Array, dimensions: pa.Array) -> pa.Array:
        items = plain(items)
        if isinstance(items, pa.ChunkedArray):
            items = items.combine_chunks()
        values = convert_element(items.values)
        # Null arrays are carried by the struct's validity; the non-nullable items stay plain lists.
        lists = pa.ListArray.from_arrays(items.offsets, values, type=items_field.type)
        return pa.StructArray.from_arrays(
            [lists, dimensions], fields=[items_field, dims_field], mask=items.is_null()
        )

    return convert  # type: ignore[return-value]
