"""The exact SQL the provider sends (the Materialize-specific parts included)."""

from __future__ import annotations

import pytest

from airflow_provider_materialize.dialect import (
    CSV_SESSION_SQL,
    DETECT_MATERIALIZE_SQL,
    SNAPSHOT_BEGIN_SQL,
    SNAPSHOT_TIMESTAMP_SQL,
    ServerFlavor,
    copy_csv_to_stdout_sql,
    describe_sql,
    parse_qualified_name,
    quote_ident,
    quote_qualified_name,
    set_cluster_sql,
    source_select,
    type_names_sql,
    wrap_select,
)


@pytest.mark.parametrize(
    ("source", "parts"),
    [
        ("orders", ["orders"]),
        ("Orders", ["orders"]),
        ("public.orders", ["public", "orders"]),
        ("materialize.public.orders", ["materialize", "public", "orders"]),
        ('"My Schema"."Order Lines"', ["My Schema", "Order Lines"]),
        ('"we""ird"', ['we"ird']),
        ('"a.b"', ["a.b"]),
        (" public . orders ", ["public", "orders"]),
        ("_x$1", ["_x$1"]),
    ],
)
def test_qualified_names_follow_sql_rules(source, parts) -> None:
    assert parse_qualified_name(source) == parts


@pytest.mark.parametrize(
    "source",
    [
        "",
        "x; DROP TABLE y",
        "a..b",
        "a.",
        ".a",
        '"unterminated',
        "1abc",
        "a b",
        "a-b",
        "a.b.c.d",
        '"a"."b"."c"."d"',
        "t -- comment",
        "t/*x*/",
        '""',
    ],
)
def test_anything_but_a_name_is_rejected(source) -> None:
    with pytest.raises(ValueError, match="source"):
        parse_qualified_name(source)


def test_quoting() -> None:
    assert quote_ident('a"b') == '"a""b"'
    assert quote_qualified_name('Public."Weird ""Name"""') == '"public"."Weird ""Name"""'
    with pytest.raises(ValueError):
        quote_ident("a\x00b")


def test_source_select() -> None:
    assert source_select("db.sch.v", None) == 'SELECT * FROM "db"."sch"."v"'
    assert source_select(None, "  select 1 ;; ") == "select 1"
    assert source_select(None, "WITH a AS (SELECT 1) SELECT * FROM a").startswith("WITH")
    assert source_select(None, "(SELECT 1) UNION (SELECT 2)").startswith("(SELECT")
    for bad in (("t", "SELECT 1"), (None, None)):
        with pytest.raises(ValueError, match="exactly one"):
            source_select(*bad)
    for query in ("DELETE FROM t", "COPY t TO STDOUT", "selectx 1", "SUBSCRIBE t"):
        with pytest.raises(ValueError, match="must be a SELECT"):
            source_select(None, query)


def test_wrap_select_renames_columns_positionally() -> None:
    sql = wrap_select("SELECT 1 AS a, 2 AS a", ["a", "a2"], ['"a"', '"a2"::text'])
    assert sql == 'SELECT "a", "a2"::text FROM (SELECT 1 AS a, 2 AS a) AS _mz_export ("a", "a2")'


def test_materialize_specific_statements() -> None:
    assert DETECT_MATERIALIZE_SQL == "SELECT mz_version()"
    assert set_cluster_sql("analytics") == 'SET cluster = "analytics"'
    assert set_cluster_sql('x"; DROP') == 'SET cluster = "x""; DROP"'
    assert SNAPSHOT_BEGIN_SQL[ServerFlavor.MATERIALIZE] == "BEGIN READ ONLY"
    assert SNAPSHOT_BEGIN_SQL[ServerFlavor.POSTGRES] == "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    assert SNAPSHOT_TIMESTAMP_SQL == "SELECT mz_now()::text"
    assert CSV_SESSION_SQL[ServerFlavor.MATERIALIZE] == []
    assert copy_csv_to_stdout_sql("SELECT 1") == "COPY (SELECT 1) TO STDOUT (FORMAT csv)"


def test_metadata_queries() -> None:
    assert describe_sql("SELECT 1") == "SELECT * FROM (SELECT 1) AS _mz_describe LIMIT 0"
    sql = type_names_sql([23, 1007])
    assert sql.endswith("WHERE t.oid IN (23, 1007)") and "t.typcategory = 'A'" in sql
