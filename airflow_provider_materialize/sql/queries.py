"""The user's query text, and the SELECT and COPY statements that read its rows."""

from __future__ import annotations

import re

from airflow_provider_materialize.sql.identifiers import quote_ident, quote_qualified_name
from airflow_provider_materialize.sql.session import ServerFlavor

_LEADING_COMMENTS = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*", re.DOTALL)
_QUERY_START = re.compile(r"(\(\s*)*(select|with|values|table)\b", re.IGNORECASE)

_ORDER_BY = re.compile(r"order\s+by\b", re.IGNORECASE)
_SKIPPED_TEXT = re.compile(
    r"'(?:[^']|'')*'"  # string literal
    r'|"(?:[^"]|"")*"'  # quoted identifier
    r"|--[^\n]*"  # line comment
    r"|/\*.*?\*/"  # block comment
    r"|\$(?P<tag>[A-Za-z_]*)\$.*?\$(?P=tag)\$",  # dollar-quoted string
    re.DOTALL,
)


def normalise_query(query: str) -> str:
    """Check that ``query`` is one SELECT-like statement and strip a trailing semicolon.

    Comments may come before it (``.sql`` files often start with one). A line comment at its end
    gets a line break after it, so that it cannot swallow what the provider writes after the query.
    """
    if "\x00" in query:  # libpq would end the statement there, and our own text after it with it
        raise ValueError("query contains a NUL character, which no SQL text may hold")
    text = query.strip().rstrip(";").rstrip()
    if not _QUERY_START.match(text, _LEADING_COMMENTS.match(text).end()):  # type: ignore[union-attr]
        raise ValueError(
            "query must be a SELECT statement (SELECT, WITH ... SELECT, VALUES or TABLE); "
            "use source= for a table or view name"
        )
    return text + "\n" if "--" in text else text


def source_select(source: str | None, query: str | None) -> str:
    """The SELECT statement that reads the snapshot, from exactly one of ``source`` and ``query``."""
    if (source is None) == (query is None):
        raise ValueError("give exactly one of source= (a table or view name) or query= (a SELECT statement)")
    if source is not None:
        return f"SELECT * FROM {quote_qualified_name(source)}"
    assert query is not None
    return normalise_query(query)


def wrap_select(select: str, column_aliases: list[str], select_list: list[str]) -> str:
    """Re-select the columns of ``select`` under unique aliases, with per-column expressions.

    ``column_aliases`` renames the subquery's columns positionally (so duplicate names in the user's
    query stop being ambiguous); ``select_list`` holds one expression per column over those names.
    """
    aliases = ", ".join(quote_ident(name) for name in column_aliases)
    return f"SELECT {', '.join(select_list)} FROM ({select}) AS _mz_export ({aliases})"


def text_expression(column: str) -> str:
    """Select a column as text: numeric, jsonb and Materialize-only scalars travel fastest and exactly so."""
    return f"{quote_ident(column)}::text"


def text_array_expression(column: str) -> str:
    return f"{quote_ident(column)}::text[]"


# Arrays have at most 6 dimensions: MAX_ARRAY_DIMENSIONS in Materialize's src/repr/src/adt/array.rs,
# MAXDIM in PostgreSQL.
_MAX_ARRAY_DIMENSIONS = 6


def array_dimensions_expression(column: str, flavor: ServerFlavor) -> str:
    """Number of dimensions of an array column, 0 for empty (and NULL) arrays.

    The binary reader flattens multi-dimensional arrays, so the count travels beside them.
    PostgreSQL counts them with one call, ``array_ndims`` (NULL for an empty array). Materialize
    has no ``array_ndims`` (src/sql/src/func.rs); ``array_length(a, n)``, which both servers have,
    is NULL for every dimension ``n`` the array does not have (Materialize's ``array_length`` in
    src/expr/src/scalar/func.rs returns NULL when ``n`` is past the array's dimensions). Most arrays
    have one dimension (or none), which two calls settle; only the others pay for counting every
    dimension (what each form costs PostgreSQL: docs/client-pipeline.md).
    """
    name = quote_ident(column)
    if flavor is ServerFlavor.POSTGRES:
        return f"coalesce(array_ndims({name}), 0)"
    counted = " + ".join(
        f"(array_length({name}, {n}) IS NOT NULL)::int4" for n in range(1, _MAX_ARRAY_DIMENSIONS + 1)
    )
    return (
        f"(CASE WHEN array_length({name}, 2) IS NULL THEN (array_length({name}, 1) IS NOT NULL)::int4 "
        f"ELSE {counted} END)"
    )


# Three bits hold a dimension count (0 to 6); ten counts fit in one integer (30 bits), so the
# read's select list carries one packed value per ten array columns instead of one per column.
DIMENSION_BITS = 3
ARRAYS_PER_PACKED_DIMENSIONS = 10


def packed_dimensions_expression(columns: list[str], flavor: ServerFlavor) -> str:
    """The dimension counts of up to ten array columns in one integer, three bits each.

    The first column's count is in the lowest bits. One extra field per row instead of one per
    array column: in PostgreSQL's binary COPY each field costs about as much as the counting itself
    (docs/client-pipeline.md, "Array dimensions").
    """
    if not 1 <= len(columns) <= ARRAYS_PER_PACKED_DIMENSIONS:
        raise ValueError(f"1 to {ARRAYS_PER_PACKED_DIMENSIONS} array columns per value, not {len(columns)}")
    terms = [
        array_dimensions_expression(column, flavor) + (f" * {1 << (DIMENSION_BITS * k)}" if k else "")
        for k, column in enumerate(columns)
    ]
    return " + ".join(terms)


def copy_csv_to_stdout_sql(select: str) -> str:
    """Stream a SELECT's rows as CSV (Materialize accepts COPY of a query, not of a bare name)."""
    return f"COPY ({select}) TO STDOUT (FORMAT csv)"


def has_top_level_order_by(query: str) -> bool:
    """Whether ``query`` sorts its result (ORDER BY outside parentheses, strings and comments).

    Materialize rejects ORDER BY in ``COPY ... TO 's3://...'``; a window's ``OVER (ORDER BY ...)``
    or a subquery's ORDER BY is fine and is not reported.
    """
    text = _SKIPPED_TEXT.sub(" ", query)
    depth = 0
    top_level: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        top_level.append(char if depth == 0 and char != ")" else " ")
    return _ORDER_BY.search("".join(top_level)) is not None
