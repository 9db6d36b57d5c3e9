"""All SQL the provider sends, in one place.

Materialize speaks the PostgreSQL wire protocol but differs in how a consistent read is taken,
how the compute cluster is chosen and how the snapshot timestamp is learnt. Every statement that
depends on which server we talk to is built here, so the rest of the code never writes SQL text
itself.
"""

from __future__ import annotations

import enum
import re

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

_UNQUOTED_PART = r"[A-Za-z_][A-Za-z0-9_$]*"
_QUOTED_PART = r'"(?:[^"\x00]|"")+"'
_NAME_PART = re.compile(rf"\s*({_UNQUOTED_PART}|{_QUOTED_PART})\s*")
_MAX_NAME_PARTS = 3  # database.schema.object
_LEADING_COMMENTS = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*", re.DOTALL)
_QUERY_START = re.compile(r"(\(\s*)*(select|with|values|table)\b", re.IGNORECASE)


def quote_ident(name: str) -> str:
    """Quote one identifier the way PostgreSQL and Materialize both read it."""
    if "\x00" in name:
        raise ValueError("identifiers cannot contain NUL characters")
    return '"' + name.replace('"', '""') + '"'


def parse_qualified_name(source: str, argument: str = "source") -> list[str]:
    """Split ``[database.][schema.]object`` into its parts, with SQL's rules for quoting and case.

    Unquoted parts fold to lower case, quoted parts keep their text (``""`` stands for ``"``).
    Anything else -- a statement separator, a fourth part, an empty part -- is rejected.
    """
    parts: list[str] = []
    position = 0
    while True:
        match = _NAME_PART.match(source, position)
        if match is None:
            break
        token = match.group(1)
        parts.append(token[1:-1].replace('""', '"') if token.startswith('"') else token.lower())
        position = match.end()
        if position < len(source) and source[position] == ".":
            position += 1
            continue
        break
    if not parts or position != len(source) or source.rstrip().endswith("."):
        what, hint = ("a name", "")
        if argument == "source":
            what, hint = ("a table or view name", "; a SELECT is exported with the query= argument")
        raise ValueError(
            f"{argument} {source!r} is not {what}: expected [database.][schema.]name, "
            f'with "double quotes" around names that have other characters{hint}'
        )
    if len(parts) > _MAX_NAME_PARTS:
        raise ValueError(
            f"{argument} {source!r} has {len(parts)} name parts; at most 3 are allowed (database.schema.name)"
        )
    return parts


def quote_qualified_name(source: str, argument: str = "source") -> str:
    """Return ``source`` with every part quoted, ready to put into a statement."""
    return ".".join(quote_ident(part) for part in parse_qualified_name(source, argument))


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


def describe_sql(select: str) -> str:
    """A query that returns ``select``'s columns and no rows (for the column metadata)."""
    return f"SELECT * FROM ({select}) AS _mz_describe LIMIT 0"


def describe_elements_sql(select: str, width: int, arrays: list[int]) -> str:
    """The element type of each array column (by position) of ``select``, and no rows.

    Materialize describes an array column with typmod -1, so ``numeric(38,16)[]`` does not say
    its scale (``Type::typmod`` in src/pgrepr/src/types.rs); the first element, ``a[1]``, is
    described with the element's own typmod, on Materialize and PostgreSQL alike.
    """
    aliases = ", ".join(f"c{i}" for i in range(width))
    elements = ", ".join(f"c{i}[1]" for i in arrays)
    return f"SELECT {elements} FROM ({select}) AS _mz_describe ({aliases}) LIMIT 0"


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


def text_expression(column: str) -> str:
    """Select a column as text: numeric, jsonb and Materialize-only scalars travel fastest and exactly so."""
    return f"{quote_ident(column)}::text"


def text_array_expression(column: str) -> str:
    return f"{quote_ident(column)}::text[]"


# Arrays have at most 6 dimensions: MAX_ARRAY_DIMENSIONS in Materialize's src/repr/src/adt/array.rs,
# MAXDIM in PostgreSQL.
_MAX_ARRAY_DIMENSIONS = 6


