"""A throwaway PostgreSQL, a wire-compatible stand-in for Materialize, for the tests, the demo and the
benchmark.

It is started from the server binaries on this machine. PostgreSQL refuses to run as root, so under
root the server runs as the ``postgres`` system user (or ``nobody``) and its data directory is handed
to that user. It listens on 127.0.0.1 on a free port and is stopped by its own process id.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.server_process import _stop, _wait_for, free_port


def find_postgres_bin() -> Path:
    """Directory holding ``initdb`` and ``postgres``: $PG_BIN, then PATH, then Debian's layout."""
    candidates = [os.environ.get("PG_BIN", "")]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "postgres").exists():
            return Path(candidate)
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, postgres) were not found; install them "
        "(Debian: apt-get install postgresql) or point PG_BIN at their directory"
    )


def _unprivileged_user() -> pwd.struct_passwd | None:
    """The user to run PostgreSQL as: None when we are not root, else ``postgres`` or ``nobody``."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError(
        "running as root and neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL"
    )


@dataclass
class PostgresServer:
    """A PostgreSQL server in a temporary directory, trust authentication, user ``postgres``."""

    port: int = field(default_factory=free_port)
    database: str = "materialize"
    settings: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    directory: Path | None = None

    @property
    def uri(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def start(self) -> PostgresServer:
        bin_dir = find_postgres_bin()
        user = _unprivileged_user()
        self.directory = Path(tempfile.mkdtemp(prefix="mzprov-pg-"))
        data_dir = self.directory / "data"
        log_file = self.directory / "server.log"
        run_as: dict = {}
        if user is not None:
            os.chown(self.directory, user.pw_uid, user.pw_gid)
            run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            cwd=self.directory,
            **run_as,
        )
        options = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.directory),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "256MB",
            "max_connections": "50",
            **self.settings,
        }
        args = [str(bin_dir / "postgres"), "-D", str(data_dir)]
        for key, value in options.items():
            args += ["-c", f"{key}={value}"]
        with open(log_file, "ab") as log:
            self.process = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                start_new_session=True,
                **run_as,
            )
        _wait_for(self._accepts_connections, "PostgreSQL", 60, self.process)
        if self.database != "postgres":
            self.execute(f'CREATE DATABASE "{self.database}"', database="postgres")
        return self

    def _accepts_connections(self) -> bool:
        try:
            self.execute("SELECT 1", database="postgres")
            return True
        except Exception:
            return False

    def materialize_connection_json(self) -> str:
        """An Airflow ``materialize`` connection (``AIRFLOW_CONN_...`` JSON form) to this server."""
        return materialize_connection_json(self.port, self.database)

    def execute(self, sql: str, database: str | None = None) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname=database or self.database,
            autocommit=True,
            connect_timeout=5,
        ) as conn:
            conn.execute(sql)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process, signal.SIGINT)  # "fast" shutdown
            self.process = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


def materialize_connection_json(port: int, database: str) -> str:
    """An Airflow ``materialize`` connection (``AIRFLOW_CONN_...`` JSON form) to 127.0.0.1:``port``."""
    import json

    return json.dumps(
        {
            "conn_type": "materialize",
            "host": "127.0.0.1",
            "port": port,
            "login": "postgres",
            "schema": database,
            "extra": {"application_name": "airflow-provider-dev"},
        }
    )
