"""The harness of the hostile-input tests (test_hostile_inputs.py): the guard objects in the test
PostgreSQL and their state, and a check that a run was refused and changed nothing, in the database
or in S3."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import psycopg

from tests.support.s3_objects import list_keys

# A file that COPY ... TO PROGRAM / TO '<file>' would create: the server runs as root's `postgres` user.
WRITTEN_FILE = Path(f"/tmp/mz-hostile-{uuid.uuid4().hex}")
BUCKET = "@BUCKET@"  # replaced by the test's own (fresh, empty) bucket

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
