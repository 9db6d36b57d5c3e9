"""Files Polars 2.x reads unchanged: ``field_metadata="none"`` drops the materialize.v1.* extension names."""

from __future__ import annotations

import io
import json
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_materialize.export.result import MATERIALIZE_TYPE_KEY
from tests.support.operator_run import run_operator
from tests.support.s3_objects import file_keys, list_keys

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]

QUERY = (
    "SELECT i::bigint AS id, (i * 1.25)::numeric(12, 2) AS amount, 'c' || (i % 3) AS customer, "
    "timestamptz '2026-01-01' + i * interval '1 minute' AS placed_at, ARRAY[i, i + 1] AS pair "
    "FROM generate_series(1, 1000) AS i"
)


def export(s3: Any, bucket: str, folder: str, **kwargs: Any) -> tuple[bytes, dict[str, Any]]:
    stats = run_operator(query=QUERY, s3_uri=f"s3://{bucket}/{folder}/", max_file_size="1MB", **kwargs)
    (key,) = file_keys(stats)
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=f"{folder}/_manifest.json")["Body"].read())
    return data, manifest


def has_field_metadata(field: pa.Field) -> bool:
    """Whether a field or any field nested in it (struct fields, list items) carries metadata."""
    if pa.types.is_struct(field.type):
        children = list(field.type)
    elif pa.types.is_list(field.type) or pa.types.is_large_list(field.type):
        children = [field.type.value_field]
    else:
        children = []
    return bool(field.metadata) or any(has_field_metadata(child) for child in children)


def test_polars_filters_and_sums_files_written_without_field_metadata(s3, bucket) -> None:
    data, manifest = export(s3, bucket, "plain", field_metadata="none")
    schema = pq.read_schema(io.BytesIO(data))
    assert not any(has_field_metadata(field) for field in schema), schema
    frame = pl.read_parquet(io.BytesIO(data))
    assert frame.schema["id"] == pl.Int64 and frame.schema["amount"] == pl.Decimal(38, 2)
    picked = frame.filter(pl.col("customer") == "c1").select(pl.col("id").sum(), pl.col("amount").sum())
    ids = [i for i in range(1, 1001) if i % 3 == 1]
    assert picked.row(0) == (sum(ids), pytest.approx(sum(ids) * 1.25))
    assert frame.filter(pl.col("id") > 990).height == 10
    # The manifest still says which Materialize type each column is; only the files lack the tags.
    types = {column["name"]: column["materialize_type"] for column in manifest["schema"]}
    assert types == {
        "id": "materialize.v1.bigint",
        "amount": "materialize.v1.numeric",
        "customer": "materialize.v1.text",
        "placed_at": "materialize.v1.timestamptz",
        "pair": "materialize.v1.array",
    }


def test_default_files_keep_materialize_types_which_polars_cannot_compute_on(s3, bucket) -> None:
    data, manifest = export(s3, bucket, "tagged")
    schema = pq.read_schema(io.BytesIO(data))
    assert schema.field("id").metadata == {MATERIALIZE_TYPE_KEY: b"materialize.v1.bigint"}
    frame = pl.read_parquet(io.BytesIO(data))
    assert str(frame.schema["id"]) == "Extension('materialize.v1.bigint', Int64)"
    with pytest.raises(pl.exceptions.PolarsError):
        frame.select(pl.col("id").sum())
    with pytest.raises(pl.exceptions.PolarsError):
        frame.filter(pl.col("id") > 990)
    # What the documentation tells Polars users with such files: cast to the storage type first.
    plain = frame.with_columns(pl.all().ext.storage())
    assert plain.filter(pl.col("customer") == "c1").height == 334
    assert plain.select(pl.col("id").sum()).item() == 500500
    assert manifest["schema"][0]["materialize_type"] == "materialize.v1.bigint"


def test_field_metadata_is_refused_in_native_mode_and_checked_when_parsed(s3, bucket) -> None:
    with pytest.raises(ValueError, match="field_metadata applies only to client mode"):
        run_operator(
            query=QUERY, s3_uri=f"s3://{bucket}/native/", aws_connection="s3_writer", field_metadata="none"
        )
    with pytest.raises(
        ValueError, match="field_metadata 'arrow' is not supported; choose one of materialize, none"
    ):
        run_operator(query=QUERY, s3_uri=f"s3://{bucket}/bad/", field_metadata="arrow")
    assert list_keys(s3, bucket) == []
