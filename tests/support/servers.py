"""Throwaway local servers for the tests, the demo and the benchmark.

* PostgreSQL, a wire-compatible stand-in for Materialize, started from the server binaries on
  this machine. PostgreSQL refuses to run as root, so under root the server runs as the
  ``postgres`` system user (or ``nobody``) and its data directory is handed to that user.
* moto's S3-compatible HTTP server, in its own process.

Both listen on 127.0.0.1 on a free port and are stopped by their own process id.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

S3_ACCESS_KEY = "testing"
S3_SECRET_KEY = "testing"
S3_REGION = "us-east-1"
# moto runs on the cores the export under test uses, so its CPU time counts against the export
# (what each setting below saves is measured in docs/benchmarks.md):
# * it spills every object or part over 5 MB to a temporary file and reads it back when a multipart
#   upload completes, a large share of its CPU time; objects up to 256 MiB stay in memory;
# * glibc handed the freed part buffers back to the system and faulted fresh pages in for the next
#   export, so the first exports into a fresh server cost it far more CPU time than later ones; one
#   arena pair and no trimming let it reuse them.
MOTO_ENVIRONMENT = {
    "MOTO_S3_DEFAULT_KEY_BUFFER_SIZE": str(256 * 1024 * 1024),
    "MALLOC_ARENA_MAX": "2",
    "MALLOC_MMAP_THRESHOLD_": str(32 * 1024 * 1024),
    "MALLOC_TRIM_THRESHOLD_": str(1024 * 1024 * 1024),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def _wait_for(check, what: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} while starting")
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not become ready within {timeout:.0f}s")


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    if process.poll() is None:
        os.kill(process.pid, sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout)


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


@dataclass
class S3Server:
    """moto's S3-compatible server (``moto_server``) in its own process."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3Server:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **MOTO_ENVIRONMENT},
        )
        _wait_for(self._is_up, "moto S3 server", 60, self.process)
        return self

    def _is_up(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=2):
                return True
        except Exception:
            return False

    def client(self):
        return s3_client(self.endpoint_url)

    def aws_connection_json(self) -> str:
        """An Airflow AWS connection (``AIRFLOW_CONN_...`` JSON form) pointing at this server."""
        import json

        return json.dumps(
            {
                "conn_type": "aws",
                "login": S3_ACCESS_KEY,
                "password": S3_SECRET_KEY,
                "extra": {"endpoint_url": self.endpoint_url, "region_name": S3_REGION},
            }
        )

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None


TEST_DAGS = Path(__file__).resolve().parents[1] / "integration" / "dags"


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


def s3_client(endpoint_url: str, config: Any = None) -> Any:
    """A boto3 S3 client with the test credentials, talking to ``endpoint_url``."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
        region_name=S3_REGION,
        config=config,
    )


def airflow_environment(root: Path) -> dict[str, str]:
    """Environment for a throwaway Airflow: its own home and SQLite database, the example DAGs.

    The test suite's own DAG files form a second bundle: ``dag.test()`` only runs DAGs it finds in one.
    """
    import json

    home = tempfile.mkdtemp(prefix="mzprov-airflow-home-")
    local_bundle = "airflow.dag_processing.bundles.local.LocalDagBundle"
    bundles = [
        {"name": "dags-folder", "classpath": local_bundle, "kwargs": {}},
        {"name": "test-dags", "classpath": local_bundle, "kwargs": {"path": str(TEST_DAGS)}},
    ]
    return {
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
    }


def connection_environment(postgres: PostgresServer, s3: S3Server) -> dict[str, str]:
    """``materialize_default`` and ``aws_default`` as environment connections to the servers."""
    return {
        "AIRFLOW_CONN_MATERIALIZE_DEFAULT": postgres.materialize_connection_json(),
        "AIRFLOW_CONN_AWS_DEFAULT": s3.aws_connection_json(),
    }


@contextlib.contextmanager
def running_servers(
    postgres_settings: dict[str, str] | None = None,
) -> Iterator[tuple[PostgresServer, S3Server]]:
    postgres = PostgresServer(settings=postgres_settings or {})
    s3 = S3Server()
    try:
        postgres.start()
        s3.start()
        yield postgres, s3
    finally:
        s3.stop()
        postgres.stop()
