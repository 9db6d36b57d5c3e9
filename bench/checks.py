"""Output checks: what a measured export left in S3, read back through the Parquet footers.

For our operator the checks are strict and fail the benchmark: every file's schema must be the
parity schema (the types and ``materialize.v1.*`` extension names that Materialize's own
``COPY TO S3`` writes; ``bench/parity.py``), and the row counts in the footers, the manifest and
the XCom value must all equal the table's exact row count. For ``SqlToS3Operator``, DuckDB and
dlt, the files' row counts and types are recorded, not judged: their types are known to differ,
and the report says where (``type_losses`` names what each loses).
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from airflow_provider_materialize.export.native.footers import read_parquet_footer
from tests.support.parity import describe_schema, schema_differences, type_differences
from tests.support.s3_objects import list_objects


class OutputCheckFailed(AssertionError):
    pass


def parquet_footer(client: Any, bucket: str, key: str, size: int) -> tuple[int, pa.Schema]:
    """Row count and Arrow schema from one Parquet object's footer, without downloading its data."""
    metadata, schema = read_parquet_footer(client, bucket, key, size)
    return metadata.num_rows, schema


def check_operator_output(
    client: Any, bucket: str, prefix: str, xcom: dict[str, Any], rows: int, expected: pa.Schema
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
        for difference in schema_differences(schema, expected):
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


def inspect_peer_output(
    client: Any, bucket: str, prefix: str, rows: int, expected: pa.Schema
) -> dict[str, Any]:
    """Row counts and types of a peer's Parquet files under ``prefix``, recorded (not judged)."""
    objects = {
        key: size for key, size in list_objects(client, bucket, prefix).items() if key.endswith(".parquet")
    }
    footer_rows, schema = 0, None
    for key in sorted(objects):
        file_rows, schema = parquet_footer(client, bucket, key, objects[key])
        footer_rows += file_rows
    if footer_rows != rows:
        print(f"  note: {footer_rows:,} rows under s3://{bucket}/{prefix}; the table has {rows:,}")
    return {
        "files": len(objects),
        "file_bytes": [objects[key] for key in sorted(objects)],
        "parquet_bytes": sum(objects.values()),
        "footer_rows": footer_rows,
        "schema": describe_schema(schema) if schema is not None else [],
        "types_unlike_parity": type_differences(schema, expected) if schema is not None else [],
        "type_losses": type_losses(schema, expected) if schema is not None else [],
        "schema_matches_parity": False,
    }


def _same_family(got: pa.DataType, wanted: pa.DataType) -> bool:
    """string/large_string and binary/large_binary hold the same values; the offsets' width differs."""
    strings = (pa.types.is_string, pa.types.is_large_string)
    binaries = (pa.types.is_binary, pa.types.is_large_binary)
    return any(
        any(test(got) for test in family) and any(test(wanted) for test in family)
        for family in (strings, binaries)
    )


def _loss(got: pa.DataType, wanted: pa.DataType) -> str | None:
    """The kind of difference between a peer's type and parity's, None where no value changes."""
    if isinstance(got, pa.ExtensionType):  # e.g. DuckDB's arrow.uuid over fixed_size_binary(16)
        got = got.storage_type
    if got == wanted or _same_family(got, wanted):
        return None
    if pa.types.is_decimal(wanted):
        return (
            "decimal scale"
            if pa.types.is_decimal(got) and got.scale != wanted.scale
            else (None if pa.types.is_decimal(got) else "decimals")
        )
    if pa.types.is_fixed_size_binary(wanted):
        return "uuids"
    if pa.types.is_timestamp(wanted):
        if not pa.types.is_timestamp(got):
            return "timestamps"
        if (got.tz is None) != (wanted.tz is None):
            return "time zones"
        return "timestamp units" if got.unit != wanted.unit else None  # the zone's spelling only
    if pa.types.is_struct(wanted):
        return "arrays"
    if pa.types.is_integer(wanted) or pa.types.is_floating(wanted):
        return "number widths"
    if pa.types.is_date(wanted) or pa.types.is_time(wanted):
        return "dates and times"
    return "other types"


def type_losses(actual: pa.Schema, expected: pa.Schema) -> list[str]:
    """What a peer's types change against parity, by kind: decimals, uuids, time zones, arrays, ..."""
    found: dict[str, list[str]] = {}
    for want in expected:
        if want.name not in actual.names:
            found.setdefault("columns missing", []).append(want.name)
            continue
        got = actual.field(want.name).type
        if (what := _loss(got, want.type)) is not None:
            found.setdefault(what, []).append(f"{want.name} as {got}")
    return [f"{what}: {', '.join(columns)}" for what, columns in found.items()]


def delete_prefix(client: Any, bucket: str, prefix: str) -> None:
    """Free the S3 server's memory and disk once an export has been checked."""
    keys = list(list_objects(client, bucket, prefix))
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