def array_dimensions_expression(column: str) -> str:
    """Number of dimensions of an array column, 0 for empty (and NULL) arrays.

    The binary reader flattens multi-dimensional arrays, so the count travels beside them.
    Materialize has no ``array_ndims`` (src/sql/src/func.rs); ``array_length(a, n)``, which both
    servers have, is NULL for every dimension ``n`` the array does not have.
    """
    counted = " + ".join(
        f"(array_length({quote_ident(column)}, {n}) IS NOT NULL)::int4"
        for n in range(1, _MAX_ARRAY_DIMENSIONS + 1)
    )
    return f"({counted})"


def set_cluster_sql(cluster: str) -> str:
    """Route this session's queries to ``cluster`` (Materialize only)."""
    return f"SET cluster = {quote_ident(cluster)}"


def copy_csv_to_stdout_sql(select: str) -> str:
    """Stream a SELECT's rows as CSV (Materialize accepts COPY of a query, not of a bare name)."""
    return f"COPY ({select}) TO STDOUT (FORMAT csv)"


# --- Native mode: Materialize writes the files itself (COPY ... TO 's3://...') ---------------------

_ORDER_BY = re.compile(r"order\s+by\b", re.IGNORECASE)
_SKIPPED_TEXT = re.compile(
    r"'(?:[^']|'')*'"  # string literal
    r'|"(?:[^"]|"")*"'  # quoted identifier
    r"|--[^\n]*"  # line comment
    r"|/\*.*?\*/"  # block comment
    r"|\$(?P<tag>[A-Za-z_]*)\$.*?\$(?P=tag)\$",  # dollar-quoted string
    re.DOTALL,
)


def quote_literal(value: str) -> str:
    """A SQL string literal holding ``value`` (quotes doubled; standard-conforming strings)."""
    if "\x00" in value:
        raise ValueError("string literals cannot contain NUL characters")
    return "'" + value.replace("'", "''") + "'"


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


def copy_to_s3_sql(
    relation: str,
    target_uri: str,
    aws_connection: str,
    file_format: str,
    max_file_size: int,
    csv_options: dict[str, str | bool] | None = None,
) -> str:
    """The one ``COPY ... TO 's3://...'`` statement of a native export.

    ``relation`` is a quoted object name or a parenthesised query; ``target_uri`` becomes a string
    literal and ``aws_connection`` a quoted (optionally qualified) name, so none of them can change
    the statement. ``csv_options`` maps HEADER, DELIMITER or QUOTE to their values.
    """
    options = [
        f"AWS CONNECTION = {quote_qualified_name(aws_connection, 'aws_connection')}",
        f"FORMAT = {quote_literal(file_format)}",
        f"MAX FILE SIZE = {int(max_file_size)}",
    ]
    for name, value in (csv_options or {}).items():
        if name not in ("HEADER", "DELIMITER", "QUOTE"):
            raise ValueError(f"unknown CSV option {name!r}")
        rendered = ("true" if value else "false") if isinstance(value, bool) else quote_literal(value)
        options.append(f"{name} = {rendered}")
    return f"COPY {relation} TO {quote_literal(target_uri)} WITH ({', '.join(options)})"


def copy_relation(source_relation: str | None, select: str) -> str:
    """What COPY reads: the object's quoted name when there is one, else the SELECT in parentheses."""
    return source_relation if source_relation is not None else f"({select})"


def create_aws_connection_sql(name: str, options: dict[str, str], secret_options: dict[str, str]) -> str:
    """``CREATE CONNECTION ... TO AWS`` with literal ``options`` and SECRET-valued ``secret_options``.

    Option names are fixed words chosen by the caller (e.g. ``ASSUME ROLE ARN``, ``REGION``).
    """
    rendered = [f"{option} = {quote_literal(value)}" for option, value in options.items()]
    rendered += [
        f"{option} = SECRET {quote_qualified_name(secret)}" for option, secret in secret_options.items()
    ]
    return f"CREATE CONNECTION IF NOT EXISTS {quote_qualified_name(name)} TO AWS ({', '.join(rendered)})"


def create_secret_sql(name: str, value: str) -> list[str]:
    """Statements that create the secret ``name`` or replace its value."""
    return [
        f"CREATE SECRET IF NOT EXISTS {quote_qualified_name(name)} AS {quote_literal(value)}",
        f"ALTER SECRET {quote_qualified_name(name)} AS {quote_literal(value)}",
    ]


def validate_connection_sql(name: str) -> str:
    return f"VALIDATE CONNECTION {quote_qualified_name(name)}"


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
