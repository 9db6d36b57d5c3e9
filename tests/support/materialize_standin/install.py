"""The stand-in's own PostgreSQL database, set up to answer like Materialize where SQL can do it.

Everything lives in a fresh database (dropped on stop), so the plain-PostgreSQL tests that share
the server never see it. Installed there:

* schema ``mz_catalog`` (on the database's search_path, after ``public``) with the functions
  ``mz_version()`` and ``mz_now()`` and the Materialize-only types (``types.MZ_TYPES``);
* ``pg_catalog.array_ndims`` renamed away, so using it fails as on Materialize;
* the OID counter moved past Materialize's type OIDs, so PostgreSQL's never collide with them;
* the view ``mz_standin.pg_type``: ``pg_catalog.pg_type`` with Materialize's OIDs for the stand-in
  types; the proxy points statements that read ``pg_type`` at it.
"""

from __future__ import annotations

from typing import Any

from tests.support.materialize_standin.nested_types import NESTED_TYPES
from tests.support.materialize_standin.nested_types import setup_sql as nested_setup_sql
from tests.support.materialize_standin.sqltext import quote_ident, quote_literal
from tests.support.materialize_standin.types import MZ_TYPES, MzType

_TYPED = {t.name: t for t in MZ_TYPES if t.name in ("list", "map")}
_LAST_MZ_OID = max(max(t.oid, t.array_oid or 0) for t in MZ_TYPES)
_TYPE_LAYOUT = {
    "int2": "INTERNALLENGTH = 2, PASSEDBYVALUE, ALIGNMENT = int2",
    "int4": "INTERNALLENGTH = 4, PASSEDBYVALUE, ALIGNMENT = int4",
    "int8": "INTERNALLENGTH = 8, PASSEDBYVALUE, ALIGNMENT = double",
    "text": "INTERNALLENGTH = VARIABLE, STORAGE = extended, ALIGNMENT = int4",
}
_CASTS_FROM = {
    "int2": ("smallint", "integer", "bigint"),
    "int4": ("integer", "bigint"),
    "int8": ("integer", "bigint", "numeric"),
    "text": ("integer", "bigint"),
}


def _type_sql(mz_type: MzType) -> list[str]:
    name, base = f"mz_catalog.{mz_type.name}", mz_type.storage
    statements = [f"CREATE TYPE {name}"]
    for suffix, argument, result in (
        ("in", "cstring", name),
        ("out", name, "cstring"),
        ("recv", "internal", name),
        ("send", name, "bytea"),
    ):
        statements.append(
            f"CREATE FUNCTION {name}_{suffix}({argument}) RETURNS {result} LANGUAGE internal "
            f"IMMUTABLE STRICT AS '{base}{suffix}'"
        )
    statements.append(
        f"CREATE TYPE {name} (INPUT = {name}_in, OUTPUT = {name}_out, RECEIVE = {name}_recv, "
        f"SEND = {name}_send, {_TYPE_LAYOUT[base]})"
    )
    if mz_type.name not in ("list", "map"):
        statements += [
            f"CREATE CAST ({source} AS {name}) WITH INOUT AS ASSIGNMENT" for source in _CASTS_FROM[base]
        ]
        statements += [f"CREATE CAST ({name} AS {target}) WITH INOUT" for target in ("bigint", "numeric")]
    return statements


def setup_statements(database: str, mz_version: str) -> list[str]:
    statements = [
        # src/sql/src/func.rs: no "array_ndims" builtin (the array_* builtins are cat, in, length,
        # lower, remove, to_string, upper); PostgreSQL then answers 42883 "function array_ndims(...)
        # does not exist" at parse time, as Materialize fails planning.
        "SET allow_system_table_mods = on",
        "ALTER FUNCTION pg_catalog.array_ndims(anyarray) RENAME TO mz_standin_hidden_array_ndims",
        "RESET allow_system_table_mods",
        # Materialize's type OIDs (types.MZ_TYPES) lie in PostgreSQL's user OID range: move the
        # cluster-wide OID counter past them, so that no type of this database can get one.
        "DO $$ DECLARE o oid; BEGIN LOOP o := lo_create(0); PERFORM lo_unlink(o); "
        f"EXIT WHEN o::int8 > {_LAST_MZ_OID}; END LOOP; END $$",
        "CREATE SCHEMA mz_catalog",
        "CREATE SCHEMA mz_standin",
    ]
    for mz_type in MZ_TYPES:
        statements += _type_sql(mz_type)
    statements += nested_setup_sql()  # typed lists and maps (nested_types.py)
    statements += [
        # BuildInfo::human_version: format!("v{} ({})", version, &sha[..9]) (/tmp/mz-research-types.md §7)
        f"CREATE FUNCTION mz_catalog.mz_version() RETURNS text LANGUAGE sql STABLE "
        f"AS $$ SELECT {quote_literal(mz_version)}::text $$",
        # mz_now() returns an mz_timestamp, milliseconds since the Unix epoch (doc/user/content/sql/
        # types/mz_timestamp.md), displayed as a plain u64 (src/repr/src/timestamp.rs, Display); in a
        # transaction it is the timestamp the transaction reads at (src/environmentd/tests/sql.rs,
        # test_transactional_explain_timestamps). Here: the transaction's start, so it is stable in it.
        "CREATE FUNCTION mz_catalog.mz_now() RETURNS mz_catalog.mz_timestamp LANGUAGE sql STABLE AS "
        "$$ SELECT floor(extract(epoch FROM transaction_timestamp()) * 1000)::bigint"
        "::mz_catalog.mz_timestamp $$",
        f"ALTER DATABASE {quote_ident(database)} SET search_path = public, mz_catalog",
    ]
    return statements


