"""The output contract: folder semantics, refusal, overwrite, marker and manifest, clean retries."""

from __future__ import annotations

import json

import pytest

from airflow_provider_materialize.export.output_folder import FolderNotEmptyError
from tests.support.operator_run import run_operator
from tests.support.s3_objects import file_keys, list_keys, list_objects

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]

# Streams ~300,000 good rows, then fails with "division by zero" halfway through the read.
FAILING_QUERY = (
    "SELECT i AS id, md5(i::text) || md5((i + 1)::text) AS h, "
    "CASE WHEN i < 300000 THEN 1 ELSE 1 / (i - i) END AS boom FROM generate_series(1, 400000) AS i"
)
GOOD_QUERY = "SELECT i AS id FROM generate_series(1, 1000) AS i"


def test_folder_is_a_folder_not_a_prefix(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="p/run10/part-00000.parquet", Body=b"other run")
    stats = run_operator(query=GOOD_QUERY, s3_uri=f"s3://{bucket}/p/run1")
    assert stats["uri"] == f"s3://{bucket}/p/run1/"
    assert list_keys(s3, bucket) == [
        "p/run1/_manifest.json",
        *file_keys(stats),
        "p/run10/part-00000.parquet",
    ]


def test_non_empty_folder_is_refused_with_count_and_keys(s3, bucket) -> None:
    for i in range(7):
        s3.put_object(Bucket=bucket, Key=f"out/old-{i}.parquet", Body=b"x")
    with pytest.raises(FolderNotEmptyError) as error:
        run_operator(query=GOOD_QUERY, s3_uri=f"s3://{bucket}/out/")
    message = str(error.value)
    assert "holds 7 object(s)" in message and "out/old-0.parquet" in message and "overwrite=True" in message
    assert list_keys(s3, bucket) == [f"out/old-{i}.parquet" for i in range(7)]  # nothing written or deleted


def test_overwrite_replaces_only_what_the_folder_holds_and_says_what_it_deleted(s3, bucket, caplog) -> None:
    s3.put_object(Bucket=bucket, Key="out/stale.parquet", Body=b"x")
    s3.put_object(Bucket=bucket, Key="out/sub/older.parquet", Body=b"x")
    s3.put_object(Bucket=bucket, Key="outside.parquet", Body=b"x")
    s3.put_object(Bucket=bucket, Key="out_sibling/keep.parquet", Body=b"x")
    with caplog.at_level("INFO"):
        stats = run_operator(query=GOOD_QUERY, s3_uri=f"s3://{bucket}/out/", overwrite=True)
    assert stats["rows"] == 1000
    assert list_keys(s3, bucket) == sorted(
        ["out/_manifest.json", *file_keys(stats), "out_sibling/keep.parquet", "outside.parquet"]
    )
    assert "Deleting 2 object(s) under" in caplog.text and "out/stale.parquet" in caplog.text


def test_a_second_run_into_a_finished_folder_is_refused(s3, bucket) -> None:
    run_operator(query=GOOD_QUERY, s3_uri=f"s3://{bucket}/done/")
    before = list_objects(s3, bucket)
    with pytest.raises(FolderNotEmptyError, match="overwrite=True"):
        run_operator(query=GOOD_QUERY, s3_uri=f"s3://{bucket}/done/", run_id="scheduled__other")
    with pytest.raises(FolderNotEmptyError):
        run_operator(query=GOOD_QUERY, s3_uri=f"s3://{bucket}/done/", task_id="other_task", try_number=2)
    assert list_objects(s3, bucket) == before


def test_a_cleared_task_replaces_its_own_complete_output(s3, bucket, caplog) -> None:
    first = run_operator(query=GOOD_QUERY, s3_uri=f"s3://{bucket}/cleared/")
    with caplog.at_level("INFO"):
        second = run_operator(
            query="SELECT i AS id FROM generate_series(1, 10) AS i",
            s3_uri=f"s3://{bucket}/cleared/",
            try_number=2,
        )
    assert "the complete output of try 1 of this task (the task was cleared)" in caplog.text
    assert second["rows"] == 10 and file_keys(first) != file_keys(second)
    assert list_keys(s3, bucket) == sorted(["cleared/_manifest.json", *file_keys(second)])
    manifest = json.loads(s3.get_object(Bucket=bucket, Key="cleared/_manifest.json")["Body"].read())
    assert manifest["rows"] == 10 and manifest["written_by"]["try_number"] == 2


def test_failed_try_leaves_marker_no_manifest_and_no_open_uploads(s3, bucket) -> None:
    with pytest.raises(Exception, match="division by zero"):
        run_operator(query=FAILING_QUERY, s3_uri=f"s3://{bucket}/f/", max_file_size="1MB")
    keys = list_keys(s3, bucket)
    assert "f/_INCOMPLETE" in keys and "f/_manifest.json" not in keys
    assert any(key.endswith(".parquet") for key in keys), (
        "files finished before the failure stay for the retry"
    )
    marker = json.loads(s3.get_object(Bucket=bucket, Key="f/_INCOMPLETE")["Body"].read())
    assert {k: marker[k] for k in ("dag_id", "run_id", "task_id", "try_number")} == {
        "dag_id": "test_dag",
        "run_id": "manual__test",
        "task_id": "export",
        "try_number": 1,
    }
    assert "started_at" in marker and len(marker["token"]) == 8
    assert all(marker["token"] in key for key in keys if key.endswith(".parquet"))
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_retry_of_the_same_task_cleans_its_leftovers_and_succeeds(s3, bucket, caplog) -> None:
    with pytest.raises(Exception, match="division by zero"):
        run_operator(query=FAILING_QUERY, s3_uri=f"s3://{bucket}/r/", max_file_size="1MB")
    # as if a worker had been killed in the middle of an upload
    s3.create_multipart_upload(Bucket=bucket, Key="r/part-00042.parquet")
    with caplog.at_level("INFO"):
        stats = run_operator(query=GOOD_QUERY, s3_uri=f"s3://{bucket}/r/", try_number=2)
    assert "what try 1 of this task left; this try starts over" in caplog.text
    assert stats["rows"] == 1000
    assert list_keys(s3, bucket) == sorted(["r/_manifest.json", *file_keys(stats)])
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_leftovers_of_another_task_are_not_deleted(s3, bucket) -> None:
    with pytest.raises(Exception, match="division by zero"):
        run_operator(query=FAILING_QUERY, s3_uri=f"s3://{bucket}/o/", max_file_size="1MB")
    before = list_keys(s3, bucket)
    with pytest.raises(FolderNotEmptyError):
        run_operator(query=GOOD_QUERY, s3_uri=f"s3://{bucket}/o/", task_id="another_task", try_number=2)
    assert list_keys(s3, bucket) == before
