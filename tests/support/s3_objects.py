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