def pg_type_view_sql(connection: Any, oids: dict[int, tuple[MzType, bool]]) -> str:
    """``pg_catalog.pg_type`` with Materialize's OIDs and metadata for the stand-in types.

    src/catalog/src/builtin/pg_catalog.rs (PG_TYPE over mz_internal.pg_type_all_databases): types
    without pg_metadata (uint*, mz_timestamp, list, map and their arrays) have typreceive 0 and
    typinput NULL (typsend 0 is DERIVED from the same source); list and map are pseudo types
    (typtype 'p', typcategory 'P').
    """
    columns = [
        row[0]
        for row in connection.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'pg_catalog.pg_type'::regclass "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        )
    ]
    mapping = " ".join(
        f"WHEN '{pg}'::oid THEN '{t.array_oid if is_array and t.array_oid else t.oid}'::oid"
        for pg, (t, is_array) in oids.items()
    )
    standin = ", ".join(f"'{pg}'::oid" for pg in oids)
    # the typed lists and maps are all "list" / "map" there (one row each, as in Materialize's catalog)
    typed = ", ".join(f"'{name}'" for name in NESTED_TYPES)
    pseudo = ", ".join(
        f"'{pg}'::oid" for pg, (t, is_array) in oids.items() if t.binary_refused and not is_array
    )
    replaced = {
        "oid": f"CASE t.oid {mapping} ELSE t.oid END",
        "typelem": f"CASE t.typelem {mapping} ELSE t.typelem END",
        "typarray": f"CASE t.typarray {mapping} ELSE t.typarray END",
        "typreceive": f"CASE WHEN t.oid IN ({standin}) THEN 0::regproc ELSE t.typreceive END",
        "typsend": f"CASE WHEN t.oid IN ({standin}) THEN 0::regproc ELSE t.typsend END",
        "typinput": f"CASE WHEN t.oid IN ({standin}) THEN NULL::regproc ELSE t.typinput END",
        "typtype": f"CASE WHEN t.oid IN ({pseudo}) THEN 'p'::\"char\" ELSE t.typtype END",
        "typcategory": f"CASE WHEN t.oid IN ({pseudo}) THEN 'P'::\"char\" ELSE t.typcategory END",
    }
    select = ", ".join(f"{replaced[c]} AS {c}" if c in replaced else f"t.{c}" for c in columns)
    return (
        f"CREATE VIEW mz_standin.pg_type AS SELECT {select} FROM pg_catalog.pg_type t "
        f"WHERE NOT (t.typnamespace = 'mz_catalog'::regnamespace AND t.typname IN ({typed}))"
    )


def load_type_oids(connection: Any) -> tuple[dict[int, tuple[MzType, bool]], set[int], int]:
    """PostgreSQL's OIDs of the stand-in types (and of their arrays), all array OIDs, the largest OID."""
    by_name = {t.name: t for t in MZ_TYPES}
    found: dict[int, tuple[MzType, bool]] = {}
    for oid, name, array in connection.execute(
        "SELECT t.oid::int8, t.typname::text, t.typarray::int8 FROM pg_catalog.pg_type t "
        "JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'mz_catalog'"
    ):
        if name in NESTED_TYPES:  # a typed list or map: Materialize's list / map on the wire
            found[oid] = (_TYPED[NESTED_TYPES[name].kind], False)
        if name in by_name:
            found[oid] = (by_name[name], False)
            if array and by_name[name].array_oid:
                found[array] = (by_name[name], True)
    arrays = {
        row[0]
        for row in connection.execute("SELECT oid::int8 FROM pg_catalog.pg_type WHERE typcategory = 'A'")
    }
    largest = connection.execute("SELECT max(oid)::int8 FROM pg_catalog.pg_type").fetchone()[0]
    return found, arrays, int(largest)
