"""Native mode end to end over the wire, when the COPY fails: Materialize's error explained, the
retry replacing what the failed COPY left, two runs whose COPYs overlap in one folder, a task
timeout cancelling the COPY on the server; and the AWS connection in Materialize, created and
validated through the hook.

``materialize_default`` leads to the Materialize stand-in (tests/support/materialize_standin) for
these tests only; see test_native_mode_over_wire.py.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowTaskTimeout
from airflow.sdk.execution_time.timeout import timeout

from airflow_provider_materialize.export.native.error_hints import NativeCopyError
from airflow_provider_materialize.export.ownership import FolderLostError
from airflow_provider_materialize.hooks.materialize import MaterializeHook
from tests.integration.standin.native.native_runs import (
    ROWS,
    copies_sent,
    export,
    materialize_denies,
    on_materializes_s3_call,
    read_json,
)
from tests.support.s3_objects import assert_published_exactly, list_keys

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]

# 10 s unless cancelled: pg_sleep runs per row as the stand-in fetches them (not when described)
SLOW_QUERY = "SELECT g AS id FROM generate_series(1, 40) g WHERE pg_sleep(0.25 + g * 0) IS NOT NULL"


# -- a failing COPY, its retry, and a cancelled one ---------------------------------------------


def test_a_failed_copy_is_explained_and_its_retry_replaces_materializes_leftovers(
    mz, s3, bucket, caplog
) -> None:
    mz.execute(
        "TRUNCATE readings; INSERT INTO readings SELECT g, g * 0.5 FROM generate_series(1, 50) g;"
        "INSERT INTO readings VALUES (51, 'NaN')"
    )
    uri = f"s3://{bucket}/r/"
    with pytest.raises(NativeCopyError) as error:
        export(uri, source="readings")
    message = str(error.value)
    assert "failed: Cannot represent special numeric value NaN in parquet" in message  # Materialize's text
    assert "What to do: A numeric value does not fit Parquet's decimal128(38, s)" in message
    failed_sink = mz.copies[-1].sink_id
    leftovers = list_keys(s3, bucket)
    assert leftovers == ["r/_INCOMPLETE", f"r/mz-{failed_sink}-INCOMPLETE"]
    assert s3.list_multipart_uploads(Bucket=bucket, Prefix="r/").get("Uploads")  # never completed
    marker = read_json(s3, bucket, "r/_INCOMPLETE")
    assert marker["try_number"] == 1 and "Cannot represent special numeric value NaN" in marker["error"]

    mz.execute("DELETE FROM readings WHERE value = 'NaN'")  # the data is fixed; Airflow retries the task
    with caplog.at_level("INFO"):
        stats = export(uri, source="readings", try_number=2)
    assert "what try 1 of this task left; this try starts over" in caplog.text
    assert stats["rows"] == 50 and mz.copies[-1].sink_id != failed_sink
    assert_published_exactly(s3, bucket, "r/", 50)  # no leftover object nor open upload remains
    assert not any(f"mz-{failed_sink}-" in key for key in list_keys(s3, bucket))


def test_files_a_failed_copy_completed_are_replaced_by_the_retry(mz, s3, bucket) -> None:
    # Materialize's role may not complete the second upload: batch 0's file is done, batch 1's is not
    uri = f"s3://{bucket}/w/"
    with materialize_denies(mz, "CompleteMultipartUpload", after=1), pytest.raises(NativeCopyError) as error:
        export(uri)
    message = str(error.value)
    assert "AccessDenied" in message and "What to do: The AWS connection 's3_writer' needs" in message
    sink = mz.copies[-1].sink_id
    assert list_keys(s3, bucket) == [
        "w/_INCOMPLETE",
        f"w/mz-{sink}-INCOMPLETE",
        f"w/mz-{sink}-batch-0000-0000.parquet",
    ]
    assert "AccessDenied" in read_json(s3, bucket, "w/_INCOMPLETE")["error"]

    stats = export(uri, try_number=2)
    assert stats["rows"] == ROWS
    assert_published_exactly(s3, bucket, "w/", ROWS)
    assert not any(f"mz-{sink}-" in key for key in list_keys(s3, bucket))


def test_two_runs_whose_copies_overlap_in_one_folder(mz, s3, bucket) -> None:
    """Materialize's emptiness check is not atomic: a second COPY can pass it before the first writes."""
    uri = f"s3://{bucket}/race/"
    first_checked, go_on = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def hold_the_first_sentinel(params: dict[str, Any], **_: Any) -> None:
        if params["Key"].endswith("-INCOMPLETE") and not first_checked.is_set():
            first_checked.set()  # its preflight listed an empty folder; nothing is written yet
            go_on.wait(10)

    def first_run() -> None:
        try:
            outcome["stats"] = export(uri, run_id="scheduled__1")
        except Exception as error:
            outcome["error"] = error

    with on_materializes_s3_call(mz, "before-parameter-build.s3.PutObject", hold_the_first_sentinel):
        thread = threading.Thread(target=first_run)
        thread.start()
        try:
            assert first_checked.wait(10)
            second = export(uri, run_id="manual__2")
        finally:
            go_on.set()
            thread.join(20)
    first_sink, second_sink = mz.copies[-2].sink_id, mz.copies[-1].sink_id
    assert mz.copies[-2].error is None and "stats" not in outcome  # both COPYs succeeded
    # The first run finds the folder published by the second while its COPY ran: it yields
    assert isinstance(outcome["error"], FolderLostError), outcome
    assert "published s3://" in str(outcome["error"]) and "while this try's COPY ran" in str(outcome["error"])
    assert second["rows"] == ROWS and all(f"/mz-{second_sink}-" in f["uri"] for f in second["files"])
    manifest = read_json(s3, bucket, "race/_manifest.json")  # the second run's, listing only its files
    assert manifest["written_by"]["run_id"] == "manual__2" and manifest["files"] == second["files"]
    # ... and the folder holds exactly the published export: none of the first COPY's files, no marker
    listed = {f["uri"].split("/", 3)[3] for f in manifest["files"]}
    assert set(list_keys(s3, bucket, "race/")) == listed | {"race/_manifest.json"}
    assert first_sink != second_sink


