"""Statements that describe a query's columns and look types and constraints up in the catalog."""

from __future__ import annotations

from airflow_provider_materialize.sql.identifiers import quote_literal


def describe_sql(select: str) -> str:
    """A query that returns ``select``'s columns and no rows (for the column metadata)."""
    return f"SELECT * FROM ({select}) AS _mz_describe LIMIT 0"


def describe_elements_sql(select: str, width: int, arrays: list[int]) -> str:
    """The element type of each array column (by position) of ``select``, and no rows.

    Materialize describes an array column with typmod -1, so ``numeric(38,16)[]`` does not say
    its scale (``Type::typmod`` in src/pgrepr/src/types.rs); the first element, ``a[1]``, is
    described with the element's own typmod, on Materialize and PostgreSQL alike.
    """
    return nested_elements_sql(select, width, [f"c{i}[1]" for i in arrays])


def nested_elements_sql(select: str, width: int, expressions: list[str]) -> str:
    """``expressions`` over the columns ``c0 .. c<width-1>`` of ``select``, and no rows: to describe them."""
    aliases = ", ".join(f"c{i}" for i in range(width))
    return f"SELECT {', '.join(expressions)} FROM ({select}) AS _mz_describe ({aliases}) LIMIT 0"


def list_element_expression(expression: str) -> str:
    """The first element of a Materialize list, ``l[1]``: described with the element type.

    Every list reaches a client with the one OID of the pseudo type ``list`` (TYPE_LIST_OID in
    src/pgrepr-consts/src/oid.rs); subscripting it gives the element's own type and typmod
    (doc/user/content/sql/types/list.md, "Indexing elements"; chained for layered lists).
    """
    return f"({expression})[1]"


def map_value_expression(expression: str) -> str:
    """A value of a Materialize map, ``m -> ''``: described with the map's value type.

    doc/user/content/sql/types/map.md, "Retrieve value with key (``->``)": "all returned values are
    of the map's value type"; every map has the one OID TYPE_MAP_OID on the wire.
    """
    return f"({expression}) -> ''"


def not_null_columns_sql(relation: str) -> str:
    """The names of the columns of the object ``relation`` (already quoted) that cannot be NULL.

    Materialize's ``pg_attribute.attnotnull`` is ``NOT mz_columns.nullable`` (``PG_ATTRIBUTE`` in
    src/catalog/src/builtin.rs), which knows it for views and materialized views too.
    """
    return (
        "SELECT attname::text FROM pg_catalog.pg_attribute "
        f"WHERE attrelid = {quote_literal(relation)}::regclass AND attnum > 0 AND attnotnull"
    )


def type_names_sql(oids: list[int]) -> str:
    """Type names of the given type OIDs, with the element type name for array types."""
    listed = ", ".join(str(int(oid)) for oid in oids)
    return (
        "SELECT t.oid::int8, t.typname::text, e.typname::text FROM pg_catalog.pg_type t "
        "LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND t.typcategory = 'A' "
        f"WHERE t.oid IN ({listed})"
    )
