"""Column metadata -> parity schema, and the vectorised conversions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from airflow_provider_materialize.export.client.conversions import ValueConversionError
from airflow_provider_materialize.export.client.type_plan import (
    UnsupportedColumnsError,
    plan_export,
    unique_names,
)
from airflow_provider_materialize.export.describe import DescribedColumn
from airflow_provider_materialize.sql import ServerFlavor


def _numeric_typmod(precision: int, scale: int) -> int:
    return ((precision << 16) | scale) + 4


@pytest.mark.parametrize(
    ("column", "arrow_type", "mz_name", "expression"),
    [
        (DescribedColumn("c", "bool"), pa.bool_(), "boolean", '"c0"'),
        (DescribedColumn("c", "int2"), pa.int16(), "smallint", '"c0"'),
        (DescribedColumn("c", "int4"), pa.int32(), "integer", '"c0"'),
        (DescribedColumn("c", "int8"), pa.int64(), "bigint", '"c0"'),
        (DescribedColumn("c", "uint2"), pa.uint16(), "uint2", '"c0"::text'),
        (DescribedColumn("c", "uint4"), pa.uint32(), "uint4", '"c0"::text'),
        (DescribedColumn("c", "uint8"), pa.uint64(), "uint8", '"c0"::text'),
        (DescribedColumn("c", "float4"), pa.float32(), "real", '"c0"'),
        (DescribedColumn("c", "float8"), pa.float64(), "double", '"c0"'),
        (
            DescribedColumn("c", "numeric", typmod=_numeric_typmod(18, 4)),
            pa.decimal128(38, 4),
            "numeric",
            '"c0"',
        ),
        (DescribedColumn("c", "numeric"), pa.decimal128(38, 10), "numeric", '"c0"'),
        (DescribedColumn("c", "text"), pa.large_string(), "text", '"c0"'),
        (DescribedColumn("c", "varchar"), pa.large_string(), "text", '"c0"'),
        (DescribedColumn("c", "varchar", typmod=14), pa.string(), "text", '"c0"'),
        (DescribedColumn("c", "bpchar", typmod=9), pa.string(), "text", '"c0"'),
        (DescribedColumn("c", "bpchar"), pa.large_string(), "text", '"c0"'),
        (DescribedColumn("c", "bytea"), pa.large_binary(), "bytea", '"c0"'),
        (DescribedColumn("c", "uuid"), pa.binary(16), "uuid", '"c0"'),
        (DescribedColumn("c", "jsonb"), pa.large_string(), "jsonb", '"c0"::text'),
        (DescribedColumn("c", "date"), pa.date32(), "date", '"c0"'),
        (DescribedColumn("c", "time"), pa.time64("us"), "time", '"c0"'),
        (DescribedColumn("c", "timestamp"), pa.timestamp("us"), "timestamp", '"c0"'),
        (DescribedColumn("c", "timestamptz"), pa.timestamp("us", tz="+00:00"), "timestamptz", '"c0"'),
        (DescribedColumn("c", "mz_timestamp"), pa.uint64(), "mz_timestamp", '"c0"::text'),
    ],
)
def test_parity_table(column, arrow_type, mz_name, expression) -> None:
    plan = plan_export([column])
    field = plan.schema.field("c")
    assert field.type == arrow_type and field.nullable
    assert field.metadata == {b"ARROW:extension:name": f"materialize.v1.{mz_name}".encode()}
    assert plan.select_list == [expression]


def test_arrays_are_structs_of_items_and_dimensions() -> None:
    plan = plan_export(
        [DescribedColumn("a", "_numeric", element_type_name="numeric", typmod=_numeric_typmod(10, 2))]
    )
    field = plan.schema.field("a")
    assert field.metadata[b"ARROW:extension:name"] == b"materialize.v1.array"
    items, dims = field.type.field("items"), field.type.field("dimensions")
    assert items.type == pa.list_(pa.decimal128(38, 2)) and not items.nullable
    assert items.metadata[b"ARROW:extension:name"] == b"materialize.v1.array_items"
    assert items.type.value_field.metadata[b"ARROW:extension:name"] == b"materialize.v1.numeric"
    assert dims.type == pa.uint8() and not dims.nullable
    assert dims.metadata[b"ARROW:extension:name"] == b"materialize.v1.array_dimensions"
    counted = " + ".join(f'(array_length("c0", {n}) IS NOT NULL)::int4' for n in range(1, 7))
    one_or_none = '(array_length("c0", 1) IS NOT NULL)::int4'
    dimensions = f'(CASE WHEN array_length("c0", 2) IS NULL THEN {one_or_none} ELSE {counted} END)'
    assert plan.select_list == ['"c0"', dimensions]  # Materialize has no array_ndims
    batch = pa.record_batch(
        [pa.array([["1.5", "2"], None, []]), pa.array([1, 0, 0], pa.int32())], names=["x", "y"]
    )
    converted = plan.convert(batch).column(0).to_pylist()
    assert converted == [
        {"items": [Decimal("1.50"), Decimal("2.00")], "dimensions": 1},
        None,
        {"items": [], "dimensions": 0},
    ]


def test_postgresql_counts_array_dimensions_with_one_call() -> None:
    column = DescribedColumn("a", "_int4", element_type_name="int4")
    on_postgres = plan_export([column], flavor=ServerFlavor.POSTGRES)
    assert on_postgres.select_list == ['"c0"', 'coalesce(array_ndims("c0"), 0)']
    on_materialize = plan_export([column], flavor=ServerFlavor.MATERIALIZE)
    assert on_postgres.schema == on_materialize.schema
    assert "array_ndims" not in on_materialize.select_list[1]


def test_array_dimensions_travel_packed_ten_columns_per_value() -> None:
    arrays = [DescribedColumn(f"a{k}", "_int4", element_type_name="int4") for k in range(12)]
    # a scalar among the arrays: c0 id, c1-c5 arrays, c6 x, c7-c13 arrays
    columns = [DescribedColumn("id", "int8"), *arrays[:5], DescribedColumn("x", "int4"), *arrays[5:]]
    plan = plan_export(columns, flavor=ServerFlavor.POSTGRES)
    aliases = [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13]
    first = " + ".join(
        f'coalesce(array_ndims("c{alias}"), 0)' + (f" * {8**k}" if k else "")
        for k, alias in enumerate(aliases[:10])
    )
    second = 'coalesce(array_ndims("c12"), 0) + coalesce(array_ndims("c13"), 0) * 8'
    assert plan.select_list == [f'"c{k}"' for k in range(14)] + [first, second]
    assert plan.read_types[-2:] == [pa.int32(), pa.int32()]
    counts = [k % 7 for k in range(12)]  # 0 to 6 dimensions, every count
    packed = [sum(count << (3 * k) for k, count in enumerate(counts[:10])), counts[10] + (counts[11] << 3)]
    lists = [pa.array([[k]]) for k in range(12)]
    batch = pa.record_batch(
        [
            pa.array([1]),
            *lists[:5],
            pa.array([42], pa.int32()),
            *lists[5:],
            pa.array([packed[0]], pa.int32()),
            pa.array([packed[1]], pa.int32()),
        ],
        names=[f"x{k}" for k in range(16)],
    )
    row = plan.convert(batch).to_pylist()[0]
    assert [row[f"a{k}"]["dimensions"] for k in range(12)] == counts
    assert [row[f"a{k}"]["items"] for k in range(12)] == [[k] for k in range(12)]
    assert row["id"] == 1 and row["x"] == 42


def test_a_nested_column_is_never_given_an_array_dimension_count() -> None:
    # Materialize's list and map types are planned as nested values even where their type row
    # names an element type: only arrays read a packed dimension count.
    columns = [
        DescribedColumn("l", "list", element_type_name="int4", nested=DescribedColumn("", "int4")),
        DescribedColumn("a", "_int4", element_type_name="int4"),
    ]
    plan = plan_export(columns, flavor=ServerFlavor.POSTGRES)
    assert [column.dimensions for column in plan.columns] == [None, (0, 0)]
    assert plan.packed_dimensions == ('coalesce(array_ndims("c1"), 0)',)


def test_every_unsupported_column_is_named_with_a_fix() -> None:
    columns = [
        DescribedColumn("ok", "int4"),
        DescribedColumn("iv", "interval"),
        DescribedColumn("o", "oid"),
        DescribedColumn("r", "int4range"),
        DescribedColumn("aa", "_interval", element_type_name="interval"),
        DescribedColumn("big", "numeric", typmod=_numeric_typmod(80, 40)),
    ]
    with pytest.raises(UnsupportedColumnsError) as error:
        plan_export(columns)
    message = str(error.value)
    assert message.startswith(
        "Cannot encode the following columns/types: iv (interval), o (oid), "
        "r (int4range), aa (interval[]), big (numeric)"
    )
    assert "col::text" in message


def test_unique_names_suffix_duplicates_like_materialize() -> None:
    assert unique_names(["a", "a", "b", "a"]) == ["a", "a2", "b", "a3"]
    # desc_to_schema counts per original name only, so a suffixed name can repeat a given one
    assert unique_names(["a", "a", "a2"]) == ["a", "a2", "a2"]
    assert unique_names(["a2", "a", "a"]) == ["a2", "a", "a2"]


def test_duplicate_names_are_read_by_position() -> None:
    plan = plan_export(
        [DescribedColumn("a", "int4"), DescribedColumn("a", "text"), DescribedColumn("a2", "int8")]
    )
    assert plan.schema.names == ["a", "a2", "a2"]
    assert plan.column_aliases == ["c0", "c1", "c2"] and plan.select_list == ['"c0"', '"c1"', '"c2"']


def test_not_null_columns_become_required_fields() -> None:
    plan = plan_export(
        [
            DescribedColumn("id", "int8", not_null=True),
            DescribedColumn("note", "text"),
            DescribedColumn("tags", "_text", element_type_name="text", not_null=True),
        ],
    )
    assert [field.nullable for field in plan.schema] == [False, True, False]


def test_the_one_byte_char_type_is_refused_as_materialize_refuses_it() -> None:
    with pytest.raises(UnsupportedColumnsError, match=r"flag \(char\)"):
        plan_export([DescribedColumn("flag", "char")])


def _convert(column: DescribedColumn, array: pa.Array) -> list:
    plan = plan_export([column])
    return plan.convert(pa.record_batch([array], names=["c"])).column(0).to_pylist()


def test_numeric_text_becomes_exact_decimals() -> None:
    column = DescribedColumn("c", "numeric", typmod=_numeric_typmod(12, 3))
    assert _convert(column, pa.array(["1.500", "-0.001", None, "123456789.123"])) == [
        Decimal("1.500"),
        Decimal("-0.001"),
        None,
        Decimal("123456789.123"),
    ]
    assert _convert(DescribedColumn("c", "numeric"), pa.array(["1234"])) == [Decimal("1234.0000000000")]


@pytest.mark.parametrize("special", ["NaN", "nan", "Infinity", "-Infinity", "inf"])
def test_special_numerics_fail_clearly(special) -> None:
    with pytest.raises(ValueConversionError, match="Cannot represent special numeric value"):
        _convert(DescribedColumn("c", "numeric"), pa.array(["1", special]))


@pytest.mark.parametrize("value", ["0.00000000001", "1" * 29, "-" + "9" * 30 + ".5"])
def test_decimals_that_do_not_fit_fail_clearly(value) -> None:
    with pytest.raises(ValueConversionError, match="cannot represent decimal value"):
        _convert(DescribedColumn("c", "numeric"), pa.array([value]))


def test_jsonb_text_is_written_as_the_server_prints_it() -> None:
    # No per-value rewriting on any server: PostgreSQL's blanks after ',' and ':' stay (its key
    # order already differs from Materialize's, so no rewrite could give Materialize's bytes; see
    # docs/reference.md), and Materialize's compact text is kept as it is.
    values = ['{"a": "x, y: z", "b": [1, 2.5]}', None, '{"a":1}']
    assert _convert(DescribedColumn("c", "jsonb"), pa.array(values)) == values


def test_infinite_dates_and_timestamps_fail_clearly() -> None:
    wrapped_infinity = pa.array([-2147472692], pa.int32()).view(pa.date32())
    with pytest.raises(ValueConversionError, match="infinity"):
        _convert(DescribedColumn("c", "date"), wrapped_infinity)
    assert _convert(DescribedColumn("c", "date"), pa.array([dt.date(1, 1, 1), None])) == [
        dt.date(1, 1, 1),
        None,
    ]
    wrapped = pa.array([-9222425352054775809], pa.int64()).view(pa.timestamp("us", tz="UTC"))
    with pytest.raises(ValueConversionError, match="infinity"):
        _convert(DescribedColumn("c", "timestamptz"), wrapped)


def test_reader_extension_types_are_unwrapped() -> None:
    uuid_array = pa.ExtensionArray.from_storage(pa.uuid(), pa.array([b"\x01" * 16], pa.binary(16)))
    assert _convert(DescribedColumn("c", "uuid"), uuid_array) == [b"\x01" * 16]


def test_a_batch_with_the_wrong_width_is_refused() -> None:
    plan = plan_export([DescribedColumn("c", "int4")])
    with pytest.raises(ValueError, match="did the source change"):
        plan.convert(pa.record_batch([pa.array([1]), pa.array([2])], names=["a", "b"]))
