"""What the server says a query returns: column names, types, type modifiers and nullability.

No row is read. Both modes use it: client mode plans the Parquet schema from it, native mode
describes the columns of a CSV export in the manifest. It is also the first statement that carries
the user's text, so it is sent the safe way (see :func:`describe_columns`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_materialize.hooks.materialize import execute_one
from airflow_provider_materialize.sql import (
    READ_ONLY_BEGIN_SQL,
    ROLLBACK_SQL,
    ServerFlavor,
    describe_elements_sql,
    describe_sql,
    not_null_columns_sql,
    type_names_sql,
)

if TYPE_CHECKING:
    from airflow_provider_materialize.hooks.materialize import MaterializeHook

log = logging.getLogger(__name__)

# Materialize describes `numeric` without a scale with precision 39 and scale 39 in the typmod, and
# every constrained numeric with precision 39 (`From<&ScalarType> for Type` and
# NUMERIC_DATUM_MAX_PRECISION in src/pgrepr/src/types.rs).
_MATERIALIZE_UNCONSTRAINED_NUMERIC_TYPMOD = ((39 << 16) | 39) + 4


@dataclass(frozen=True)
class DescribedColumn:
    """What the server says about one result column."""

    name: str
    type_name: str  # pg_type.typname, e.g. "int4", "numeric", "_text"
    element_type_name: str | None = None  # for arrays: the element's typname
    typmod: int = -1  # the type modifier (of the elements, for arrays); -1 when there is none
    not_null: bool = False  # known never to be NULL (declared NOT NULL in the object described)

    @property
    def length(self) -> int | None:
        """n of varchar(n) / char(n)."""
        return self.typmod - 4 if self.typmod >= 4 else None

    @property
    def scale(self) -> int | None:
        """s of numeric(p, s)."""
        return (self.typmod - 4) & 0xFFFF if self.typmod >= 4 else None


def describe_columns(
    mz_hook: MaterializeHook, select: str, relation: str | None = None
) -> tuple[ServerFlavor, list[DescribedColumn]]:
    """The server's flavour and the columns ``select`` returns, without reading any row.

    The user's text is sent with the extended protocol inside a READ ONLY transaction that is rolled
    back, so text that holds a second statement, or that would write, is refused before anything
    else runs (``StatementRefusedError``). The catalog is read afterwards, outside that
    transaction: Materialize lets a read-only transaction reach only the schemas of its first
    SELECT. ``relation`` (a quoted object name) lets NOT NULL columns be found.
    """
    with mz_hook.get_conn() as conn:
        flavor, _ = mz_hook.server_info
        conn.autocommit = True
        cursor = conn.cursor()
        described, typmods = _describe(cursor, describe_sql(select))
        names = _type_names(cursor, sorted({oid for _, oid in described}))
        arrays = [i for i, (_, oid) in enumerate(described) if names.get(oid, ("", None))[1] is not None]
        if arrays:
            _, element_typmods = _describe(cursor, describe_elements_sql(select, len(described), arrays))
            for index, typmod in zip(arrays, element_typmods, strict=True):
                typmods[index] = typmod
        not_null = _not_null_columns(cursor, relation) if relation else set()
    columns = []
    for (name, oid), typmod in zip(described, typmods, strict=True):
        type_name, element = names.get(oid, (f"oid {oid}", None))
        if flavor is ServerFlavor.MATERIALIZE and typmod == _MATERIALIZE_UNCONSTRAINED_NUMERIC_TYPMOD:
            typmod = -1
        columns.append(DescribedColumn(name, type_name, element, typmod, not_null=name in not_null))
    return flavor, columns


def _describe(cursor: Any, describe: str) -> tuple[list[tuple[str, int]], list[int]]:
    """Names, type OIDs and typmods of ``describe``'s columns, read in a rolled-back READ ONLY transaction."""
    execute_one(cursor, READ_ONLY_BEGIN_SQL)
    try:
        execute_one(cursor, describe)
        columns = [(c.name, int(c.type_code)) for c in cursor.description or []]
        return columns, [cursor.pgresult.fmod(i) for i in range(len(columns))]
    finally:
        execute_one(cursor, ROLLBACK_SQL)


def _type_names(cursor: Any, oids: list[int]) -> dict[int, tuple[str, str | None]]:
    if not oids:
        return {}
    execute_one(cursor, type_names_sql(oids))
    return {int(oid): (name, element) for oid, name, element in cursor.fetchall()}


def _not_null_columns(cursor: Any, relation: str) -> set[str]:
    try:
        execute_one(cursor, not_null_columns_sql(relation))
        return {name for (name,) in cursor.fetchall()}
    except Exception as error:  # the columns then stay nullable, as for a query
        log.warning("Could not read which columns of %s are NOT NULL: %s", relation, error)
        return set()
