"""Map query columns to the Parquet schema Materialize's native COPY TO S3 writes, and convert batches.

The schema is decided once, from the query's column metadata, before any row is read: every file
gets exactly this schema. Each column also gets the SQL expression the reader selects (some types
travel as text because that is faster and exact) and a vectorised conversion of the batches the
reader yields into the output type. See the parity table in ``shared/reference/materialize.md``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_materialize.dialect import (
    ServerFlavor,
    array_dimensions_expression,
    quote_ident,
    text_array_expression,
    text_expression,
)

EXTENSION_KEY = b"ARROW:extension:name"
UNCONSTRAINED_NUMERIC_SCALE = 10
DECIMAL_PRECISION = 38

# PostgreSQL's sentinels for +-infinity, wrapped around by the binary reader, land far below the
# smallest real value (4713 BC): anything below these is an infinite date / timestamp.
_MIN_DATE32 = -2_500_000
_MIN_TIMESTAMP_US = -220_000_000_000_000_000
_SPECIAL_NUMERIC = r"(?i)^[+-]?(nan|inf|infinity)$"
_JSON_WHITESPACE = r'("(?:[^"\\]|\\.)*")|\s+'
# Values the plain " " -> "" replacement would get wrong: whitespace inside a string literal (found by
# walking the string literals from the start), or whitespace other than a blank anywhere.
_JSON_NEEDS_REGEX = r'^(?:[^"]|"(?:[^"\\]|\\.)*")*"(?:[^"\\]|\\.)*\s|[\t\n\f\r]'


class UnsupportedColumnsError(ValueError):
    """One or more columns have types that cannot be written; raised before anything is written."""


class ValueConversionError(ValueError):
    """A value cannot be represented in the output type (NaN numeric, decimal too large, ...)."""


@dataclass(frozen=True)
class DescribedColumn:
    """What the server says about one result column."""

    name: str
    type_name: str  # pg_type.typname, e.g. "int4", "numeric", "_text"
    element_type_name: str | None = None  # for arrays: the element's typname
    typmod: int = -1  # the type modifier (of the elements, for arrays); -1 when there is none

    @property
    def length(self) -> int | None:
        """n of varchar(n) / char(n)."""
        return self.typmod - 4 if self.typmod >= 4 else None

    @property
    def scale(self) -> int | None:
        """s of numeric(p, s)."""
        return (self.typmod - 4) & 0xFFFF if self.typmod >= 4 else None


@dataclass(frozen=True)
class _ScalarMapping:
    arrow_type: pa.DataType
    mz_name: str  # Materialize's type name in the ARROW:extension:name metadata
    read_as_text: bool = False


def _scalar_mapping(type_name: str, column: DescribedColumn) -> _ScalarMapping | None:
    fixed = {
        "bool": _ScalarMapping(pa.bool_(), "boolean"),
        "int2": _ScalarMapping(pa.int16(), "smallint"),
        "int4": _ScalarMapping(pa.int32(), "integer"),
        "int8": _ScalarMapping(pa.int64(), "bigint"),
        "uint2": _ScalarMapping(pa.uint16(), "uint2", read_as_text=True),
        "uint4": _ScalarMapping(pa.uint32(), "uint4", read_as_text=True),
        "uint8": _ScalarMapping(pa.uint64(), "uint8", read_as_text=True),
        "float4": _ScalarMapping(pa.float32(), "real"),
        "float8": _ScalarMapping(pa.float64(), "double"),
        "bytea": _ScalarMapping(pa.large_binary(), "bytea"),
        "uuid": _ScalarMapping(pa.binary(16), "uuid"),
        "jsonb": _ScalarMapping(pa.large_string(), "jsonb", read_as_text=True),
        "date": _ScalarMapping(pa.date32(), "date"),
        "time": _ScalarMapping(pa.time64("us"), "time"),
        "timestamp": _ScalarMapping(pa.timestamp("us"), "timestamp"),
        "timestamptz": _ScalarMapping(pa.timestamp("us", tz="+00:00"), "timestamptz"),
        "mz_timestamp": _ScalarMapping(pa.uint64(), "mz_timestamp", read_as_text=True),
    }
    if type_name in fixed:
        return fixed[type_name]
    if type_name in ("text", "varchar", "bpchar", "char"):
        arrow_type = pa.string() if column.length is not None and type_name != "text" else pa.large_string()
        return _ScalarMapping(arrow_type, "text")
    if type_name == "numeric":
        scale = UNCONSTRAINED_NUMERIC_SCALE if column.scale is None else column.scale
        if scale > DECIMAL_PRECISION:
            return None
        # Read as is: both readers hand numeric over as its decimal text, which is cast exactly.
        return _ScalarMapping(pa.decimal128(DECIMAL_PRECISION, scale), "numeric")
    return None


def _metadata(mz_name: str) -> dict[bytes, bytes]:
    return {EXTENSION_KEY: f"materialize.v1.{mz_name}".encode()}


@dataclass(frozen=True)
class ColumnPlan:
    """How one column is read and written."""

    name: str  # output name (duplicates suffixed: a, a2, ...)
    field: pa.Field  # output field
    select_expressions: tuple[str, ...]  # what the reader selects, over the aliased subquery column
    read_types: tuple[pa.DataType, ...]  # the Arrow type each select expression arrives as
    convert: Callable[..., pa.Array]  # read arrays (one per select expression) -> output array


@dataclass(frozen=True)
class ExportPlan:
    """The fixed output schema and the per-column read expressions and conversions."""

    columns: list[ColumnPlan]

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([column.field for column in self.columns])

    @property
    def column_aliases(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def read_types(self) -> list[pa.DataType]:
        return [read_type for column in self.columns for read_type in column.read_types]

    @property
    def select_list(self) -> list[str]:
        return [expression for column in self.columns for expression in column.select_expressions]

    def convert(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Turn a batch of the read query into a batch of the output schema (vectorised)."""
        expected = len(self.select_list)
        if batch.num_columns != expected:
            raise ValueError(
                f"the server returned {batch.num_columns} columns where {expected} were expected; "
                "did the source change during the export?"
            )
        arrays, position = [], 0
        for plan in self.columns:
            width = len(plan.select_expressions)
            arrays.append(plan.convert(*batch.columns[position : position + width]))
            position += width
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)


