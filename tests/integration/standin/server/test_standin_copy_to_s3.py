"""The Materialize stand-in's ``COPY ... TO 's3://...'``, over real connections: Parquet and CSV
files, MAX FILE SIZE, URIs, the plan-time and target errors, the AWS connection DDL, a non-empty
prefix, a failure's sentinel, cancellation and CSV files rolling at the size limit. The rest of the
stand-in is in test_standin_protocol.py.

Each expectation is the Materialize behaviour the stand-in's rule cites (tests/support/materialize_standin).
"""

from __future__ import annotations

import io
import threading
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.integration.standin.server.session_checks import collect_notices, error_of
from tests.support.materialize_standin import MaterializeStandin

pytestmark = pytest.mark.integration

MB16 = 16 * 1024 * 1024
EXT = b"ARROW:extension:name"
SLOW_QUERY = "SELECT g FROM generate_series(1, 40) g WHERE pg_sleep(0.25 + g * 0) IS NOT NULL"


def copy_sql(relation: str, target: str, options: str = "FORMAT = 'parquet'") -> str:
    return f"COPY {relation} TO '{target}' WITH (AWS CONNECTION = s3_conn, {options})"


def keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def parquet(s3: Any, bucket: str, key: str) -> pq.ParquetFile:
    return pq.ParquetFile(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


# -- COPY ... TO 's3://...' ---------------------------------------------------------------------


def test_copy_to_s3_parquet(mz: MaterializeStandin, conn, s3, bucket: str) -> None:
    relation = "(SELECT id, amount, note, tags, created, u, ts, doc, id AS id FROM orders)"
    cursor = conn.execute(copy_sql(relation, f"s3://{bucket}/p/run1/", "FORMAT = 'parquet'"), binary=True)
    assert cursor.statusmessage == "COPY 100"
    sink = mz.copies[-1].sink_id
    written = keys(s3, bucket)
    assert written == [f"p/run1/mz-{sink}-batch-{b:04d}-0000.parquet" for b in range(2)]  # no INCOMPLETE
    files = [parquet(s3, bucket, key) for key in written]
    assert sum(f.metadata.num_rows for f in files) == 100
    schema = files[0].schema_arrow
    assert schema.names == ["id", "amount", "note", "tags", "created", "u", "ts", "doc", "id2"]
    assert [schema.field(n).metadata[EXT].decode() for n in schema.names] == [
        f"materialize.v1.{t}"
        for t in (
            "bigint",
            "numeric",
            "text",
            "array",
            "timestamptz",
            "uint4",
            "mz_timestamp",
            "jsonb",
            "bigint",
        )
    ]
    assert not schema.field("id").nullable and schema.field("amount").nullable
    assert schema.field("amount").type == pa.decimal128(38, 2)
    assert schema.field("created").type == pa.timestamp("us", tz="+00:00")
    assert schema.field("u").type == pa.uint32() and schema.field("ts").type == pa.uint64()
    tags = schema.field("tags").type
    assert tags.field("items").type.value_field.name == "item" and tags.field("dimensions").type == pa.uint8()
    row = files[0].read().slice(0, 1).to_pylist()[0]
    assert row["tags"]["dimensions"] == 2 and len(row["tags"]["items"]) == 4
    assert row["doc"] == '{"a":"x y","b":[1,2]}'
    metadata = files[0].metadata.row_group(0).column(0)
    assert metadata.compression == "SNAPPY" and not metadata.is_stats_set


def test_copy_to_s3_csv_and_empty_results(mz: MaterializeStandin, conn, s3, bucket: str) -> None:
    cursor = conn.execute(copy_sql("orders", f"s3://{bucket}/c", "FORMAT = 'csv', HEADER = true"))
    assert cursor.statusmessage == "COPY 100"
    sink = mz.copies[-1].sink_id
    written = keys(s3, bucket, "c/")
    assert written == [f"c/mz-{sink}-batch-{b:04d}-0001.csv" for b in range(2)]  # CSV counts from 0001
    for key in written:  # the header starts every file
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read().startswith(b"id,amount,note,tags,")

    for file_format, first in (("parquet", "0000"), ("csv", "0001")):
        query = "(SELECT id FROM orders WHERE false)"
        assert conn.execute(copy_sql(query, f"s3://{bucket}/e{file_format}", f"FORMAT = '{file_format}'"))
        sink = mz.copies[-1].sink_id
        assert keys(s3, bucket, f"e{file_format}/") == [
            f"e{file_format}/mz-{sink}-batch-0000-{first}.{file_format}"
        ]


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("16777216", MB16),  # an integer literal is bytes
        ("'16MB'", MB16),  # units are powers of 1024
        ('"16MB"', MB16),  # a quoted identifier is a string too
        ("'16 MB'", MB16),
        ("'0.015625GB'", MB16),  # fractions round into the next smaller unit
        ("'4GB'", 4 * 1024**3),  # both limits are inclusive
    ],
)
def test_copy_to_s3_max_file_size_forms(
    mz: MaterializeStandin, conn, bucket: str, size: str, expected: int
) -> None:
    conn.execute(copy_sql("(SELECT 1 AS one)", f"s3://{bucket}/s", f"FORMAT = 'csv', MAX FILE SIZE = {size}"))
    assert mz.copies[-1].max_file_size == expected


