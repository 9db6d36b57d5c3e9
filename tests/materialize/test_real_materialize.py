"""Opt-in: the Materialize-specific paths against a real Materialize.

Set ``MATERIALIZE_TEST_URL`` (e.g. ``postgresql://materialize@localhost:6875/materialize`` for the
``materialize/materialized`` emulator image) and optionally ``MATERIALIZE_TEST_CLUSTER``
(default ``quickstart``). The exported files go to the suite's own S3-compatible server: in
client mode only the worker talks to S3.
"""

from __future__ import annotations

import json
import os
import uuid
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pytest

from airflow_provider_materialize.dialect import ServerFlavor
from airflow_provider_materialize.hooks.materialize import MaterializeHook
from tests.conftest import read_parquet, run_operator

MATERIALIZE_URL = os.environ.get("MATERIALIZE_TEST_URL")
CLUSTER = os.environ.get("MATERIALIZE_TEST_CLUSTER", "quickstart")

pytestmark = [
    pytest.mark.materialize,
    pytest.mark.skipif(
        not MATERIALIZE_URL,
        reason="no Materialize to test against: set MATERIALIZE_TEST_URL="
        "postgresql://user@host:6875/materialize (e.g. the materialize/materialized emulator image)",
    ),
]


@pytest.fixture(scope="module")
def materialize(connections) -> str:
    """Point ``materialize_default`` at the real Materialize; yields a scratch schema name."""
    url = urlsplit(MATERIALIZE_URL or "")
    extra = dict(part.split("=", 1) for part in url.query.split("&") if "=" in part)
    os.environ["AIRFLOW_CONN_MATERIALIZE_DEFAULT"] = json.dumps(
        {
            "conn_type": "materialize",
            "host": url.hostname,
            "port": url.port,
            "login": unquote(url.username or ""),
            "password": unquote(url.password or ""),
            "schema": url.path.lstrip("/"),
            "extra": {**extra, "cluster": CLUSTER},
        }
    )
    schema = f"airflow_provider_test_{uuid.uuid4().hex[:8]}"
    hook = MaterializeHook()
    hook.run(f"CREATE SCHEMA {schema}", autocommit=True)
    hook.run(
        f"CREATE TABLE {schema}.t (b boolean, i int, n numeric(10, 2), nu numeric, u uint4, tx text, "
        f"j jsonb, ts timestamptz, a int[])",
        autocommit=True,
    )
    hook.run(
        f"INSERT INTO {schema}.t VALUES (true, 1, 1.50, 1234, 7, 'x', '{{\"b\": [1, 2]}}', "
        f"'2024-01-02 03:04:05+02', '{{{{1,2}},{{3,4}}}}'), "
        "(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
        autocommit=True,
    )
    hook.run(f"CREATE MATERIALIZED VIEW {schema}.mv AS SELECT * FROM {schema}.t", autocommit=True)
    yield schema
    hook.run(f"DROP SCHEMA {schema} CASCADE", autocommit=True)


def test_hook_detects_materialize_and_applies_the_cluster(materialize) -> None:
    hook = MaterializeHook()
    assert hook.server_info[0] is ServerFlavor.MATERIALIZE
    ok, message = hook.test_connection()
    assert ok and message.startswith("Connected to Materialize")
    assert hook.get_first("SHOW cluster") == (CLUSTER,)


@pytest.mark.parametrize("reader", ["adbc", "csv"])
def test_snapshot_export_with_timestamp(materialize, s3, bucket, reader) -> None:
    columns = "b, i, n, nu, u, tx, j, ts" + (", a" if reader == "adbc" else "")
    stats = run_operator(
        query=f"SELECT {columns} FROM {materialize}.mv",
        s3_uri=f"s3://{bucket}/mz/",
        reader=reader,
        cluster=CLUSTER,
    )
    assert stats["rows"] == 2
    assert isinstance(stats["snapshot_timestamp"], int) and stats["snapshot_timestamp"] > 0
    parquet = read_parquet(s3, bucket, "mz/part-00000.parquet")
    schema = parquet.schema_arrow
    assert schema.field("n").type == pa.decimal128(38, 2) and schema.field("nu").type == pa.decimal128(38, 10)
    assert schema.field("u").type == pa.uint32()
    assert schema.field("ts").type == pa.timestamp("us", tz="+00:00")
    first = next(row for row in parquet.read().to_pylist() if row["b"] is not None)
    assert first["j"] == '{"b":[1,2]}'
    if reader == "adbc":
        assert first["a"] == {"items": [1, 2, 3, 4], "dimensions": 2}
