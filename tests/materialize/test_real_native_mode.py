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

import uuid

import pytest

from airflow_provider_materialize.export.native.error_hints import NativeCopyError
from tests.materialize.conftest import HAS_STORE, NO_STORE
from tests.materialize.conftest import S3_BUCKET as BUCKET
from tests.support.operator_run import run_operator
from tests.support.s3_objects import list_keys, read_parquet

# The store and aws_connection fixtures are in conftest.py
pytestmark = [pytest.mark.materialize, pytest.mark.skipif(not HAS_STORE, reason=NO_STORE)]


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
        # another DAG run into the finished folder (a later try of the same task would replace it)
        run_operator(query=query, s3_uri=uri, aws_connection=aws_connection, run_id="scheduled__other")


def test_unsupported_column_is_explained(materialize, store, aws_connection) -> None:
    with pytest.raises(NativeCopyError, match="What to do"):
        run_operator(
            query="SELECT interval '1 day' AS d",
            s3_uri=f"s3://{BUCKET}/native/{uuid.uuid4().hex[:8]}/",
            aws_connection=aws_connection,
        )
