"""Native mode against the real S3 server: listing, footers, manifest, refusal and retry cleanup.

Materialize's part (running the COPY and writing its objects) is played by ``FakeMaterializeCopy``,
which lays the objects out exactly as Materialize names them; everything else is the real code path.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import time
from typing import Any

import pyarrow.parquet as pq
import pytest
from airflow.providers.amazon.aws.hooks.s3 import S3Hook

from airflow_provider_materialize.export.contract import run_export
from airflow_provider_materialize.export.native.error_hints import NativeCopyError, NativeModeUnavailableError
from airflow_provider_materialize.export.native.footers import RangedS3Object
from airflow_provider_materialize.export.native.writer import NativeWriter
from airflow_provider_materialize.export.output_folder import FolderNotEmptyError
from airflow_provider_materialize.export.ownership import RunIdentity
from airflow_provider_materialize.export.request import ExportArguments, build_request
from airflow_provider_materialize.hooks.materialize import MaterializeHook
from tests.support.fake_materialize import FakeMaterializeCopy, parquet_bytes
from tests.support.operator_run import run_operator
from tests.support.s3_objects import list_keys

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]


def export(
    runner: FakeMaterializeCopy, uri: str, try_number: int = 1, task_id: str = "export", **options: Any
) -> dict[str, Any]:
    """Run the native writer inside the output contract, with ``runner`` playing Materialize."""
    options.setdefault("max_file_size", "16MB")
    options.setdefault("progress_interval", 0.0)
    arguments = ExportArguments(source="orders", s3_uri=uri, aws_connection="s3_writer", **options)
    request = build_request(arguments, RunIdentity("test_dag", "manual__test", task_id, try_number))
    # What the CSV manifest describes: the columns of a query the test server can answer
    request = dataclasses.replace(request, select="SELECT 1 AS id, 'x'::text AS name")
    writer = NativeWriter(request, MaterializeHook(), runner)
    return run_export(request, writer, S3Hook(aws_conn_id="aws_default")).as_xcom()


def read_json(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def test_native_export_writes_the_same_manifest_and_xcom_as_client_mode(s3, bucket) -> None:
    runner = FakeMaterializeCopy(s3)
    stats = export(runner, f"s3://{bucket}/nightly/run1/")

    assert runner.statements == [
        f'COPY "orders" TO \'s3://{bucket}/nightly/run1\' WITH (AWS CONNECTION = "s3_writer", '
        "FORMAT = 'parquet', MAX FILE SIZE = 16777216)"
    ]
    names = [f"nightly/run1/mz-u42-batch-{b:04d}-{i:04d}.parquet" for b in range(2) for i in range(2)]
    assert list_keys(s3, bucket) == ["nightly/run1/_manifest.json", *names]
    sizes = {key: s3.head_object(Bucket=bucket, Key=key)["ContentLength"] for key in names}
    assert stats["mode"] == "native" and stats["format"] == "parquet"
    assert stats["rows"] == 400 and stats["bytes"] == sum(sizes.values())
    assert stats["files"] == [{"uri": f"s3://{bucket}/{k}", "rows": 100, "bytes": sizes[k]} for k in names]
    assert stats["snapshot_timestamp"] is None
    assert stats["manifest_uri"] == f"s3://{bucket}/nightly/run1/_manifest.json"

    manifest = read_json(s3, bucket, "nightly/run1/_manifest.json")
    assert manifest["mode"] == "native" and manifest["rows"] == 400 and manifest["files"] == stats["files"]
    assert manifest["written_by"]["reader"] == "materialize"
    assert manifest["schema"] == [
        {"name": "id", "type": "int64", "nullable": False, "materialize_type": "materialize.v1.bigint"},
        {"name": "name", "type": "large_string", "nullable": True, "materialize_type": "materialize.v1.text"},
    ]
    assert [e["url"] for e in manifest["entries"]] == [f["uri"] for f in stats["files"]]


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


def test_failed_copy_is_explained_and_its_retry_cleans_materializes_leftovers(s3, bucket, caplog) -> None:
    with pytest.raises(NativeCopyError) as error:
        export(FakeMaterializeCopy(s3, fail_after_files=3), f"s3://{bucket}/r/")
    message = str(error.value)
    assert "AccessDenied: Access Denied" in message  # Materialize's own text is kept
    assert "s3:PutObject" in message and "s3:DeleteObject" in message and f"arn:aws:s3:::{bucket}" in message
    leftovers = list_keys(s3, bucket)
    assert "r/mz-u42-INCOMPLETE" in leftovers and "r/mz-u42-batch-0001-0000.parquet" in leftovers
    marker = read_json(s3, bucket, "r/_INCOMPLETE")
    assert marker["try_number"] == 1 and "AccessDenied" in marker["error"]

    with caplog.at_level("INFO"):
        stats = export(FakeMaterializeCopy(s3, sink_id="u43"), f"s3://{bucket}/r/", try_number=2)
    assert "what try 1 of this task left; this try starts over" in caplog.text
    assert stats["rows"] == 400
    assert all("mz-u43-batch" in key or key.endswith("_manifest.json") for key in list_keys(s3, bucket))


def test_a_refused_copy_leaves_the_folder_empty(s3, bucket) -> None:
    runner = FakeMaterializeCopy(s3, refuse_with="unknown catalog item 's3_writer'")
    with pytest.raises(
        NativeCopyError, match=r"unknown catalog item 's3_writer'\nWhat to do: Create the AWS"
    ):
        export(runner, f"s3://{bucket}/u/")
    assert list_keys(s3, bucket) == []


def test_interrupted_copy_without_our_marker_is_refused_not_deleted(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k/mz-u9-INCOMPLETE", Body=b"")
    s3.put_object(Bucket=bucket, Key="k/mz-u9-batch-0000-0000.parquet", Body=parquet_bytes(0, 10))
    runner = FakeMaterializeCopy(s3)
    with pytest.raises(FolderNotEmptyError, match="k/mz-u9-INCOMPLETE marks an interrupted Materialize COPY"):
        export(runner, f"s3://{bucket}/k/", try_number=2)
    assert runner.statements == []
    assert len(list_keys(s3, bucket)) == 2


def test_keys_that_trip_materializes_raw_prefix_check_are_refused_before_the_copy(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="p/run10/part-00000.parquet", Body=b"other run")
    runner = FakeMaterializeCopy(s3)
    with pytest.raises(FolderNotEmptyError, match=r"no key starts with 'p/run1'.*p/run10/part-00000.parquet"):
        export(runner, f"s3://{bucket}/p/run1/")
    assert runner.statements == []


def test_non_empty_folder_is_refused_and_overwrite_replaces_it(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="o/old.parquet", Body=b"x")
    with pytest.raises(FolderNotEmptyError, match="holds 1 object"):
        export(FakeMaterializeCopy(s3), f"s3://{bucket}/o/")
    stats = export(FakeMaterializeCopy(s3), f"s3://{bucket}/o/", overwrite=True)
    assert stats["rows"] == 400 and "o/old.parquet" not in list_keys(s3, bucket)


def test_csv_export_counts_rows_from_the_copy_tag_and_describes_columns(s3, bucket) -> None:
    runner = FakeMaterializeCopy(s3, file_format="csv", batches=1)
    stats = export(
        runner, f"s3://{bucket}/csv/", file_format="csv", csv_header=True, csv_delimiter="|"
    )
    assert runner.statements[0].endswith(
        "FORMAT = 'csv', MAX FILE SIZE = 16777216, HEADER = true, DELIMITER = '|')"
    )
    assert stats["rows"] == 200 and [f["rows"] for f in stats["files"]] == [None, None]
    schema = read_json(s3, bucket, "csv/_manifest.json")["schema"]
    assert [(c["name"], c["materialize_type"]) for c in schema] == [("id", "int4"), ("name", "text")]


def test_empty_result_still_has_one_file(s3, bucket) -> None:
    stats = export(
        FakeMaterializeCopy(s3, batches=1, files_per_batch=1, rows_per_file=0), f"s3://{bucket}/e/"
    )
    assert stats["rows"] == 0 and len(stats["files"]) == 1 and stats["files"][0]["rows"] == 0


def test_progress_is_logged_while_materialize_writes(s3, bucket, caplog) -> None:
    with caplog.at_level("INFO"):
        export(
            FakeMaterializeCopy(s3, batches=3, files_per_batch=3, on_start=lambda: time.sleep(0.5)),
            f"s3://{bucket}/g/",
            progress_interval=0.05,
        )
    assert "COPY running for" in caplog.text and "Materialize has written" in caplog.text


def test_a_timeout_cancels_the_copy_and_leaves_a_marker_for_the_retry(s3, bucket) -> None:
    class TaskTimeout(BaseException):  # Airflow's AirflowTaskTimeout is a BaseException too
        pass

    def on_alarm(signum: int, frame: Any) -> None:
        raise TaskTimeout("Timeout, PID: 1")  # what Airflow's execution_timeout does

    runner = FakeMaterializeCopy(
        s3, block_until_cancelled=True, on_start=lambda: signal.setitimer(signal.ITIMER_REAL, 0.3)
    )
    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        with pytest.raises(TaskTimeout):
            export(runner, f"s3://{bucket}/t/", progress_interval=0.1)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert runner.cancelled.is_set()
    assert read_json(s3, bucket, "t/_INCOMPLETE")["error"] == "Timeout, PID: 1"


def test_operator_in_native_mode_needs_materialize(s3, bucket) -> None:
    with pytest.raises(NativeModeUnavailableError, match=r"leads to PostgreSQL .* Leave out aws_connection="):
        run_operator(source="orders", s3_uri=f"s3://{bucket}/n/", aws_connection="s3_writer")
    assert list_keys(s3, bucket) == []
