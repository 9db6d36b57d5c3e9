"""Native mode end to end over the wire: the operator's real ``MaterializeCopy`` against the stand-in.

``materialize_default`` leads to the Materialize stand-in (tests/support/materialize_standin) for
these tests only; the stand-in runs ``COPY ... TO 's3://...'`` as Materialize does and writes to the
test S3 server with its own client. Everything on the provider's side is the real code path: the
operator, the output contract, ``MaterializeCopy`` sending the COPY and cancelling it, the footers.
"""

from __future__ import annotations

import itertools
import json
import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from airflow.sdk.exceptions import AirflowTaskTimeout
from airflow.sdk.execution_time.timeout import timeout

from airflow_provider_materialize.export.native.error_hints import NativeCopyError
from airflow_provider_materialize.export.output_folder import FolderNotEmptyError
from airflow_provider_materialize.export.ownership import FolderLostError
from airflow_provider_materialize.hooks.materialize import MaterializeHook
from tests.support.materialize_standin import MaterializeStandin
from tests.support.operator_run import run_operator
from tests.support.s3_objects import assert_published_exactly, list_keys, list_objects, read_parquet

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]

MB16 = 16 * 1024 * 1024
ROWS = 400
# 10 s unless cancelled: pg_sleep runs per row as the stand-in fetches them (not when described)
SLOW_QUERY = "SELECT g AS id FROM generate_series(1, 40) g WHERE pg_sleep(0.25 + g * 0) IS NOT NULL"


@pytest.fixture(scope="module")
def mz(postgres: Any, s3_server: Any) -> Iterator[MaterializeStandin]:
    with MaterializeStandin(postgres=postgres, s3=s3_server, clusters=("quickstart", "exports")) as standin:
        standin.execute(
            "CREATE TABLE orders (id bigint NOT NULL, name text, amount numeric(12,2));"
            f"INSERT INTO orders SELECT g, 'n' || g, g * 1.25 FROM generate_series(1, {ROWS}) g;"
            "CREATE TABLE readings (id int NOT NULL, value numeric)"
        )
        with standin.connect() as conn:
            conn.execute("CREATE SECRET s3_writer_key AS 'testing'")
            conn.execute(
                "CREATE CONNECTION s3_writer TO AWS (ACCESS KEY ID = 'testing', "
                "SECRET ACCESS KEY = SECRET s3_writer_key, REGION = 'us-east-1')"
            )
        yield standin


@pytest.fixture(autouse=True)
def materialize_default(mz: MaterializeStandin, monkeypatch: pytest.MonkeyPatch) -> None:
    """``materialize_default`` leads to the stand-in during each test, to the test PostgreSQL after it."""
    monkeypatch.setenv("AIRFLOW_CONN_MATERIALIZE_DEFAULT", mz.materialize_connection_json())


def export(uri: str, **kwargs: Any) -> dict[str, Any]:
    """Run the operator in native mode (``aws_connection=``) and return its XCom value."""
    kwargs.setdefault("source", "orders")
    kwargs.setdefault("aws_connection", "s3_writer")
    kwargs.setdefault("max_file_size", "16MB")
    return run_operator(s3_uri=uri, **kwargs)


def copies_sent(mz: MaterializeStandin) -> list[str]:
    """The COPY statements the stand-in received, in order."""
    return [s for s in mz.statements if s.lstrip().upper().startswith("COPY")]


