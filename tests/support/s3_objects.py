"""What an export left in S3: list the objects under a prefix, read a Parquet object back."""

from __future__ import annotations

import io
from typing import Any


def list_objects(client: Any, bucket: str, prefix: str = "") -> dict[str, int]:
    """Every object under ``prefix``: key -> size."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {obj["Key"]: obj["Size"] for page in pages for obj in page.get("Contents", [])}


def list_keys(client: Any, bucket: str, prefix: str = "") -> list[str]:
    """The keys under ``prefix``, sorted."""
    return sorted(list_objects(client, bucket, prefix))


def read_parquet(client: Any, bucket: str, key: str) -> Any:
    """One Parquet object, downloaded whole, as a ``pyarrow.parquet.ParquetFile``."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(io.BytesIO(client.get_object(Bucket=bucket, Key=key)["Body"].read()))


def file_keys(stats: dict[str, Any]) -> list[str]:
    """The keys of the data files an export's XCom statistics list, in order."""
    return [entry["uri"].split("/", 3)[3] for entry in stats["files"]]


def assert_published_exactly(
    client: Any,
    bucket: str,
    prefix: str,
    expected_rows: int,
    key_column: str = "id",
    *,
    expected_keys: Any = None,
    open_uploads_allowed: int = 0,
) -> dict[str, Any]:
    """Check that the folder ``prefix`` holds exactly one complete export; return its manifest.

    ``_manifest.json`` is present; every file it lists exists with the listed size and row count;
    the folder holds nothing else (no other data file, no ``_INCOMPLETE``); no multipart upload is
    open under the folder (at most ``open_uploads_allowed``); the files hold ``expected_rows`` rows
    whose ``key_column`` values are unique and, if ``expected_keys`` is given, exactly those. File
    names are taken from the manifest, never assumed. Raises ``AssertionError`` saying what differs.
    """
    import json

    folder = prefix if prefix.endswith("/") else prefix + "/"
    objects = list_objects(client, bucket, folder)
    manifest_key = folder + "_manifest.json"
    problems: list[str] = []
    if manifest_key not in objects:
        raise AssertionError(f"s3://{bucket}/{folder} has no _manifest.json; it holds {sorted(objects)}")
    manifest = json.loads(client.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    listed: dict[str, dict[str, Any]] = {}
    for entry in manifest.get("files", []):
        uri = entry["uri"]
        if not uri.startswith(f"s3://{bucket}/{folder}"):
            problems.append(f"the manifest lists a file outside the folder: {uri}")
            continue
        listed[uri[len(f"s3://{bucket}/") :]] = entry
    for key, entry in listed.items():
        if key not in objects:
            problems.append(f"{key} is listed in the manifest but missing")
        elif objects[key] != entry["bytes"]:
            problems.append(f"{key} has {objects[key]} bytes, the manifest says {entry['bytes']}")
    unlisted = sorted(set(objects) - set(listed) - {manifest_key})
    if unlisted:
        problems.append(f"objects besides the manifest's files and _manifest.json: {unlisted}")
    uploads = client.list_multipart_uploads(Bucket=bucket, Prefix=folder).get("Uploads", [])
    if len(uploads) > open_uploads_allowed:
        problems.append(f"open multipart uploads: {sorted(upload['Key'] for upload in uploads)}")
    if manifest.get("rows") != expected_rows:
        problems.append(f"the manifest says {manifest.get('rows')} rows, expected {expected_rows}")
    if problems:  # before reading the files: what is missing cannot be read
        raise AssertionError(f"s3://{bucket}/{folder}: " + "; ".join(problems))

    keys: list[Any] = []
    for key, entry in listed.items():
        parquet = read_parquet(client, bucket, key)
        rows = parquet.metadata.num_rows
        if entry.get("rows") is not None and rows != entry["rows"]:
            problems.append(f"{key} holds {rows} rows, the manifest says {entry['rows']}")
        keys.extend(parquet.read(columns=[key_column]).column(0).to_pylist())
    if len(keys) != expected_rows:
        problems.append(f"the files hold {len(keys)} rows, expected {expected_rows}")
    unique = set(keys)
    if len(unique) != len(keys):
        problems.append(f"{len(keys) - len(unique)} duplicate {key_column} value(s)")
    if expected_keys is not None:
        wanted = set(expected_keys)
        missing, extra = wanted - unique, unique - wanted
        if missing or extra:
            problems.append(
                f"{key_column}: {len(missing)} missing (e.g. {sorted(missing)[:5]}), "
                f"{len(extra)} unexpected (e.g. {sorted(extra)[:5]})"
            )
    if problems:
        raise AssertionError(f"s3://{bucket}/{folder}: " + "; ".join(problems))
    return manifest