def test_duplicate_names_are_suffixed_per_original_name(conn, s3, bucket: str) -> None:
    conn.execute(copy_sql("(SELECT 1 AS a, 2 AS a, 3 AS a2)", f"s3://{bucket}/d"))
    assert parquet(s3, bucket, keys(s3, bucket)[0]).schema_arrow.names == ["a", "a2", "a2"]


def test_copy_to_s3_uri_rules(mz: MaterializeStandin, conn, s3, bucket: str) -> None:
    conn.execute(copy_sql("(SELECT 1 AS one)", f"s3://{bucket}//a%20b//c//?query=1#fragment"))
    sink = mz.copies[-1].sink_id
    written = keys(s3, bucket)  # batch 0 always has a file; the one row may hash to batch 1
    assert written[0] == f"a%20b//c/mz-{sink}-batch-0000-0000.parquet"  # not decoded, '/' trimmed
    assert all(k.startswith(f"a%20b//c/mz-{sink}-batch-") for k in written) and len(written) <= 2


@pytest.mark.parametrize(
    ("relation", "options", "message"),
    [
        ("orders", "FORMAT = 'xml'", "unknown FORMAT: xml"),
        ("orders", "MAX FILE SIZE = '16MB'", "COPY TO <expr> requires a FORMAT option"),
        ("orders", "FORMAT = 'csv', FORMAT = 'csv'", "FORMAT specified more than once"),
        (
            "orders (id)",
            "FORMAT = 'csv'",
            "specifying columns for COPY <table_name> TO commands not yet "
            "supported; use COPY (SELECT...) TO ... instead",
        ),
        (
            "(SELECT * FROM orders ORDER BY id)",
            "FORMAT = 'csv'",
            "ORDER BY is not supported in SELECT query for COPY statements",
        ),
        ("orders", "FORMAT = 'binary'", "FORMAT BINARY not yet supported"),
        ("orders", "FORMAT = 'text'", "FORMAT TEXT not yet supported"),
        ("orders", "FORMAT = 'parquet', MAX FILE SIZE = '1kB'", "MAX FILE SIZE cannot be less than 16MB"),
        (
            "orders",
            "FORMAT = 'parquet', MAX FILE SIZE = 4294967297",
            "MAX FILE SIZE cannot be greater than 4GB",
        ),
        (
            "orders",
            "FORMAT = 'parquet', MAX FILE SIZE = '16mb'",
            'invalid MAX FILE SIZE: invalid bytes value: couldn\'t parse "mb" into a known SI unit, invalid '
            "BytesUnit: mb. Valid units are B, kB, MB, GB, and TB. Valid units are B, kB, MB, GB, and TB",
        ),
        ("orders", "FORMAT = 'csv', HEADER = 'true'", "invalid HEADER: cannot use value as boolean"),
        ("orders", "FORMAT = 'csv', DELIMITER = ';;'", "COPY delimiter must be a single one-byte character"),
        ("orders", "FORMAT = 'csv', QUOTE = 'é'", "COPY quote must be a single one-byte character"),
        ("orders", "FORMAT = 'csv', DELIMITER = '\"'", "COPY delimiter and quote must be different"),
        (
            "(SELECT interval '1 day' AS i, 'a'::\"char\" AS c, 0.5::numeric(39, 39) AS n)",
            "FORMAT = 'parquet'",
            'Cannot encode the following columns/types: ["i: Interval", "c: PgLegacyChar", '
            '"n: Numeric { max_scale: Some(NumericMaxScale(39)) }"]',
        ),
    ],
)
def test_copy_to_s3_plan_errors(conn, s3, bucket: str, relation: str, options: str, message: str) -> None:
    error = error_of(conn, copy_sql(relation, f"s3://{bucket}/x", options), binary=True)
    assert str(error) == message
    assert keys(s3, bucket) == []  # refused at plan time: nothing written, not even the sentinel
    assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            "COPY orders TO 's3://b/x' WITH (FORMAT = 'csv')",
            "AWS CONNECTION is required for COPY ... TO <expr>",
        ),
        (
            "COPY orders TO 's3://b/x' WITH (AWS CONNECTION = nope, FORMAT = 'csv')",
            "unknown catalog item 'nope'",
        ),
        (
            "COPY orders TO 1 WITH (AWS CONNECTION = s3_conn, FORMAT = 'csv')",
            "COPY TO target must have type text, not type integer",
        ),
        (
            "COPY orders TO NULL::text WITH (AWS CONNECTION = s3_conn, FORMAT = 'csv')",
            "COPY TO target value can not be null",
        ),
        (
            "COPY orders TO 'http://b/x' WITH (AWS CONNECTION = s3_conn, FORMAT = 'csv')",
            "only 's3://...' urls are supported as COPY TO target",
        ),
        (
            "COPY orders TO 's3://b/a b' WITH (AWS CONNECTION = s3_conn, FORMAT = 'csv')",
            "could not parse COPY TO target url: invalid uri character",
        ),
        (
            "CREATE CONNECTION c2 TO AWS (SECRET ACCESS KEY = SECRET missing)",
            "unknown catalog item 'missing'",
        ),
    ],
)
def test_copy_to_s3_target_and_connection_errors(conn, statement: str, message: str) -> None:
    assert str(error_of(conn, statement)) == message


