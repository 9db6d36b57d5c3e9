"""Output checks: what a measured export left in S3, read back through the Parquet footers.

For our operator the checks are strict and fail the benchmark: every file's schema must be the
parity schema (the types and ``materialize.v1.*`` extension names that Materialize's own
``COPY TO S3`` writes), and the row counts in the footers, the manifest and the XCom value must
all equal the table's exact row count. For ``SqlToS3Operator`` the file's row count and schema
are recorded, not judged: it is the baseline, and its types are known to differ.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from airflow_provider_materialize.export.s3_footers import read_parquet_footer


class OutputCheckFailed(AssertionError):
    pass


def parity_field(name: str, arrow_type: pa.DataType, type_name: str, nullable: bool = True) -> pa.Field:
    """A field as Materialize's native COPY TO S3 writes it: the Arrow type and ``materialize.v1.*``."""
    return pa.field(
        name, arrow_type, nullable=nullable, metadata={"ARROW:extension:name": f"materialize.v1.{type_name}"}
    )


TIMESTAMPTZ = pa.timestamp("us", tz="+00:00")

PARITY_SCHEMAS: dict[str, pa.Schema] = {
    "mixed": pa.schema(
        [
            parity_field("id", pa.int64(), "bigint"),
            parity_field("account", pa.int32(), "integer"),
            parity_field("name", pa.large_string(), "text"),
            parity_field("note", pa.large_string(), "text"),
            parity_field("amount", pa.decimal128(38, 4), "numeric"),
            parity_field("tax", pa.decimal128(38, 4), "numeric"),
            parity_field("score", pa.float64(), "double"),
            parity_field("flag", pa.bool_(), "boolean"),
            parity_field("created_at", TIMESTAMPTZ, "timestamptz"),
            parity_field("updated_at", TIMESTAMPTZ, "timestamptz"),
            parity_field("day", pa.date32(), "date"),
            parity_field("uid", pa.binary(16), "uuid"),
            parity_field("attrs", pa.large_string(), "jsonb"),
        ]
    ),
    "narrow": pa.schema(
        [parity_field("id", pa.int64(), "bigint"), parity_field("value", pa.float64(), "double")]
    ),
}


def parquet_footer(client: Any, bucket: str, key: str, size: int) -> tuple[int, pa.Schema]:
    """Row count and Arrow schema from one Parquet object's footer, without downloading its data."""
    metadata, schema = read_parquet_footer(client, bucket, key, size)
    return metadata.num_rows, schema


def list_objects(client: Any, bucket: str, prefix: str) -> dict[str, int]:
    """Every object under ``prefix``: key -> size."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {obj["Key"]: obj["Size"] for page in pages for obj in page.get("Contents", [])}


def schema_differences(actual: pa.Schema, expected: pa.Schema) -> list[str]:
    """Human-readable differences between two schemas, field by field, metadata included."""
    if actual.names != expected.names:
        return [f"column names {actual.names} != {expected.names}"]
    return [
        f"{want.name}: {got.type} {dict(got.metadata or {})} != {want.type} {dict(want.metadata or {})}"
        for got, want in zip(actual, expected, strict=True)
        if not got.equals(want, check_metadata=True)
    ]


def describe_schema(schema: pa.Schema) -> list[str]:
    return [f"{f.name}: {f.type}" for f in schema]


def type_differences(actual: pa.Schema, expected: pa.Schema) -> list[str]:
    """Columns whose Arrow type differs from the expected one (metadata ignored)."""
    wanted = {f.name: f.type for f in expected}
    return [
        f"{f.name} {f.type} (parity: {wanted.get(f.name, 'no such column')})"
        for f in actual
        if wanted.get(f.name) != f.type
    ]


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
