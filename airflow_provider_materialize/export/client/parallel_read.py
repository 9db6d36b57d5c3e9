"""Read one PostgreSQL snapshot of a table over several connections, each a range of its pages.

The first connection opens the snapshot transaction and exports its snapshot
(``pg_export_snapshot()``); every other connection imports it (``SET TRANSACTION SNAPSHOT``) before
reading, so all of them see exactly the same rows. Each reads a contiguous range of the relation's
heap pages by ``ctid`` (a TID range scan, PostgreSQL 14+), all at once, and their batches meet in
one queue bounded by bytes. The exporting transaction stays open until every other connection has
imported its snapshot, as PostgreSQL requires.

Only a plain table or materialized view named with ``source=`` can be split this way; anything else
(a view, a partitioned table, a query, an older server, a table of a few pages) is read as one stream
on the first connection. Materialize is always read as one stream (see docs/client-pipeline.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from airflow_provider_materialize.export.client.byte_queue import ByteBoundedQueue
from airflow_provider_materialize.export.client.readers import (
    ADBC_BATCH_BYTES,
    AdbcSnapshotReader,
    SnapshotReader,
    _AdbcSession,
)
from airflow_provider_materialize.sql import (
    SNAPSHOT_END_SQL,
    ServerFlavor,
    export_snapshot_sql,
    import_snapshot_sql,
    page_range_select,
)

_SPLITTABLE_KINDS = ("r", "m")  # heap relations: tables and materialized views
_MIN_SERVER_VERSION = 140000  # TID range scans
_MIN_PAGES_PER_CONNECTION = 64  # 512 KiB of heap: below that a second connection costs more than it saves
_QUEUED_BYTES_PER_CONNECTION = 8 * 1024 * 1024
_WAIT = 0.5
_END = object()


class ParallelSnapshotReader(AdbcSnapshotReader):
    """The ADBC reader over ``connections`` connections sharing one exported snapshot.

    :param uri: A libpq URI.
    :param relation: The quoted name of the relation ``source=`` names.
    :param connections: How many connections read at most (1 reads one stream).
    :param select_for: Builds the read statement (with the type plan's expressions) from a
        ``SELECT *`` over the relation's rows.
    :param batch_bytes: Size hint for the record batches the driver yields.
    """

    def __init__(
        self,
        uri: str,
        *,
        relation: str,
        connections: int,
        select_for: Callable[[str], str],
        batch_bytes: int = ADBC_BATCH_BYTES,
    ) -> None:
        super().__init__(uri, batch_bytes)
        self.relation = relation
        self.connections = connections
        self.select_for = select_for
        self.connections_used = 1

    def batches(
        self, sql: str, read_types: list[pa.DataType], session_sql: list[str], flavor: ServerFlavor
    ) -> Iterator[pa.RecordBatch]:
        if flavor is not ServerFlavor.POSTGRES or self.connections < 2:
            yield from super().batches(sql, read_types, session_sql, flavor)
            return
        with self.connect() as first:
            self._begin(first.execute, session_sql, flavor)
            snapshot_id, kind, pages, version = first.query_one(export_snapshot_sql(self.relation))
            ranges = _page_ranges(int(pages or 0), self.connections)
            if kind not in _SPLITTABLE_KINDS or int(version) < _MIN_SERVER_VERSION or len(ranges) < 2:
                yield from first.stream(sql, self._options)
                first.execute(SNAPSHOT_END_SQL)
                return
            self.connections_used = len(ranges)
            readers = _RangeReaders(self, first, str(snapshot_id), ranges, session_sql)
            try:
                yield from readers
            finally:
                readers.close()


def _page_ranges(pages: int, connections: int) -> list[tuple[int, int | None]]:
    """Contiguous page ranges, one per connection, the last one open-ended."""
    count = max(1, min(connections, pages // _MIN_PAGES_PER_CONNECTION))
    bounds = [pages * k // count for k in range(count)]
    return [(start, bounds[k + 1] if k + 1 < count else None) for k, start in enumerate(bounds)]


class _RangeReaders:
    """One thread per page range; their batches, and the first failure, in one bounded queue."""

    def __init__(
        self,
        reader: ParallelSnapshotReader,
        first: _AdbcSession,
        snapshot_id: str,
        ranges: list[tuple[int, int | None]],
        session_sql: list[str],
    ) -> None:
        self._reader = reader
        self._snapshot_id = snapshot_id
        self._session_sql = session_sql
        self.queue = ByteBoundedQueue(max_bytes=_QUEUED_BYTES_PER_CONNECTION * len(ranges))
        self._stop = threading.Event()
        self._imported = [threading.Event() for _ in ranges[1:]]
        self._running = len(ranges)
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(
                target=self._run,
                args=(index, page_range, first),
                name=f"snapshot-reader-{index}",
                daemon=True,
            )
            for index, page_range in enumerate(ranges)
        ]
        for thread in self._threads:
            thread.start()

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        while True:
            item = self.queue.get()
            if item is _END:
                with self._lock:
                    self._running -= 1
                    if not self._running:
                        return
                continue
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        self.queue.clear()
        for thread in self._threads:
            thread.join(timeout=60)

    def _put(self, item: Any, size: int) -> bool:
        return self.queue.put_unless_stopped(item, size, self._stop)

    def _run(self, index: int, page_range: tuple[int, int | None], first: _AdbcSession) -> None:
        try:
            if index == 0:
                self._read(first, page_range)
                # The exported snapshot lives as long as this transaction: keep it until all imported.
                for imported in self._imported:
                    while not imported.wait(_WAIT):
                        if self._stop.is_set():
                            return
                first.execute(SNAPSHOT_END_SQL)
            else:
                with self._reader.connect() as session:
                    try:
                        self._reader._begin(session.execute, self._session_sql, ServerFlavor.POSTGRES)
                        session.execute(import_snapshot_sql(self._snapshot_id))
                    finally:
                        self._imported[index - 1].set()
                    self._read(session, page_range)
                    session.execute(SNAPSHOT_END_SQL)
            self._put(_END, 0)
        except BaseException as error:
            self._stop_others(error)

    def _read(self, session: _AdbcSession, page_range: tuple[int, int | None]) -> None:
        sql = self._reader.select_for(page_range_select(self._reader.relation, *page_range))
        batches = session.stream(sql, self._reader._options)
        try:
            for batch in batches:
                if not self._put(batch, batch.nbytes):
                    return
        finally:
            batches.close()

    def _stop_others(self, error: BaseException) -> None:
        for imported in self._imported:
            imported.set()
        self._stop.set()
        self.queue.clear()
        self.queue.put(error, 0, force=True)


def with_read_connections(
    reader: SnapshotReader, *, connections: int, relation: str | None, select_for: Callable[[str], str]
) -> SnapshotReader:
    """``reader``, or its several-connection form when more are asked for and ``source=`` names one."""
    if connections < 2 or relation is None or type(reader) is not AdbcSnapshotReader:
        return reader
    return ParallelSnapshotReader(
        reader.uri,
        relation=relation,
        connections=connections,
        select_for=select_for,
        batch_bytes=reader.batch_bytes,
    )
