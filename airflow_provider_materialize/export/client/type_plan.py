"""Map query columns to the Parquet schema Materialize's native COPY TO S3 writes, and convert batches.

The schema is decided once, from the query's column metadata, before any row is read: every file
gets exactly this schema. Each column also gets the SQL expression the reader selects (some types
travel as text because that is faster and exact) and a vectorised conversion of the batches the
reader yields into the output type. The target is what Materialize's COPY TO S3 writes (the type
mapping table in the README; Materialize's ``src/arrow-util/src/builder.rs``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_materialize.export.client.conversions import (
    ValueConversionError,
    compact_postgres_json,
    plain,
    reject_infinite,
    to_decimal,
)
from airflow_provider_materialize.export.client.nested_values import (
    decode,
    nested_arrow_type,
    shape_of,
    text_to_bool,
)
from airflow_provider_materialize.export.describe import NESTED_TYPES, DescribedColumn
from airflow_provider_materialize.export.result import MATERIALIZE_TYPE_KEY
from airflow_provider_materialize.sql import (
    ServerFlavor,
    array_dimensions_expression,
    quote_ident,
    text_array_expression,
    text_expression,
)

UNCONSTRAINED_NUMERIC_SCALE = 10
DECIMAL_PRECISION = 38


class UnsupportedColumnsError(ValueError):
    """One or more columns have types that cannot be written; raised before anything is written."""


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
    # Not "char" (typname "char"), the one-byte legacy type: Materialize's writer has no arm for it
    # (src/arrow-util/src/builder.rs), so it is refused as there.
    if type_name in ("text", "varchar", "bpchar"):
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
    return {MATERIALIZE_TYPE_KEY: f"materialize.v1.{mz_name}".encode()}


@dataclass(frozen=True)
class ColumnPlan:
    """How one column is read and written."""

    name: str  # output name (duplicates suffixed: a, a2, ...)
    alias: str  # the column's name in the read query's subquery: c0, c1, ... by position
    field: pa.Field  # output field
    select_expressions: tuple[str, ...]  # what the reader selects, over the aliased subquery column
    read_types: tuple[pa.DataType, ...]  # the Arrow type each select expression arrives as
    convert: Callable[..., pa.Array]  # read arrays (one per select expression) -> output array


@dataclass(frozen=True)
class ExportPlan:
    """The fixed output schema and the per-column read expressions and conversions."""

    columns: list[ColumnPlan]
    type_metadata: bool = True  # False: the files' schema has no materialize.v1.* names (field_metadata=)

    @property
    def schema(self) -> pa.Schema:
        """The output schema with each column's Materialize type name (the manifest describes it)."""
        return pa.schema([column.field for column in self.columns])

    @property
    def file_schema(self) -> pa.Schema:
        """The schema the Parquet files are written with."""
        return self.schema if self.type_metadata else without_field_metadata(self.schema)

    @property
    def column_aliases(self) -> list[str]:
        return [column.alias for column in self.columns]

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
        return pa.RecordBatch.from_arrays(arrays, schema=self.file_schema)


def without_field_metadata(schema: pa.Schema) -> pa.Schema:
    """``schema`` without field metadata at any depth (list items, struct fields)."""

    def plain_type(data_type: pa.DataType) -> pa.DataType:
        if pa.types.is_struct(data_type):
            return pa.struct([plain_field(child) for child in data_type])
        if pa.types.is_large_list(data_type):
            return pa.large_list(plain_field(data_type.value_field))
        if pa.types.is_list(data_type):
            return pa.list_(plain_field(data_type.value_field))
        if pa.types.is_map(data_type):
            return pa.map_(plain_field(data_type.key_field), plain_field(data_type.item_field))
        return data_type  # the plan makes no other nested types

    def plain_field(column: pa.Field) -> pa.Field:
        return pa.field(column.name, plain_type(column.type), column.nullable)

    return pa.schema([plain_field(column) for column in schema])


def unique_names(names: list[str]) -> list[str]:
    """Suffix repeated column names exactly as Materialize's COPY TO S3 does.

    It counts the occurrences of each original name only (``desc_to_schema`` in
    src/arrow-util/src/builder.rs): ``a, a, a`` become ``a, a2, a3``, and ``a, a, a2`` become
    ``a, a2, a2`` -- a repeated name that Materialize writes as such, and so does this.
    """
    seen: dict[str, int] = {}
    result = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        result.append(name if seen[name] == 1 else f"{name}{seen[name]}")
    return result


