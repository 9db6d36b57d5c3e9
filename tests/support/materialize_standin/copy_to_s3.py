"""Runs ``COPY ... TO 's3://...'`` as Materialize does: plan checks, preflight, batches, files, sentinel.

Order: name resolution (the query is described by PostgreSQL, the AWS CONNECTION looked up), then
the planner's checks (``copy_options.plan_copy_to``), then sequencing: the session's cluster, the
TO expression's value (``eval_copy_to_uri``), a new transient sink id ``t<N>``, ``preflight()``,
the rows of one snapshot hashed over the batches (``row.hashed() % output_batch_count``,
src/compute/src/sink/copy_to_s3_oneshot.rs), and the sentinel deleted at the end.
"""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
from botocore.exceptions import BotoCoreError, ClientError

from tests.support.materialize_standin.arrow_schema import PgColumn, desc_to_schema
from tests.support.materialize_standin.copy_options import CopyPlan, extract_options, plan_copy_to
from tests.support.materialize_standin.copy_statement import parse_copy_to
from tests.support.materialize_standin.errors import MzError, canceled
from tests.support.materialize_standin.rules import PLACEHOLDER, Plan, Result
from tests.support.materialize_standin.s3_target import KeyManager, parse_target, preflight
from tests.support.materialize_standin.writers import CsvBatch, ParquetBatch, encode_csv_row

if TYPE_CHECKING:
    from tests.support.materialize_standin.copy_statement import CopyStatement
    from tests.support.materialize_standin.session import Session

_FETCH_ROWS = 1000


@dataclass
class CopyRecord:
    """What one COPY TO S3 did, for tests: its sink id, target, files, rows and error."""

    sink_id: str
    bucket: str
    path: str
    format: str
    max_file_size: int
    files: list[str] = field(default_factory=list)
    rows: int = 0
    error: str | None = None


def copy_plan(sql: str) -> Plan | None:
    statement = parse_copy_to(sql)
    if statement is None:
        return None
    return Plan(PLACEHOLDER, run=lambda session: Result(f"COPY {CopyRun(session, statement).run()}"))


def _pg_error(error: psycopg.Error) -> MzError:
    """An error raised by PostgreSQL while resolving or reading the query (its text, not Materialize's)."""
    if isinstance(error, psycopg.errors.QueryCanceled):
        return canceled()
    return MzError(error.diag.message_primary or str(error), error.sqlstate or "XX000")


