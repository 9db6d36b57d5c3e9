"""Opt-in: native mode end to end against a real Materialize and an S3 store it can reach.

Besides ``MATERIALIZE_TEST_URL`` (see ``test_real_materialize.py``) this needs an S3-compatible
store that both Materialize and this machine can reach, e.g. MinIO next to the emulator:

* ``MATERIALIZE_TEST_S3_ENDPOINT``: the endpoint as Materialize sees it (``http://minio:9000``);
* ``MATERIALIZE_TEST_S3_LOCAL_ENDPOINT``: the same store as this machine sees it (default: the above);
* ``MATERIALIZE_TEST_S3_BUCKET``: an existing bucket;
* ``MATERIALIZE_TEST_S3_KEY`` and ``MATERIALIZE_TEST_S3_SECRET``: its access key;
* ``MATERIALIZE_TEST_S3_REGION`` (default ``us-east-1``).
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import boto3
import pytest

from airflow_provider_materialize.export.native.error_hints import NativeCopyError
from airflow_provider_materialize.hooks.materialize import MaterializeHook
from tests.support.operator_run import run_operator
from tests.support.s3_objects import list_keys, read_parquet

ENDPOINT = os.environ.get("MATERIALIZE_TEST_S3_ENDPOINT")
LOCAL_ENDPOINT = os.environ.get("MATERIALIZE_TEST_S3_LOCAL_ENDPOINT", ENDPOINT)
BUCKET = os.environ.get("MATERIALIZE_TEST_S3_BUCKET")
KEY = os.environ.get("MATERIALIZE_TEST_S3_KEY", "")
SECRET = os.environ.get("MATERIALIZE_TEST_S3_SECRET", "")
REGION = os.environ.get("MATERIALIZE_TEST_S3_REGION", "us-east-1")

pytestmark = [
    pytest.mark.materialize,
    pytest.mark.skipif(
        not (os.environ.get("MATERIALIZE_TEST_URL") and ENDPOINT and BUCKET),
        reason="native mode needs a real Materialize and an S3 store it can reach: set MATERIALIZE_TEST_URL, "
        "MATERIALIZE_TEST_S3_ENDPOINT, MATERIALIZE_TEST_S3_BUCKET, MATERIALIZE_TEST_S3_KEY and "
        "MATERIALIZE_TEST_S3_SECRET (e.g. the materialize/materialized emulator image and MinIO)",
    ),
]


@pytest.fixture(scope="module")
def store() -> Any:
    """``aws_default`` points at the shared store; yields a boto3 client for it."""
    os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps(
        {
            "conn_type": "aws",
            "login": KEY,
            "password": SECRET,
            "extra": {"endpoint_url": LOCAL_ENDPOINT, "region_name": REGION},
        }
    )
    return boto3.client(
        "s3",
        endpoint_url=LOCAL_ENDPOINT,
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        region_name=REGION,
    )


@pytest.fixture(scope="module")
def aws_connection(materialize: str) -> str:
    name = f"{materialize}.s3_writer"
    MaterializeHook().create_aws_connection(
        name, access_key_id=KEY, secret_access_key=SECRET, region=REGION, endpoint=ENDPOINT
    )
    return name


def test_native_parquet_export_matches_the_copy_count(materialize, store, aws_connection) -> None:
    prefix = f"native/{uuid.uuid4().hex[:8]}/"
    stats = run_operator(
        source=f"{materialize}.mv",
        s3_uri=f"s3://{BUCKET}/{prefix}",
        aws_connection=aws_connection,
        max_file_size="16MB",
    )
    assert stats["mode"] == "native" and stats["rows"] == 2 and stats["snapshot_timestamp"] is None
    keys = list_keys(store, BUCKET, prefix)
    assert f"{prefix}_manifest.json" in keys and not any(key.endswith("INCOMPLETE") for key in keys)
    data = [key for key in keys if key.endswith(".parquet")]
    assert sum(read_parquet(store, BUCKET, key).metadata.num_rows for key in data) == 2
    fields = read_parquet(store, BUCKET, data[0]).schema_arrow
    assert fields.field("n").metadata[b"ARROW:extension:name"] == b"materialize.v1.numeric"


def test_native_csv_export_and_a_refused_second_run(materialize, store, aws_connection) -> None:
    prefix = f"native/{uuid.uuid4().hex[:8]}/"
    uri = f"s3://{BUCKET}/{prefix}"
    query = f"SELECT i, tx FROM {materialize}.t"
    stats = run_operator(
        query=query, s3_uri=uri, aws_connection=aws_connection, format="csv", csv_header=True
    )
    assert stats["rows"] == 2 and all(f["uri"].endswith(".csv") for f in stats["files"])
    with pytest.raises(Exception, match="not empty"):
        run_operator(query=query, s3_uri=uri, aws_connection=aws_connection, try_number=2)


def test_unsupported_column_is_explained(materialize, store, aws_connection) -> None:
    with pytest.raises(NativeCopyError, match="What to do"):
        run_operator(
            query="SELECT interval '1 day' AS d",
            s3_uri=f"s3://{BUCKET}/native/{uuid.uuid4().hex[:8]}/",
            aws_connection=aws_connection,
        )
