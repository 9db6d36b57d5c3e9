"""Materialize's ``list`` and ``map`` types, emulated over PostgreSQL, which has neither.

Each list or map type of Materialize used in tests is one PostgreSQL base type in ``mz_catalog``:

* ``<element>_list`` (``int4_list`` is Materialize's ``int4 list``, ``int4_list_list`` its
  ``int4 list list``) is stored as a one-dimensional PostgreSQL array of the element type: the
  array I/O functions, ``ELEMENT = <element>`` and the array subscripting handler, so ``l[1]`` is
  the element with the element's type, as Materialize's list indexing
  (doc/user/content/sql/types/list.md, "Indexing elements"); a layered list holds lists.
* ``<value>_map`` (Materialize's ``map[text=>value]``) is stored as an array of
  ``mz_standin.<value>_map_entry`` (key text, value), with the operator ``->`` returning the value
  type, as Materialize's "Retrieve value with key (``->``)" (doc/user/content/sql/types/map.md).

On the wire every list is ``TYPE_LIST_OID`` (16384) and every map ``TYPE_MAP_OID`` (16385)
(src/pgrepr-consts/src/oid.rs; ``types.TypeMap``). Their cast to ``text`` writes Materialize's text
format (``format_list`` / ``format_map`` with ``ListElementEscaper`` / ``MapElementEscaper`` in
src/repr/src/strconv.rs): elements that are empty, exactly ``NULL``, or hold ``{ } , " \\`` or ASCII
whitespace (maps also ``= >``) are double-quoted with ``"`` and ``\\`` backslash-escaped; NULL is
the bare ``NULL``; nested lists are written unquoted; map entries in key (byte) order, Materialize's
maps being BTreeMaps. Scalar elements are written with their type's output function (a boolean
as ``t`` / ``f``, as Materialize's ``format_bool``).
"""

from __future__ import annotations

from dataclasses import dataclass

LIST_OID = 16384  # src/pgrepr-consts/src/oid.rs, TYPE_LIST_OID
MAP_OID = 16385  # TYPE_MAP_OID


@dataclass(frozen=True)
class NestedType:
    name: str  # the stand-in's PostgreSQL type name, in mz_catalog
    kind: str  # "list" or "map"
    element: str  # the element (value) type's name: a PostgreSQL scalar, or another stand-in list
    alignment: str  # of the PostgreSQL array that stores it


_SCALARS = {
    "int4": "int4",
    "int8": "double",
    "numeric": "int4",
    "text": "int4",
    "bool": "int4",
    "date": "int4",
}
NESTED_TYPES: dict[str, NestedType] = {
    **{f"{e}_list": NestedType(f"{e}_list", "list", e, a) for e, a in _SCALARS.items()},
    "int4_list_list": NestedType("int4_list_list", "list", "int4_list", "int4"),
    "text_list_list": NestedType("text_list_list", "list", "text_list", "int4"),
    **{f"{v}_map": NestedType(f"{v}_map", "map", v, "double") for v in _SCALARS},
}

# ListElementEscaper / MapElementEscaper::needs_escaping (ASCII whitespace: Rust's is_ascii_whitespace)
_LIST_SPECIAL = r"[{},\"\\ \t\n\f\r]"
_MAP_SPECIAL = r"[{},\"=>\\ \t\n\f\r]"


def _escape_function(name: str, special: str) -> str:
    return (
        f"CREATE FUNCTION mz_standin.{name}(e text) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$ "
        f"SELECT CASE WHEN e = '' OR e = 'NULL' OR e ~ '{special}' "
        "THEN '\"' || replace(replace(e, '\\', '\\\\'), '\"', '\\\"') || '\"' ELSE e END $$"
    )


def common_sql() -> list[str]:
    return [
        # array_subscript_handler itself is refused for user-defined types (CREATE TYPE); a
        # function of another name over the same C symbol is not.
        "CREATE FUNCTION mz_standin.list_subscript(internal) RETURNS internal LANGUAGE internal "
        "IMMUTABLE STRICT AS 'array_subscript_handler'",
        _escape_function("list_escape", _LIST_SPECIAL),
        _escape_function("map_escape", _MAP_SPECIAL),
        # the element's text as the type's output function writes it (array_to_string uses it)
        "CREATE FUNCTION mz_standin.element_text(e anyelement) RETURNS text LANGUAGE sql IMMUTABLE "
        "STRICT AS $$ SELECT array_to_string(ARRAY[e], '') $$",
    ]