def plan_export(
    columns: list[DescribedColumn], flavor: ServerFlavor, *, type_metadata: bool = True
) -> ExportPlan:
    """Decide the output schema; fail naming every column whose type cannot be written.

    :param type_metadata: False to write the files without the ``materialize.v1.*`` field metadata.
    """
    names = unique_names([column.name for column in columns])
    plans: list[ColumnPlan] = []
    unsupported: list[str] = []
    for position, (name, column) in enumerate(zip(names, columns, strict=True)):
        plan = _plan_column(name, f"c{position}", column, flavor)
        if plan is None:
            unsupported.append(f"{column.name} ({column.shown_type})")
        else:
            plans.append(plan)
    if unsupported:
        raise UnsupportedColumnsError(
            "Cannot encode the following columns/types: " + ", ".join(unsupported) + ". "
            'Cast them in a query to a supported type, e.g. query="SELECT ..., col::text AS col FROM ..." '
            "(supported: boolean, integers, uint2/4/8, real, double, numeric, text, varchar, char, bytea, "
            "uuid, jsonb, date, time, timestamp, timestamptz, mz_timestamp and arrays of these; lists (also "
            "layered) and maps of boolean, integers, uint2/4/8, real, double, numeric, text, varchar, char, "
            "jsonb and mz_timestamp)"
        )
    return ExportPlan(plans, type_metadata)


def _plan_column(name: str, alias: str, column: DescribedColumn, flavor: ServerFlavor) -> ColumnPlan | None:
    # A column Materialize knows is NOT NULL is written as a required field (builder.rs desc_to_schema)
    nullable = not column.not_null
    if column.type_name in NESTED_TYPES:
        return _nested_plan(name, alias, column, flavor, nullable)
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
        items_expression = text_array_expression(alias) if mapping.read_as_text else quote_ident(alias)
        convert_element = _converter(mapping, flavor, name)
        return ColumnPlan(
            name=name,
            alias=alias,
            field=pa.field(
                name, pa.struct([items_field, dims_field]), nullable=nullable, metadata=_metadata("array")
            ),
            select_expressions=(items_expression, array_dimensions_expression(alias)),
            read_types=(pa.list_(_read_type(mapping)), pa.int32()),
            convert=_array_converter(items_field, dims_field, convert_element),
        )
    mapping = _scalar_mapping(column.type_name, column)
    if mapping is None:
        return None
    return ColumnPlan(
        name=name,
        alias=alias,
        field=pa.field(name, mapping.arrow_type, nullable=nullable, metadata=_metadata(mapping.mz_name)),
        select_expressions=(text_expression(alias) if mapping.read_as_text else quote_ident(alias),),
        read_types=(_read_type(mapping),),
        convert=_converter(mapping, flavor, name),
    )


# Element / value types of lists and maps whose text form, as Materialize writes it inside a list
# or map, the leaf conversions turn into native's values exactly (tests/unit/export/client/).
_NESTED_LEAVES = frozenset(
    {"bool", "int2", "int4", "int8", "uint2", "uint4", "uint8", "float4", "float8", "numeric"}
    | {"text", "varchar", "bpchar", "jsonb", "mz_timestamp"}
)


def _nested_plan(
    name: str, alias: str, column: DescribedColumn, flavor: ServerFlavor, nullable: bool
) -> ColumnPlan | None:
    """A list or map column: read as Materialize's text, decoded by ``nested_values``."""
    shape, leaf = shape_of(column)
    if shape is None or leaf is None or leaf.element_type_name is not None:
        return None
    if leaf.type_name not in _NESTED_LEAVES:
        return None
    mapping = _scalar_mapping(leaf.type_name, leaf)
    if mapping is None:
        return None
    target = nested_arrow_type(column, mapping.arrow_type, _metadata(mapping.mz_name))
    text_mapping = _ScalarMapping(mapping.arrow_type, mapping.mz_name, read_as_text=True)
    convert_leaf = text_to_bool if leaf.type_name == "bool" else _converter(text_mapping, flavor, name)

    def convert(texts: pa.Array) -> pa.Array:
        try:
            return decode(plain(texts), shape, target, convert_leaf)
        except ValueConversionError as error:
            raise ValueConversionError(f"column {name!r}: {error}") from error

    return ColumnPlan(
        name=name,
        alias=alias,
        field=pa.field(name, target, nullable=nullable, metadata=_metadata(column.type_name)),
        select_expressions=(text_expression(alias),),
        read_types=(pa.string(),),
        convert=convert,
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
        array = plain(array)
        if pa.types.is_decimal(target):
            return to_decimal(array, target, column)
        if mapping.mz_name == "jsonb" and flavor is ServerFlavor.POSTGRES:
            # PostgreSQL prints jsonb with blanks after ':' and ','; Materialize prints compact JSON.
            array = compact_postgres_json(array)
        if pa.types.is_date32(target) or pa.types.is_timestamp(target):
            reject_infinite(array, column)
        if array.type.equals(target):
            return array
        try:
            return pc.cast(array, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise ValueConversionError(f"column {column!r}: cannot convert to {target}: {error}") from error

    return convert


def _array_converter(
    items_field: pa.Field, dims_field: pa.Field, convert_element: Callable[[pa.Array], pa.Array]
) -> Callable[[pa.Array, pa.Array], pa.Array]:
    def convert(items: pa.Array, dimensions: pa.Array) -> pa.Array:
        items = plain(items)
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
