"""Rolling Parquet files: size bounds, row accounting, empty streams, aborts."""

from __future__ import annotations

import io
import itertools
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from airflow_provider_materialize.export.client import rolling_parquet
from airflow_provider_materialize.export.client.rolling_parquet import RollingParquetWriter


class MemorySink(io.BytesIO):
    """A sink that keeps its bytes after close, and records an abort."""

    def __init__(self) -> None:
        super().__init__()
        self.aborted: BaseException | None = None
        self.final = b""

    def close(self) -> None:
        if not self.closed:
            self.final = self.getvalue()
        super().close()

    def abort(self, reason: BaseException) -> None:
        self.aborted = reason


def _table(rows: int) -> pa.Table:
    ids = pa.array(range(rows), pa.int64())
    return pa.table(
        {
            "id": ids,
            "x": pc.multiply(pc.cast(ids, pa.float64()), 1.37),
            "s": pc.cast(pc.multiply(ids, 7919), pa.string()),
        }
    )


def _write(table: pa.Table, max_file_size: int, chunk: int = 50_000) -> tuple[list, dict[str, MemorySink]]:
    sinks: dict[str, MemorySink] = {}

    def open_sink(name: str) -> MemorySink:
        sinks[name] = MemorySink()
        return sinks[name]

    writer = RollingParquetWriter(
        schema=table.schema, max_file_size=max_file_size, compression="snappy", open_sink=open_sink
    )
    for batch in table.to_batches(max_chunksize=chunk):
        writer.write(batch)
    return writer.close(), sinks


@pytest.mark.parametrize(
    ("rows", "limit", "chunk"),
    [(600_000, 2_000_000, 65_536), (600_000, 1_000_000, 1_000_000), (300_000, 3_000_000, 7)],
)
def test_files_stay_within_the_bounds(rows, limit, chunk) -> None:
    files, sinks = _write(_table(rows), limit, chunk if chunk > 7 else 50_000)
    assert len(files) >= 2
    assert [f.name for f in files] == [f"part-{i:05d}.parquet" for i in range(len(files))]
    for index, written in enumerate(files):
        data = sinks[written.name].final
        assert written.bytes == len(data) <= 1.1 * limit
        if index < len(files) - 1:
            assert written.bytes >= 0.5 * limit
        assert pq.ParquetFile(io.BytesIO(data)).metadata.num_rows == written.rows
    assert sum(f.rows for f in files) == rows
    ids = pa.concat_tables(pq.read_table(io.BytesIO(sinks[f.name].final)) for f in files).column("id")
    assert ids.to_pylist() == list(range(rows))  # every row once, in order


def test_batches_waiting_for_a_row_group_are_bounded_by_bytes(monkeypatch) -> None:
    # One repeated string compresses about a thousandfold: cut only by its compressed size, a row
    # group of a 1 GB file would keep all these rows in memory before writing them.
    monkeypatch.setattr(rolling_parquet, "MAX_PENDING_BYTES", 2 * 1024 * 1024)
    table = pa.table({"s": pa.array(["the same text, again and again"] * 400_000)})
    files, sinks = _write(table, max_file_size=1_000_000_000, chunk=20_000)
    metadata = pq.ParquetFile(io.BytesIO(sinks[files[0].name].final)).metadata
    in_memory = table.nbytes
    assert metadata.num_rows == 400_000
    assert metadata.num_row_groups >= in_memory // (2 * 1024 * 1024) - 1
    largest = max(metadata.row_group(i).num_rows for i in range(metadata.num_row_groups))
    assert largest * in_memory / 400_000 <= 2 * 1024 * 1024 + table.slice(0, 20_000).nbytes


def test_empty_stream_gives_one_empty_file_with_the_schema() -> None:
    files, sinks = _write(_table(0), 1_000_000)
    assert [(f.name, f.rows) for f in files] == [("part-00000.parquet", 0)]
    parquet = pq.ParquetFile(io.BytesIO(sinks["part-00000.parquet"].final))
    assert parquet.metadata.num_rows == 0 and parquet.schema_arrow.equals(_table(0).schema)


