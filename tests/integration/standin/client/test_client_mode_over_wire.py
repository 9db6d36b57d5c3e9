"""Client mode end to end through the Materialize stand-in, as it would run against Materialize.

The operator reaches the stand-in (tests/support/materialize_standin) through
``AIRFLOW_CONN_MATERIALIZE_DEFAULT``, set for these tests only; the AWS connection stays the test
S3 server (the ``connections`` fixture). What the stand-in does not reproduce, and so what these
tests cannot show, is listed in its package docstring; where an expectation below depends on it,
the comment says so.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pyarrow as pa
import pytest

from tests.integration.standin.client.mz_types import (
    ARRAY_COLUMNS,
    COLUMNS,
    EXPECTED_FIELDS,
    EXPECTED_FIRST_ROW,
    _table_sql,
)
from tests.support.materialize_standin import MaterializeStandin
from tests.support.operator_run import run_operator
from tests.support.parity import schema_differences
from tests.support.s3_objects import file_keys, list_keys, read_parquet

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("on_standin")]

CLUSTER = "exports"
# Closes the provider's "SELECT * FROM (" and reopens a parenthesis for its ") AS alias ...".
BREAK = "SELECT 1 AS x) AS s; {} SELECT (1"

VICTIM_SQL = (
    "SELECT count(*), md5(string_agg(v.ctid::text || '/' || v.xmin::text || '/' || v::text, ',' "
    "ORDER BY v.id)), 'victim'::regclass::oid::int8, pg_relation_filenode('victim')::int8 FROM victim v"
)


@pytest.fixture(scope="module")
def mz(postgres: Any, s3_server: Any) -> Iterator[MaterializeStandin]:
    with MaterializeStandin(postgres=postgres, s3=s3_server, clusters=("quickstart", CLUSTER)) as standin:
        standin.execute(
            _table_sql("mz_types", COLUMNS + ARRAY_COLUMNS, with_arrays=True)
            + _table_sql("mz_scalars", COLUMNS, with_arrays=False)
            + 'CREATE TABLE mz_refused (id int, flag "char");'
            "INSERT INTO mz_refused VALUES (1, 'a');"
            "CREATE TABLE victim (id int PRIMARY KEY, name text NOT NULL);"
            "INSERT INTO victim SELECT i, 'row ' || i FROM generate_series(1, 20) i"
        )
        standin.create_aws_connection("s3_conn")
        yield standin


@pytest.fixture
def on_standin(mz: MaterializeStandin, connections: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """``materialize_default`` leads to the stand-in, with a cluster, for one test; restored afterwards."""
    connection = json.loads(mz.materialize_connection_json())
    connection["extra"]["cluster"] = CLUSTER
    monkeypatch.setenv("AIRFLOW_CONN_MATERIALIZE_DEFAULT", json.dumps(connection))


def _everything_in(s3: Any, bucket: str) -> list[str]:
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return list_keys(s3, bucket) + [f"(multipart upload) {u['Key']}" for u in uploads]


def _victim(mz: MaterializeStandin) -> tuple[Any, ...]:
    with psycopg.connect(
        host="127.0.0.1", port=mz.postgres.port, user="postgres", dbname=mz.database, autocommit=True
    ) as conn:
        return tuple(conn.execute(VICTIM_SQL).fetchone())  # type: ignore[arg-type]


# -- detection and clusters -----------------------------------------------------------------------


def test_the_hook_detects_materialize_and_reports_the_cluster(mz: MaterializeStandin) -> None:
    from airflow_provider_materialize.hooks.materialize import MaterializeHook
    from airflow_provider_materialize.sql import ServerFlavor

    hook = MaterializeHook()
    assert hook.server_info == (ServerFlavor.MATERIALIZE, mz.mz_version)
    assert hook.is_materialize
    assert MaterializeHook().test_connection() == (
        True,
        f"Connected to Materialize {mz.mz_version}, cluster {CLUSTER}",
    )


def test_an_unknown_cluster_fails_the_export_clearly(s3: Any, bucket: str) -> None:
    with pytest.raises(RuntimeError, match=r"unknown cluster 'x'.*Pick one that SHOW CLUSTERS lists"):
        run_operator(source="mz_scalars", s3_uri=f"s3://{bucket}/c/", cluster="x", reader="adbc")
    assert _everything_in(s3, bucket) == []


# -- every type Materialize has ---------------------------------------------------------------------


@pytest.mark.parametrize("reader", ["adbc", "csv"])
def test_every_materialize_type(mz: MaterializeStandin, s3: Any, bucket: str, reader: str) -> None:
    # source= a table: its NOT NULL columns are known, and written as required fields
    table, columns = ("mz_types", COLUMNS + ARRAY_COLUMNS) if reader == "adbc" else ("mz_scalars", COLUMNS)
    names = [name for name, _ in columns]
    before_ms = int(time.time() * 1000)
    stats = run_operator(source=table, s3_uri=f"s3://{bucket}/types/", reader=reader)
    after_ms = int(time.time() * 1000)

    (key,) = file_keys(stats)
    parquet = read_parquet(s3, bucket, key)
    schema = parquet.schema_arrow
    expected = pa.schema([EXPECTED_FIELDS[name] for name in names])
    assert schema_differences(schema, expected) == []
    for name in names:  # nullability and metadata, field by field (nested fields included)
        got, want = schema.field(name), expected.field(name)
        assert got.nullable == want.nullable, name
        assert got.metadata == want.metadata, name
        assert got.equals(want, check_metadata=True), name
        if pa.types.is_struct(want.type):
            for index in range(want.type.num_fields):
                assert got.type.field(index).equals(want.type.field(index), check_metadata=True), name
            got_item = got.type.field("items").type.value_field
            want_item = want.type.field("items").type.value_field
            assert got_item.equals(want_item, check_metadata=True), name
    assert schema.equals(expected, check_metadata=True)

    rows = sorted(parquet.read().to_pylist(), key=lambda row: row["id"])
    assert stats["rows"] == len(rows) == 3
    first = rows[0]
    assert json.loads(first["j"]) == {"a": "x, y: z", "b": [1, 2.5]}
    # Materialize prints jsonb compact; the stand-in relays PostgreSQL's text ('{"a": ...'), which client
    # mode on Materialize does not compact: the spelling is not compared here.
    assert {name: first[name] for name in names if name != "j"} == {
        name: EXPECTED_FIRST_ROW[name] for name in names if name != "j"
    }
    assert rows[1] == {name: ({"id": 2, "label": "nulls"}).get(name) for name in names}
    third = rows[2]
    assert third["f4"] != third["f4"] and third["f8"] == float("inf")
    assert third["n"] == Decimal("-0.0001") and third["nu"] == Decimal("1E-10")
    assert third["by"] == b"" and third["j"] == "[]" and third["ch5"] == "abcde"
    assert third["ts"] == dt.datetime(1, 1, 1) and third["mzt"] == 0 and third["u8"] == 0
    if reader == "adbc":
        assert third["ai"] == {"items": [], "dimensions": 0}

    # snapshot_timestamp: mz_now() read in the snapshot's transaction, an int (ms since the epoch)
    snapshot = stats["snapshot_timestamp"]
    assert type(snapshot) is int
    assert before_ms - 1000 <= snapshot <= after_ms + 1000
    manifest = json.loads(s3.get_object(Bucket=bucket, Key="types/_manifest.json")["Body"].read())
    assert manifest["snapshot_timestamp"] == snapshot
    assert stats["mode"] == "client"


@pytest.mark.parametrize("reader", ["adbc", "csv"])
def test_duplicate_column_names_are_suffixed_per_original_name(s3: Any, bucket: str, reader: str) -> None:
    stats = run_operator(query="SELECT 1 AS a, 2 AS a, 3 AS a2", s3_uri=f"s3://{bucket}/dup/", reader=reader)
    table = read_parquet(s3, bucket, file_keys(stats)[0]).read()
    assert table.column_names == ["a", "a2", "a2"]  # as Materialize's desc_to_schema names them
    assert [column.to_pylist() for column in table.columns] == [[1], [2], [3]]


# -- refused types ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "named"),
    [
        pytest.param("SELECT id, flag FROM mz_refused", ["flag (char)"], id="char"),
        # list and map columns: test_lists_and_maps_over_wire.py
    ],
)
def test_unsupported_types_are_refused_before_anything_is_written(
    s3: Any, bucket: str, query: str, named: list[str]
) -> None:
    with pytest.raises(Exception, match="Cannot encode the following columns/types") as refused:
        run_operator(query=query, s3_uri=f"s3://{bucket}/refused/", reader="adbc")
    message = str(refused.value)
    for column in named:
        assert column in message
    assert "id (" not in message
    assert _everything_in(s3, bucket) == []


# -- safety over the wire ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tail",
    ["DROP TABLE victim;", "COMMIT; DELETE FROM victim;", "COMMIT; TRUNCATE victim; COMMIT;"],
    ids=["drop", "commit-delete", "commit-truncate"],
)
@pytest.mark.parametrize("reader", ["adbc", "csv"])
def test_a_statement_break_out_is_refused_and_nothing_runs(
    mz: MaterializeStandin, s3: Any, bucket: str, tail: str, reader: str
) -> None:
    before = _victim(mz)
    with pytest.raises(Exception, match="more than one SQL statement"):
        run_operator(query=BREAK.format(tail), s3_uri=f"s3://{bucket}/hostile/", reader=reader)
    assert _victim(mz) == before
    assert _everything_in(s3, bucket) == []


# -- parity with the stand-in's native COPY TO S3 ----------------------------------------------------


def test_client_mode_writes_the_schema_of_native_copy(mz: MaterializeStandin, s3: Any, bucket: str) -> None:
    with mz.connect() as conn:
        cursor = conn.execute(
            f"COPY mz_types TO 's3://{bucket}/native/' WITH (AWS CONNECTION = s3_conn, FORMAT = 'parquet')"
        )
        assert cursor.statusmessage == "COPY 3"
    native_keys = [key for key in list_keys(s3, bucket, "native/") if key.endswith(".parquet")]
    native = read_parquet(s3, bucket, native_keys[0]).schema_arrow
    assert all(read_parquet(s3, bucket, key).schema_arrow.equals(native, True) for key in native_keys)

    stats = run_operator(source="mz_types", s3_uri=f"s3://{bucket}/client/", reader="adbc")
    client = read_parquet(s3, bucket, file_keys(stats)[0]).schema_arrow

    assert client.names == native.names
    assert schema_differences(client, native) == []
    assert [f.nullable for f in client] == [f.nullable for f in native]
    assert [f.nullable for f in client].count(False) == 2  # id and label: NOT NULL in the table
    assert client.equals(native, check_metadata=True)

    # and the same values, row by row (jsonb compared as JSON: see test_every_materialize_type)
    native_rows = [row for key in native_keys for row in read_parquet(s3, bucket, key).read().to_pylist()]
    client_rows = read_parquet(s3, bucket, file_keys(stats)[0]).read().to_pylist()
    assert _comparable(client_rows) == _comparable(native_rows)


def _comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows sorted by id, jsonb parsed, NaN made equal to itself."""
    result = []
    for row in sorted(rows, key=lambda r: r["id"]):
        row = dict(row)
        row["j"] = None if row["j"] is None else json.loads(row["j"])
        row.update({k: "NaN" for k, v in row.items() if isinstance(v, float) and v != v})
        result.append(row)
    return result
