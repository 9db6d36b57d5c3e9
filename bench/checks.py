"""Output checks: what a measured export left in S3, read back through the Parquet footers.

For our operator the checks are strict and fail the benchmark: every file's schema must be the
parity schema (the types and ``materialize.v1.*`` extension names that Materialize's own
``COPY TO S3`` writes; ``tests/support/parity.py``), and the row counts in the footers, the
manifest and the XCom value must all equal the table's exact row count. For ``SqlToS3Operator``
the file's row count and schema are recorded, not judged: it is the baseline, and its types are
known to differ.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from airflow_provider_materialize.export.native.footers import read_parquet_footer
from tests.support.parity import PARITY_SCHEMAS, describe_schema, schema_differences, type_differences
from tests.support.s3_objects import list_objects


class OutputCheckFailed(AssertionError):
    pass


def parquet_footer(client: Any, bucket: str, key: str, size: int) -> tuple[int, pa.Schema]:
    """Row count and Arrow schema from one Parquet object's footer, without downloading its data."""
    metadata, schema = read_parquet_footer(client, bucket, key, size)
    return metadata.num_rows, schema


def check_operator_output(
    client: Any, bucket: str, prefix: str, xcom: dict[str, Any], rows: int, kind: str
) -> dict[str, Any]:
    """Strict checks of one operator export; returns its files' sizes and row counts."""
    objects = list_objects(client, bucket, prefix)
    data_keys = sorted(key for key in objects if key.endswith(".parquet"))
    manifest = json.loads(client.get_object(Bucket=bucket, Key=f"{prefix}_manifest.json")["Body"].read())
    problems: list[str] = []
    footer_rows = 0
    for key in data_keys:
        file_rows, schema = parquet_footer(client, bucket, key, objects[key])
        footer_rows += file_rows
        for difference in schema_differences(schema, PARITY_SCHEMAS[kind]):
            problems.append(f"{key}: {difference}")
    for what, counted in (
        ("Parquet footers", footer_rows),
        ("manifest", manifest["rows"]),
        ("XCom", xcom["rows"]),
    ):
        if counted != rows:
            problems.append(f"{what} count {counted:,} rows; the table has {rows:,}")
    if sorted(f"s3://{bucket}/{key}" for key in data_keys) != sorted(f["uri"] for f in xcom["files"]):
        problems.append("the Parquet objects in S3 are not the files listed in XCom")
    if problems:
        raise OutputCheckFailed(f"s3://{bucket}/{prefix}: " + "; ".join(problems[:20]))
    return {
        "files": len(data_keys),
        "file_bytes": [objects[key] for key in data_keys],
        "parquet_bytes": sum(objects[key] for key in data_keys),
        "footer_rows": footer_rows,
        "schema_matches_parity": True,
    }


def inspect_sql_to_s3_output(client: Any, bucket: str, key: str, rows: int, kind: str) -> dict[str, Any]:
    """Row count and schema of SqlToS3Operator's file, recorded for comparison (not judged)."""
    size = client.head_object(Bucket=bucket, Key=key)["ContentLength"]
    file_rows, schema = parquet_footer(client, bucket, key, size)
    if file_rows != rows:
        print(f"  note: SqlToS3Operator wrote {file_rows:,} rows; the table has {rows:,}")
    return {
        "files": 1,
        "file_bytes": [size],
        "parquet_bytes": size,
        "footer_rows": file_rows,
        "schema": describe_schema(schema),
        "types_unlike_parity": type_differences(schema, PARITY_SCHEMAS[kind]),
        "schema_matches_parity": False,
    }


def delete_prefix(client: Any, bucket: str, prefix: str) -> None:
    """Free the S3 server's memory and disk once an export has been checked."""
    keys = list(list_objects(client, bucket, prefix))
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
