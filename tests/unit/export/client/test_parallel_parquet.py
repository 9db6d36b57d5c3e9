"""Several encoders: one file numbering, every row once, sizes bounded, empty streams, failures."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_materialize.export.client.parallel_parquet import ParallelParquetWriter
from tests.unit.export.client.test_rolling_parquet import MemorySink, _table


def _writer(sinks: dict[str, MemorySink], convert=lambda batch: batch, **kwargs) -> ParallelParquetWriter:
    def open_sink(name: str) -> MemorySink:
        sinks[name] = MemorySink()
        return sinks[name]

    return ParallelParquetWriter(
        encoders=2,
        convert=convert,
        schema=_table(1).schema,
        max_file_size=kwargs.pop("max_file_size", 1024 * 1024),
        compression="snappy",
        open_sink=open_sink,
        **kwargs,
    )


def test_two_encoders_write_every_row_once_in_bounded_files() -> None:
    table = _table(400_000)
    sinks: dict[str, MemorySink] = {}
    writer = _writer(sinks)
    for batch in table.to_batches(max_chunksize=20_000):
        writer.write(batch)
    files = writer.close()
    assert [f.name for f in files] == [f"part-{i:05d}.parquet" for i in range(len(files))]
    assert len(files) > 2
    read = [pq.read_table(pa.BufferReader(sinks[f.name].final)) for f in files]
    assert [t.num_rows for t in read] == [f.rows for f in files]
    assert all(f.bytes == len(sinks[f.name].final) <= 1.1 * 1024 * 1024 for f in files)
    ids = pa.concat_tables(read).column("id").to_pylist()
    assert sorted(ids) == list(range(400_000))


def test_an_empty_stream_gives_one_empty_file() -> None:
    sinks: dict[str, MemorySink] = {}
    files = _writer(sinks).close()
    assert [(f.name, f.rows) for f in files] == [("part-00000.parquet", 0)]
    assert pq.read_table(pa.BufferReader(sinks["part-00000.parquet"].final)).num_rows == 0


def test_a_failing_conversion_fails_the_write_and_aborts_every_file() -> None:
    def convert(batch: pa.RecordBatch) -> pa.RecordBatch:
        if batch.column(0)[0].as_py() >= 40_000:
            raise ValueError("cannot convert")
        return batch

    sinks: dict[str, MemorySink] = {}
    writer = _writer(sinks, convert=convert)
    with pytest.raises(ValueError, match="cannot convert"):
        for batch in _table(400_000).to_batches(max_chunksize=20_000):
            writer.write(batch)
        writer.close()
    writer.abort(ValueError("stop"))
    assert sinks and all(sink.aborted is not None for sink in sinks.values())
