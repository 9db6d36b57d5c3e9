"""One PostgreSQL snapshot read over several connections: the same rows as one stream, even when
the table changes between the first connection's read and the others' start."""

from __future__ import annotations

import threading
from typing import Any

import pyarrow as pa
import pytest

from airflow_provider_materialize.export.client.parallel_read import ParallelSnapshotReader
from airflow_provider_materialize.export.client.readers import _AdbcSession
from airflow_provider_materialize.sql import ServerFlavor
from tests.support.operator_run import run_operator
from tests.support.s3_objects import read_parquet

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]

ROWS = 60_000  # about 330 pages of 8 kB: room for several ranges of at least 64 pages


@pytest.fixture
def split_table(postgres: Any) -> str:
    postgres.execute(
        "DROP TABLE IF EXISTS split_me; CREATE TABLE split_me (id bigint, label text); "
        f"INSERT INTO split_me SELECT i, 'row ' || i FROM generate_series(1, {ROWS}) AS i"
    )
    postgres.execute("VACUUM ANALYZE split_me")
    return "split_me"


class _HeldBack(ParallelSnapshotReader):
    """Opens every connection after the first only once ``release`` is set."""

    release = threading.Event()
    opened = 0

    def connect(self) -> _AdbcSession:
        type(self).opened += 1
        if type(self).opened > 1:
            assert self.release.wait(60)
        return super().connect()


def _ids(batches: Any) -> list[int]:
    return sorted(pa.Table.from_batches(list(batches)).column(0).to_pylist())


def test_connections_share_the_first_ones_snapshot(postgres: Any, split_table: str) -> None:
    reader = _HeldBack(
        postgres.uri, relation=split_table, connections=3, select_for=lambda select: select, batch_bytes=65536
    )
    _HeldBack.opened = 0
    _HeldBack.release.clear()
    batches = reader.batches(f"SELECT * FROM {split_table}", [], [], ServerFlavor.POSTGRES)
    first = [next(batches)]  # the snapshot is exported; the other connections wait to start
    postgres.execute(
        f"DELETE FROM {split_table} WHERE id > {ROWS // 2}; "
        f"INSERT INTO {split_table} SELECT i, 'late' FROM generate_series({ROWS + 1}, {ROWS + 5000}) AS i"
    )
    _HeldBack.release.set()
    assert _ids([*first, *batches]) == list(range(1, ROWS + 1))
    assert reader.connections_used == 3 and _HeldBack.opened == 3


def test_a_failing_connection_fails_the_read(postgres: Any, split_table: str) -> None:
    reader = ParallelSnapshotReader(
        postgres.uri,
        relation=split_table,
        connections=2,
        select_for=lambda select: select.replace("SELECT *", "SELECT 1 / (id - 40000) AS boom"),
    )
    with pytest.raises(Exception, match="division by zero"):
        list(reader.batches("unused", [], [], ServerFlavor.POSTGRES))


@pytest.mark.parametrize("connections", [1, 4])
def test_operator_output_is_the_same_with_several_connections(
    s3: Any, bucket: str, split_table: str, connections: int
) -> None:
    result = run_operator(
        source=split_table,
        s3_uri=f"s3://{bucket}/parallel/{connections}/",
        max_file_size="1MB",
        read_connections=connections,
    )
    assert result["rows"] == ROWS
    table = pa.concat_tables(
        read_parquet(s3, bucket, entry["uri"].split(f"{bucket}/", 1)[1]).read() for entry in result["files"]
    )
    assert sorted(table.column("id").to_pylist()) == list(range(1, ROWS + 1))
    assert sum(entry["rows"] for entry in result["files"]) == ROWS


def test_read_connections_is_checked() -> None:
    with pytest.raises(ValueError, match="read_connections must be a whole number from 1 to 16"):
        run_operator(source="t", s3_uri="s3://b/p/", read_connections=0)
