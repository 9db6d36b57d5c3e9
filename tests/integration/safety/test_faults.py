"""Fault injection: a worker killed mid-stream, a flaky S3, a database session terminated mid-stream.

Whatever happens to a try, the folder ends up either without ``_manifest.json`` (and the task's
next try publishes it exactly) or published exactly: every row once, only the manifest's files,
no ``_INCOMPLETE``, no unfinished multipart upload (the S3 faults test tolerates, and counts, only
those whose ``CreateMultipartUpload`` answer the proxy dropped: no client ever learnt their ids).
Data file names are never assumed: they come from the manifest and the XCom statistics. The rounds
of S3 faults are described in s3_fault_rounds.py.
"""

from __future__ import annotations

import collections
import re
import time
from typing import Any

import psycopg
import pytest

from tests.integration.safety.s3_fault_rounds import FAULT_ROUNDS, FAULT_ROWS, MULTIPART, TRIES
from tests.support.export_process import ExportProcess, data_objects, open_uploads
from tests.support.operator_run import run_operator
from tests.support.s3_fault_proxy import FAULT_KINDS, S3FaultProxy
from tests.support.s3_objects import assert_published_exactly, list_keys, list_objects

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]

TABLE = "safety_rows"
TABLE_ROWS = 400_000  # about 20 MB of Parquet: ~20 files of 1 MB
# Seconds between a killed try and its retry (Airflow waits retry_delay, 5 minutes by default): lets
# the S3 server finish a request the killed process had sent completely, as it would in that time.
RETRY_DELAY = 0.3


@pytest.fixture(scope="module")
def table(postgres) -> str:
    postgres.execute(f"DROP TABLE IF EXISTS {TABLE}")
    postgres.execute(
        f"CREATE TABLE {TABLE} AS SELECT i::bigint AS id, md5(i::text) AS h, (i % 1000)::int AS k, "
        f"i * 0.5::float8 AS x FROM generate_series(1, {TABLE_ROWS}) AS i"
    )
    return TABLE


@pytest.fixture(autouse=True)
def _empty_bucket_afterwards(s3, bucket):
    """The S3 server keeps everything in memory: drop this test's objects when it ends."""
    yield
    keys = list_keys(s3, bucket)
    for start in range(0, len(keys), 1000):
        s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys[start : start + 1000]]}
        )
    for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])


def _check_xcom_matches_manifest(stats: dict[str, Any], manifest: dict[str, Any], rows: int) -> None:
    assert stats["rows"] == manifest["rows"] == rows, (stats["rows"], manifest["rows"], rows)
    assert [(f["uri"], f["bytes"], f["rows"]) for f in stats["files"]] == [
        (f["uri"], f["bytes"], f["rows"]) for f in manifest["files"]
    ]


# -- a. kill -9 in the middle of the stream, then the task's retry ----------------------------------


@pytest.mark.parametrize(
    ("sizes", "kill_when", "count"),
    [
        pytest.param({"max_file_size": "1MB"}, "data objects", 1, id="after-1-file"),
        pytest.param({"max_file_size": "1MB"}, "data objects", 3, id="after-3-files"),
        pytest.param({"max_file_size": "1MB"}, "data objects", 6, id="after-6-files"),
        # One file for the whole table (about 20 MB, four parts or more): its upload stays open from
        # its first part to the end of the export. With 12 MB files the export could finish a file
        # between the poll that saw its part and the kill, and be between uploads (seen once in CI).
        pytest.param(
            {"max_file_size": "64MB", "s3_transfer_config": MULTIPART},
            "multipart uploads with a part",
            1,
            id="during-a-multipart-upload",
        ),
    ],
)
def test_kill_9_mid_stream_then_the_retry_publishes_exactly(
    s3, bucket, table, sizes, kill_when, count, request
) -> None:
    prefix = f"kill/{request.node.callspec.id}/"
    kwargs = {"source": table, "s3_uri": f"s3://{bucket}/{prefix}", **sizes}
    run_id = "manual__kill"

    def kill_point() -> list[Any]:
        if kill_when == "data objects":
            found: list[Any] = data_objects(s3, bucket, prefix)
        else:
            found = open_uploads(s3, bucket, prefix, with_parts=True)
        return found if len(found) >= count else []

    with ExportProcess(kwargs, try_number=1, run_id=run_id) as child:
        seen = child.wait_until(kill_point, timeout=45, what=f"{count} {kill_when} in s3://{bucket}/{prefix}")
        child.kill()
        assert child.killed and child.outcome() is None, "the export finished before it could be killed"

    left = list_objects(s3, bucket, prefix)
    uploads_left = open_uploads(s3, bucket, prefix)
    assert prefix + "_manifest.json" not in left, f"killed try 1 published: {sorted(left)}"
    assert prefix + "_INCOMPLETE" in left, f"killed try 1 left no _INCOMPLETE: {sorted(left)}"
    if kill_when == "data objects":
        assert len(data_objects(s3, bucket, prefix)) >= count
    else:
        assert uploads_left, "the multipart upload that was open at the kill is gone"

    time.sleep(RETRY_DELAY)
    stats = run_operator(try_number=2, run_id=run_id, **kwargs)

    manifest = assert_published_exactly(
        s3, bucket, prefix, TABLE_ROWS, "id", expected_keys=range(1, TABLE_ROWS + 1)
    )
    _check_xcom_matches_manifest(stats, manifest, TABLE_ROWS)
    assert manifest["written_by"]["try_number"] == 2
    print(
        f"kill -9 {request.node.callspec.id}: killed at {len(seen)} {kill_when}; try 1 left "
        f"{len(left)} object(s) and {len(uploads_left)} open upload(s); try 2 published "
        f"{len(manifest['files'])} file(s), {TABLE_ROWS} rows checked"
    )


