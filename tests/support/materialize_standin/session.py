"""One client connection: startup, the message loop, the simple query protocol, cancellation.

The relaying rules are in ``relay.py``, the extended protocol in ``extended.py``.
"""

from __future__ import annotations

import secrets
import socket
import struct
from typing import TYPE_CHECKING

import psycopg

from tests.support.materialize_standin import wire
from tests.support.materialize_standin.errors import MzError
from tests.support.materialize_standin.extended import ExtendedProtocol, Portal
from tests.support.materialize_standin.relay import FAILING_SQL
from tests.support.materialize_standin.rules import DEFAULT_CLUSTER, Plan, classify
from tests.support.materialize_standin.sqltext import split_statements
from tests.support.materialize_standin.wire import Channel, cstring

if TYPE_CHECKING:
    from tests.support.materialize_standin.copy_to_s3 import CopyRun
    from tests.support.materialize_standin.server import MaterializeStandin

_AUTH_NEEDS_ANSWER = {3, 5, 7, 8, 10, 11}  # AuthenticationCleartextPassword, MD5, GSS, SASL, ...


class Session(ExtendedProtocol):
    def __init__(self, standin: MaterializeStandin, client: socket.socket, session_id: int) -> None:
        self.standin = standin
        self.client = Channel(client)
        self.pg: Channel | None = None
        self.id = session_id
        self.secret = secrets.randbits(31)
        self.backend_key: tuple[int, int] | None = None
        self.params: dict[str, str] = {}
        self.cluster = DEFAULT_CLUSTER
        self.skipping = False
        self.statements: dict[str, Plan] = {}
        self.statement_types: dict[str, list[int]] = {}
        self.portals: dict[str, Portal] = {}
        self.active_copy: CopyRun | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def serve(self) -> None:
        try:
            if self._startup():
                self._loop()
        except (wire.ConnectionClosed, OSError):
            pass
        finally:
            self.close()
            self.standin.forget(self)

    def close(self) -> None:
        copy = self.active_copy
        if copy is not None:
            copy.cancel()
        self.client.close()
        if self.pg is not None:
            self.pg.close()

    def cancel(self) -> None:
        """A CancelRequest for this session: PostgreSQL's with the real backend key, and a running COPY."""
        if self.backend_key is not None:
            with socket.create_connection(("127.0.0.1", self.standin.postgres.port), timeout=5) as sock:
                sock.sendall(struct.pack("!iiII", 16, wire.CANCEL_REQUEST, *self.backend_key))
                sock.recv(1)
        copy = self.active_copy
        if copy is not None:
            copy.cancel()

    def side_connection(self) -> psycopg.Connection:
        """A connection of the session's user to its database, for the COPY TO S3 the stand-in runs."""
        conn = psycopg.connect(
            host="127.0.0.1",
            port=self.standin.postgres.port,
            user=self.params.get("user", "postgres"),
            dbname=self.params.get("database", self.params.get("user", "postgres")),
            autocommit=True,
        )
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute("SET DateStyle = 'ISO, YMD'")
        return conn

    def _startup(self) -> bool:
        while True:
            packet = self.client.recv_startup()
            code = int.from_bytes(packet[:4], "big")
            if code in (wire.SSL_REQUEST, wire.GSSENC_REQUEST):
                self.client.send_raw(b"N")
                self.client.flush()
                continue
            if code == wire.CANCEL_REQUEST:
                self.standin.cancel(*struct.unpack("!II", packet[4:12]))
                return False
            break
        self.params = wire.startup_parameters(packet)
        self.pg = Channel(socket.create_connection(("127.0.0.1", self.standin.postgres.port)))
        self.pg.send_raw((len(packet) + 4).to_bytes(4, "big") + packet)
        self.pg.flush()
        while True:
            tag, body = self.pg.recv()
            if tag == b"K":  # keep PostgreSQL's key; the client gets the stand-in's own
                self.backend_key = struct.unpack("!II", body)
                self.client.send(b"K", struct.pack("!II", self.id, self.secret))
                continue
            self.client.send(tag, body)
            if tag == b"R" and int.from_bytes(body[:4], "big") in _AUTH_NEEDS_ANSWER:
                self.client.flush()
                self.pg.send(*self.client.recv())
                self.pg.flush()
            elif tag == b"E":
                self.client.flush()
                return False
            elif tag == b"Z":
                return True

    def _loop(self) -> None:
        handlers = {
            b"Q": self._query,
            b"P": self._parse,
            b"B": self._bind,
            b"D": self._describe,
            b"E": self._execute,
            b"C": self._close,
            b"S": self._sync,
            b"F": self._function_call,
        }
        assert self.pg is not None
        while True:
            self.client.flush()
            tag, body = self.client.recv()
            handler = handlers.get(tag)
            if handler is not None:
                handler(body)
                continue
            self.pg.send(tag, body)  # Flush, Terminate, stray copy messages: PostgreSQL's business
            self.pg.flush()
            if tag == b"X":
                return

    # -- simple protocol ----------------------------------------------------------------------
    def _query(self, body: bytes) -> None:
        sql = body[:-1].decode()
        self.standin.statements.append(sql)
        statements = split_statements(sql)
        plans = [classify(s, self.standin.clusters, self.standin.catalog) for s in statements]
        plain = all(
            p.sql == s
            and p.run is None
            and p.on_complete is None
            and not (p.needs_cluster and self.cluster_error())
            for s, p in zip(statements, plans, strict=True)
        )
        if plain:
            self._forward(b"Q", body, flush=False)
            self._relay(b"Z")
            return
        for index, plan in enumerate(plans):
            if not self._simple_one(plan, final=index == len(plans) - 1):
                return

    def _simple_one(self, plan: Plan, final: bool) -> bool:
        error = self.cluster_error() if plan.needs_cluster else None
        if error is not None:
            return self._simple_fail(error)
        self._forward(b"Q", cstring(plan.sql), flush=False)
        if plan.run is None:
            return not self._relay(b"Z", plan=plan, forward_ready=final)[1]
        tag, answer = self._swallow_until(b"C")
        if tag == b"E":
            self.client.send(tag, answer)
            self._relay(b"Z")
            return False
        try:
            result = self._run_plan(plan)
        except MzError as failure:
            self._swallow_until(b"Z")
            return self._simple_fail(failure)
        for notice in result.notices:
            self.client.send(b"N", notice)
        self.client.send(b"C", cstring(result.tag))
        tag, ready = self._swallow_until(b"Z")
        if final:
            self.client.send(tag, ready)
        return True

    def _simple_fail(self, error: MzError) -> bool:
        self._forward(b"Q", cstring(FAILING_SQL), flush=False)
        self._swallow_until(b"E")
        tag, ready = self._swallow_until(b"Z")
        self._error(error)
        self.client.send(tag, ready)
        return False

    def _function_call(self, body: bytes) -> None:
        self._forward(b"F", body, flush=False)
        self._relay(b"Z")
