"""A stand-in for Materialize's side of ``COPY ... TO 's3://...'``, for tests against the S3 server.

No Materialize can run here, so this plays its part at the one seam the native export has for it
(``CopyRunner``): it writes to the real S3-compatible server exactly what Materialize writes --
``mz-<sink>-INCOMPLETE`` first, then ``mz-<sink>-batch-<NNNN>-<MMMM>.parquet`` files with
``materialize.v1.*`` field metadata, deleting the marker last -- and returns the ``COPY n`` count.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
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
    """Writes ``rows_per_file`` rows per file over ``batches`` batches, like a cluster with that many workers.

    ``fail_after_files`` stops with an error after writing that many files (marker and partial files
    stay, as Materialize leaves them); ``reported_rows`` overrides the ``COPY n`` count;
    ``block_until_cancelled`` makes the COPY hang until :meth:`cancel`; ``refuse_with`` fails
    with that message before anything is written.
    """

    s3: Any
    sink_id: str = "u42"
    batches: int = 2
    files_per_batch: int = 2
    rows_per_file: int = 100
    file_format: str = "parquet"
    fail_after_files: int | None = None
    reported_rows: int | None = None
    block_until_cancelled: bool = False
    on_start: Callable[[], object] | None = None
    refuse_with: str | None = None
    statements: list[str] = field(default_factory=list)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def check_server(self) -> None:
        return None

    def cancel(self) -> None:
        self.cancelled.set()

    def run(self, statement: str) -> int:
        self.statements.append(statement)
        if self.on_start is not None:
            self.on_start()
        if self.refuse_with is not None:  # rejected at plan time: nothing written
            raise RuntimeError(self.refuse_with)
        match = _TARGET.search(statement)
        assert match is not None, statement
        bucket, path = match.group(1), match.group(2)
        prefix = f"{path}/mz-{self.sink_id}-"
        self.s3.put_object(Bucket=bucket, Key=f"{prefix}INCOMPLETE", Body=b"")
        if self.block_until_cancelled:
            self.cancelled.wait(30)
            raise RuntimeError("canceling statement due to user request")
        written = 0
        for batch in range(self.batches):
            for index in range(self.files_per_batch):
                if self.fail_after_files is not None and written >= self.fail_after_files:
                    raise RuntimeError(
                        "S3 error: AccessDenied: Access Denied (Service: S3, Status Code: 403)"
                    )
                key = f"{prefix}batch-{batch:04d}-{index:04d}.{self.file_format}"
                self.s3.put_object(Bucket=bucket, Key=key, Body=self._file_body(written))
                written += 1
        self.s3.delete_object(Bucket=bucket, Key=f"{prefix}INCOMPLETE")
        total = written * self.rows_per_file
        return total if self.reported_rows is None else self.reported_rows

    def _file_body(self, number: int) -> bytes:
        if self.file_format == "csv":
            return b"".join(
                f"{number * self.rows_per_file + i},n{i}\n".encode() for i in range(self.rows_per_file)
            )
        return parquet_bytes(number * self.rows_per_file, self.rows_per_file)
