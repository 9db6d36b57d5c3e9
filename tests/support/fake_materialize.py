"""Plays Materialize's side of ``COPY ... TO 's3://...'`` in-process, for what no faithful stand-in does.

Native mode runs over the wire against the Materialize stand-in (``tests/support/materialize_standin``).
This fake stays for one case the stand-in never produces: a ``COPY n`` tag that disagrees with the
files. At the one seam the native export has for Materialize (``CopyRunner``) it writes to the S3
server what Materialize writes -- ``mz-<sink>-INCOMPLETE`` first, then
``mz-<sink>-batch-<NNNN>-<MMMM>.parquet`` files with ``materialize.v1.*`` field metadata, deleting
the marker last -- and returns ``reported_rows`` instead of the rows it wrote.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema(
    [
        pa.field(
            "id", pa.int64(), nullable=False, metadata={b"ARROW:extension:name": b"materialize.v1.bigint"}
        ),
        pa.field("name", pa.large_string(), metadata={b"ARROW:extension:name": b"materialize.v1.text"}),
    ]
)
_TARGET = re.compile(r"TO 's3://([^/']+)/([^']*)' WITH")


def parquet_bytes(first_id: int, rows: int) -> bytes:
    table = pa.table(
        {
            "id": pa.array(range(first_id, first_id + rows), pa.int64()),
            "name": [f"n{i}" for i in range(rows)],
        },
        schema=SCHEMA,
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy", version="1.0")
    return sink.getvalue()


@dataclass
class FakeMaterializeCopy:
    """Writes ``rows_per_file`` rows per file over ``batches`` batches and reports ``reported_rows``."""

    s3: Any
    reported_rows: int
    sink_id: str = "u42"
    batches: int = 2
    files_per_batch: int = 2
    rows_per_file: int = 100
    statements: list[str] = field(default_factory=list)

    def check_server(self) -> None:
        return None

    def cancel(self) -> None:
        return None

    def run(self, statement: str) -> int:
        self.statements.append(statement)
        match = _TARGET.search(statement)
        assert match is not None, statement
        bucket, path = match.group(1), match.group(2)
        prefix = f"{path}/mz-{self.sink_id}-"
        self.s3.put_object(Bucket=bucket, Key=f"{prefix}INCOMPLETE", Body=b"")
        for number in range(self.batches * self.files_per_batch):
            batch, index = divmod(number, self.files_per_batch)
            body = parquet_bytes(number * self.rows_per_file, self.rows_per_file)
            self.s3.put_object(Bucket=bucket, Key=f"{prefix}batch-{batch:04d}-{index:04d}.parquet", Body=body)
        self.s3.delete_object(Bucket=bucket, Key=f"{prefix}INCOMPLETE")
        return self.reported_rows
