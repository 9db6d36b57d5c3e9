"""Hostile and malformed arguments are refused: nothing is written to S3 and nothing changes in the database.

Every case runs the operator against the test PostgreSQL and S3 server and checks three things:

* it is **refused** with an exception whose message says what was refused;
* the **bucket is empty** afterwards (the whole bucket is listed, multipart uploads included);
* the **guard objects are unchanged**: the ``victim`` table (row count and a checksum over its rows,
  their ``ctid`` and ``xmin``, so a delete-and-reinsert shows too, and its oid and file node, so a
  ``TRUNCATE`` or drop-and-recreate shows), the ``victim_seq`` sequence, the relations, routines,
  schemas and roles, and no file was written by ``COPY ... TO PROGRAM`` / ``TO 'file'``.

Most cases run in-process (``run_operator``); a few run through ``dag.test()`` with the hostile value
typed into a Param and rendered by Jinja (tests/integration/dags/hostile_dags.py), once with
``render_template_as_native_obj=True``. A hostile ``cluster`` is not refused on PostgreSQL (the hook
ignores clusters there, with a warning): those cases must succeed without running anything else.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.dag_runs import dag_run_results, load_dag, migrate_airflow_db
from tests.support.operator_run import run_operator
from tests.support.s3_objects import list_keys
from tests.support.servers import TEST_DAGS

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections", "guard")]

# What the refusals say (regular expressions matched against str(exception)).
MULTIPLE = r"more than one SQL statement"  # the text held a second statement
WRITES = r"tried to write|read-only transaction"  # the statement would write
SYNTAX = r"syntax error"
NOT_SELECT = r"query must be a SELECT statement"
NOT_NAME = r"is not a table or view name"
NOT_URI = r"is not an S3 folder URI"
BUCKET_ROOT = r"is a bucket root"
BAD_SEGMENT = r"has an empty, '\.' or '\.\.' path segment"
ROOT_OR_SEGMENT = rf"{BUCKET_ROOT}|{BAD_SEGMENT}"
WILDCARD = r"contains wildcard or control characters"
BAD_BUCKET = r"is not a valid bucket name"
NOT_SIZE = r"is not a size"

# A file that COPY ... TO PROGRAM / TO '<file>' would create: the server runs as root's `postgres` user.
WRITTEN_FILE = Path(f"/tmp/mz-hostile-{uuid.uuid4().hex}")
BUCKET = "@BUCKET@"  # replaced by the test's own (fresh, empty) bucket
GOOD = "SELECT 1 AS x"
# Closes the provider's "SELECT * FROM (" and reopens a parenthesis for its ") AS alias ...".
BREAK = "SELECT 1 AS x) AS s; {} SELECT (1"

GUARD_SQL = """
DROP TABLE IF EXISTS victim CASCADE;
CREATE TABLE victim (id int PRIMARY KEY, name text NOT NULL, amount numeric(10, 2));
INSERT INTO victim SELECT i, 'row ' || i, i * 1.5 FROM generate_series(1, 50) AS i;
DROP SEQUENCE IF EXISTS victim_seq;
CREATE SEQUENCE victim_seq START 100;
CREATE OR REPLACE PROCEDURE victim_wipe() LANGUAGE sql AS $$ DELETE FROM victim $$;
"""
STATE_SQL = {
    "pg_tables": "SELECT array_agg(tablename::text ORDER BY tablename) FROM pg_tables "
    "WHERE schemaname = 'public'",
    "relations": "SELECT array_agg(c.relname || ':' || c.relkind::text ORDER BY c.relname) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'",
    "routines": "SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p "
    "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'",
    "schemas": "SELECT array_agg(nspname::text ORDER BY nspname) FROM pg_namespace",
    "roles": "SELECT array_agg(rolname::text ORDER BY rolname) FROM pg_roles",
    "large_objects": "SELECT count(*) FROM pg_largeobject_metadata",
}
VICTIM_SQL = (
    "SELECT count(*), md5(string_agg(v.ctid::text || '/' || v.xmin::text || '/' || v::text, ',' "
    "ORDER BY v.id)), 'victim'::regclass::oid::int8, pg_relation_filenode('victim')::int8 FROM victim v"
)


def guard_state(postgres: Any) -> dict[str, Any]:
    """Everything a hostile statement could have changed, as comparable values."""
    with psycopg.connect(postgres.uri, autocommit=True, connect_timeout=5) as conn:
        state = {name: conn.execute(sql).fetchone()[0] for name, sql in STATE_SQL.items()}  # type: ignore[index]
        present = conn.execute("SELECT to_regclass('public.victim'), to_regclass('public.victim_seq')")
        victim, sequence = present.fetchone()  # type: ignore[misc]
        state["victim"] = conn.execute(VICTIM_SQL).fetchone() if victim else "dropped"
        state["victim_seq"] = (
            conn.execute("SELECT last_value, is_called FROM victim_seq").fetchone() if sequence else "dropped"
        )
    state["written_file"] = WRITTEN_FILE.exists()
    return state


def restore_guard(postgres: Any, baseline: dict[str, Any]) -> None:
    """After a case that changed something: drop what it created and rebuild the guard objects."""
    with psycopg.connect(postgres.uri, autocommit=True, connect_timeout=5) as conn:
        tables = conn.execute("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'").fetchall()
        for (table,) in tables:
            if table not in (baseline["pg_tables"] or []):
                conn.execute(f'DROP TABLE IF EXISTS public."{table}" CASCADE')
    postgres.execute(GUARD_SQL)
    WRITTEN_FILE.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def guard(postgres: Any) -> Any:
    postgres.execute(GUARD_SQL)
    yield
    WRITTEN_FILE.unlink(missing_ok=True)


def everything_in(s3: Any, bucket: str) -> list[str]:
    """Every object in the bucket, and every unfinished multipart upload."""
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return list_keys(s3, bucket) + [f"(multipart upload) {u['Key']}" for u in uploads]


def fill_bucket(value: Any, bucket: str) -> Any:
    return value.replace(BUCKET, bucket) if isinstance(value, str) else value


def check_refused_safely(run: Any, message: str, postgres: Any, s3: Any, bucket: str) -> str:
    """Run ``run()``; return what went wrong (empty when it was refused and nothing happened)."""
    before = guard_state(postgres)
    problems = []
    try:
        outcome = run()
        problems.append(f"not refused: the run finished with {outcome!r}")
    except Exception as error:
        if not re.search(message, str(error)):
            problems.append(f"refused, but not with /{message}/: {type(error).__name__}: {error}")
    written = everything_in(s3, bucket)
    if written:
        problems.append(f"wrote to S3: {written}")
    after = guard_state(postgres)
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    if changed:
        problems.append(f"changed the database (before, after): {changed}")
        restore_guard(postgres, before)
    return "\n".join(problems)


def case(case_id: str, message: str, **kwargs: Any) -> Any:
    return pytest.param(kwargs, message, id=case_id)


IN_PROCESS_CASES = [
    # --- statement break-outs through query= ---------------------------------------------------
    case("q-commit-drop", MULTIPLE, query=BREAK.format("COMMIT; DROP TABLE victim; COMMIT;")),
    case("q-delete-commit", MULTIPLE, query=BREAK.format("DELETE FROM victim; COMMIT;")),
    case("q-insert", MULTIPLE, query=BREAK.format("INSERT INTO victim VALUES (-1, 'evil', 0); COMMIT;")),
    case("q-create-table", MULTIPLE, query=BREAK.format("CREATE TABLE pwned (x int); COMMIT;")),
    case(
        "q-rollback-out-of-read-only",
        MULTIPLE,
        query=BREAK.format("ROLLBACK; BEGIN; UPDATE victim SET name = 'evil'; COMMIT;"),
    ),
    case(
        "q-session-read-write",
        MULTIPLE,
        query=BREAK.format("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; TRUNCATE victim;"),
    ),
    case("q-dollar-quotes", MULTIPLE, query="SELECT $t$ ) $t$ AS x) AS s; DROP TABLE victim; SELECT ($$x$$"),
    case("q-do-block-breakout", MULTIPLE, query=BREAK.format("DO $$BEGIN DELETE FROM victim; END$$;")),
    case("q-line-comment-tail", MULTIPLE, query=BREAK.format("DROP TABLE victim;") + " -- tail"),
    case("q-block-comments", MULTIPLE, query=BREAK.format("/* ; */ DROP /**/ TABLE victim /* ) */;")),
    case(
        "q-unterminated-comment", r"unterminated /\* comment", query="SELECT 1) AS s; DROP TABLE victim; /*"
    ),
    case("q-backslash-semicolon", SYNTAX, query="SELECT 1 AS x) AS s\\; DROP TABLE victim; SELECT (1"),
    case("q-unicode-escape-name", MULTIPLE, query=BREAK.format('DROP TABLE U&"vi\\0063tim";')),
    case(
        "q-unicode-escape-quote",
        MULTIPLE,
        query="SELECT U&'\\0027' AS x) AS s; DELETE FROM victim; SELECT (1",
    ),
    case("q-e-string-quote", MULTIPLE, query="SELECT E'\\'' AS x) AS s; DROP TABLE victim; SELECT (1"),
    case(
        "q-e-string-backslash", MULTIPLE, query="SELECT E'\\\\' AS x) AS s; DROP TABLE victim; SELECT ('\\'"
    ),
    case("q-select-then-drop", rf"{SYNTAX}|{MULTIPLE}", query="SELECT 1; DROP TABLE victim"),
    case("q-select-drop-semicolon", rf"{SYNTAX}|{MULTIPLE}", query="SELECT 1 AS x; DROP TABLE victim;"),
    case("q-table-then-drop", rf"{SYNTAX}|{MULTIPLE}", query="TABLE victim; DROP TABLE victim"),
    case("q-values-then-drop", rf"{SYNTAX}|{MULTIPLE}", query="VALUES (1); DROP TABLE victim"),
    # libpq ends the statement text at a NUL: a NUL must not cut off the provider's own ") AS ... LIMIT 0"
    case("q-nul-byte", rf"NUL|{SYNTAX}", query="SELECT 1 AS x\x00; DROP TABLE victim"),
    case("q-nul-truncation", rf"NUL|{MULTIPLE}", query="SELECT 1 AS x) AS s; DROP TABLE victim; --\x00"),
    # data-modifying CTEs: a read-only violation (or, nested in the provider's subquery, not allowed at all)
    case(
        "q-cte-delete",
        rf"{WRITES}|data-modifying statement",
        query="WITH d AS (DELETE FROM victim RETURNING *) SELECT * FROM d",
    ),
    case(
        "q-cte-insert",
        rf"{WRITES}|data-modifying statement",
        query="WITH i AS (INSERT INTO victim VALUES (-1, 'evil', 0) RETURNING id) SELECT id FROM i",
    ),
    case(
        "q-cte-update",
        rf"{WRITES}|data-modifying statement",
        query="WITH u AS (UPDATE victim SET name = 'evil' RETURNING id) SELECT id FROM u",
    ),
    case("q-cte-delete-breakout", MULTIPLE, query=BREAK.format("WITH d AS (DELETE FROM victim RETURNING 1)")),
    case("q-select-into", rf"INTO is not allowed here|{WRITES}", query="SELECT * INTO pwned FROM victim"),
    case("q-nextval", WRITES, query="SELECT nextval('victim_seq') AS n"),
    case("q-setval", WRITES, query="SELECT setval('victim_seq', 999) AS n"),
    case("q-for-update", WRITES, query="SELECT * FROM victim FOR UPDATE"),
    case("q-for-share-nested", WRITES, query="SELECT * FROM (SELECT id FROM victim FOR SHARE) AS s"),
    case("q-copy-to-program", NOT_SELECT, query=f"COPY victim TO PROGRAM 'touch {WRITTEN_FILE}'"),
    case(
        "q-copy-to-program-breakout",
        MULTIPLE,
        query=BREAK.format(f"COPY victim TO PROGRAM 'touch {WRITTEN_FILE}';"),
    ),
    case("q-copy-to-file-breakout", MULTIPLE, query=BREAK.format(f"COPY victim TO '{WRITTEN_FILE}';")),
    case("q-call", NOT_SELECT, query="CALL victim_wipe()"),
    case("q-call-breakout", MULTIPLE, query=BREAK.format("CALL victim_wipe();")),
    case("q-do-block", NOT_SELECT, query="DO $$BEGIN DELETE FROM victim; END$$"),
    case("q-set-role-breakout", MULTIPLE, query=BREAK.format("SET ROLE pg_write_server_files;")),
    case("q-explain-analyze-delete", NOT_SELECT, query="EXPLAIN ANALYZE DELETE FROM victim"),
    case("q-explain-analyze-breakout", MULTIPLE, query=BREAK.format("EXPLAIN ANALYZE DELETE FROM victim;")),
    case("q-lock", NOT_SELECT, query="LOCK TABLE victim IN ACCESS EXCLUSIVE MODE"),
    case("q-lock-breakout", MULTIPLE, query=BREAK.format("LOCK TABLE victim IN ACCESS EXCLUSIVE MODE;")),
    case("q-delete", NOT_SELECT, query="DELETE FROM victim"),
    case("q-only-a-comment", NOT_SELECT, query="-- SELECT 1\n"),
    case("q-blank", NOT_SELECT, query="   "),
    case("q-not-text", r"query must be text", query=42),
    # --- through source= ----------------------------------------------------------------------------
    case("s-semicolon-drop", NOT_NAME, source="x; DROP TABLE victim"),
    case("s-quote-breakout", NOT_NAME, source='victim"; DROP TABLE victim; --'),
    case("s-quoted-then-comment", NOT_NAME, source='"a".b; --'),
    case("s-four-parts", r"4 name parts", source='"a"."b"."c"."d"'),
    case("s-nul-unquoted", NOT_NAME, source="public.victim\x00"),
    case("s-nul-quoted", NOT_NAME, source='"vic\x00tim"'),
    case("s-empty-part", NOT_NAME, source="a..b"),
    case("s-leading-dot", NOT_NAME, source=".victim"),
    case("s-trailing-dot", NOT_NAME, source="victim."),
    case("s-empty-quoted", NOT_NAME, source='""'),
    case("s-where-clause", NOT_NAME, source="victim WHERE false"),
    case("s-subquery", NOT_NAME, source="(SELECT 1)"),
    case("s-single-quotes", NOT_NAME, source="victim' OR '1'='1"),
    case("s-unicode-escape", NOT_NAME, source='U&"vi\\0063tim"'),
    case("s-line-comment", NOT_NAME, source="victim -- x"),
    case("s-newline-statement", NOT_NAME, source="victim\n; DROP TABLE victim"),
    case("s-blank", NOT_NAME, source="  "),
    case("s-not-text", r"source must be text", source=["victim"]),
    # --- through cluster= and aws_connection= ---------------------------------------------------
    case("c-not-text", r"cluster must be text", query=GOOD, cluster=42),
    case(
        "a-quote-breakout",
        r"aws_connection .* is not a name",
        query=GOOD,
        aws_connection='s3_writer"; DROP TABLE victim; --',
        max_file_size="16MB",
        s3_uri=f"s3://{BUCKET}/native/",
    ),
    case("a-not-text", r"aws_connection must be text", query=GOOD, aws_connection={"name": "x"}),
    # --- bucket roots and bad paths -------------------------------------------------------------------
    case("u-bucket-root", BUCKET_ROOT, query=GOOD, s3_uri=f"s3://{BUCKET}"),
    case("u-bucket-root-slash", BUCKET_ROOT, query=GOOD, s3_uri=f"s3://{BUCKET}/"),
    case("u-double-slash", ROOT_OR_SEGMENT, query=GOOD, s3_uri=f"s3://{BUCKET}//"),
    case("u-leading-empty-segment", ROOT_OR_SEGMENT, query=GOOD, s3_uri=f"s3://{BUCKET}//x"),
    case("u-inner-empty-segment", BAD_SEGMENT, query=GOOD, s3_uri=f"s3://{BUCKET}/a//b"),
    case("u-dot-segment", BAD_SEGMENT, query=GOOD, s3_uri=f"s3://{BUCKET}/./x"),
    case("u-dotdot-first", BAD_SEGMENT, query=GOOD, s3_uri=f"s3://{BUCKET}/../x"),
    case("u-dotdot-last", BAD_SEGMENT, query=GOOD, s3_uri=f"s3://{BUCKET}/a/.."),
    case("u-dotdot-middle", BAD_SEGMENT, query=GOOD, s3_uri=f"s3://{BUCKET}/a/../b"),
    case(
        "u-bucket-root-native",
        BUCKET_ROOT,
        query=GOOD,
        s3_uri=f"s3://{BUCKET}/",
        aws_connection="s3_writer",
        max_file_size="16MB",
    ),
    case("u-wildcard-star", WILDCARD, query=GOOD, s3_uri=f"s3://{BUCKET}/a*/"),
    case("u-wildcard-question", WILDCARD, query=GOOD, s3_uri=f"s3://{BUCKET}/a?versionId=1/"),
    case("u-newline", WILDCARD, query=GOOD, s3_uri=f"s3://{BUCKET}/a\nb/"),
    case("u-carriage-return", WILDCARD, query=GOOD, s3_uri=f"s3://{BUCKET}/a\rb/"),
    case("u-nul", WILDCARD, query=GOOD, s3_uri=f"s3://{BUCKET}/a\x00b/"),
    case("u-one-slash-scheme", NOT_URI, query=GOOD, s3_uri=f"s3:/{BUCKET}/x/"),
    case("u-https", NOT_URI, query=GOOD, s3_uri=f"https://{BUCKET}.s3.amazonaws.com/x/"),
    case("u-uppercase-scheme", NOT_URI, query=GOOD, s3_uri=f"S3://{BUCKET}/x/"),
    case("u-uppercase-bucket", BAD_BUCKET, query=GOOD, s3_uri="s3://Hostile-Bucket/x/"),
    case("u-underscore-bucket", BAD_BUCKET, query=GOOD, s3_uri="s3://hostile_bucket/x/"),
    case("u-credentials-in-uri", BAD_BUCKET, query=GOOD, s3_uri=f"s3://key:secret@{BUCKET}/x/"),
    case("u-empty", NOT_URI, query=GOOD, s3_uri=""),
    case("u-none", NOT_URI, query=GOOD, s3_uri=None),
    case("u-not-text", NOT_URI, query=GOOD, s3_uri=42),
    # --- sizes, formats, compressions, readers --------------------------------------------------
    case("z-word", NOT_SIZE, query=GOOD, max_file_size="huge"),
    case("z-negative", NOT_SIZE, query=GOOD, max_file_size="-1MB"),
    case("z-zero", r"must be positive", query=GOOD, max_file_size=0),
    case("z-negative-int", r"must be positive", query=GOOD, max_file_size=-5),
    case("z-bool", r"must be a byte count or a size string", query=GOOD, max_file_size=True),
    case("z-exponent", NOT_SIZE, query=GOOD, max_file_size="1e3"),
    case("z-float", r"max_file_size must be (a byte count|an int)", query=GOOD, max_file_size=1e7),
    case("z-sql-tail", NOT_SIZE, query=GOOD, max_file_size="1MB; DROP TABLE victim"),
    case(
        "z-below-client-minimum",
        r"client mode.*at least 1MB|at least 1MB in client mode",
        query=GOOD,
        max_file_size="100KB",
    ),
    case(
        "z-below-native-minimum",
        r"16MB (and|to) 4GB",
        query=GOOD,
        max_file_size="1MB",
        aws_connection="s3_writer",
    ),
    case("f-orc", r"format 'orc' is not supported", query=GOOD, format="orc"),
    case("f-csv-in-client-mode", r"csv is available in native mode", query=GOOD, format="csv"),
    case("f-sql-tail", r"is not supported", query=GOOD, format="parquet'; DROP TABLE victim; --"),
    case("f-none", r"format None is not supported", query=GOOD, format=None),
    case("k-brotli", r"compression 'brotli' is not supported", query=GOOD, compression="brotli"),
    case("k-sql-tail", r"is not supported", query=GOOD, compression="snappy'; DROP TABLE victim; --"),
    case("k-not-text", r"compression 3 is not supported", query=GOOD, compression=3),
    case("r-odbc", r"reader 'odbc' is not supported", query=GOOD, reader="odbc"),
    case("r-sql-tail", r"is not supported", query=GOOD, reader="adbc; DROP TABLE victim"),
    case("r-none", r"reader None is not supported", query=GOOD, reader=None),
    case("o-csv-option-with-parquet", r"only to format='csv'", query=GOOD, csv_delimiter=";"),
    case(
        "o-client-option-in-native-mode",
        r"only to client mode",
        query=GOOD,
        aws_connection="s3_writer",
        max_file_size="16MB",
        s3_extra_args={"ACL": "public-read"},
    ),
    # --- connections ------------------------------------------------------------------------------------
    case(
        "n-materialize-conn",
        r"Materialize connection 'nope' is not defined",
        query=GOOD,
        materialize_conn_id="nope",
    ),
    case("n-aws-conn", r"AWS connection 'nope' is not defined", query=GOOD, aws_conn_id="nope"),
    case(
        "n-materialize-conn-sql",
        r"Materialize connection 'x; DROP TABLE victim' is not defined",
        query=GOOD,
        materialize_conn_id="x; DROP TABLE victim",
    ),
]


@pytest.mark.parametrize(("kwargs", "message"), IN_PROCESS_CASES)
def test_hostile_argument_is_refused_and_changes_nothing(kwargs, message, postgres, s3, bucket) -> None:
    arguments = {name: fill_bucket(value, bucket) for name, value in kwargs.items()}
    arguments.setdefault("s3_uri", f"s3://{bucket}/out/")
    arguments.setdefault("max_file_size", "1MB")
    problems = check_refused_safely(lambda: run_operator(**arguments), message, postgres, s3, bucket)
    assert not problems, problems


# --- through Jinja, as a person would type them into the Trigger form --------------------------------

DAG_CASES = [
    pytest.param(
        "hostile_query_text",
        {"q": BREAK.format("COMMIT; DROP TABLE victim; COMMIT;")},
        MULTIPLE,
        id="dag-query-commit-drop",
    ),
    pytest.param(
        "hostile_query_text",
        {"q": "WITH d AS (DELETE FROM victim RETURNING *) SELECT * FROM d"},
        rf"{WRITES}|data-modifying statement",
        id="dag-query-cte-delete",
    ),
    pytest.param(
        "hostile_query_text",
        {"q": "{% for t in ['victim'] %}DROP TABLE {{ t }}{% endfor %}"},
        NOT_SELECT,  # a Param's value is text, never rendered a second time
        id="dag-query-jinja-in-param",
    ),
    pytest.param("hostile_query_text", {"uri": f"s3://{BUCKET}"}, BUCKET_ROOT, id="dag-uri-bucket-root"),
    pytest.param(
        "hostile_query_text",
        {"uri": f"s3://{BUCKET}//x"},
        ROOT_OR_SEGMENT,
        id="dag-uri-leading-empty-segment",
    ),
    pytest.param(
        "hostile_source_text", {"source": "victim; DROP TABLE victim"}, NOT_NAME, id="dag-source-semicolon"
    ),
    pytest.param(
        "hostile_source_text",
        {"source": 'victim"; DROP TABLE victim; --'},
        NOT_NAME,
        id="dag-source-quote-breakout",
    ),
    pytest.param("hostile_native_values", {"q": "123"}, r"query must be text", id="native-query-int"),
    pytest.param("hostile_native_values", {"q": {"a": 1}}, r"query must be text", id="native-query-dict"),
    pytest.param(
        "hostile_native_values",
        {"q": None},
        r"query must be text|exactly one of",
        id="native-query-none",
    ),
    pytest.param("hostile_native_values", {"cluster": 42}, r"cluster must be text", id="native-cluster-int"),
    pytest.param("hostile_native_values", {"uri": "None"}, NOT_URI, id="native-uri-none"),
]


@pytest.fixture(scope="module")
def airflow_db() -> None:
    migrate_airflow_db()


@pytest.mark.parametrize(("dag_id", "conf", "message"), DAG_CASES)
def test_hostile_trigger_form_value_is_refused_and_changes_nothing(
    airflow_db, dag_id, conf, message, postgres, s3, bucket, capfd
) -> None:
    run_conf = {"uri": f"s3://{bucket}/out/", **{k: fill_bucket(v, bucket) for k, v in conf.items()}}
    dag = load_dag(TEST_DAGS / "hostile_dags.py", dag_id)

    def run() -> Any:
        capfd.readouterr()
        dag_run = dag.test(logical_date=None, run_conf=run_conf)
        results = dag_run_results(dag_run)
        task_output = "".join(capfd.readouterr())
        if dag_run.state == "success":
            return results
        assert results["states"] == {"export": "failed"} and "export" not in results["xcom"], results
        refusal = re.search(message, task_output)
        raise RuntimeError(refusal.group(0) if refusal else f"failed, message not found in: {task_output}")

    problems = check_refused_safely(run, message, postgres, s3, bucket)
    assert not problems, problems


# --- a hostile cluster= on PostgreSQL: ignored with a warning, never sent ---------------------------


@pytest.mark.parametrize(
    "cluster",
    [
        pytest.param("x; DROP TABLE victim", id="cluster-semicolon"),
        pytest.param('x"; DROP TABLE victim; --', id="cluster-double-quote"),
        pytest.param("x'; DROP TABLE victim; --", id="cluster-single-quote"),
        pytest.param("quickstart\nDROP TABLE victim", id="cluster-newline"),
    ],
)
def test_hostile_cluster_runs_nothing(cluster, postgres, s3, bucket, caplog, capfd) -> None:
    before = guard_state(postgres)
    stats: Any = None
    with caplog.at_level("WARNING"):
        try:
            stats = run_operator(
                query="SELECT id, name FROM victim",
                s3_uri=f"s3://{bucket}/c/",
                cluster=cluster,
                max_file_size="1MB",
            )
        except Exception as error:
            stats = error
    after = guard_state(postgres)
    if after != before:
        restore_guard(postgres, before)
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    assert not changed, f"changed the database (before, after): {changed}; the run gave {stats!r}"
    assert isinstance(stats, dict) and stats["rows"] == 50, stats  # victim was intact while it was read
    keys = list_keys(s3, bucket)
    assert keys[0] == "c/_manifest.json" and all(key.endswith(".parquet") for key in keys[1:]), keys
    logged = caplog.text + "".join(capfd.readouterr())  # the hook logs through structlog
    assert f"Cluster {cluster!r} is set, but the server" in logged, logged


def test_the_harness_flags_an_export_that_was_not_refused(postgres, s3, bucket) -> None:
    """Control: a plain read is reported as not refused and as writing to S3, but not as a database change."""
    problems = check_refused_safely(
        lambda: run_operator(query="SELECT * FROM victim", s3_uri=f"s3://{bucket}/ok/", max_file_size="1MB"),
        "never",
        postgres,
        s3,
        bucket,
    ).splitlines()
    assert [line.split(":")[0] for line in problems] == ["not refused", "wrote to S3"], problems
