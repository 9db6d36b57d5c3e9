"""The hostile arguments the operator must refuse in-process (test_hostile_inputs.py), and what
their refusals say."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.safety.hostile_harness import BUCKET, WRITTEN_FILE

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

GOOD = "SELECT 1 AS x"
# Closes the provider's "SELECT * FROM (" and reopens a parenthesis for its ") AS alias ...".
BREAK = "SELECT 1 AS x) AS s; {} SELECT (1"


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