def test_abort_abandons_the_open_file() -> None:
    sinks: list[MemorySink] = []

    def open_sink(name: str) -> MemorySink:
        sinks.append(MemorySink())
        return sinks[-1]

    writer = RollingParquetWriter(
        schema=_table(1).schema, max_file_size=2_000_000, compression="snappy", open_sink=open_sink
    )
    writer.write(_table(500_000).to_batches()[0])  # a couple of files, the last one still open
    error = RuntimeError("boom")
    writer.abort(error)
    assert len(sinks) >= 2 and sinks[-1].aborted is error
    assert all(sink.aborted is None for sink in sinks[:-1])


class FinishingSink(MemorySink):
    """A sink that, like the S3 stream, can be finished first and waited for (closed) later."""

    events: ClassVar[list[str]] = []

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def finish(self) -> None:
        self.events.append(f"finish {self.name}")

    def close(self) -> None:
        if not self.closed:
            self.events.append(f"close {self.name}")
        super().close()


def test_a_finished_file_is_stored_in_the_background_and_reported_in_order() -> None:
    table = _table(600_000)
    FinishingSink.events = []
    reported: list[str] = []
    writer = RollingParquetWriter(
        schema=table.schema,
        max_file_size=2_000_000,
        compression="snappy",
        open_sink=FinishingSink,
        on_file_written=lambda f: reported.append(f.name),
    )
    for batch in table.to_batches(max_chunksize=50_000):
        writer.write(batch)
    files = writer.close()
    names = [f.name for f in files]
    assert len(names) > 2
    assert names == reported == [f"part-{i:05d}.parquet" for i in range(len(names))]
    assert sum(f.rows for f in files) == 600_000
    # each file is finished, then only waited for once the next one is full (or at the end)
    expected = [f"finish {names[0]}"]
    for previous, name in itertools.pairwise(names):
        expected += [f"close {previous}", f"finish {name}"]
    assert FinishingSink.events == [*expected, f"close {names[-1]}"]


def test_an_abort_waits_for_the_file_still_being_stored() -> None:
    table = _table(300_000)
    FinishingSink.events = []
    sinks: list[FinishingSink] = []

    def open_sink(name: str) -> FinishingSink:
        sinks.append(FinishingSink(name))
        return sinks[-1]

    writer = RollingParquetWriter(
        schema=table.schema, max_file_size=1_000_000, compression="snappy", open_sink=open_sink
    )
    for batch in table.to_batches(max_chunksize=50_000):
        writer.write(batch)
    completing = sinks[-2]  # the last full file: finished, not yet waited for
    assert not completing.closed
    error = RuntimeError("reader failed")
    writer.abort(error)
    assert completing.closed and completing.aborted is None
    assert sinks[-1].aborted is error


def test_files_are_written_as_materialize_writes_them_where_a_reader_can_tell() -> None:
    """uint32 as INT32 + unsigned annotation, list elements named "item", no column statistics.

    As arrow-rs writes them for Materialize's COPY TO S3
    (src/storage-operators/src/s3_oneshot_sink/parquet.rs).
    """
    schema = pa.schema(
        [
            pa.field("u", pa.uint32()),
            pa.field("l", pa.list_(pa.field("item", pa.int32()))),
            pa.field("n", pa.int64(), nullable=False),
        ]
    )
    sinks: dict[str, MemorySink] = {}
    writer = RollingParquetWriter(
        schema=schema,
        max_file_size=1024**2,
        compression="snappy",
        open_sink=lambda name: sinks.setdefault(name, MemorySink()),
    )
    writer.write(
        pa.record_batch(
            [pa.array([1, 2**32 - 1], pa.uint32()), pa.array([[1], []]), pa.array([5, 6])], schema=schema
        )
    )
    (written,) = writer.close()
    parquet = pq.ParquetFile(io.BytesIO(sinks[written.name].final))
    columns = {parquet.schema.column(i).path: parquet.schema.column(i) for i in range(len(parquet.schema))}
    assert (
        columns["u"].physical_type == "INT32"
        and str(columns["u"].logical_type) == "Int(bitWidth=32, isSigned=false)"
    )
    assert "l.list.item" in columns  # not "element"
    assert columns["n"].max_definition_level == 0  # required
    row_group = parquet.metadata.row_group(0)
    assert all(row_group.column(i).statistics is None for i in range(row_group.num_columns))
    assert parquet.read().column("u").to_pylist() == [1, 2**32 - 1]
