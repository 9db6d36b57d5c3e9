"""Which server is on the other end, and the statements that set up its sessions and snapshots.

Materialize and PostgreSQL differ in how a consistent read is taken, how the compute cluster is
chosen and how the snapshot timestamp is learnt; the statements for each are kept here, keyed by
:class:`ServerFlavor`.
"""

from __future__ import annotations

import enum

from airflow_provider_materialize.sql.identifiers import quote_ident, quote_literal

MATERIALIZE_DEFAULT_PORT = 6875
MATERIALIZE_DEFAULT_USER = "materialize"
MATERIALIZE_DEFAULT_DATABASE = "materialize"


class ServerFlavor(enum.Enum):
    """Which server is on the other end of the wire."""

    MATERIALIZE = "materialize"
    POSTGRES = "postgres"


# Detection: ``mz_version()`` only exists in Materialize; PostgreSQL answers "undefined function".
DETECT_MATERIALIZE_SQL = "SELECT mz_version()"
POSTGRES_VERSION_SQL = "SHOW server_version"

# In Materialize the first SELECT of a read-only transaction fixes the timestamp for the whole
# transaction, and mz_now() inside it returns that timestamp. mz_now() touches no object, so it may
# follow the data read without leaving the transaction's time domain.
SNAPSHOT_BEGIN_SQL = {
    ServerFlavor.MATERIALIZE: "BEGIN READ ONLY",
    ServerFlavor.POSTGRES: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
}
SNAPSHOT_TIMESTAMP_SQL = "SELECT mz_now()::text"
SNAPSHOT_END_SQL = "COMMIT"
# Describing a query reads no rows, and nothing it does may write: Materialize refuses writes in a
# READ ONLY transaction ("transaction in read-only mode", TransactionStatus::add_ops in
# src/adapter/src/session.rs); it has no SET TRANSACTION READ ONLY, so the mode goes on BEGIN.
READ_ONLY_BEGIN_SQL = "BEGIN READ ONLY"
ROLLBACK_SQL = "ROLLBACK"
# CSV carries timestamptz as text in the session's time zone: make it UTC (Materialize always is).
CSV_SESSION_SQL: dict[ServerFlavor, list[str]] = {
    ServerFlavor.MATERIALIZE: [],
    ServerFlavor.POSTGRES: ["SET TimeZone = 'UTC'", "SET DateStyle = 'ISO, YMD'"],
}


def set_cluster_sql(cluster: str) -> str:
    """Route this session's queries to ``cluster`` (Materialize only)."""
    return f"SET cluster = {quote_ident(cluster)}"


# Reading one PostgreSQL snapshot over several connections: the first transaction exports its
# snapshot, the others import it (SET TRANSACTION SNAPSHOT, first statement of a REPEATABLE READ
# transaction), and each reads a range of the relation's heap pages. A ctid range is a TID range scan
# from PostgreSQL 14; plain tables and materialized views have a heap, views and partitioned tables do not.
def export_snapshot_sql(relation: str) -> str:
    """The exported snapshot's id, the relation's kind, its size in pages, and the server's version."""
    return (
        "SELECT pg_export_snapshot(), c.relkind::text, "
        "pg_relation_size(c.oid) / current_setting('block_size')::bigint, "
        "current_setting('server_version_num')::int "
        f"FROM pg_catalog.pg_class c WHERE c.oid = {quote_literal(relation)}::regclass"
    )


def import_snapshot_sql(snapshot_id: str) -> str:
    return f"SET TRANSACTION SNAPSHOT {quote_literal(snapshot_id)}"


def page_range_select(relation: str, first_page: int, end_page: int | None) -> str:
    """``SELECT *`` of the rows stored in pages ``first_page`` up to ``end_page`` (None: to the end)."""
    where = f"ctid >= '({int(first_page)},0)'::tid"
    if end_page is not None:
        where += f" AND ctid < '({int(end_page)},0)'::tid"
    return f"SELECT * FROM {relation} WHERE {where}"