# -- b. S3 faults: 500, 503, resets before and after the request took effect --------------------------


def test_exports_through_a_faulty_s3_are_exact_or_fail_without_a_manifest(
    s3, s3_server, bucket, table, monkeypatch
) -> None:
    query = f"SELECT * FROM {table} WHERE id <= {FAULT_ROWS}"
    totals = {"requests": 0, "rows_checked": 0, "failed_tries": 0, "orphan_uploads": 0}
    faults = dict.fromkeys(FAULT_KINDS, 0)
    hit: collections.Counter = collections.Counter()  # (kind, operation) -> faults
    rounds: list[str] = []

    def summary() -> str:
        per_kind = ", ".join(f"{kind} {n}" for kind, n in faults.items())
        operations = ", ".join(f"{kind} {operation} {n}" for (kind, operation), n in sorted(hit.items()))
        return (
            f"S3 faults: {len(rounds)} round(s), {totals['requests']} requests, faults injected: {per_kind} "
            f"(total {sum(faults.values())}); {totals['failed_tries']} failed tries, none with a manifest; "
            f"{totals['orphan_uploads']} orphaned multipart upload(s) after success; "
            f"{totals['rows_checked']} rows checked\n  faults by operation: {operations}\n  "
            + "\n  ".join(rounds)
        )

    for number, plan in enumerate(FAULT_ROUNDS):
        prefix = f"faults/round-{number}/"
        kwargs = {
            "query": query,
            "s3_uri": f"s3://{bucket}/{prefix}",
            "aws_conn_id": "aws_faulty",
            **plan.sizes,
        }
        run_id = f"manual__faults_{number}"
        tries: list[str] = []
        proxy = S3FaultProxy(
            s3_server.endpoint_url,
            fault_rate=plan.rate,
            seed=plan.seed,
            kinds=plan.kinds,
            should_fault=plan.should_fault(),
        )
        with proxy:
            monkeypatch.setenv("AIRFLOW_CONN_AWS_FAULTY", proxy.aws_connection_json(plan.max_attempts))
            for try_number in range(1, TRIES + 1):
                if try_number == TRIES:
                    proxy.fault_rate = 0
                try:
                    stats = run_operator(try_number=try_number, run_id=run_id, **kwargs)
                except Exception as error:
                    totals["failed_tries"] += 1
                    tries.append(f"try {try_number} failed: {type(error).__name__}: {str(error)[:160]!r}")
                    keys = list_keys(s3, bucket, prefix)
                    this_round = collections.Counter((f.kind, f.operation) for f in proxy.fault_log)
                    assert prefix + "_manifest.json" not in keys, (
                        f"round {number} ({plan.name}, seed {plan.seed}) try {try_number} failed "
                        f"({error!r}) yet published: {keys}\nfaults in this round so far: "
                        f"{dict(this_round)}\n{summary()}"
                    )
                    assert try_number < TRIES, (
                        f"round {number}: the retry on a healthy S3 failed: {error!r}\n{summary()}"
                    )
                    continue
                tries.append(f"try {try_number} published")
                break
            log = proxy.fault_log
            round_stats = proxy.stats
        totals["requests"] += round_stats["requests"]
        for fault in log:
            faults[fault.kind] += 1
            hit[fault.kind, fault.operation] += 1
        rounds.append(
            f"round {number} ({plan.name}, seed {plan.seed}, {plan.sizes['max_file_size']} files): "
            f"{round_stats['requests']} requests, faults {round_stats['faults']}; " + "; ".join(tries)
        )
        # A reset after CreateMultipartUpload took effect: boto3 retried it, and nobody ever learnt
        # the first upload's id. The export aborts every open upload before it publishes, so none stays.
        totals["orphan_uploads"] += len(open_uploads(s3, bucket, prefix))
        try:
            manifest = assert_published_exactly(
                s3,
                bucket,
                prefix,
                FAULT_ROWS,
                "id",
                expected_keys=range(1, FAULT_ROWS + 1),
            )
            _check_xcom_matches_manifest(stats, manifest, FAULT_ROWS)
        except AssertionError as error:
            raise AssertionError(
                f"round {number} ({plan.name}, seed {plan.seed}): {error}\n{summary()}"
            ) from None
        totals["rows_checked"] += FAULT_ROWS

    print(summary())
    assert sum(faults.values()) >= 10, f"too few faults to mean anything: {summary()}"
    assert totals["failed_tries"] >= 2, f"the outage round should fail tries 1 and 2: {summary()}"