def test_a_task_timeout_cancels_the_copy_on_the_server(mz, s3, bucket) -> None:
    """Airflow's execution_timeout (SIGALRM -> AirflowTaskTimeout) fires while the COPY runs."""
    copies, cancels = len(mz.copies), mz.cancel_requests
    main = threading.main_thread().ident
    assert main is not None
    finished = threading.Event()

    def fire_once_the_copy_runs() -> None:
        deadline = time.monotonic() + 10
        while len(mz.copies) == copies and not finished.is_set() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not finished.wait(0.3):
            signal.pthread_kill(main, signal.SIGALRM)

    previous = signal.getsignal(signal.SIGALRM)
    watcher = threading.Thread(target=fire_once_the_copy_runs, daemon=True)
    started = time.monotonic()
    try:
        with pytest.raises(AirflowTaskTimeout), timeout(seconds=30):  # Airflow's own handler
            watcher.start()
            export(f"s3://{bucket}/t/", source=None, query=SLOW_QUERY, progress_interval=0.1)
    finally:
        finished.set()
        watcher.join()
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 6  # not the query's 10 s
    assert mz.cancel_requests == cancels + 1  # the CancelRequest reached the stand-in
    copy = mz.copies[-1]
    assert len(mz.copies) == copies + 1 and copy.error == "canceling statement due to user request"
    assert list_keys(s3, bucket) == ["t/_INCOMPLETE", f"t/mz-{copy.sink_id}-INCOMPLETE"]
    marker = read_json(s3, bucket, "t/_INCOMPLETE")
    assert marker["try_number"] == 1 and marker["error"].startswith("Timeout, PID: ")


# -- the AWS connection in Materialize ----------------------------------------------------------


def test_create_and_validate_aws_connections_through_the_hook(mz, bucket, s3_server, caplog, capfd) -> None:
    hook = MaterializeHook()
    secret = "not-in-the-logs-0123"
    with caplog.at_level("INFO"):
        for _ in range(2):  # idempotent: a setup task runs it on every DAG run
            hook.create_aws_connection(
                "minio_writer",
                access_key_id="testing",
                secret_access_key=secret,
                region="us-east-1",
                endpoint=s3_server.endpoint_url,
            )
        hook.create_aws_connection(
            "role_writer", role_arn="arn:aws:iam::123456789012:role/mz-s3-writer", region="us-east-1"
        )
        hook.validate_aws_connection("role_writer")
    output = caplog.text + "".join(capfd.readouterr())
    assert secret not in output
    assert "Materialize validated the AWS connection minio_writer" in output
    assert mz.catalog.secrets["minio_writer_secret_access_key"] == secret
    assert {"minio_writer", "role_writer"} <= set(mz.catalog.connections)
    assert (
        "CREATE CONNECTION IF NOT EXISTS \"minio_writer\" TO AWS (ACCESS KEY ID = 'testing', REGION = "
        f"'us-east-1', ENDPOINT = '{s3_server.endpoint_url}', SECRET ACCESS KEY = SECRET "
        '"minio_writer_secret_access_key")'
    ) in mz.statements
    assert 'VALIDATE CONNECTION "role_writer"' in mz.statements

    with pytest.raises(RuntimeError, match=r"could not validate the AWS connection 'nope': unknown catalog"):
        hook.validate_aws_connection("nope")

    stats = export(f"s3://{bucket}/via-hook/", aws_connection="minio_writer")
    assert stats["rows"] == ROWS and 'AWS CONNECTION = "minio_writer"' in copies_sent(mz)[-1]
