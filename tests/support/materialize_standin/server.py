"""``MaterializeStandin``: the proxy's listener, its database, and what tests can inspect."""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import uuid
from typing import Any

import psycopg

from tests.support.materialize_standin.copy_to_s3 import CopyRecord
from tests.support.materialize_standin.install import load_type_oids, pg_type_view_sql, setup_statements
from tests.support.materialize_standin.rules import Catalog
from tests.support.materialize_standin.session import Session
from tests.support.materialize_standin.sqltext import quote_ident
from tests.support.materialize_standin.types import TypeMap
from tests.support.servers import materialize_connection_json

DEFAULT_VERSION = "v0.130.0 (000000000)"
_JOIN_SECONDS = 10


class MaterializeStandin:
    """A PostgreSQL-protocol proxy on 127.0.0.1 that answers like Materialize (see the package docstring).

    :param postgres: The test PostgreSQL server (``tests.support.servers.PostgresServer``); the
        stand-in creates a database of its own there and drops it on stop.
    :param s3: The test S3 server (``S3Server``); every AWS connection writes there.
    :param clusters: Clusters that exist; ``SET cluster`` to another one succeeds with a notice,
        and later queries fail with ``unknown cluster '<name>'``.
    :param workers: Batches a COPY TO S3 spreads its rows over (Materialize: the cluster's workers).
    :param mz_version: What ``mz_version()`` returns.
    """

    def __init__(
        self,
        postgres: Any,
        s3: Any = None,
        clusters: tuple[str, ...] = ("quickstart", "exports"),
        workers: int = 2,
        mz_version: str = DEFAULT_VERSION,
        database: str | None = None,
    ) -> None:
        self.postgres, self.s3 = postgres, s3
        self.clusters = tuple(clusters)
        self.workers = workers
        self.mz_version = mz_version
        self.database = database or f"mz_standin_{uuid.uuid4().hex[:8]}"
        self.catalog = Catalog()
        self.statements: list[str] = []
        self.copies: list[CopyRecord] = []
        self.cancel_requests = 0
        self.port = 0
        self._sinks = itertools.count(1)
        self._ids = itertools.count(1)
        self._sessions: dict[int, tuple[Session, threading.Thread]] = {}
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._stopping = threading.Event()
        self._s3_client: Any = None
        self.types: TypeMap

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> MaterializeStandin:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> MaterializeStandin:
        self.postgres.execute(f"CREATE DATABASE {quote_ident(self.database)}", database="postgres")
        with self._admin() as conn:
            for statement in setup_statements(self.database, self.mz_version):
                conn.execute(statement)
            conn.execute(pg_type_view_sql(conn, load_type_oids(conn)[0]))
        self.types = TypeMap(self._load_types)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(0.2)
        self._listener, self.port = listener, listener.getsockname()[1]
        self._acceptor = threading.Thread(
            target=self._accept, name=f"mz-standin-{self.port}-accept", daemon=True
        )
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._acceptor is not None:
            self._acceptor.join(_JOIN_SECONDS)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            sessions = list(self._sessions.values())
        for session, _ in sessions:
            session.close()
        for _, thread in sessions:
            thread.join(_JOIN_SECONDS)
        if self._s3_client is not None:
            self._s3_client.close()
            self._s3_client = None
        with contextlib.suppress(psycopg.Error):
            self.postgres.execute(
                f"DROP DATABASE IF EXISTS {quote_ident(self.database)} WITH (FORCE)", database="postgres"
            )

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            session = Session(self, client, next(self._ids))
            thread = threading.Thread(
                target=session.serve, name=f"mz-standin-{self.port}-{session.id}", daemon=True
            )
            with self._lock:
                self._sessions[session.id] = (session, thread)
            thread.start()

    def forget(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.id, None)

    def cancel(self, session_id: int, secret: int) -> None:
        """A CancelRequest arrived on a new connection: route it to the session with that key."""
        self.cancel_requests += 1
        with self._lock:
            found = self._sessions.get(session_id)
        if found is not None and found[0].secret == secret:
            found[0].cancel()

    # -- helpers ------------------------------------------------------------------------------
    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.postgres.port,
            user="postgres",
            dbname=self.database,
            autocommit=True,
            connect_timeout=5,
        )

    def _load_types(self) -> Any:
        with self._admin() as conn:
            return load_type_oids(conn)

    def next_sink_id(self) -> str:
        # the sink id is a transient GlobalId (select_id, src/adapter/src/optimize/copy_to.rs), shown as
        # t<N> (GlobalId::Transient(id) => write!(f, "t{}", id))
        return f"t{next(self._sinks)}"

    def s3_client(self) -> Any:
        if self._s3_client is None:
            if self.s3 is None:
                raise RuntimeError("this stand-in was started without an S3 server (s3=...)")
            self._s3_client = self.s3.client()
        return self._s3_client

    def execute(self, sql: str) -> None:
        """Run ``sql`` in the stand-in's database directly on PostgreSQL (test setup)."""
        with self._admin() as conn:
            conn.execute(sql)

    @property
    def uri(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def materialize_connection_json(self) -> str:
        """An Airflow ``materialize`` connection (``AIRFLOW_CONN_...`` JSON) to the stand-in."""
        return materialize_connection_json(self.port, self.database)

    def create_aws_connection(self, name: str) -> None:
        """``CREATE SECRET <name>_key`` and ``CREATE CONNECTION <name> TO AWS`` with the test S3 keys."""
        with self.connect() as conn:
            conn.execute(f"CREATE SECRET {name}_key AS 'testing'")
            conn.execute(
                f"CREATE CONNECTION {name} TO AWS (ACCESS KEY ID = 'testing', "
                f"SECRET ACCESS KEY = SECRET {name}_key, REGION = 'us-east-1')"
            )

    def connect(self, **kwargs: Any) -> psycopg.Connection:
        """A psycopg connection to the stand-in (autocommit unless told otherwise)."""
        kwargs.setdefault("autocommit", True)
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname=self.database,
            connect_timeout=5,
            **kwargs,
        )