# -- c. the database session terminated in the middle of the stream ----------------------------------


@pytest.mark.parametrize("reader", ["adbc", "csv"])
def test_backend_terminated_mid_stream_fails_clearly_and_the_retry_publishes_exactly(
    s3, bucket, table, postgres, reader
) -> None:
    prefix = f"terminated/{reader}/"
    # The server pauses now and then (pg_sleep on every 20,000th row), so its COPY is still running
    # when the test finds the first file in S3: otherwise a fast export can outrun the poll.
    paced = f"SELECT t.*, (CASE WHEN t.id % 20000 = 0 THEN pg_sleep(0.1) END) IS NULL AS paced FROM {table} t"
    kwargs = {"query": paced, "s3_uri": f"s3://{bucket}/{prefix}", "max_file_size": "1MB", "reader": reader}
    run_id = "manual__terminated"

    with (
        ExportProcess(kwargs, try_number=1, run_id=run_id) as child,
        psycopg.connect(
            host="127.0.0.1", port=postgres.port, user="postgres", dbname=postgres.database, autocommit=True
        ) as admin,
    ):

        def terminate_the_copy() -> list[int]:
            if not data_objects(s3, bucket, prefix):  # mid-stream: a file is already in the folder
                return []
            rows = admin.execute(
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE state = 'active' AND query ILIKE '%%COPY%%' AND query ILIKE %s "
                "AND pid <> pg_backend_pid()",
                (f"%{table}%",),
            ).fetchall()
            return [pid for pid, terminated in rows if terminated]

        terminated = child.wait_until(terminate_the_copy, timeout=45, what="a COPY of the table to terminate")
        started = time.monotonic()
        outcome = child.wait(timeout=30)  # a hang fails here
        took = time.monotonic() - started

    assert outcome["status"] == "failed", f"the export succeeded though its session was terminated: {outcome}"
    message = outcome["error"]
    assert re.search(
        r"terminat\w* .*connection|administrator command|server closed the connection", message, re.I
    ), f"not a readable error: {outcome['error_type']}: {message}"
    keys = list_keys(s3, bucket, prefix)
    assert prefix + "_manifest.json" not in keys, f"the failed try published: {keys}"

    stats = run_operator(try_number=2, run_id=run_id, **kwargs)
    manifest = assert_published_exactly(
        s3, bucket, prefix, TABLE_ROWS, "id", expected_keys=range(1, TABLE_ROWS + 1)
    )
    _check_xcom_matches_manifest(stats, manifest, TABLE_ROWS)
    print(
        f"terminated backend(s) {terminated} ({reader}): try 1 failed {took:.1f}s later with "
        f"{outcome['error_type']}: {message.splitlines()[0][:200]}; it left {len(keys)} object(s); "
        f"try 2 published {len(manifest['files'])} file(s), {TABLE_ROWS} rows checked"
    )