def read_json(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def data_keys(mz: MaterializeStandin, prefix: str, extension: str) -> list[str]:
    """What the last COPY wrote, as Materialize names it: ``mz-t<N>-batch-<NNNN>-<MMMM>.<ext>``."""
    sink = mz.copies[-1].sink_id
    assert re.fullmatch(r"t\d+", sink)
    keys = sorted(mz.copies[-1].files)
    pattern = rf"{re.escape(prefix)}mz-{sink}-batch-\d{{4}}-\d{{4}}\.{extension}"
    assert keys and all(re.fullmatch(pattern, key) for key in keys), keys
    return keys


@contextmanager
def on_materializes_s3_call(mz: MaterializeStandin, event: str, handler: Any) -> Iterator[None]:
    """Run ``handler`` on a botocore ``event`` of the stand-in's S3 client (Materialize's side of S3).

    A ``before-call.s3.<Operation>`` handler that returns ``(http, parsed)`` answers instead of S3.
    """
    events = mz.s3_client().meta.events
    events.register(event, handler, unique_id="standin-test-hook")
    try:
        yield
    finally:
        events.unregister(event, unique_id="standin-test-hook")


class _Forbidden:
    status_code = 403


def materialize_denies(mz: MaterializeStandin, operation: str, after: int = 0) -> Any:
    """Materialize's AWS role lacks ``s3:<operation>``: 403 AccessDenied, from call ``after + 1`` on."""
    calls = itertools.count(1)

    def deny(**_: Any) -> Any:
        if next(calls) <= after:
            return None
        return _Forbidden(), {
            "Error": {"Code": "AccessDenied", "Message": "Access Denied"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }

    return on_materializes_s3_call(mz, f"before-call.s3.{operation}", deny)


# -- a successful export ------------------------------------------------------------------------


def test_parquet_export_writes_materializes_files_the_manifest_and_xcom(mz, s3, bucket) -> None:
    stats = export(f"s3://{bucket}/nightly/run1/", cluster="exports")

    assert copies_sent(mz)[-1] == (
        f'COPY "orders" TO \'s3://{bucket}/nightly/run1\' WITH (AWS CONNECTION = "s3_writer", '
        "FORMAT = 'parquet', MAX FILE SIZE = 16777216)"
    )
    assert 'SET cluster = "exports"' in mz.statements
    copy = mz.copies[-1]
    assert copy.error is None and copy.max_file_size == MB16  # the stand-in accepted the size in bytes
    names = data_keys(mz, "nightly/run1/", "parquet")
    assert [k.rsplit("-", 2)[1:] for k in names] == [["0000", "0000.parquet"], ["0001", "0000.parquet"]]
    sizes = list_objects(s3, bucket, "nightly/run1/")
    footers = {key: read_parquet(s3, bucket, key).metadata.num_rows for key in names}
    assert sum(footers.values()) == ROWS == copy.rows  # the COPY tag and the footers agree

    assert stats["mode"] == "native" and stats["format"] == "parquet"
    assert stats["uri"] == f"s3://{bucket}/nightly/run1/"
    assert stats["rows"] == ROWS and stats["bytes"] == sum(sizes[k] for k in names)
    assert stats["files"] == [
        {"uri": f"s3://{bucket}/{k}", "rows": footers[k], "bytes": sizes[k]} for k in names
    ]
    assert stats["snapshot_timestamp"] is None
    assert stats["manifest_uri"] == f"s3://{bucket}/nightly/run1/_manifest.json"

    manifest = assert_published_exactly(s3, bucket, "nightly/run1/", ROWS)
    assert manifest["mode"] == "native" and manifest["files"] == stats["files"]
    assert manifest["written_by"]["reader"] == "materialize"
    assert [e["url"] for e in manifest["entries"]] == [f["uri"] for f in stats["files"]]
    assert manifest["schema"] == [
        {"name": "id", "type": "int64", "nullable": False, "materialize_type": "materialize.v1.bigint"},
        {"name": "name", "type": "large_string", "nullable": True, "materialize_type": "materialize.v1.text"},
        {
            "name": "amount",
            "type": "decimal128(38, 2)",
            "nullable": True,
            "materialize_type": "materialize.v1.numeric",
        },
    ]


def test_csv_export_with_header_and_delimiter(mz, s3, bucket) -> None:
    stats = export(f"s3://{bucket}/csv/", format="csv", csv_header=True, csv_delimiter="|")

    assert copies_sent(mz)[-1].endswith(
        "FORMAT = 'csv', MAX FILE SIZE = 16777216, HEADER = true, DELIMITER = '|')"
    )
    names = data_keys(mz, "csv/", "csv")
    assert [k.rsplit("-", 1)[1] for k in names] == ["0001.csv", "0001.csv"]  # CSV numbers from 0001
    lines = []
    for key in names:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        assert body.startswith("id|name|amount\n")  # the header starts every file
        lines += body.splitlines()[1:]
    assert len(lines) == ROWS and "1|n1|1.25" in lines
    assert stats["mode"] == "native" and stats["format"] == "csv"
    assert stats["rows"] == ROWS and [f["rows"] for f in stats["files"]] == [None, None]  # from the tag
    assert [f["uri"] for f in stats["files"]] == [f"s3://{bucket}/{k}" for k in names]
    schema = read_json(s3, bucket, "csv/_manifest.json")["schema"]
    assert [(c["name"], c["type"], c["materialize_type"]) for c in schema] == [
        ("id", "string", "int8"),
        ("name", "string", "text"),
        ("amount", "string", "numeric"),
    ]


def test_an_empty_result_still_has_one_file(mz, s3, bucket) -> None:
    stats = export(f"s3://{bucket}/e/", source=None, query="SELECT id, name FROM orders WHERE false")
    (name,) = data_keys(mz, "e/", "parquet")
    assert name.endswith("-batch-0000-0000.parquet")  # batch 0 always gets a file
    assert stats["rows"] == 0 and stats["files"] == [
        {"uri": f"s3://{bucket}/{name}", "rows": 0, "bytes": list_objects(s3, bucket, "e/")[name]}
    ]
    assert_published_exactly(s3, bucket, "e/", 0)


def test_progress_is_logged_while_materialize_writes(mz, s3, bucket, caplog) -> None:
    query = "SELECT g AS id FROM generate_series(1, 6) g WHERE pg_sleep(0.15 + g * 0) IS NOT NULL"
    with caplog.at_level("INFO"):
        stats = export(f"s3://{bucket}/g/", source=None, query=query, progress_interval=0.2)
    assert stats["rows"] == 6
    assert re.search(r"COPY running for \d+s: Materialize has written \d+ file\(s\)", caplog.text)
    assert "Materialize reported COPY 6; checking the files it wrote" in caplog.text


# -- refused before the COPY --------------------------------------------------------------------


def test_a_raw_prefix_neighbour_is_refused_before_the_copy(mz, s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="p/run10/part-00000.parquet", Body=b"other run")
    sent = len(copies_sent(mz))
    with pytest.raises(FolderNotEmptyError, match=r"no key starts with 'p/run1'.*p/run10/part-00000.parquet"):
        export(f"s3://{bucket}/p/run1/")
    assert len(copies_sent(mz)) == sent
    assert list_keys(s3, bucket) == ["p/run10/part-00000.parquet"]


def test_a_non_empty_folder_is_refused_and_overwrite_replaces_it(mz, s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="o/old.parquet", Body=b"x")
    sent = len(copies_sent(mz))
    with pytest.raises(FolderNotEmptyError, match="holds 1 object"):
        export(f"s3://{bucket}/o/")
    assert len(copies_sent(mz)) == sent
    stats = export(f"s3://{bucket}/o/", overwrite=True)
    assert stats["rows"] == ROWS and "o/old.parquet" not in list_keys(s3, bucket)
    assert_published_exactly(s3, bucket, "o/", ROWS)


def test_an_interrupted_copy_without_our_marker_is_refused_not_deleted(mz, s3, bucket) -> None:
    # A COPY of an earlier worker that was killed before it recorded anything: Materialize's leftovers only
    with mz.connect() as conn, pytest.raises(psycopg.Error, match="special numeric value NaN"):
        conn.execute(
            f"COPY (SELECT 'NaN'::numeric AS n) TO 's3://{bucket}/k' WITH "
            "(AWS CONNECTION = s3_writer, FORMAT = 'parquet')"
        )
    leftovers = list_keys(s3, bucket)
    assert leftovers == [f"k/mz-{mz.copies[-1].sink_id}-INCOMPLETE"]
    sent = len(copies_sent(mz))
    with pytest.raises(FolderNotEmptyError, match=r"k/mz-t\d+-INCOMPLETE marks an interrupted Materialize"):
        export(f"s3://{bucket}/k/", try_number=2)
    assert len(copies_sent(mz)) == sent and list_keys(s3, bucket) == leftovers


@pytest.mark.parametrize("size", ["16777215", "15.9MB", "4294967297", "5GB"])
def test_max_file_size_limits_are_enforced_before_anything_is_sent(mz, s3, bucket, size: str) -> None:
    sent = len(mz.statements)
    with pytest.raises(ValueError, match="native mode takes 16MB to 4GB"):
        export(f"s3://{bucket}/s/", max_file_size=int(size) if size.isdigit() else size)
    assert len(mz.statements) == sent and list_keys(s3, bucket) == []


def test_the_largest_max_file_size_is_accepted(mz, bucket) -> None:
    stats = export(f"s3://{bucket}/big/", max_file_size="4GB")
    assert copies_sent(mz)[-1].endswith("MAX FILE SIZE = 4294967296)")
    assert mz.copies[-1].max_file_size == 4 * 1024**3 and stats["rows"] == ROWS


def test_a_char_column_is_refused_at_plan_time_before_anything_is_written(mz, s3, bucket) -> None:
    query = "SELECT id, 'a'::\"char\" AS flag, interval '1 day' AS wait FROM orders"
    with pytest.raises(NativeCopyError) as error:
        export(f"s3://{bucket}/c/", source=None, query=query)
    message = str(error.value)
    assert 'Cannot encode the following columns/types: ["flag: PgLegacyChar", "wait: Interval"]' in message
    assert "What to do: Cast or leave out the named columns with query=" in message
    assert list_keys(s3, bucket) == []  # refused when planned: not even Materialize's sentinel


def test_an_unknown_aws_connection_names_create_aws_connection_and_leaves_s3_untouched(mz, s3, bucket):
    with pytest.raises(NativeCopyError) as error:
        export(f"s3://{bucket}/u/", aws_connection="nope")
    message = str(error.value)
    assert f"Materialize's COPY to s3://{bucket}/u/ failed: unknown catalog item 'nope'" in message
    assert (
        "What to do: Create the AWS connection first, e.g. MaterializeHook().create_aws_connection("
        in message
    )
    assert 'AWS CONNECTION = "nope"' in copies_sent(mz)[-1]  # Materialize refused the COPY itself
    assert list_keys(s3, bucket) == []


def test_materializes_missing_s3_permission_is_explained(mz, s3, bucket) -> None:
    with materialize_denies(mz, "DeleteObject"), pytest.raises(NativeCopyError) as error:
        export(f"s3://{bucket}/iam/run1/")
    message = str(error.value)
    assert "failed: AccessDenied error when using DeleteObject" in message  # preflight's probe
    assert "s3:PutObject and s3:DeleteObject" in message and f"arn:aws:s3:::{bucket}/iam/run1*" in message
    assert list_keys(s3, bucket) == []  # the probe comes before the sentinel


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
