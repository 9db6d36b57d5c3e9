"""What the server says a query returns: column names, types, type modifiers and nullability.

No row is read. Both modes use it: client mode plans the Parquet schema from it, native mode
describes the columns of a CSV export in the manifest. It is also the first statement that carries
the user's text, so it is sent the safe way (see :func:`describe_columns`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_materialize.hooks.statements import execute_one
from airflow_provider_materialize.sql import (
    READ_ONLY_BEGIN_SQL,
    ROLLBACK_SQL,
    ServerFlavor,
    describe_elements_sql,
    describe_sql,
    list_element_expression,
    map_value_expression,
    nested_elements_sql,
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
# Materialize's list and map pseudo types: every list and every map column has one of these
# names (TYPE_LIST_OID / TYPE_MAP_OID in src/pgrepr-consts/src/oid.rs, pg_type rows "list" / "map").
NESTED_TYPES = ("list", "map")
# How deep list layers are followed to find the element type (a layered list has one per layer).
_MAX_NESTED_DEPTH = 8


@dataclass(frozen=True)
class DescribedColumn:
    """What the server says about one result column."""

    name: str
    type_name: str  # pg_type.typname, e.g. "int4", "numeric", "_text"
    element_type_name: str | None = None  # for arrays: the element's typname
    typmod: int = -1  # the type modifier (of the elements, for arrays); -1 when there is none
    not_null: bool = False  # known never to be NULL (declared NOT NULL in the object described)
    nested: DescribedColumn | None = None  # for list and map: the element (value) type, described

    @property
    def shown_type(self) -> str:
        """The type as Materialize names it: ``int4``, ``text[]``, ``int4 list``, ``map[text=>int4]``."""
        if self.type_name == "list" and self.nested is not None:
            return f"{self.nested.shown_type} list"
        if self.type_name == "map" and self.nested is not None:
            return f"map[text=>{self.nested.shown_type}]"
        return self.type_name.lstrip("_") + ("[]" if self.element_type_name else "")

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
        kinds = {i: names.get(oid, ("", None))[0] for i, (_, oid) in enumerate(described)}
        nested = _describe_nested(cursor, select, len(described), kinds, flavor)
        not_null = _not_null_columns(cursor, relation) if relation else set()
    columns = []
    for index, ((name, oid), typmod) in enumerate(zip(described, typmods, strict=True)):
        type_name, element = names.get(oid, (f"oid {oid}", None))
        columns.append(
            DescribedColumn(
                name,
                type_name,
                element,
                _typmod(flavor, typmod),
                not_null=name in not_null,
                nested=nested.get(index),
            )
        )
    return flavor, columns


def _typmod(flavor: ServerFlavor, typmod: int) -> int:
    if flavor is ServerFlavor.MATERIALIZE and typmod == _MATERIALIZE_UNCONSTRAINED_NUMERIC_TYPMOD:
        return -1
    return typmod


def _describe_nested(
    cursor: Any, select: str, width: int, kinds: dict[int, str], flavor: ServerFlavor
) -> dict[int, DescribedColumn]:
    """The element (value) types of the list and map columns, layer by layer, by position.

    The wire says only "list" or "map"; describing ``c[1]`` / ``c -> ''`` (one statement for all
    columns per layer) gives the next layer's type and typmod, until no list or map is left.
    """
    pending = {i: (kind, f"c{i}") for i, kind in kinds.items() if kind in NESTED_TYPES}
    layers: dict[int, list[DescribedColumn]] = {i: [] for i in pending}
    for _ in range(_MAX_NESTED_DEPTH):
        if not pending:
            break
        order = sorted(pending)
        expressions = [
            list_element_expression(pending[i][1])
            if pending[i][0] == "list"
            else map_value_expression(pending[i][1])
            for i in order
        ]
        described, typmods = _describe(cursor, nested_elements_sql(select, width, expressions))
        names = _type_names(cursor, sorted({oid for _, oid in described}))
        following = {}
        for i, expression, (_, oid), typmod in zip(order, expressions, described, typmods, strict=True):
            type_name, element_name = names.get(oid, (f"oid {oid}", None))
            layers[i].append(DescribedColumn("", type_name, element_name, _typmod(flavor, typmod)))
            if type_name in NESTED_TYPES:
                following[i] = (type_name, expression)
        pending = following
    result = {}
    for i, found in layers.items():
        inner: DescribedColumn | None = None
        for layer in reversed(found):  # innermost first: each layer holds the one below it
            inner = layer if inner is None else DescribedColumn("", layer.type_name, nested=inner)
        if inner is not None:
            result[i] = inner
    return result


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
