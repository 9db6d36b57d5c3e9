"""Read one consistent snapshot as a stream of Arrow record batches.

Two readers yield the same batches (the types of ``ExportPlan.read_types``):

* :class:`AdbcSnapshotReader` -- the ADBC PostgreSQL driver: binary COPY decoded to Arrow in C,
  streamed batch by batch. The fast path; Materialize supports it from v26.40.
* :class:`CsvSnapshotReader` -- psycopg's ``COPY ... TO STDOUT (FORMAT csv)`` parsed by
  ``pyarrow.csv`` as a stream. The fallback for servers the ADBC driver cannot talk to.

Both run the read in one read-only transaction (see ``sql.SNAPSHOT_BEGIN_SQL``) and, on
Materialize, learn the snapshot's timestamp with ``mz_now()`` in that same transaction.
"""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_materialize.export.client.read_pacing import paced
from airflow_provider_materialize.hooks.statements import execute_one
from airflow_provider_materialize.sql import (
    CSV_SESSION_SQL,
    SNAPSHOT_BEGIN_SQL,
    SNAPSHOT_END_SQL,
    SNAPSHOT_TIMESTAMP_SQL,
    ServerFlavor,
    copy_csv_to_stdout_sql,
    describe_sql,
)

ADBC_BATCH_BYTES = 4 * 1024 * 1024
CSV_BLOCK_BYTES = 4 * 1024 * 1024


class SnapshotReader:
    """Base class: ``batches()`` streams the rows; ``snapshot_timestamp`` is set once it is done."""

    name = "reader"

    def __init__(self) -> None:
        self.snapshot_timestamp: int | None = None

    def batches(
        self, sql: str, read_types: list[pa.DataType], session_sql: list[str], flavor: ServerFlavor
    ) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError

    @staticmethod
    def _begin(execute: Callable[[str], Any], session_sql: list[str], flavor: ServerFlavor) -> None:
        """Prepare the session, then open the read-only snapshot transaction."""
        for statement in session_sql:
            execute(statement)
        execute(SNAPSHOT_BEGIN_SQL[flavor])

    def _finish(
        self, execute: Callable[[str], Any], query_one: Callable[[str], Any], flavor: ServerFlavor
    ) -> None:
        if flavor is ServerFlavor.MATERIALIZE:
            self.snapshot_timestamp = int(query_one(SNAPSHOT_TIMESTAMP_SQL)[0])
        execute(SNAPSHOT_END_SQL)


class _AdbcSession:
    """One connection through the ADBC driver manager's low-level API.

    Not the DB-API module: importing it imports ``pyarrow.dataset`` and, where pandas is installed,
    pandas, which costs the worker memory for nothing.
    """

    def __init__(self, uri: str) -> None:
        import adbc_driver_manager
        import adbc_driver_postgresql

        self._database = adbc_driver_postgresql.connect(uri)
        try:
            self._connection = adbc_driver_manager.AdbcConnection(self._database)
        except BaseException:
            self._database.close()
            raise

    def __enter__(self) -> _AdbcSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._connection.close()
        self._database.close()

    def stream(self, sql: str, options: dict[str, str] | None = None) -> Generator[pa.RecordBatch]:
        """Run ``sql`` and yield its record batches as the driver decodes them."""
        import adbc_driver_manager
        from adbc_driver_manager._reader import AdbcRecordBatchReader  # turns stream errors into ADBC's

        with adbc_driver_manager.AdbcStatement(self._connection) as statement:
            if options:
                statement.set_options(**options)
            statement.set_sql_query(sql)
            handle, _ = statement.execute_query()
            reader = AdbcRecordBatchReader._import_from_c(handle.address)
            try:
                yield from paced(reader)
            finally:
                reader.close()  # before the statement, also when the consumer stops early

    def execute(self, sql: str) -> None:
        for _ in self.stream(sql):
            pass

    def query_one(self, sql: str) -> tuple:
        with contextlib.closing(self.stream(sql)) as batches:
            for batch in batches:
                if batch.num_rows:
                    return tuple(column[0].as_py() for column in batch.columns)
        raise RuntimeError(f"no row returned by {sql}")


