"""Dictionary encoding chosen per leaf column from a sample of the first row group."""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from airflow_provider_materialize.export.client.encoding_choice import dictionary_columns
from airflow_provider_materialize.export.client.rolling_parquet import RollingParquetWriter

ROWS = 30_000
ARRAY_TYPE = pa.struct(
    [
        pa.field("items", pa.list_(pa.field("item", pa.int32())), nullable=False),
        pa.field("dimensions", pa.uint8(), nullable=False),
    ]
)


def _table() -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(ROWS), pa.int64()),
            "label": pa.array([f"label-{i % 40}" for i in range(ROWS)]),
            "note": pa.array([f"free text number {i}" for i in range(ROWS)]),
            "score": pa.array([float(i % 5_000) for i in range(ROWS)]),  # a sixth distinct: fixed width
            "tag": pa.array([f"t{i % 5_000}" for i in range(ROWS)]),  # the same share, variable width
            # Every n-th value of a cycle longer than the spread sample is distinct: still repeated.
            "cycle": pa.array([f"c{i % 5_003}" for i in range(ROWS)]),
            "flag": pa.array([i % 2 == 0 for i in range(ROWS)]),
            "nothing": pa.nulls(ROWS, pa.string()),
            "ints": pa.array([{"items": [i % 7, None], "dimensions": 1} for i in range(ROWS)], ARRAY_TYPE),
            "attrs": pa.array([[("k", i)] for i in range(ROWS)], pa.map_(pa.string(), pa.int64())),
        }
    )


def test_repeated_values_get_a_dictionary_and_distinct_ones_do_not() -> None:
    assert dictionary_columns(_table()) == [
        "label",
        "tag",
        "cycle",
        "nothing",
        "ints.items.list.item",
        "ints.dimensions",
        "attrs.key_value.key",
    ]


def test_an_empty_sample_keeps_dictionaries_everywhere_but_booleans() -> None:
    empty = _table().slice(0, 0)
    assert "flag" not in dictionary_columns(empty)
    assert "id" in dictionary_columns(empty)


def _write(tables: list[pa.Table], *, max_file_size: int, batch_rows: int) -> list[tuple[Any, Any]]:
    """Write ``tables`` through one ``RollingParquetWriter`` into memory: each file and its footer."""
    finals: dict[str, bytes] = {}

    class Sink(io.BytesIO):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        def close(self) -> None:
            finals[self.name] = self.getvalue()
            super().close()

    writer = RollingParquetWriter(
        schema=tables[0].schema, max_file_size=max_file_size, compression="snappy", open_sink=Sink
    )
    for table in tables:
        for batch in table.to_batches(max_chunksize=batch_rows):
            writer.write(batch)
    files = writer.close()
    return [(written, pq.ParquetFile(io.BytesIO(finals[written.name])).metadata) for written in files]


def test_the_written_file_has_dictionaries_on_the_chosen_leaves_only() -> None:
    """The paths are the ones pyarrow writes (non-compliant nesting), or no column would get one."""
    table = _table()
    ((_, metadata),) = _write([table], max_file_size=64 * 1024**2, batch_rows=7_000)
    row_group = metadata.row_group(0)
    with_dictionary = {
        row_group.column(i).path_in_schema
        for i in range(row_group.num_columns)
        if row_group.column(i).has_dictionary_page
    }
    assert with_dictionary == set(dictionary_columns(table))


def test_the_first_files_choice_holds_for_the_later_files() -> None:
    """Chosen once: a later file starts while the one before is still being uploaded."""
    repeated = pa.table({"label": pa.array([f"label-{i % 40}" for i in range(ROWS)])})
    unique = pa.table({"label": pa.array([f"unique-{i}" for i in range(ROWS)])})
    files = _write([repeated, unique], max_file_size=200_000, batch_rows=5_000)
    assert len(files) >= 2 and files[-1][0].rows <= unique.num_rows  # the last file: unique labels only
    for written, metadata in files:
        assert metadata.row_group(0).column(0).has_dictionary_page, written.name


def test_choosing_imports_neither_pandas_nor_numpy_random() -> None:
    # Both cost an export resident memory at its busiest moment (docs/client-pipeline.md). Checked
    # in a fresh interpreter, which gets the sample as Arrow IPC: building it from Python lists there
    # would import pandas itself (pa.array looks for pandas objects).
    table, sink = _table(), io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write_table(table)
    script = (
        "import sys, pyarrow as pa\n"
        "from airflow_provider_materialize.export.client.encoding_choice import dictionary_columns\n"
        "sample = pa.ipc.open_stream(sys.stdin.buffer).read_all()\n"
        "print(len(dictionary_columns(sample)) > 0)\n"
        "print(sorted(name for name in sys.modules if name == 'pandas' or name == 'numpy.random'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], input=sink.getvalue(), capture_output=True, check=True
    )
    assert result.stdout.decode().splitlines() == ["True", "[]"]
