"""Client mode exports Materialize ``list`` and ``map`` columns with native COPY's Arrow types and values,
through the stand-in (OIDs 16384 / 16385 on the wire, binary results refused, element types found by
describing ``l[1]`` / ``m -> ''``, values read as Materialize's text)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pyarrow as pa
import pytest

from tests.integration.standin.client.mz_nested import EXPECTED_FIELDS, EXPECTED_ROWS, TABLE_SQL
from tests.support.materialize_standin import MaterializeStandin
from tests.support.operator_run import run_operator
from tests.support.s3_objects import file_keys, list_keys, read_parquet

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("on_standin")]


@pytest.fixture(scope="module")
def mz(postgres: Any, s3_server: Any) -> Iterator[MaterializeStandin]:
    with MaterializeStandin(postgres=postgres, s3=s3_server, clusters=("quickstart",)) as standin:
        standin.execute(TABLE_SQL)
        standin.create_aws_connection("s3_conn")
        yield standin


@pytest.fixture
def on_standin(mz: MaterializeStandin, connections: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MATERIALIZE_DEFAULT", mz.materialize_connection_json())


def _described(field: pa.Field, name: str | None = None) -> tuple[Any, ...]:
    """A field's name, type, nullability and type names at every depth, except a map's inner names:
    pyarrow's Parquet writer always names them key_value / key / value (arrow-rs: entries / keys /
    values) and reads those back, so they are compared on the Arrow batches (unit tests) instead."""
    data_type, own = field.type, (name or field.name, field.nullable, field.metadata)
    if pa.types.is_map(data_type):
        key = (str(data_type.key_type), data_type.key_field.nullable, data_type.key_field.metadata)
        return (*own, "map", key, _described(data_type.item_field, "values"))
    if pa.types.is_list(data_type):
        return (*own, "list", _described(data_type.value_field))
    return (*own, str(data_type))


def _rows(s3: Any, bucket: str, keys: list[str]) -> list[dict[str, Any]]:
    rows = [row for key in keys for row in read_parquet(s3, bucket, key).read().to_pylist()]
    return sorted(rows, key=lambda row: row["id"])


def test_the_wire_says_list_and_map_and_refuses_binary_results(mz: MaterializeStandin) -> None:
    with mz.connect() as conn:
        cursor = conn.execute("SELECT li, ll, mi, li[1], ll[1], (ll[1])[1], mi -> 'a' FROM mz_nested LIMIT 0")
        assert [c.type_code for c in cursor.description or []] == [16384, 16384, 16385, 23, 16384, 23, 23]
        for column, kind in (("li", "list"), ("mt", "map")):
            refused = f"binary encoding of {kind} types is not implemented"
            with pytest.raises(psycopg.errors.ProtocolViolation, match=refused):
                conn.execute(f"SELECT {column} FROM mz_nested", binary=True)
            conn.rollback()
        # list.md, "Output format": the documented example, as a text list list
        documented = conn.execute(
            "SELECT ARRAY[ARRAY['a', 'white space']::text::text_list, ARRAY[NULL, '']::text::text_list, "
            "ARRAY['escape\"m\\e', 'nUlL']::text::text_list]::text::text_list_list::text"
        ).fetchone()
        nested = conn.execute("SELECT ll::text FROM mz_nested WHERE id = 1").fetchone()
    assert documented == ('{{a,"white space"},{NULL,""},{"escape\\"m\\\\e",nUlL}}',)
    assert nested == ("{{1,2},{},NULL,{NULL}}",)


@pytest.mark.parametrize("reader", ["adbc", "csv"])
def test_list_and_map_columns_get_native_types_and_values(s3: Any, bucket: str, reader: str) -> None:
    stats = run_operator(source="mz_nested", s3_uri=f"s3://{bucket}/nested/", reader=reader)
    parquet = read_parquet(s3, bucket, file_keys(stats)[0])
    schema = parquet.schema_arrow
    assert [_described(field) for field in schema] == [_described(field) for field in EXPECTED_FIELDS]
    assert _rows(s3, bucket, file_keys(stats)) == EXPECTED_ROWS
    assert stats["rows"] == 3


def test_client_mode_writes_what_native_copy_writes(mz: MaterializeStandin, s3: Any, bucket: str) -> None:
    with mz.connect() as conn:
        conn.execute(
            f"COPY mz_nested TO 's3://{bucket}/native/' WITH (AWS CONNECTION = s3_conn, FORMAT = 'parquet')"
        )
    native_keys = [key for key in list_keys(s3, bucket, "native/") if key.endswith(".parquet")]
    native = read_parquet(s3, bucket, native_keys[0]).schema_arrow
    stats = run_operator(source="mz_nested", s3_uri=f"s3://{bucket}/client/", reader="adbc")
    client = read_parquet(s3, bucket, file_keys(stats)[0]).schema_arrow
    assert client.equals(native, check_metadata=True)
    assert [_described(field) for field in client] == [_described(field) for field in native]
    native_rows = _rows(s3, bucket, native_keys)
    for want, got in zip(EXPECTED_ROWS, native_rows, strict=True):  # the stand-in's native COPY
        assert {k: v for k, v in got.items() if v != want[k]} == {}
    assert _rows(s3, bucket, file_keys(stats)) == native_rows


def test_element_types_client_mode_cannot_decode_exactly_are_refused_naming_them(
    s3: Any, bucket: str
) -> None:
    with pytest.raises(Exception, match="Cannot encode the following columns/types") as refused:
        run_operator(
            query="SELECT id, ld, md FROM mz_nested_refused", s3_uri=f"s3://{bucket}/r/", reader="adbc"
        )
    message = str(refused.value)
    assert "ld (date list)" in message and "md (map[text=>date])" in message and "id (" not in message
    assert "Cast them in a query" in message
    assert list_keys(s3, bucket) == []
