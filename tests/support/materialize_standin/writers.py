"""Per-batch file writers of COPY TO S3: Parquet (parquet.rs) and CSV (pgcopy.rs), as multipart uploads.

Sources: src/storage-operators/src/s3_oneshot_sink/parquet.rs (ParquetUploader, ParquetFile),
.../pgcopy.rs (PgCopyUploader), src/aws-util/src/s3_uploader.rs (S3MultiPartUploader) and
src/pgcopy/src/copy.rs (encode_copy_row_csv).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tests.support.materialize_standin.arrow_schema import ArrowColumn, record_batch
from tests.support.materialize_standin.copy_options import CopyPlan
from tests.support.materialize_standin.s3_target import KeyManager

PART_SIZE = 8 * 1024 * 1024  # dyncfg copy_to_s3_multipart_part_size_bytes, default 8 MiB
ROW_GROUP_RATIO = 20  # copy_to_s3_parquet_row_group_file_ratio, default 20 (% of MAX FILE SIZE)
BUILDER_BUFFER_RATIO = 150  # copy_to_s3_arrow_builder_buffer_ratio, default 150 (% of the row group)


class MultipartObject:
    """S3MultiPartUploader: parts of PART_SIZE as data comes; finish() uploads the rest as the last
    part, even when it is empty. An upload that never finishes is left unfinished, not aborted
    (DERIVED: the uploader has no abort on drop)."""

    def __init__(self, s3: Any, bucket: str, key: str) -> None:
        self.s3, self.bucket, self.key = s3, bucket, key
        self.upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        self.buffer = bytearray()
        self.parts: list[dict[str, Any]] = []
        self.added_bytes = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.added_bytes += len(data)
        while len(self.buffer) > PART_SIZE:
            self._upload(bytes(self.buffer[:PART_SIZE]))
            del self.buffer[:PART_SIZE]
        return len(data)

    def _upload(self, data: bytes) -> None:
        number = len(self.parts) + 1
        answer = self.s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=data
        )
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def finish(self) -> None:
        self._upload(bytes(self.buffer))
        self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
        )


class _Sink:
    """What pyarrow writes Parquet bytes into: straight into the object's upload buffer."""

    def __init__(self, target: MultipartObject) -> None:
        self.target = target
        self.closed = False

    def write(self, data: Any) -> int:
        return self.target.write(bytes(data))

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True


def _value_bytes(value: Any) -> int:
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, dict):
        return 1 + sum(_value_bytes(v) for v in value["items"])
    return 16 if value is not None else 1


