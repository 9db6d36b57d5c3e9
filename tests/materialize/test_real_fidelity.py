"""Opt-in: client mode writes what Materialize's own COPY TO S3 writes, checked against a real Materialize.

Each test proves one fix of a mismatch between the provider and Materialize, and names the
Materialize source file its expectation comes from. Needs only ``MATERIALIZE_TEST_URL`` (see
``test_real_materialize.py``): the files go to the suite's own S3-compatible server. The same
exports compared with native mode's files are in ``test_real_native_fidelity.py``. For example:

    MATERIALIZE_TEST_URL=postgresql://materialize@localhost:6875/materialize pytest tests/materialize -rs
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from airflow_provider_materialize.export.client.type_plan import UnsupportedColumnsError
from airflow_provider_materialize.hooks.materialize import MaterializeHook
from tests.materialize.conftest import CLUSTER, MATERIALIZE_URL, NO_MATERIALIZE
from tests.materialize.parquet_checks import has_statistics, nullability, parquet_layout
from tests.support.operator_run import run_operator
from tests.support.s3_objects import file_keys, list_keys, read_parquet

pytestmark = [pytest.mark.materialize, pytest.mark.skipif(not MATERIALIZE_URL, reason=NO_MATERIALIZE)]

EXTENSION = b"ARROW:extension:name"


def export(s3: Any, bucket: str, **kwargs: Any) -> Any:
    """Export in client mode into a fresh folder; the one Parquet file written."""
    stats = run_operator(s3_uri=f"s3://{bucket}/{uuid.uuid4().hex[:8]}/", cluster=CLUSTER, **kwargs)
    assert stats["mode"] == "client"
    (key,) = file_keys(stats)
    return read_parquet(s3, bucket, key)


def test_connection_reports_materialize_its_version_and_the_cluster(materialize) -> None:
    # mz_version() is BuildInfo::human_version, "v<version> (<sha>)": src/build-info/src/lib.rs
    hook = MaterializeHook()
    (version,) = hook.get_first("SELECT mz_version()")
    assert re.fullmatch(r"v\d+\.\d+\.\d+\S* \(.+\)", version)
    assert hook.test_connection() == (True, f"Connected to Materialize {version}, cluster {CLUSTER}")


@pytest.mark.parametrize("reader", ["adbc", "csv"])
def test_unconstrained_numeric_sum_is_decimal128_38_10(materialize, s3, bucket, reader) -> None:
    # numeric without a scale -> Decimal128(38, DECIMAL_DEFAULT_SCALE = 10): src/arrow-util/src/builder.rs
    parquet = export(
        s3, bucket, query="SELECT sum(n) AS s FROM (VALUES (1.5::numeric), (2)) AS t(n)", reader=reader
    )
    field = parquet.schema_arrow.field("s")
    assert field.type == pa.decimal128(38, 10) and field.metadata[EXTENSION] == b"materialize.v1.numeric"
    assert parquet.read().column("s").to_pylist() == [Decimal("3.5")]


def test_array_elements_keep_their_declared_scale_and_length(fidelity, s3, bucket) -> None:
    # "item" has the element's own type (varchar(5) -> Utf8, not LargeUtf8): src/arrow-util/src/builder.rs
    parquet = export(s3, bucket, source=f"{fidelity}.typed_arrays", reader="adbc")
    schema = parquet.schema_arrow
    elements = {name: schema.field(name).type.field("items").type.value_type for name in schema.names}
    assert elements == {"amounts": pa.decimal128(38, 16), "codes": pa.string()}  # not large_string
    rows = sorted(parquet.read().to_pylist(), key=lambda row: row["amounts"] is None)
    assert rows == [
        {
            "amounts": {"items": [Decimal("1.5"), Decimal("2.25")], "dimensions": 1},
            "codes": {"items": ["ab", "cde"], "dimensions": 1},
        },
        {"amounts": None, "codes": None},
    ]


def test_two_dimensional_array_has_dimensions_2_without_array_ndims(materialize, s3, bucket) -> None:
    # dimensions = arr.dims().ndims() in src/arrow-util/src/builder.rs (no array_ndims in src/sql/src/func.rs)
    query = "SELECT '{{1,2},{3,4}}'::int[] AS grid, '{5,6}'::int[] AS line, '{}'::int[] AS empty"
    parquet = export(s3, bucket, query=query, reader="adbc")
    assert parquet.read().to_pylist() == [
        {
            "grid": {"items": [1, 2, 3, 4], "dimensions": 2},
            "line": {"items": [5, 6], "dimensions": 1},
            "empty": {"items": [], "dimensions": 0},
        }
    ]


def test_one_byte_char_is_refused_before_anything_is_written(materialize, s3, bucket) -> None:
    # "char" (PgLegacyChar) has no arm in scalar_to_arrow_datatype: src/arrow-util/src/builder.rs
    with pytest.raises(
        UnsupportedColumnsError, match=r"^Cannot encode the following columns/types: c \(char\)\."
    ):
        run_operator(query="""SELECT 1 AS ok, 'a'::"char" AS c""", s3_uri=f"s3://{bucket}/char/")
    assert list_keys(s3, bucket) == []


@pytest.mark.parametrize("relation", ["nn", "nn_mv"])
def test_not_null_columns_of_a_source_are_required_fields(fidelity, s3, bucket, relation) -> None:
    # Each field is nullable iff col_type.nullable (ArrowBuilder::new): src/arrow-util/src/builder.rs
    parquet = export(s3, bucket, source=f"{fidelity}.{relation}", reader="adbc")
    assert nullability(parquet) == {"id": False, "label": False, "tags": False, "note": True}
    layout = parquet_layout(parquet)
    assert layout["id"][2] == 0 and layout["label"][2] == 0 and layout["note"][2] == 1  # REQUIRED, OPTIONAL
    rows = sorted(parquet.read().to_pylist(), key=lambda row: row["id"])
    assert [(row["id"], row["tags"]["items"], row["note"]) for row in rows] == [
        (1, [1], None),
        (2, [2, 3], "z"),
    ]


def test_uint4_is_unsigned_int32_list_elements_are_item_and_no_statistics(materialize, s3, bucket) -> None:
    # arrow-rs writer, no statistics (PR #31513): src/storage-operators/src/s3_oneshot_sink/parquet.rs
    parquet = export(s3, bucket, query=f"SELECT u, a FROM {materialize}.t", reader="adbc")
    layout = parquet_layout(parquet)
    assert layout["u"][:2] == ("INT32", "Int(bitWidth=32, isSigned=false)")
    assert "a.items.list.item" in layout and not any(path.endswith(".element") for path in layout)
    assert not has_statistics(parquet)
    assert sorted(parquet.read().column("u").to_pylist(), key=str) == [7, None]


def test_duplicate_names_are_suffixed_per_original_name(materialize, s3, bucket) -> None:
    # seen_names counts only the original names (a, a, a2 -> a, a2, a2): src/arrow-util/src/builder.rs
    parquet = export(s3, bucket, query="SELECT 1 AS a, 2 AS a, 3 AS a2")
    assert parquet.schema_arrow.names == ["a", "a2", "a2"]
    assert [column.to_pylist() for column in parquet.read().columns] == [[1], [2], [3]]


NESTED_QUERY = (
    "SELECT 1 AS id, LIST[1, NULL, 3] AS li, '{1.5,NULL}'::numeric(38,2) list AS ln, "
    "LIST['a,b', 'q\"x', '{br}', ' lead', 'back\\slash', NULL, 'NULL', 'null', '', 'x=>y'] AS lt, "
    "'{{1,2},{},NULL,{NULL}}'::int list list AS ll, '{}'::int list AS le, NULL::int list AS lnull, "
    "MAP['b' => 2, 'a' => NULL] AS mi, MAP['k,1' => 'v \"x\"', '=>' => 'NULL', '' => ' '] AS mt, "
    "'{}'::map[text=>int] AS me, LIST[true, false] AS lb"
)


def _list(item: pa.DataType, item_name: str) -> pa.DataType:
    return pa.list_(pa.field("item", item, metadata={EXTENSION: f"materialize.v1.{item_name}".encode()}))


@pytest.mark.parametrize("reader", ["adbc", "csv"])
def test_list_and_map_columns_get_native_arrow_types_and_values(materialize, s3, bucket, reader) -> None:
    # They reach a client as the pseudo types list / map (16384 / 16385, src/pgrepr-consts/src/oid.rs),
    # as text only (src/pgwire/src/protocol.rs refuses binary); native's types: scalar_to_arrow_datatype
    # in src/arrow-util/src/builder.rs (List(item), Map(entries: keys Utf8 not null, values)).
    parquet = export(s3, bucket, query=NESTED_QUERY, reader=reader)
    schema = parquet.schema_arrow
    assert schema.field("li").type == _list(pa.int32(), "integer")
    assert schema.field("li").metadata[EXTENSION] == b"materialize.v1.list"
    assert schema.field("li").type.value_field.metadata[EXTENSION] == b"materialize.v1.integer"
    # the element's typmod comes from describing l[1]: numeric(38,2) list -> Decimal128(38, 2)
    assert schema.field("ln").type.value_type == pa.decimal128(38, 2)
    assert schema.field("lt").type.value_type == pa.large_string()
    inner = schema.field("ll").type.value_field
    assert inner.metadata[EXTENSION] == b"materialize.v1.list" and inner.type.value_type == pa.int32()
    mi = schema.field("mi")
    assert mi.metadata[EXTENSION] == b"materialize.v1.map" and pa.types.is_map(mi.type)
    assert mi.type.key_type == pa.string() and not mi.type.key_field.nullable
    assert mi.type.item_type == pa.int32()
    assert mi.type.item_field.metadata[EXTENSION] == b"materialize.v1.integer"
    assert schema.field("mt").type.item_type == pa.large_string()
    (row,) = parquet.read().to_pylist()
    assert row == {
        "id": 1,
        "li": [1, None, 3],
        "ln": [Decimal("1.50"), None],
        "lt": ["a,b", 'q"x', "{br}", " lead", "back\\slash", None, "NULL", "null", "", "x=>y"],
        "ll": [[1, 2], [], None, [None]],
        "le": [],
        "lnull": None,
        "mi": [("a", None), ("b", 2)],
        "mt": [("", " "), ("=>", "NULL"), ("k,1", 'v "x"')],
        "me": [],
        "lb": [True, False],
    }


def test_list_element_types_client_mode_cannot_decode_are_refused_naming_them(
    materialize, s3, bucket
) -> None:
    query = "SELECT 1 AS ok, LIST['2024-01-01'::date] AS l, '{a=>1}'::map[text=>interval] AS m"
    with pytest.raises(UnsupportedColumnsError) as error:
        run_operator(query=query, s3_uri=f"s3://{bucket}/nested/")
    message = str(error.value)
    assert "l (date list)" in message and "m (map[text=>interval])" in message and "ok (" not in message
    assert "::text" in message
    assert list_keys(s3, bucket) == []