def unique_names(names: list[str]) -> list[str]:
    """Suffix repeated column names with 2, 3, ... as Materialize does (``a``, ``a2``)."""
    seen: set[str] = set()
    result = []
    for name in names:
        candidate, counter = name, 1
        while candidate in seen:
            counter += 1
            candidate = f"{name}{counter}"
        seen.add(candidate)
        result.append(candidate)
    return result


def plan_export(columns: list[DescribedColumn], flavor: ServerFlavor) -> ExportPlan:
    """Decide the output schema; fail naming every column whose type cannot be written."""
    names = unique_names([column.name for column in columns])
    plans: list[ColumnPlan] = []
    unsupported: list[str] = []
    for name, column in zip(names, columns, strict=True):
        plan = _plan_column(name, column, flavor)
        if plan is None:
            shown = column.type_name.lstrip("_") + ("[]" if column.element_type_name else "")
            unsupported.append(f"{column.name} ({shown})")
        else:
            plans.append(plan)
    if unsupported:
        raise UnsupportedColumnsError(
            "Cannot encode the following columns/types: " + ", ".join(unsupported) + ". "
            'Cast them in a query to a supported type, e.g. query="SELECT ..., col::text AS col FROM ..." '
            "(supported: boolean, integers, uint2/4/8, real, double, numeric, text, varchar, char, bytea, "
            "uuid, jsonb, date, time, timestamp, timestamptz, mz_timestamp and arrays of these)"
        )
    return ExportPlan(plans)


