"""One writer per folder, under races: two runs at once, a zombie try beside its retry, a reader polling.

Against the real PostgreSQL and S3 servers. Whatever the timing, a folder is never published with
a manifest whose files are not exactly there with the listed sizes, and it ends holding one export.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow.compute as pc
import pytest
from airflow.providers.amazon.aws.hooks.s3 import S3Hook

from airflow_provider_materialize.export.output_folder import FolderNotEmptyError, OutputFolder
from airflow_provider_materialize.export.ownership import FolderClaim, FolderLostError, RunIdentity
from airflow_provider_materialize.export.s3_folder import S3Folder
from tests.support.operator_run import run_operator
from tests.support.s3_fault_proxy import S3FaultProxy
from tests.support.s3_objects import list_objects, read_parquet

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]

ROWS = 120_000
SOURCE = "race_rows"


@pytest.fixture(scope="module")
def race_rows(postgres) -> str:
    postgres.execute(
        f"CREATE TABLE IF NOT EXISTS {SOURCE} AS "
        f"SELECT i AS id, md5(i::text) || md5((i * 7)::text) AS pad FROM generate_series(1, {ROWS}) AS i"
    )
    return SOURCE


def identity(try_number: int = 1, run_id: str = "manual__test") -> RunIdentity:
    return RunIdentity("test_dag", run_id, "export", try_number)


def claim_for(bucket: str, path: str, who: RunIdentity) -> FolderClaim:
    folder = OutputFolder(S3Hook(aws_conn_id="aws_default"), S3Folder.parse(f"s3://{bucket}/{path}/"))
    return FolderClaim(folder, who)


# --- The claim, step by step -------------------------------------------------------------------


def test_of_two_claims_on_an_empty_folder_the_second_fails_and_deletes_nothing(s3, bucket) -> None:
    first, second = claim_for(bucket, "c", identity()), claim_for(bucket, "c", identity(run_id="other"))
    takeover_1, takeover_2 = first.inspect(False), second.inspect(False)  # both see it empty
    first.claim(takeover_1)
    with pytest.raises(FolderLostError, match=r"claimed s3://.*/c/ at the same time"):
        second.claim(takeover_2)
    marker = json.loads(s3.get_object(Bucket=bucket, Key="c/_INCOMPLETE")["Body"].read())
    assert marker["token"] == first.token and marker["run_id"] == "manual__test"
    first.claim(takeover_1)  # a retried request whose first answer was lost: the marker is its own


def test_a_retry_takes_over_and_the_zombie_can_neither_publish_nor_unmark(s3, bucket) -> None:
    zombie = claim_for(bucket, "z", identity(1))
    zombie.claim(zombie.inspect(False))
    s3.put_object(Bucket=bucket, Key=f"z/{zombie.data_file_name(0)}", Body=b"zombie data")
    retry = claim_for(bucket, "z", identity(2))
    retry.claim(retry.inspect(False))  # replaces the zombie's marker, unchanged since inspected
    s3.put_object(Bucket=bucket, Key=f"z/{retry.data_file_name(0)}", Body=b"retry data")

    with pytest.raises(FolderLostError, match="now names try 2"):
        zombie.ensure_owned()
    with pytest.raises(FolderLostError):
        zombie.publish({"written_by": {"token": zombie.token}}, {zombie.data_file_name(0): 11})
    zombie.release()  # the marker is the retry's: left in place
    zombie.abandon()
    assert sorted(list_objects(s3, bucket)) == ["z/_INCOMPLETE", f"z/{retry.data_file_name(0)}"]

    retry.remove_others({retry.data_file_name(0)})
    retry.publish({"written_by": {"token": retry.token}}, {retry.data_file_name(0): 10})
    retry.release()
    assert sorted(list_objects(s3, bucket)) == sorted([f"z/{retry.data_file_name(0)}", "z/_manifest.json"])


def test_a_manifest_is_never_written_for_files_that_are_not_there(s3, bucket) -> None:
    claim = claim_for(bucket, "m", identity())
    claim.claim(claim.inspect(False))
    s3.put_object(Bucket=bucket, Key=f"m/{claim.data_file_name(0)}", Body=b"12345")
    with pytest.raises(FolderLostError, match="missing or changed"):
        claim.publish({"written_by": {"token": claim.token}}, {claim.data_file_name(0): 5, "gone.parquet": 3})
    with pytest.raises(FolderLostError, match="missing or changed"):
        claim.publish({"written_by": {"token": claim.token}}, {claim.data_file_name(0): 6})
    assert "m/_manifest.json" not in list_objects(s3, bucket)


def test_a_marker_changed_since_it_was_inspected_is_not_taken_over(s3, bucket) -> None:
    failed = claim_for(bucket, "t", identity(1))
    failed.claim(failed.inspect(False))
    retry, other_retry = claim_for(bucket, "t", identity(2)), claim_for(bucket, "t", identity(3))
    takeover = retry.inspect(False)
    other_retry.claim(other_retry.inspect(False))  # got there first
    with pytest.raises(FolderLostError):
        retry.claim(takeover)


def test_claims_racing_for_one_folder_leave_exactly_one_owner(s3, bucket) -> None:
    rounds, both_saw_it_empty = 25, 0
    for round_number in range(rounds):
        path = f"claims{round_number}"
        contenders = [claim_for(bucket, path, identity(run_id=f"run_{i}")) for i in range(2)]
        for claim in contenders:
            claim.folder.s3_hook.get_conn()  # build each boto3 client before the start line
        start = threading.Barrier(2)
        outcomes: dict[int, Any] = {}

        threads = [
            threading.Thread(target=_contend, args=(contenders[i], start, outcomes, i)) for i in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        owners = [i for i, outcome in outcomes.items() if outcome == "owner"]
        assert len(owners) == 1, outcomes
        loser = outcomes[1 - owners[0]]
        both_saw_it_empty += isinstance(loser, FolderLostError)  # it passed inspect, lost the claim
        marker = json.loads(s3.get_object(Bucket=bucket, Key=f"{path}/_INCOMPLETE")["Body"].read())
        assert marker["token"] == contenders[owners[0]].token
    print(f"claims racing: {rounds} rounds, {both_saw_it_empty} in which both found the folder empty")
    assert both_saw_it_empty > 0, "the race window was never hit: the test proves nothing"


def _contend(claim: FolderClaim, start: threading.Barrier, outcomes: dict[int, Any], index: int) -> None:
    start.wait(10)
    try:
        claim.claim(claim.inspect(False))
        outcomes[index] = "owner"
    except (FolderLostError, FolderNotEmptyError) as error:
        outcomes[index] = error


# --- Whole exports racing ----------------------------------------------------------------------


class FolderWatcher:
    """Polls the folder; every manifest it sees must list files that exist with the listed sizes."""

    def __init__(self, s3: Any, bucket: str, prefix: str) -> None:
        self.s3, self.bucket, self.prefix = s3, bucket, prefix
        self.polls = self.manifests_seen = 0
        self.violations: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> FolderWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.check()
            time.sleep(0.01)

    def check(self) -> None:
        self.polls += 1
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=f"{self.prefix}_manifest.json")["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return
        self.manifests_seen += 1
        manifest = json.loads(body)
        present = list_objects(self.s3, self.bucket, self.prefix)
        for entry in manifest["files"]:
            key = entry["uri"].split("/", 3)[3]
            if present.get(key) != entry["bytes"]:
                self.violations.append(f"{key}: listed {entry['bytes']} bytes, found {present.get(key)}")


def assert_holds_one_complete_export(s3: Any, bucket: str, prefix: str, rows: int = ROWS) -> dict[str, Any]:
    """The folder holds a manifest, exactly its files with their sizes, and ids 1..rows once each."""
    objects = list_objects(s3, bucket, prefix)
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=f"{prefix}_manifest.json")["Body"].read())
    listed = {entry["uri"].split("/", 3)[3]: entry["bytes"] for entry in manifest["files"]}
    assert {k: v for k, v in objects.items() if not k.endswith("_manifest.json")} == listed
    ids = []
    for key in listed:
        ids.extend(read_parquet(s3, bucket, key).read(columns=["id"]).column("id").to_pylist())
    assert len(ids) == len(set(ids)) == rows == manifest["rows"]
    assert pc.min(ids).as_py() == 1 and pc.max(ids).as_py() == rows
    assert s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", []) == []
    return manifest


def run_in_thread(
    results: dict[str, Any], name: str, start: threading.Barrier | None, **kwargs: Any
) -> threading.Thread:
    def target() -> None:
        if start is not None:
            start.wait(30)
        try:
            results[name] = run_operator(**kwargs)
        except BaseException as error:  # the outcome is what the test looks at
            results[name] = error

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


@contextmanager
def delayed_s3_connection(s3_server, conn_id: str, latency: float) -> Iterator[str]:
    """An AWS connection named ``conn_id`` whose every S3 request takes ``latency`` seconds longer."""
    variable = f"AIRFLOW_CONN_{conn_id.upper()}"
    with S3FaultProxy(upstream=s3_server.endpoint_url, fault_rate=0.0, latency=latency) as proxy:
        os.environ[variable] = proxy.aws_connection_json()
        try:
            yield conn_id
        finally:
            os.environ.pop(variable, None)


@pytest.fixture
def slow_s3(s3_server) -> Iterator[str]:
    with delayed_s3_connection(s3_server, "aws_slow", 0.02) as conn_id:
        yield conn_id


@pytest.fixture
def struggling_s3(s3_server) -> Iterator[str]:
    """Slow enough (250 ms a request) that a try still has several files to write after the first ones
    land, however fast the export pipeline gets: its retry starts and claims the folder meanwhile."""
    with delayed_s3_connection(s3_server, "aws_struggling", 0.25) as conn_id:
        yield conn_id


@pytest.mark.parametrize("latency", ["none", "20ms"])
def test_two_runs_started_together_into_one_folder(race_rows, s3, bucket, latency, request) -> None:
    aws_conn_id = request.getfixturevalue("slow_s3") if latency == "20ms" else "aws_default"
    rounds, outcomes = 6, []
    for round_number in range(rounds):
        prefix = f"race{round_number}/"
        results: dict[str, Any] = {}
        start = threading.Barrier(2)
        with FolderWatcher(s3, bucket, prefix) as watcher:
            threads = [
                run_in_thread(
                    results,
                    run_id,
                    start,
                    run_id=run_id,
                    source=race_rows,
                    s3_uri=f"s3://{bucket}/{prefix}",
                    max_file_size="2MB",
                    aws_conn_id=aws_conn_id,
                )
                for run_id in ("scheduled__a", "scheduled__b")
            ]
            for thread in threads:
                thread.join(300)
        succeeded = [name for name, outcome in results.items() if isinstance(outcome, dict)]
        failed = {name: outcome for name, outcome in results.items() if not isinstance(outcome, dict)}
        assert len(succeeded) == 1, results
        assert all(isinstance(e, FolderLostError | FolderNotEmptyError) for e in failed.values()), failed
        assert not watcher.violations, watcher.violations
        manifest = assert_holds_one_complete_export(s3, bucket, prefix)
        assert manifest["written_by"]["run_id"] == succeeded[0]
        outcomes.append((type(next(iter(failed.values()))).__name__, watcher.polls, watcher.manifests_seen))
    print(
        f"two runs racing, latency {latency}: {rounds} rounds, "
        f"loser's error / polls / manifests seen: {outcomes}"
    )


@pytest.mark.parametrize("takeover_after_files", [1, 3])
def test_a_zombie_try_beside_its_retry(
    race_rows, postgres, s3, bucket, struggling_s3: str, takeover_after_files: int
) -> None:
    # The source keeps changing, as a Materialize view does: try 2 reads a later snapshot than try 1,
    # so files of the two tries cannot pass for one export.
    table, added = f"zombie_rows_{takeover_after_files}", 20_000
    postgres.execute(f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} AS SELECT * FROM {race_rows}")
    prefix = f"zombie{takeover_after_files}/"
    results: dict[str, Any] = {}
    common = {"source": table, "s3_uri": f"s3://{bucket}/{prefix}", "max_file_size": "1MB"}
    with FolderWatcher(s3, bucket, prefix) as watcher:
        # try 1's worker struggles (every S3 call 250 ms slower): it is still writing when try 2 starts
        zombie = run_in_thread(results, "try1", None, try_number=1, aws_conn_id=struggling_s3, **common)
        deadline = time.monotonic() + 120
        while (
            time.monotonic() < deadline
            and len([k for k in list_objects(s3, bucket, prefix) if k.endswith(".parquet")])
            < takeover_after_files
        ):
            time.sleep(0.01)
        postgres.execute(
            f"INSERT INTO {table} SELECT i, md5(i::text) "
            f"FROM generate_series({ROWS + 1}, {ROWS + added}) AS i"
        )
        # Airflow started try 2 while try 1's worker is still writing (it lost its heartbeat)
        retry = run_in_thread(results, "try2", None, try_number=2, aws_conn_id="aws_default", **common)
        zombie.join(300)
        retry.join(300)
    assert isinstance(results["try2"], dict), results
    assert results["try2"]["rows"] == ROWS + added
    assert isinstance(results["try1"], FolderLostError), results
    assert not watcher.violations, watcher.violations
    manifest = assert_holds_one_complete_export(s3, bucket, prefix, rows=ROWS + added)
    assert manifest["written_by"]["try_number"] == 2
    print(
        f"zombie after {takeover_after_files} file(s): try 1 ended with "
        f"{type(results['try1']).__name__}; {watcher.polls} polls, {watcher.manifests_seen} manifest reads"
    )
