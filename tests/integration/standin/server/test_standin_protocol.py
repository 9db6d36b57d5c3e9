"""The Materialize stand-in itself, over real connections (psycopg and the ADBC driver): identity,
startup, cancellation, the protocol, clusters, transactions, functions, RowDescription, types and the
catalog, and a clean stop. Its ``COPY ... TO 's3://...'`` is in test_standin_copy_to_s3.py.

Each expectation is the Materialize behaviour the stand-in's rule cites (tests/support/materialize_standin).
"""

from __future__ import annotations

import re
import socket
import threading
import time

import adbc_driver_postgresql.dbapi as adbc
import psycopg
import pytest

from tests.integration.standin.server.session_checks import collect_notices, error_of
from tests.support.materialize_standin import MaterializeStandin

pytestmark = pytest.mark.integration

NUMERIC_TYPMOD = {"unconstrained": (39 << 16 | 39) + 4, "scale 4": (39 << 16 | 4) + 4}


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
