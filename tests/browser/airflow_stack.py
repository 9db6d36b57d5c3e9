"""A real Airflow (API server, scheduler, DAG processor) on 127.0.0.1, for the browser test.

Its metadata database lives in the throwaway PostgreSQL (LocalExecutor needs more than SQLite), its
only DAG bundle is ``example_dags/``, and its simple auth manager makes everyone an admin, so the
browser needs no login. Every process runs in its own session and is stopped by its group id.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.servers import PostgresServer, S3Server, free_port

ROOT = Path(__file__).resolve().parents[2]
METADATA_DATABASE = "airflow_metadata"
BUCKET = "browser-lake"  # the runs' S3 target


@dataclass(kw_only=True)
class AirflowStack:
    """Airflow's API server, scheduler and DAG processor, pointed at the test servers.

    :param postgres: The throwaway PostgreSQL: hosts the metadata database (and the data to export).
    :param s3: The moto S3 server behind ``aws_default``.
    """

    postgres: PostgresServer
    s3: S3Server
    port: int = field(default_factory=free_port)
    home: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mzprov-browser-airflow-")))
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        bundle = '[{"name": "example-dags", "classpath": '
        bundle += '"airflow.dag_processing.bundles.local.LocalDagBundle", '
        bundle += f'"kwargs": {{"path": "{ROOT / "example_dags"}"}}}}]'
        metadata = f"postgresql+psycopg://postgres@127.0.0.1:{self.postgres.port}/{METADATA_DATABASE}"
        env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
        return {
            **env,
            # The working tree's provider, whichever way the interpreter has it installed
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": bundle,
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            # The run's S3 target; the Materialize connection is made in the browser
            "AIRFLOW_CONN_AWS_DEFAULT": self.s3.aws_connection_json(),
        }

    def start(self, timeout: float = 240) -> AirflowStack:
        self.postgres.execute(f"CREATE DATABASE {METADATA_DATABASE}", database="postgres")
        env = self.environment()
        self.airflow("db", "migrate", env=env, timeout=timeout)
        for name in ("api-server", "scheduler", "dag-processor"):
            log = open(self.home / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the process
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "airflow", name],
                env=env,
                cwd=self.home,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_for_api(timeout)
        return self

    def airflow(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
        """Run an ``airflow`` CLI command against this stack; its output, or an error with it."""
        done = subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=env or self.environment(),
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
        return done.stdout

    def _wait_for_api(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"airflow {name} exited early; its log:\n{self.log_tail(name)}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5):
                    return
            except OSError:
                time.sleep(1)
        raise RuntimeError(
            f"the API server did not answer within {timeout:.0f}s:\n{self.log_tail('api-server')}"
        )

    def log_tail(self, name: str, characters: int = 4000) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace")[-characters:] if path.exists() else "(no log)"

    def stop(self) -> None:
        # Each process leads its own group: the group holds its workers and task processes too.
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(30)
            _signal_group(process, signal.SIGKILL)
            process.wait(10)
        self.processes.clear()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