class ParquetBatch:
    """ParquetUploader for one batch: files numbered from 0000 (data_key before next_file_index += 1)."""

    def __init__(
        self, s3: Any, keys: KeyManager, batch: int, columns: list[ArrowColumn], plan: CopyPlan
    ) -> None:
        self.s3, self.keys, self.batch, self.columns = s3, keys, batch, columns
        self.max_file_size = plan.max_file_size
        row_group = plan.max_file_size * ROW_GROUP_RATIO // 100
        self.builder_limit = row_group * BUILDER_BUFFER_RATIO // 100
        self.schema = pa.schema([c.field for c in columns])
        self.next_file_index = 0
        self.upload: MultipartObject | None = None
        self.writer: pq.ParquetWriter | None = None
        self.rows: list[list[Any]] = []
        self.builder_bytes = 0
        self.keys_written: list[str] = []

    def force_new_file(self) -> None:
        self._start_new_file()

    def append(self, values: list[Any]) -> None:
        if self.upload is None:
            self._start_new_file()
        self.rows.append(values)
        self.builder_bytes += sum(_value_bytes(v) for v in values)
        if self.builder_bytes > self.builder_limit:  # ParquetFile::add_row -> flush_builder
            self._flush_builder()
        assert self.upload is not None
        # append_row: size_estimate() (in-progress row group + bytes handed to the uploader) >= max
        if self.upload.added_bytes >= self.max_file_size:
            self._start_new_file()

    def _flush_builder(self) -> None:
        if self.rows and self.writer is not None:
            self.writer.write_batch(record_batch(self.columns, self.rows), row_group_size=len(self.rows))
        self.rows, self.builder_bytes = [], 0

    def _start_new_file(self) -> None:
        self.finish()
        key = self.keys.data_key(self.batch, self.next_file_index, "parquet")
        self.next_file_index += 1
        self.upload = MultipartObject(self.s3, self.keys.bucket, key)
        # ParquetFile::new: WriterProperties PARQUET_1_0 + SNAPPY, arrow-rs. pyarrow's "1.0" would
        # write uint32 as INT64, arrow-rs writes INT32 (unsigned): "2.4" gives arrow-rs's types,
        # with v1 data pages. No statistics: PR #31513 (/work/shared/reference/materialize.md,
        # "Checked against Materialize's source"); list elements named "item" as arrow-rs does.
        self.writer = pq.ParquetWriter(
            _Sink(self.upload),
            self.schema,
            version="2.4",
            data_page_version="1.0",
            compression="snappy",
            write_statistics=False,
            use_compliant_nested_type=False,
        )

    def finish(self) -> None:
        if self.upload is None or self.writer is None:
            return
        self._flush_builder()
        self.writer.close()
        self.upload.finish()
        self.keys_written.append(self.upload.key)
        self.upload = self.writer = None


def encode_csv_row(values: list[bytes | None], plan: CopyPlan) -> bytes:
    """encode_copy_row_csv: quote a field holding the delimiter, quote, CR or LF, equal to the NULL
    string, or a lone backslash-dot in a one-column relation; escape quote and escape bytes inside."""
    delimiter, quote, escape = bytes([plan.delimiter]), bytes([plan.quote]), bytes([plan.escape])
    null = plan.null.encode()
    fields = []
    for value in values:
        if value is None:
            fields.append(null)
            continue
        if (
            delimiter in value
            or quote in value
            or b"\r" in value
            or b"\n" in value
            or value == null
            or (len(values) == 1 and value == b"\\.")
        ):
            escaped = bytearray(quote)
            for byte in value:
                if byte in (plan.quote, plan.escape):
                    escaped += escape
                escaped.append(byte)
            fields.append(bytes(escaped + quote))
        else:
            fields.append(value)
    return delimiter.join(fields) + b"\n"


class CsvBatch:
    """PgCopyUploader for one batch: files numbered from 0001 (file_index += 1 before data_key), the
    header at the start of every file, a new file when a row would pass MAX FILE SIZE."""

    def __init__(self, s3: Any, keys: KeyManager, batch: int, names: list[str], plan: CopyPlan) -> None:
        self.s3, self.keys, self.batch, self.plan = s3, keys, batch, plan
        self.header = encode_csv_row([n.encode() for n in names], plan) if plan.header else b""
        self.file_index = 0
        self.upload: MultipartObject | None = None
        self.keys_written: list[str] = []

    def force_new_file(self) -> None:
        self._start_new_file()

    def append(self, row: bytes) -> None:
        if self.upload is None:
            self._start_new_file()
        assert self.upload is not None
        if self.upload.added_bytes + len(row) > self.plan.max_file_size and self.upload.added_bytes > len(
            self.header
        ):
            self._start_new_file()
            assert self.upload is not None
        self.upload.write(row)

    def _start_new_file(self) -> None:
        self.finish()
        self.file_index += 1
        self.upload = MultipartObject(
            self.s3, self.keys.bucket, self.keys.data_key(self.batch, self.file_index, "csv")
        )
        if self.header:
            self.upload.write(self.header)

    def finish(self) -> None:
        if self.upload is not None:
            self.upload.finish()
            self.keys_written.append(self.upload.key)
            self.upload = None
