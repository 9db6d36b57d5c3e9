"""What the server says a query returns: column names, types and type modifiers, without reading rows.

Both modes use it: client mode plans the Parquet schema from it, native mode describes the columns
of a CSV export in the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_materialize.hooks.materialize import execute_one
from airflow_provider_materialize.sql import (
    READ_ONLY_BEGIN_SQL,
    ROLLBACK_SQL,
    ServerFlavor,
    describe_sql,
    type_names_sql,
)

if TYPE_CHECKING:
    from airflow_provider_materialize.hooks.materialize import MaterializeHook


@dataclass(frozen=True)
class DescribedColumn:
    """What the server says about one result column."""

    name: str
    type_name: str  # pg_type.typname, e.g. "int4", "numeric", "_text"
    element_type_name: str | None = None  # for arrays: the element's typname
    typmod: int = -1  # the type modifier (of the elements, for arrays); -1 when there is none

    @property
    def length(self) -> int | None:
        """n of varchar(n) / char(n)."""
        return self.typmod - 4 if self.typmod >= 4 else None

    @property
    def scale(self) -> int | None:
        """s of numeric(p, s)."""
        return (self.typmod - 4) & 0xFFFF if self.typmod >= 4 else None


def describe_columns(mz_hook: MaterializeHook, select: str) -> tuple[ServerFlavor, list[DescribedColumn]]:
    """The server's flavour and the columns ``select`` returns, without reading any row.

    This is the first statement that carries the user's text. It is sent with the extended protocol
    inside a READ ONLY transaction that is rolled back, so text that holds a second statement, or
    that would write, is refused before anything else runs (``StatementRefusedError``).
    """
    with mz_hook.get_conn() as conn:
        flavor, _ = mz_hook.server_info
        conn.autocommit = True
        cursor = conn.cursor()
        execute_one(cursor, READ_ONLY_BEGIN_SQL)
        execute_one(cursor, describe_sql(select))
        description = list(cursor.description or [])
        typmods = [cursor.pgresult.fmod(i) for i in range(len(description))]
        oids = sorted({int(column.type_code) for column in description})
        type_names: dict[int, tuple[str, str | None]] = {}
        if oids:
            execute_one(cursor, type_names_sql(oids))
            type_names = {int(oid): (name, element) for oid, name, element in cursor.fetchall()}
        execute_one(cursor, ROLLBACK_SQL)
    columns = []
    for column, typmod in zip(description, typmods, strict=True):
        type_name, element = type_names.get(int(column.type_code), (f"oid {column.type_code}", None))
        columns.append(DescribedColumn(column.name, type_name, element_type_name=element, typmod=typmod))
    return flavor, columns
