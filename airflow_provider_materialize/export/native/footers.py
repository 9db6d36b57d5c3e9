"""Read Parquet footers straight from S3 with ranged GETs, never downloading the data pages."""

from __future__ import annotations

import io
from typing import Any

import pyarrow.parquet as pq


class RangedS3Object(io.RawIOBase):
    """A seekable, read-only view of one S3 object; every read is one ranged GET.

    :param client: A boto3 S3 client (the S3Hook's, so the Airflow connection's credentials).
    :param bucket: Bucket of the object.
    :param key: Key of the object.
    :param size: Size of the object in bytes (from the listing, so no HEAD request is needed).
    """

    def __init__(self, client: Any, bucket: str, key: str, size: int) -> None:
        super().__init__()
        self.client = client
        self.bucket = bucket
        self.key = key
        self.size = size
        self.position = 0
        self.requests = 0
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(base + offset, 0)
        return self.position

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self.size - self.position)
        if wanted <= 0:
            return 0
        last = self.position + wanted - 1
        response = self.client.get_object(
            Bucket=self.bucket, Key=self.key, Range=f"bytes={self.position}-{last}"
        )
        data = response["Body"].read()
        buffer[: len(data)] = data
        self.position += len(data)
        self.requests += 1
        self.bytes_read += len(data)
        return len(data)


def read_parquet_footer(client: Any, bucket: str, key: str, size: int) -> tuple[pq.FileMetaData, Any]:
    """The footer of one Parquet object: its metadata (row count, ...) and its Arrow schema."""
    with RangedS3Object(client, bucket, key, size) as source:
        parquet_file = pq.ParquetFile(source)
        return parquet_file.metadata, parquet_file.schema_arrow
