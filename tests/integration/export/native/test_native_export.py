"""Native mode pieces the Materialize stand-in cannot exercise; the rest runs over the wire.

Native mode end to end -- the real ``MaterializeCopy`` sending the COPY to the Materialize stand-in,
which writes to the S3 server as Materialize does -- is in ``tests/integration/standin/native/``.
What stays here: a COPY tag that disagrees with the footers (a faithful stand-in never produces one,
so ``FakeMaterializeCopy`` plays Materialize), footer reads of a large file, and a connection that
leads to PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pyarrow.parquet as pq
import pytest
from airflow.providers.amazon.aws.hooks.s3 import S3Hook

from airflow_provider_materialize.export.contract import run_export
from airflow_provider_materialize.export.native.error_hints import NativeCopyError, NativeModeUnavailableError
from airflow_provider_materialize.export.native.footers import RangedS3Object
from airflow_provider_materialize.export.native.writer import NativeWriter
from airflow_provider_materialize.export.ownership import RunIdentity
from airflow_provider_materialize.export.request import ExportArguments, build_request
from airflow_provider_materialize.hooks.materialize import MaterializeHook
from tests.support.fake_materialize import FakeMaterializeCopy, parquet_bytes
from tests.support.operator_run import run_operator
from tests.support.s3_objects import list_keys

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]


def export(runner: FakeMaterializeCopy, uri: str) -> dict[str, Any]:
    """Run the native writer inside the output contract, with ``runner`` playing Materialize."""
    arguments = ExportArguments(
        source="orders", s3_uri=uri, aws_connection="s3_writer", max_file_size="16MB", progress_interval=0.0
    )
    request = build_request(arguments, RunIdentity("test_dag", "manual__test", "export", 1))
    # What the writer describes: the columns of a query the test server can answer
    request = dataclasses.replace(request, select="SELECT 1 AS id, 'x'::text AS name")
    writer = NativeWriter(request, MaterializeHook(), runner)
    return run_export(request, writer, S3Hook(aws_conn_id="aws_default")).as_xcom()


def test_footers_are_read_with_ranged_gets_only(s3, bucket) -> None:
    body = parquet_bytes(0, 500_000)
    s3.put_object(Bucket=bucket, Key="big.parquet", Body=body)
    with RangedS3Object(s3, bucket, "big.parquet", len(body)) as source:
        assert pq.ParquetFile(source).metadata.num_rows == 500_000
    assert len(body) > 2_000_000
    assert source.requests <= 2 and source.bytes_read <= 70_000


def test_row_count_mismatch_fails_loudly_and_writes_no_manifest(s3, bucket) -> None:
    with pytest.raises(NativeCopyError, match=r"reported COPY 401, but .* 4 file\(s\) .* hold 400 rows"):
        export(FakeMaterializeCopy(s3, reported_rows=401), f"s3://{bucket}/m/")
    keys = list_keys(s3, bucket)
    assert "m/_INCOMPLETE" in keys and "m/_manifest.json" not in keys


def test_operator_in_native_mode_needs_materialize(s3, bucket) -> None:
    with pytest.raises(NativeModeUnavailableError, match=r"leads to PostgreSQL .* Leave out aws_connection="):
        run_operator(source="orders", s3_uri=f"s3://{bucket}/n/", aws_connection="s3_writer")
    assert list_keys(s3, bucket) == []