class CopyRun:
    def __init__(self, session: Session, statement: CopyStatement) -> None:
        self.session, self.statement = session, statement
        self.standin = session.standin
        self.cancelled = threading.Event()
        self.connection: psycopg.Connection | None = None

    def cancel(self) -> None:
        self.cancelled.set()
        connection = self.connection
        if connection is not None:
            connection.cancel()

    def run(self) -> int:
        self.session.active_copy = self
        try:
            self.connection = self.session.side_connection()
            return self._run(self.connection)
        except psycopg.Error as error:
            raise _pg_error(error) from error
        except (BotoCoreError, ClientError) as error:  # UNCONFIRMED: how Materialize words S3 failures
            raise MzError(str(error)) from error
        finally:
            self.session.active_copy = None
            if self.connection is not None:
                self.connection.close()

    def _describe(self, conn: psycopg.Connection) -> list[PgColumn]:
        cursor = conn.execute(f"SELECT * FROM (\n{self.statement.select_sql}\n) AS _mz_standin LIMIT 0")
        result = cursor.pgresult
        assert result is not None
        raw = [
            (
                (result.fname(i) or b"").decode(),
                result.ftype(i),
                result.fmod(i),
                result.ftable(i),
                result.ftablecol(i),
            )
            for i in range(result.nfields)
        ]
        types = {
            oid: (name, element)
            for oid, name, element in conn.execute(
                "SELECT t.oid::int8, t.typname::text, e.typname::text FROM pg_catalog.pg_type t LEFT JOIN "
                "pg_catalog.pg_type e ON e.oid = t.typelem AND t.typcategory = 'A' WHERE t.oid = ANY(%s)",
                [[r[1] for r in raw]],
            )
        }
        not_null = {
            (table, attnum)
            for table, attnum in conn.execute(
                "SELECT attrelid::int8, attnum::int8 FROM pg_catalog.pg_attribute WHERE attnotnull "
                "AND attrelid = ANY(%s)",
                [[r[3] for r in raw if r[3]]],
            )
        }
        columns = []
        for name, oid, typmod, table, attnum in raw:
            typname, element = types.get(oid, (str(oid), None))
            nullable = (table, attnum) not in not_null  # NOT NULL known for table columns only
            inner = PgColumn(name, element, typmod, True) if element else None
            columns.append(PgColumn(name, typname, typmod, nullable, inner))
        return columns

    def _run(self, conn: psycopg.Connection) -> int:
        statement = self.statement
        columns = self._describe(conn)  # name resolution of the relation / query (PostgreSQL's errors)
        connection_name = next(
            (
                o.value[1]
                for o in statement.options
                if o.name == "AWS CONNECTION" and o.value and o.value[0] == "name"
            ),
            None,
        )
        if connection_name is not None:
            self.standin.catalog.connection_kind(connection_name)  # "unknown catalog item '...'"
        extracted = extract_options(statement.options)
        arrow_columns: list[Any] = []
        target: list[Any] = []

        def validate_desc() -> None:
            arrow_columns.extend(desc_to_schema(columns))

        def target_type() -> str:
            row = conn.execute(
                f"SELECT pg_typeof(x)::text, x::text FROM (SELECT ({statement.target_sql}) AS x) AS _t"
            ).fetchone()
            assert row is not None
            target.append(row[1])
            return str(row[0])

        plan = plan_copy_to(
            statement, extracted, self.standin.catalog.connection_kind, validate_desc, target_type
        )
        self.session.check_cluster()
        bucket, path = parse_target(target[0])
        sink_id = self.standin.next_sink_id()
        keys = KeyManager(bucket, path, sink_id)
        record = CopyRecord(sink_id, bucket, path, plan.format, plan.max_file_size)
        self.standin.copies.append(record)
        s3 = self.standin.s3_client()
        try:
            preflight(s3, keys)
            record.rows = self._write(conn, s3, keys, plan, columns, arrow_columns, record)
        except (MzError, psycopg.Error) as error:
            record.error = str(error)
            raise
        s3.delete_object(Bucket=bucket, Key=keys.sentinel_key)
        return record.rows

    def _write(
        self,
        conn: psycopg.Connection,
        s3: Any,
        keys: KeyManager,
        plan: CopyPlan,
        columns: list[PgColumn],
        arrow_columns: list[Any],
        record: CopyRecord,
    ) -> int:
        count = self.standin.workers
        if plan.format == "parquet":
            batches: list[Any] = [ParquetBatch(s3, keys, b, arrow_columns, plan) for b in range(count)]
        else:
            batches = [CsvBatch(s3, keys, b, [c.name for c in columns], plan) for b in range(count)]
        # "the 0th worker always forces a file to be created for batch 0, even if it never sees any data"
        batches[0].force_new_file()
        rows = 0
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")  # one snapshot for every row
        conn.execute(f"DECLARE _mz_standin_copy NO SCROLL CURSOR FOR\n{self.statement.select_sql}\n")
        try:
            while True:
                if self.cancelled.is_set():
                    raise canceled()
                result = conn.execute(f"FETCH FORWARD {_FETCH_ROWS} FROM _mz_standin_copy").pgresult
                assert result is not None
                if result.ntuples == 0:
                    break
                for r in range(result.ntuples):
                    raw = [result.get_value(r, c) for c in range(result.nfields)]
                    batch = zlib.crc32(b"\x1f".join(b"\x00" if v is None else v for v in raw)) % count
                    if plan.format == "parquet":
                        values = [
                            None if v is None else arrow_columns[i].convert(v.decode())
                            for i, v in enumerate(raw)
                        ]
                        batches[batch].append(values)
                    else:
                        batches[batch].append(encode_csv_row(raw, plan))
                    rows += 1
            for batch_writer in batches:
                batch_writer.finish()
        except ValueError as error:
            raise MzError(str(error)) from error
        finally:
            for batch_writer in batches:
                record.files.extend(batch_writer.keys_written)
        return rows