def type_sql(nested: NestedType) -> list[str]:
    name, element = f"mz_catalog.{nested.name}", nested.element
    if nested.kind == "map":
        entry = f"mz_standin.{nested.name}_entry"
        statements = [f"CREATE TYPE {entry} AS (key text, value {element})"]
        element = entry
    elif element in NESTED_TYPES:
        element = f"mz_catalog.{element}"
        statements = []
    else:
        statements = []
    statements.append(f"CREATE TYPE {name}")
    for suffix, arguments, result, symbol in (
        ("in", "cstring, oid, int4", name, "array_in"),
        ("out", name, "cstring", "array_out"),
        ("recv", "internal, oid, int4", name, "array_recv"),
        ("send", name, "bytea", "array_send"),
    ):
        statements.append(
            f"CREATE FUNCTION {name}_{suffix}({arguments}) RETURNS {result} LANGUAGE internal "
            f"IMMUTABLE STRICT AS '{symbol}'"
        )
    # PostgreSQL wants a subscripting function beside ELEMENT: maps get one too (not faithful: a
    # map cannot be subscripted with [] in Materialize; the provider never does).
    subscript = ", SUBSCRIPT = mz_standin.list_subscript"
    statements.append(
        f"CREATE TYPE {name} (INPUT = {name}_in, OUTPUT = {name}_out, RECEIVE = {name}_recv, "
        f"SEND = {name}_send, INTERNALLENGTH = VARIABLE, STORAGE = extended, "
        f"ALIGNMENT = {nested.alignment}, ELEMENT = {element}{subscript})"
    )
    # the stored elements: the PostgreSQL array text of the value, read back as an array
    elements = f"textin({name}_out(v))::{element}[]"
    if nested.kind == "list":
        nested_list = nested.element in NESTED_TYPES
        text = "e::text" if nested_list else "mz_standin.list_escape(mz_standin.element_text(e))"
        body = (
            f"SELECT '{{' || coalesce(string_agg(coalesce({text}, 'NULL'), ',' ORDER BY n), '') || '}}' "
            f"FROM unnest({elements}) WITH ORDINALITY AS u(e, n)"
        )
    else:
        body = (
            "SELECT '{' || coalesce(string_agg(mz_standin.map_escape((e).key) || '=>' || "
            "coalesce(mz_standin.map_escape(mz_standin.element_text((e).value)), 'NULL'), ',' "
            f"ORDER BY (e).key COLLATE \"C\"), '') || '}}' FROM unnest({elements}) AS e"
        )
        statements += [
            f"CREATE FUNCTION mz_standin.{nested.name}_get(v {name}, k text) RETURNS {nested.element} "
            f"LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT (e).value FROM unnest({elements}) AS e "
            "WHERE (e).key = k $$",
            f"CREATE OPERATOR mz_catalog.-> (LEFTARG = {name}, RIGHTARG = text, "
            f"FUNCTION = mz_standin.{nested.name}_get)",
            # test rows: mz_standin.<value>_map(keys, values) builds one
            f"CREATE FUNCTION mz_standin.{nested.name}(ks text[], vs {nested.element}[]) RETURNS {name} "
            f"LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT ARRAY(SELECT ROW(k, x)::{entry} "
            f"FROM unnest(ks, vs) AS u(k, x))::text::{name} $$",
        ]
    statements += [
        f"CREATE FUNCTION mz_standin.{nested.name}_text(v {name}) RETURNS text LANGUAGE sql IMMUTABLE "
        f"STRICT AS $$ {body} $$",
        # list and map cast to text (list.md, map.md "Valid casts")
        f"CREATE CAST ({name} AS text) WITH FUNCTION mz_standin.{nested.name}_text({name}) AS ASSIGNMENT",
    ]
    return statements


def setup_sql() -> list[str]:
    statements = common_sql()
    for nested in sorted(NESTED_TYPES.values(), key=lambda t: t.element in NESTED_TYPES):
        statements += type_sql(nested)
    return statements


# -- values as PostgreSQL's output functions write them, for the stand-in's COPY TO S3 ------------


def parse_stored(text: str, nested: NestedType) -> list | list[tuple[str, str | None]]:
    """The elements of a stored list (PostgreSQL array text), or the (key, value) entries of a map,
    in Materialize's order: a list's as stored, a map's by key bytes."""
    from tests.support.materialize_standin.arrow_schema import parse_array

    elements, _ = parse_array(text)
    if nested.kind == "list":
        inner = NESTED_TYPES.get(nested.element)
        return [e if e is None or inner is None else parse_stored(e, inner) for e in elements]
    entries = [_parse_record(e) for e in elements if e is not None]
    return sorted(((k or "", v) for k, v in entries), key=lambda kv: kv[0].encode())


def _parse_record(text: str) -> tuple[str | None, str | None]:
    """A two-field record as PostgreSQL's record_out writes it: ``(a,1)``, ``("x y",)``."""
    fields: list[str | None] = []
    position, body = 0, text[1:-1]
    while position <= len(body):
        if position < len(body) and body[position] == '"':
            value, position = [], position + 1
            while True:
                char = body[position]
                if char == '"' and body[position + 1 : position + 2] == '"':
                    value.append('"')
                    position += 2
                elif char == '"':
                    position += 1
                    break
                elif char == "\\":
                    value.append(body[position + 1])
                    position += 2
                else:
                    value.append(char)
                    position += 1
            fields.append("".join(value))
        else:
            end = body.find(",", position)
            end = len(body) if end == -1 else end
            fields.append(body[position:end] or None)
            position = end
        position += 1  # the comma
    key, value = fields
    return key, value
