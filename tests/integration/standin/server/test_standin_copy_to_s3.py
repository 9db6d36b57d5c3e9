"""The Materialize stand-in itself, over real connections (psycopg and the ADBC driver).

Each expectation is the Materialize behaviour the stand-in's rule cites (tests/support/materialize_standin).
"""

from __future__ import annotations

import io
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import adbc_driver_postgresql.dbapi as adbc
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.support.materialize_standin import MaterializeStandin

pytestmark = pytest.mark.integration

MB16 = 16 * 1024 * 1024
NUMERIC_TYPMOD = {"unconstrained": (39 << 16 | 39) + 4, "scale 4": (39 << 16 | 4) + 4}
EXT = b"ARROW:extension:name"
SLOW_QUERY = "SELECT g FROM generate_series(1, 40) g WHERE pg_sleep(0.25 + g * 0) IS NOT NULL"


@pytest.fixture(scope="module")
def mz(postgres: Any, s3_server: Any) -> Iterator[MaterializeStandin]:
    with MaterializeStandin(postgres=postgres, s3=s3_server, clusters=("quickstart", "exports")) as standin:
        standin.execute(
            "CREATE TABLE items (id int NOT NULL, amount numeric(18,4), ratio numeric, "
            'tags numeric(38,16)[], codes varchar(5)[], name varchar(5), flag "char", '
            "u2 uint2, u4 uint4, u8 uint8, ts mz_timestamp, l list, m map, u4s uint4[]);"
            "INSERT INTO items VALUES (1, 1.5, 2.25, '{1.5}', '{ab}', 'x', 'a', 2, 4, 8, 1700000000000, "
            "'{1,2}', '{a=>1}', '{1,2}');"
            "CREATE TABLE orders (id bigint NOT NULL, amount numeric(12,2), note text, tags int[], "
            "created timestamptz, u uint4, ts mz_timestamp, doc jsonb, id2 bigint);"
            "INSERT INTO orders SELECT g, g * 1.25, 'n' || g, ARRAY[[g, 1], [2, 3]], "
            '\'2024-01-02 03:04:05+02\', g, 1700000000000 + g, \'{"b": [1, 2], "a": "x y"}\', g '
            "FROM generate_series(1, 100) g"
        )
        with standin.connect() as conn:
            conn.execute("CREATE SECRET s3_key AS 'testing'")
            conn.execute(
                "CREATE CONNECTION s3_conn TO AWS (ACCESS KEY ID = 'testing', "
                "SECRET ACCESS KEY = SECRET s3_key, REGION = 'us-east-1')"
            )
        yield standin


@pytest.fixture
def conn(mz: MaterializeStandin) -> Iterator[psycopg.Connection]:
    with mz.connect() as connection:
        yield connection


def copy_sql(relation: str, target: str, options: str = "FORMAT = 'parquet'") -> str:
    return f"COPY {relation} TO '{target}' WITH (AWS CONNECTION = s3_conn, {options})"


def keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def parquet(s3: Any, bucket: str, key: str) -> pq.ParquetFile:
    return pq.ParquetFile(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def collect_notices(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    """(severity, SQLSTATE, message, hint) of each notice; a Diagnostic is only valid in the callback."""
    notices: list[tuple[Any, ...]] = []
    conn.add_notice_handler(
        lambda d: notices.append((d.severity, d.sqlstate, d.message_primary, d.message_hint))
    )
    return notices


def error_of(conn: psycopg.Connection, sql: str, binary: bool = False) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(sql, binary=binary)
    return caught.value


# -- identity, startup, cancellation ------------------------------------------------------------


def test_identity_is_materialize(mz: MaterializeStandin, conn: psycopg.Connection, monkeypatch) -> None:
    version = conn.execute("SELECT mz_version()").fetchone()[0]
    assert re.fullmatch(r"v\d+\.\d+\.\d+ \([0-9a-f]{9}\)", version)
    assert conn.execute("SHOW server_version").fetchone() == ("9.5.0",)
    with adbc.connect(mz.uri) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT mz_version()")
        assert cursor.fetchall() == [(version,)]

    from airflow_provider_materialize.hooks.materialize import MaterializeHook
    from airflow_provider_materialize.sql import ServerFlavor

    monkeypatch.setenv("AIRFLOW_CONN_MZ_STANDIN", mz.materialize_connection_json())
    assert MaterializeHook(materialize_conn_id="mz_standin").server_info == (
        ServerFlavor.MATERIALIZE,
        version,
    )


def test_ssl_request_is_refused_and_backend_key_is_the_standins(mz: MaterializeStandin) -> None:
    with mz.connect(sslmode="prefer") as connection:  # SSLRequest answered 'N', then plain startup
        real_pid = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert connection.info.backend_pid != real_pid
        assert connection.execute("SELECT 1").fetchone() == (1,)


def test_cancel_request_reaches_postgresql_with_the_real_key(mz: MaterializeStandin, conn) -> None:
    before = mz.cancel_requests
    threading.Timer(0.5, conn.cancel_safe).start()
    started = time.monotonic()
    error = error_of(conn, "SELECT pg_sleep(10)", binary=True)
    assert error.sqlstate == "57014" and time.monotonic() - started < 5
    assert mz.cancel_requests == before + 1
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_protocol_passthrough(mz: MaterializeStandin, conn: psycopg.Connection) -> None:
    notices = collect_notices(conn)
    conn.execute("SET application_name = 'standin-test'")  # ParameterStatus
    assert conn.info.parameter_status("application_name") == "standin-test"
    conn.execute("DO $$ BEGIN RAISE NOTICE 'hello'; END $$")  # NoticeResponse
    assert [n[2] for n in notices] == ["hello"]
    mz.execute("CREATE TABLE IF NOT EXISTS copied (a int, b text)")
    with conn.cursor().copy("COPY copied FROM STDIN") as copy:  # CopyInResponse, CopyData, CopyDone
        copy.write_row((1, "x"))
        copy.write_row((2, "y"))
    with conn.cursor().copy("COPY (SELECT * FROM copied ORDER BY a) TO STDOUT") as copy:  # COPY out
        assert b"".join(bytes(chunk) for chunk in copy) == b"1\tx\n2\ty\n"
    for _ in range(6):  # named prepared statements
        assert conn.execute("SELECT b FROM copied WHERE a = %s", [1], prepare=True).fetchone() == ("x",)
    conn.execute("DEALLOCATE ALL")
    with conn.pipeline():  # several messages before a Sync, then an error that skips the rest
        first = conn.execute("SELECT 1")
        conn.execute("SET cluster = nope")
    assert first.fetchone() == (1,)
    with pytest.raises(psycopg.errors.InternalError, match="unknown cluster 'nope'"), conn.pipeline():
        conn.execute("SELECT 1")
        conn.execute("SELECT 2")
    conn.execute("SET cluster = quickstart")
    assert conn.execute("SELECT 3", binary=True).fetchone() == (3,)


# -- clusters, transactions, functions ----------------------------------------------------------


def test_set_cluster_known_unknown_and_later_queries(conn: psycopg.Connection) -> None:
    notices = collect_notices(conn)
    conn.execute('SET cluster = "exports"', binary=True)
    assert conn.execute("SELECT 1").fetchone() == (1,) and notices == []

    conn.execute("SET cluster = nope")
    [(severity, code, message, hint)] = notices
    assert (severity, code, message) == ("NOTICE", "01000", 'cluster "nope" does not exist')
    assert hint.startswith("Create the cluster with CREATE CLUSTER or pick an extant cluster")
    for binary in (False, True):
        error = error_of(conn, "SELECT * FROM orders", binary=binary)
        assert (error.sqlstate, str(error)) == ("XX000", "unknown cluster 'nope'")
    conn.execute("BEGIN READ ONLY")
    error_of(conn, "SELECT 1")
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR  # the block is aborted
    conn.execute("ROLLBACK")
    conn.execute("SET cluster = quickstart")
    assert conn.execute("SELECT count(*) FROM orders", binary=True).fetchone() == (100,)


def test_mz_now_is_stable_in_a_read_only_transaction(mz: MaterializeStandin, conn) -> None:
    conn.execute("BEGIN READ ONLY")
    first = conn.execute("SELECT mz_now()::text").fetchone()[0]
    time.sleep(0.02)
    assert conn.execute("SELECT mz_now()::text", binary=True).fetchone()[0] == first
    conn.execute("COMMIT")
    assert abs(int(first) - time.time() * 1000) < 60_000
    assert int(conn.execute("SELECT mz_now()::text").fetchone()[0]) > int(first)
    with adbc.connect(mz.uri) as connection, connection.cursor() as cursor:  # the ADBC reader's sequence
        cursor.execute("SELECT mz_now()::text")
        [(inside,)] = cursor.fetchall()
        time.sleep(0.02)
        cursor.execute("SELECT id FROM orders LIMIT 1")
        cursor.fetchall()
        cursor.execute("SELECT mz_now()::text")
        assert cursor.fetchall() == [(inside,)]


def test_array_ndims_does_not_exist(mz: MaterializeStandin, conn: psycopg.Connection) -> None:
    for binary in (False, True):
        error = error_of(conn, "SELECT array_ndims(tags) FROM orders", binary=binary)
        assert error.sqlstate == "42883"
        assert str(error).startswith("function array_ndims(integer[]) does not exist")
    assert conn.execute("SELECT array_length(tags, 2) FROM orders LIMIT 1").fetchone() == (2,)
    with (
        adbc.connect(mz.uri) as connection,
        connection.cursor() as cursor,
        pytest.raises(adbc.ProgrammingError, match="array_ndims"),
    ):
        cursor.execute("SELECT array_ndims(tags) FROM orders")


# -- RowDescription, types, catalog -------------------------------------------------------------


@pytest.mark.parametrize("binary", [False, True], ids=["simple", "extended"])
def test_row_description_as_materialize_sends_it(conn: psycopg.Connection, binary: bool) -> None:
    cursor = conn.execute("SELECT id, amount, ratio, tags, codes, name, flag FROM items", binary=binary)
    result = cursor.pgresult
    described = {
        column.name: (column.type_code, result.fmod(i), result.ftable(i), result.ftablecol(i))
        for i, column in enumerate(cursor.description)
    }
    assert described == {
        "id": (23, -1, 0, 0),
        "amount": (1700, NUMERIC_TYPMOD["scale 4"], 0, 0),  # numeric(18,4): precision 39, scale 4
        "ratio": (1700, NUMERIC_TYPMOD["unconstrained"], 0, 0),
        "tags": (1231, -1, 0, 0),  # arrays: typmod -1
        "codes": (1015, -1, 0, 0),
        "name": (1043, 9, 0, 0),  # varchar(5): 5 + 4, as PostgreSQL
        "flag": (18, -1, 0, 0),  # "char" stays OID 18
    }


def test_materialize_only_types_on_the_wire(conn: psycopg.Connection) -> None:
    cursor = conn.execute("SELECT u2, u4, u8, ts, u4s FROM items", binary=True)
    assert [c.type_code for c in cursor.description] == [16460, 16462, 16464, 16552, 16463]
    u2, u4, u8, ts, u4s = cursor.fetchone()
    assert (u2, u4, u8) == (b"\x00\x02", b"\x00\x00\x00\x04", (8).to_bytes(8, "big"))  # big-endian
    assert ts == b"1700000000000"  # mz_timestamp travels as decimal text, binary or not
    assert u4s[8:12] == (16462).to_bytes(4, "big")  # the element OID in the binary array header
    text = conn.execute("SELECT l, m, ts FROM items")
    assert [c.type_code for c in text.description] == [16384, 16385, 16552]
    assert text.fetchone() == ("{1,2}", "{a=>1}", "1700000000000")
    error = error_of(conn, "SELECT id, l FROM items", binary=True)
    assert (error.sqlstate, str(error)) == ("08P01", "binary encoding of list types is not implemented")
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_pg_type_answers_with_materialize_oids(conn: psycopg.Connection) -> None:
    # the provider's type lookup (sql.type_names_sql)
    rows = conn.execute(
        "SELECT t.oid::int8, t.typname::text, e.typname::text FROM pg_catalog.pg_type t "
        "LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND t.typcategory = 'A' "
        "WHERE t.oid IN (16460, 16462, 16463, 16464, 16552, 16384, 16385, 1700, 1231, 18)",
        binary=True,
    ).fetchall()
    assert sorted(rows) == [
        (18, "char", None),
        (1231, "_numeric", "numeric"),
        (1700, "numeric", None),
        (16384, "list", None),
        (16385, "map", None),
        (16460, "uint2", None),
        (16462, "uint4", None),
        (16463, "_uint4", "uint4"),
        (16464, "uint8", None),
        (16552, "mz_timestamp", None),
    ]
    assert conn.execute("SELECT typreceive::text, typtype FROM pg_type WHERE oid = 16384").fetchone() == (
        "-",
        "p",
    )


def test_adbc_reads_through_the_standin(mz: MaterializeStandin) -> None:
    with adbc.connect(mz.uri) as connection, connection.cursor() as cursor:
        cursor.execute("SET cluster = exports")
        cursor.execute("SELECT id, amount, tags, u, u::text AS ut FROM orders ORDER BY id LIMIT 1")
        table = cursor.fetch_arrow_table()
    assert table.column("tags").to_pylist() == [[1, 1, 2, 3]]
    assert table.column("ut").to_pylist() == ["1"]
    assert "unnamed<oid:16462>" in str(table.schema.field("u").type)  # opaque: uint4 is not PostgreSQL's


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


def test_stops_cleanly(postgres, s3_server) -> None:
    standin = MaterializeStandin(postgres=postgres, s3=s3_server).start()
    connection = standin.connect()
    connection.execute("SELECT 1")
    standin.stop()
    assert not [t for t in threading.enumerate() if t.name.startswith(f"mz-standin-{standin.port}-")]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", standin.port), timeout=1).close()
    with psycopg.connect(postgres.uri.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        assert (
            admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [standin.database]).fetchall() == []
        )
    connection.close()