class AdbcSnapshotReader(SnapshotReader):
    """Arrow-native reader over the ADBC PostgreSQL driver.

    :param uri: A libpq URI (``postgresql://user:password@host:port/db?sslmode=...``).
    :param batch_bytes: Size hint for the record batches the driver yields.
    """

    name = "adbc"

    def __init__(self, uri: str, batch_bytes: int = ADBC_BATCH_BYTES) -> None:
        super().__init__()
        self.uri = uri
        self.batch_bytes = batch_bytes

    def connect(self) -> _AdbcSession:
        return _AdbcSession(self.uri)

    def batches(
        self, sql: str, read_types: list[pa.DataType], session_sql: list[str], flavor: ServerFlavor
    ) -> Iterator[pa.RecordBatch]:
        with self.connect() as session:
            self._begin(session.execute, session_sql, flavor)
            yield from session.stream(sql, self._options)
            self._finish(session.execute, session.query_one, flavor)

    @property
    def _options(self) -> dict[str, str]:
        """The driver's statement options: the batch size hint."""
        return {"adbc.postgresql.batch_size_hint_bytes": str(self.batch_bytes)}


class _CopyStream(io.RawIOBase):
    """Expose psycopg's COPY chunks as a readable stream for ``pyarrow.csv``."""

    def __init__(self, copy: Any) -> None:
        super().__init__()
        self._copy = copy
        self._pending = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending and not self._done:
            chunk = self._copy.read()
            if chunk:
                self._pending = memoryview(chunk)
            else:
                self._done = True
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class CsvSnapshotReader(SnapshotReader):
    """Fallback reader: psycopg COPY in CSV, parsed by ``pyarrow.csv`` in a stream.

    ``bytea`` and ``uuid`` values arrive as hex text and are decoded value by value, and arrays are
    not supported: both are reasons to prefer the ADBC reader where the server allows it.

    :param connect: Returns a psycopg connection (already routed to the right cluster).
    """

    name = "csv"

    def __init__(self, connect: Callable[[], Any]) -> None:
        super().__init__()
        self._connect = connect

    def batches(
        self, sql: str, read_types: list[pa.DataType], session_sql: list[str], flavor: ServerFlavor
    ) -> Iterator[pa.RecordBatch]:
        import pyarrow.csv as pacsv

        if any(pa.types.is_list(read_type) for read_type in read_types):
            raise ValueError(
                "array columns need the ADBC reader (reader='adbc'); with the CSV fallback reader, "
                "cast them in a query, e.g. to text or jsonb"
            )
        names = [f"c{i}" for i in range(len(read_types))]
        csv_types = {
            name: self._csv_type(read_type) for name, read_type in zip(names, read_types, strict=True)
        }
        conn = self._connect()
        try:
            conn.autocommit = True
            cursor = conn.cursor()
            run = functools.partial(execute_one, cursor)
            self._begin(run, [*session_sql, *CSV_SESSION_SQL[flavor]], flavor)
            # psycopg sends COPY only with the simple protocol, which would run a second statement:
            # the server first parses exactly this query, alone, as one statement.
            run(describe_sql(sql))
            with cursor.copy(copy_csv_to_stdout_sql(sql)) as copy:
                reader = pacsv.open_csv(
                    io.BufferedReader(_CopyStream(copy), CSV_BLOCK_BYTES),
                    read_options=pacsv.ReadOptions(column_names=names, block_size=CSV_BLOCK_BYTES),
                    parse_options=pacsv.ParseOptions(newlines_in_values=True),
                    convert_options=pacsv.ConvertOptions(
                        column_types=csv_types,
                        null_values=[""],
                        strings_can_be_null=True,
                        quoted_strings_can_be_null=False,
                        true_values=["t"],
                        false_values=["f"],
                        timestamp_parsers=["%Y-%m-%d %H:%M:%S%z", pacsv.ISO8601],
                    ),
                )
                for batch in reader:
                    yield self._decode(batch, read_types)
            self._finish(run, lambda sql: run(sql).fetchone(), flavor)
        finally:
            conn.close()

    @staticmethod
    def _csv_type(read_type: pa.DataType) -> pa.DataType:
        if pa.types.is_binary(read_type) or pa.types.is_fixed_size_binary(read_type):
            return pa.string()
        return read_type

    @staticmethod
    def _decode(batch: pa.RecordBatch, read_types: list[pa.DataType]) -> pa.RecordBatch:
        columns = list(batch.columns)
        for i, read_type in enumerate(read_types):
            if pa.types.is_binary(read_type) or pa.types.is_fixed_size_binary(read_type):
                # "\x0102ff" for bytea, "xxxxxxxx-xxxx-..." for uuid
                hex_text = pc.replace_substring_regex(columns[i], r"^\\x|-", "")
                columns[i] = pa.array(
                    [None if value is None else bytes.fromhex(value) for value in hex_text.to_pylist()],
                    type=read_type,
                )
        return pa.RecordBatch.from_arrays(
            columns,
            schema=pa.schema(
                [
                    pa.field(name, column.type)
                    for name, column in zip(batch.schema.names, columns, strict=True)
                ]
            ),
        )
