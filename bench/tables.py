"""The benchmark's source tables, generated in the local PostgreSQL server.

* ``mixed_<rows>``: 13 columns (bigint, int, 2 text, 2 numeric(18,4), double, bool,
  2 timestamptz, date, uuid, jsonb); the nullable columns (note, tax, score, updated_at, attrs)
  are NULL in 10% of the rows each.
* ``narrow_<rows>``: bigint + double precision, no NULLs.

The largest table of a kind is generated once from ``generate_series`` (past 5M rows, its first
5M rows repeated with new ids); smaller ones are copied from the next larger one with
``CREATE TABLE ... AS SELECT * ... WHERE id <= N``, which is much cheaper than computing the values
again. The other shapes' kinds are in ``bench/shapes.py``. Each table is created and filled in one
transaction, so with ``wal_level=minimal`` (see :data:`BULK_LOAD_SETTINGS`) PostgreSQL writes no
WAL for it, and each is vacuumed (frozen, hint bits set) before it is read, so no measured read pays for that.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Server settings for fast bulk loading and undisturbed measurements (no autovacuum mid-run).
BULK_LOAD_SETTINGS = {
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "maintenance_work_mem": "512MB",
    "autovacuum": "off",
}

MIXED_COLUMNS = """
    id bigint, account int, name text, note text, amount numeric(18, 4), tax numeric(18, 4),
    score double precision, flag boolean, created_at timestamptz, updated_at timestamptz,
    day date, uid uuid, attrs jsonb
"""

MIXED_VALUES = """
    i::bigint,
    (i % 100000)::int,
    'customer-' || (i % 50000),
    CASE WHEN i % 10 = 0 THEN NULL ELSE md5(i::text) END,
    (i % 1000000) / 100.0,
    CASE WHEN i % 10 = 1 THEN NULL ELSE i * 0.0001 END,
    CASE WHEN i % 10 = 2 THEN NULL ELSE (i % 7919) / 7.0 END,
    i % 2 = 0,
    timestamptz '2026-01-01' + i * interval '1 second',
    CASE WHEN i % 10 = 3 THEN NULL ELSE timestamptz '2026-01-01' + i * interval '2 second' END,
    date '2020-01-01' + (i % 3000)::int,
    md5(i::text)::uuid,
    CASE WHEN i % 10 = 4 THEN NULL ELSE jsonb_build_object('i', i, 'tag', 'x' || (i % 10)) END
"""

NARROW_COLUMNS = "id bigint, value double precision"
NARROW_VALUES = "i::bigint, sqrt(i::double precision) * 1000.0"


COMPUTED_ROWS = 5_000_000  # larger tables repeat their first COMPUTED_ROWS rows (generate_sql)


@dataclass(frozen=True)
class TableKind:
    """A family of generated tables: column definitions and per-row value expressions of ``i``."""

    name: str
    columns: str
    values: str

    def table(self, rows: int) -> str:
        return f"{self.name}_{rows}"

    def column_names(self) -> list[str]:
        """The names in ``columns`` (split at the commas outside parentheses)."""
        names, depth, start = [], 0, 0
        for position, char in enumerate(self.columns + ","):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if char == "," and depth == 0:
                names.append(self.columns[start:position].split()[0])
                start = position + 1
        return names

    def generate_sql(self, rows: int) -> str:
        """Computed from ``generate_series``; past :data:`COMPUTED_ROWS`, that many rows repeated
        with new ids (computing 20M mixed rows took twice as long as computing 5M and copying them)."""
        table = self.table(rows)
        computed = COMPUTED_ROWS if rows > COMPUTED_ROWS and rows % COMPUTED_ROWS == 0 else rows
        sql = (
            f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} ({self.columns}); "
            f"INSERT INTO {table} SELECT {self.values} FROM generate_series(1, {computed}) AS i"
        )
        if computed < rows:
            rest = ", ".join(name for name in self.column_names() if name != "id")
            sql += (
                f"; INSERT INTO {table} SELECT id + k * {computed}, {rest} "
                f"FROM {table}, generate_series(1, {rows // computed - 1}) AS k"
            )
        return sql

    def derive_sql(self, rows: int, source_rows: int) -> str:
        table = self.table(rows)
        return (
            f"DROP TABLE IF EXISTS {table}; "
            f"CREATE TABLE {table} AS SELECT * FROM {self.table(source_rows)} WHERE id <= {rows}"
        )


MIXED = TableKind("mixed", MIXED_COLUMNS, MIXED_VALUES)
NARROW = TableKind("narrow", NARROW_COLUMNS, NARROW_VALUES)
WARM_UP = TableKind("warm_up", MIXED_COLUMNS, MIXED_VALUES)  # a tiny one, read before measuring


@dataclass
class GeneratedTable:
    """A table ready to be read: its name, exact row count and size on disk."""

    name: str
    rows: int
    bytes: int
    seconds: float


def create_tables(
    kind: TableKind,
    sizes: Iterable[int],
    execute: Callable[[str], None],
    query_one: Callable[[str], tuple],
) -> dict[int, GeneratedTable]:
    """Create ``kind``'s tables of the given row counts (largest generated, the rest derived)."""
    tables: dict[int, GeneratedTable] = {}
    larger: int | None = None
    for rows in sorted(set(sizes), reverse=True):
        started = time.monotonic()
        execute(kind.generate_sql(rows) if larger is None else kind.derive_sql(rows, larger))
        execute(f"VACUUM (FREEZE, ANALYZE) {kind.table(rows)}")
        counted, size = query_one(
            f"SELECT count(*), pg_total_relation_size('{kind.table(rows)}') FROM {kind.table(rows)}"
        )
        if counted != rows:
            raise RuntimeError(f"{kind.table(rows)} has {counted} rows, expected {rows}")
        seconds = time.monotonic() - started
        tables[rows] = GeneratedTable(kind.table(rows), rows, int(size), seconds)
        how = "generated" if larger is None else f"copied from {kind.table(larger)}"
        print(f"{kind.table(rows)}: {how} in {seconds:.1f}s, {size / 1e6:,.0f} MB on disk", flush=True)
        larger = rows
    return tables


def drop_tables(tables: Iterable[GeneratedTable], execute: Callable[[str], None]) -> None:
    for table in tables:
        execute(f"DROP TABLE IF EXISTS {table.name}")
