"""Map query columns to the Parquet schema Materialize's native COPY TO S3 writes, and convert batches.

The schema is decided once, from the query's column metadata, before any row is read: every file
gets exactly this schema. Each column also gets the SQL expression the reader selects and a
vectorised conversion of the batches the reader yields into the output type; the per-type table
and conversions are in :mod:`type_mapping`, list and map decoding in :mod:`nested_values`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property

import pyarrow as pa

from airflow_provider_materialize.export.client.conversions import ValueConversionError, plain
from airflow_provider_materialize.export.client.nested_values import (
    decode,
    nested_arrow_type,
    shape_of,
    text_to_bool,
)
from airflow_provider_materialize.export.client.type_mapping import (
    NESTED_LEAVES,
    ScalarMapping,
    array_converter,
    mz_metadata,
    read_type,
    scalar_converter,
    scalar_mapping,
    unpack_dimensions,
)
from airflow_provider_materialize.export.describe import NESTED_TYPES, DescribedColumn
from airflow_provider_materialize.sql import (
    ARRAYS_PER_PACKED_DIMENSIONS,
    ServerFlavor,
    packed_dimensions_expression,
    quote_ident,
    text_array_expression,
    text_expression,
)


class UnsupportedColumnsError(ValueError):
    """One or more columns have types that cannot be written; raised before anything is written."""


@dataclass(frozen=True)
class ColumnPlan:
    """How one column is read and written."""

    name: str  # output name (duplicates suffixed: a, a2, ...)
    alias: str  # the column's name in the read query's subquery: c0, c1, ... by position
    field: pa.Field  # output field
    select_expressions: tuple[str, ...]  # what the reader selects, over the aliased subquery column
    read_types: tuple[pa.DataType, ...]  # the Arrow type each select expression arrives as
    convert: Callable[..., pa.Array]  # read arrays (one per select expression) -> output array
    # Arrays: which packed dimension value holds this column's count, and at which position; convert
    # then takes the unpacked counts after its own read arrays.
    dimensions: tuple[int, int] | None = None


@dataclass(frozen=True)
class ExportPlan:
    """The fixed output schema and the per-column read expressions and conversions."""

    columns: list[ColumnPlan]
    type_metadata: bool = True  # False: the files' schema has no materialize.v1.* names (field_metadata=)
    # Read after the columns' own expressions: the array columns' dimension counts, ten per value.
    packed_dimensions: tuple[str, ...] = ()

    @property
    def schema(self) -> pa.Schema:
        """The output schema with each column's Materialize type name (the manifest describes it)."""
        return pa.schema([column.field for column in self.columns])

    @cached_property
    def file_schema(self) -> pa.Schema:
        """The schema the Parquet files are written with (built once: ``convert`` uses it per batch)."""
        return self.schema if self.type_metadata else without_field_metadata(self.schema)

    @property
    def column_aliases(self) -> list[str]:
        return [column.alias for column in self.columns]

    @property
    def read_types(self) -> list[pa.DataType]:
        own = [read_type for column in self.columns for read_type in column.read_types]
        return own + [pa.int32()] * len(self.packed_dimensions)

    @property
    def select_list(self) -> list[str]:
        own = [expression for column in self.columns for expression in column.select_expressions]
        return own + list(self.packed_dimensions)

    @cached_property
    def _read_width(self) -> int:
        """How many columns the read query returns (``convert`` checks every batch against it)."""
        return len(self.select_list)

    def convert(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Turn a batch of the read query into a batch of the output schema (vectorised)."""
        expected = self._read_width
        if batch.num_columns != expected:
            raise ValueError(
                f"the server returned {batch.num_columns} columns where {expected} were expected; "
                "did the source change during the export?"
            )
        packed = batch.columns[expected - len(self.packed_dimensions) :]
        arrays, position = [], 0
        for plan in self.columns:
            width = len(plan.select_expressions)
            read = batch.columns[position : position + width]
            if plan.dimensions is not None:
                group, slot = plan.dimensions
                read = [*read, unpack_dimensions(packed[group], slot)]
            arrays.append(plan.convert(*read))
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
    columns: list[DescribedColumn],
    *,
    flavor: ServerFlavor = ServerFlavor.MATERIALIZE,
    type_metadata: bool = True,
) -> ExportPlan:
    """Decide the output schema; fail naming every column whose type cannot be written.

    :param flavor: The server the rows are read from: the read expressions may differ (never the
        schema).
    :param type_metadata: False to write the files without the ``materialize.v1.*`` field metadata.
    """
    names = unique_names([column.name for column in columns])
    plans: list[ColumnPlan] = []
    arrays: list[int] = []  # positions in plans of the array columns
    unsupported: list[str] = []
    for position, (name, column) in enumerate(zip(names, columns, strict=True)):
        plan = _plan_column(name, f"c{position}", column)
        if plan is None:
            unsupported.append(f"{column.name} ({column.shown_type})")
        else:
            if _array_element(column) is not None:
                arrays.append(len(plans))
            plans.append(plan)
    if unsupported:
        raise UnsupportedColumnsError(
            "Cannot encode the following columns/types: " + ", ".join(unsupported) + ". "
            'Cast them in a query to a supported type, e.g. query="SELECT ..., col::text AS col FROM ..." '
            "in the DAG; from the Trigger form, set source to a view that casts them "
            "(supported: boolean, integers, uint2/4/8, real, double, numeric, text, varchar, char, bytea, "
            "uuid, jsonb, date, time, timestamp, timestamptz, mz_timestamp and arrays of these; lists (also "
            "layered) and maps of boolean, integers, uint2/4/8, real, double, numeric, text, varchar, char, "
            "jsonb and mz_timestamp)"
        )
    return _with_packed_dimensions(plans, arrays, type_metadata, flavor)


def _array_element(column: DescribedColumn) -> str | None:
    """The element type of an array column (None for every other column, Materialize's nested
    list and map types included)."""
    return None if column.type_name in NESTED_TYPES else column.element_type_name


def _with_packed_dimensions(
    plans: list[ColumnPlan], arrays: list[int], type_metadata: bool, flavor: ServerFlavor
) -> ExportPlan:
    """Give each array column its place in the packed dimension counts (ten columns per value)."""
    groups = [
        arrays[start : start + ARRAYS_PER_PACKED_DIMENSIONS]
        for start in range(0, len(arrays), ARRAYS_PER_PACKED_DIMENSIONS)
    ]
    for group_index, group in enumerate(groups):
        for slot, index in enumerate(group):
            plans[index] = replace(plans[index], dimensions=(group_index, slot))
    packed = tuple(
        packed_dimensions_expression([plans[index].alias for index in group], flavor) for group in groups
    )
    return ExportPlan(plans, type_metadata, packed)


def _plan_column(name: str, alias: str, column: DescribedColumn) -> ColumnPlan | None:
    # A column Materialize knows is NOT NULL is written as a required field (builder.rs desc_to_schema)
    nullable = not column.not_null
    if column.type_name in NESTED_TYPES:
        return _nested_plan(name, alias, column, nullable)
    element_type = _array_element(column)
    if element_type is not None:
        element = DescribedColumn(name, element_type, typmod=column.typmod)
        mapping = scalar_mapping(element_type, element)
        if mapping is None or element_type.startswith("_"):
            return None
        items_field = pa.field(
            "items",
            pa.list_(pa.field("item", mapping.arrow_type, metadata=mz_metadata(mapping.mz_name))),
            nullable=False,
            metadata=mz_metadata("array_items"),
        )
        dims_field = pa.field(
            "dimensions", pa.uint8(), nullable=False, metadata=mz_metadata("array_dimensions")
        )
        items_expression = text_array_expression(alias) if mapping.read_as_text else quote_ident(alias)
        convert_element = scalar_converter(mapping, name)
        return ColumnPlan(
            name=name,
            alias=alias,
            field=pa.field(
                name,
                pa.struct([items_field, dims_field]),
                nullable=nullable,
                metadata=mz_metadata("array"),
            ),
            select_expressions=(items_expression,),  # its dimension count is packed (plan_export)
            read_types=(pa.list_(read_type(mapping)),),
            convert=array_converter(items_field, dims_field, convert_element),
        )
    mapping = scalar_mapping(column.type_name, column)
    if mapping is None:
        return None
    return ColumnPlan(
        name=name,
        alias=alias,
        field=pa.field(name, mapping.arrow_type, nullable=nullable, metadata=mz_metadata(mapping.mz_name)),
        select_expressions=(text_expression(alias) if mapping.read_as_text else quote_ident(alias),),
        read_types=(read_type(mapping),),
        convert=scalar_converter(mapping, name),
    )


def _nested_plan(name: str, alias: str, column: DescribedColumn, nullable: bool) -> ColumnPlan | None:
    """A list or map column: read as Materialize's text, decoded by ``nested_values``."""
    shape, leaf = shape_of(column)
    if shape is None or leaf is None or leaf.element_type_name is not None:
        return None
    if leaf.type_name not in NESTED_LEAVES:
        return None
    mapping = scalar_mapping(leaf.type_name, leaf)
    if mapping is None:
        return None
    target = nested_arrow_type(column, mapping.arrow_type, mz_metadata(mapping.mz_name))
    text_mapping = ScalarMapping(mapping.arrow_type, mapping.mz_name, read_as_text=True)
    convert_leaf = text_to_bool if leaf.type_name == "bool" else scalar_converter(text_mapping, name)

    def convert(texts: pa.Array) -> pa.Array:
        try:
            return decode(plain(texts), shape, target, convert_leaf)
        except ValueConversionError as error:
            raise ValueConversionError(f"column {name!r}: {error}") from error

    return ColumnPlan(
        name=name,
        alias=alias,
        field=pa.field(name, target, nullable=nullable, metadata=mz_metadata(column.type_name)),
        select_expressions=(text_expression(alias),),
        read_types=(pa.string(),),
        convert=convert,
    )