def _plan_column(name: str, column: DescribedColumn, flavor: ServerFlavor) -> ColumnPlan | None:
    if column.element_type_name is not None:
        element = DescribedColumn(name, column.element_type_name, typmod=column.typmod)
        mapping = _scalar_mapping(column.element_type_name, element)
        if mapping is None or column.element_type_name.startswith("_"):
            return None
        items_field = pa.field(
            "items",
            pa.list_(pa.field("item", mapping.arrow_type, metadata=_metadata(mapping.mz_name))),
            nullable=False,
            metadata=_metadata("array_items"),
        )
        dims_field = pa.field(
            "dimensions", pa.uint8(), nullable=False, metadata=_metadata("array_dimensions")
        )
        items_expression = text_array_expression(name) if mapping.read_as_text else quote_ident(name)
        convert_element = _converter(mapping, flavor, name)
        return ColumnPlan(
            name=name,
            field=pa.field(name, pa.struct([items_field, dims_field]), metadata=_metadata("array")),
            select_expressions=(items_expression, array_dimensions_expression(name)),
            read_types=(pa.list_(_read_type(mapping)), pa.int32()),
            convert=_array_converter(items_field, dims_field, convert_element),
        )
    mapping = _scalar_mapping(column.type_name, column)
    if mapping is None:
        return None
    return ColumnPlan(
        name=name,
        field=pa.field(name, mapping.arrow_type, metadata=_metadata(mapping.mz_name)),
        select_expressions=(text_expression(name) if mapping.read_as_text else quote_ident(name),),
        read_types=(_read_type(mapping),),
        convert=_converter(mapping, flavor, name),
    )


def _read_type(mapping: _ScalarMapping) -> pa.DataType:
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


def _converter(mapping: _ScalarMapping, flavor: ServerFlavor, column: str) -> Callable[[pa.Array], pa.Array]:
    target = mapping.arrow_type

    def convert(array: pa.Array) -> pa.Array:
        array = _plain(array)
        if pa.types.is_decimal(target):
            return _to_decimal(array, target, column)
        if mapping.mz_name == "jsonb" and flavor is ServerFlavor.POSTGRES:
            # PostgreSQL prints jsonb with blanks after ':' and ','; Materialize prints compact JSON.
            array = _compact_postgres_json(array)
        if pa.types.is_date32(target) or pa.types.is_timestamp(target):
            _reject_infinite(array, column)
        if array.type.equals(target):
            return array
        try:
            return pc.cast(array, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise ValueConversionError(f"column {column!r}: cannot convert to {target}: {error}") from error

    return convert


def _plain(array: pa.Array) -> pa.Array:
    """Drop reader-specific extension types (arrow.uuid, arrow.json, opaque) down to their storage."""
    if isinstance(array.type, pa.BaseExtensionType):
        return array.storage
    return array


def _compact_postgres_json(text: pa.Array) -> pa.Array:
    """Remove the whitespace outside string literals from PostgreSQL's jsonb text.

    The general regex (keep string literals, drop whitespace runs) must capture every string and is
    about 5x slower than two DFA-only passes, so it only runs on the values that need it; in the others
    every blank is one of PostgreSQL's ", " / ": " separators and is dropped with a plain replace.
    """
    compacted = pc.replace_substring(text, " ", "")
    if not _any_value_matches(text, _JSON_NEEDS_REGEX):
        return compacted
    matches = pc.match_substring_regex(text, _JSON_NEEDS_REGEX)
    # null -> false without pc.fill_null(..., False): making that Python scalar imports pandas (40 MB)
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


def _to_decimal(text: pa.Array, target: pa.Decimal128Type, column: str) -> pa.Array:
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


def _reject_infinite(array: pa.Array, column: str) -> None:
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


def _array_converter(
    items_field: pa.Field, dims_field: pa.Field, convert_element: Callable[[pa.Array], pa.Array]
) -> Callable[[pa.Array, pa.Array], pa.Array]:
    def convert(items: pa.Array, dimensions: pa.Array) -> pa.Array:
        items = _plain(items)
        if isinstance(items, pa.ChunkedArray):
            items = items.combine_chunks()
        values = convert_element(items.values)
        # Null arrays are carried by the struct's validity; the non-nullable items stay plain lists.
        lists = pa.ListArray.from_arrays(items.offsets, values, type=items_field.type)
        dims = pc.cast(dimensions, pa.uint8())
        return pa.StructArray.from_arrays(
            [lists, dims], fields=[items_field, dims_field], mask=items.is_null()
        )

    return convert  # type: ignore[return-value]
