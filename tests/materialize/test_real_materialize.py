"""Opt-in: the Materialize-specific paths against a real Materialize.

Set ``MATERIALIZE_TEST_URL`` (e.g. ``postgresql://materialize@localhost:6875/materialize`` for the
``materialize/materialized`` emulator image) and optionally ``MATERIALIZE_TEST_CLUSTER``
(default ``quickstart``). The exported files go to the suite's own S3-compatible server: in
client mode only the worker talks to S3.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from airflow_provider_materialize.hooks.materialize import MaterializeHook
from airflow_provider_materialize.sql import ServerFlavor
from tests.materialize.conftest import CLUSTER, MATERIALIZE_URL
from tests.support.operator_run import run_operator
from tests.support.s3_objects import file_keys, read_parquet

pytestmark = [
    pytest.mark.materialize,
    pytest.mark.skipif(
        not MATERIALIZE_URL,
        reason="no Materialize to test against: set MATERIALIZE_TEST_URL="
        "postgresql://user@host:6875/materialize (e.g. the materialize/materialized emulator image)",
    ),
]


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
    parquet = read_parquet(s3, bucket, file_keys(stats)[0])
    schema = parquet.schema_arrow
    assert schema.field("n").type == pa.decimal128(38, 2) and schema.field("nu").type == pa.decimal128(38, 10)
    assert schema.field("u").type == pa.uint32()
    assert schema.field("ts").type == pa.timestamp("us", tz="+00:00")
    first = next(row for row in parquet.read().to_pylist() if row["b"] is not None)
    assert first["j"] == '{"b":[1,2]}'
    if reader == "adbc":
        assert first["a"] == {"items": [1, 2, 3, 4], "dimensions": 2}