def test_connection_ddl_notices(conn: psycopg.Connection) -> None:
    notices = collect_notices(conn)
    conn.execute("CREATE CONNECTION IF NOT EXISTS s3_conn TO AWS (REGION = 'us-east-1')", binary=True)
    assert [(code, message) for _, code, message, _ in notices] == [
        ("42710", 'connection "s3_conn" already exists, skipping')
    ]
    conn.execute("VALIDATE CONNECTION s3_conn")
    assert str(error_of(conn, "VALIDATE CONNECTION nope")) == "unknown catalog item 'nope'"


def test_copy_to_s3_refuses_a_non_empty_raw_prefix(conn, s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="p/run10/other.parquet", Body=b"x")
    error = error_of(conn, copy_sql("orders", f"s3://{bucket}/p/run1"))
    assert str(error) == "S3 bucket path is not empty, contains 1 objects"
    assert keys(s3, bucket) == ["p/run10/other.parquet"]


def test_copy_to_s3_failure_leaves_the_sentinel(mz: MaterializeStandin, conn, s3, bucket: str) -> None:
    error = error_of(conn, copy_sql("(SELECT 'NaN'::numeric AS n)", f"s3://{bucket}/nan"), binary=True)
    assert str(error) == "Cannot represent special numeric value NaN in parquet"
    assert keys(s3, bucket) == [f"nan/mz-{mz.copies[-1].sink_id}-INCOMPLETE"]
    error = error_of(conn, copy_sql("(SELECT 5.4567890123456789::numeric AS n)", f"s3://{bucket}/scale"))
    assert str(error) == "cannot represent decimal value 5.4567890123456789 in column with scale 10"


def test_copy_to_s3_can_be_cancelled(mz: MaterializeStandin, conn, s3, bucket: str) -> None:
    threading.Timer(0.5, conn.cancel_safe).start()
    error = error_of(conn, copy_sql(f"({SLOW_QUERY})", f"s3://{bucket}/slow"), binary=True)
    assert (error.sqlstate, str(error)) == ("57014", "canceling statement due to user request")
    assert keys(s3, bucket) == [f"slow/mz-{mz.copies[-1].sink_id}-INCOMPLETE"]


def test_csv_files_roll_at_max_file_size(postgres, s3_server, s3, bucket: str) -> None:
    with (
        MaterializeStandin(postgres=postgres, s3=s3_server, workers=1) as one_worker,
        one_worker.connect() as connection,
    ):
        connection.execute("CREATE CONNECTION s3_conn TO AWS (REGION = 'us-east-1')")
        query = "(SELECT g, repeat('x', 1000) AS pad FROM generate_series(1, 18000) g)"
        options = "FORMAT = 'csv', HEADER, MAX FILE SIZE = '16MB'"
        cursor = connection.execute(copy_sql(query, f"s3://{bucket}/big", options))
        assert cursor.statusmessage == "COPY 18000"
    written = keys(s3, bucket)
    assert [k.rsplit("-", 1)[1] for k in written] == ["0001.csv", "0002.csv"]
    for key in written:
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] <= MB16
        assert s3.get_object(Bucket=bucket, Key=key, Range="bytes=0-5")["Body"].read() == b"g,pad\n"
