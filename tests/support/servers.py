"""Throwaway local servers for the tests, the demo and the benchmark.

* PostgreSQL, a wire-compatible stand-in for Materialize, started from the server binaries on
  this machine. PostgreSQL refuses to run as root, so under root the server runs as the
  ``postgres`` system user (or ``nobody``) and its data directory is handed to that user.
* moto's S3-compatible HTTP server, in its own process.

Both listen on 127.0.0.1 on a free port and are stopped by their own process id.

The servers themselves live in ``postgres_server`` and ``s3_server`` (their process helpers in
``server_process``); this module starts them together and builds the environments that point Airflow
at them. Every name the tests, ``dev/`` and ``bench/`` import from here stays importable here.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support.postgres_server import PostgresServer, find_postgres_bin, materialize_connection_json
from tests.support.s3_server import (
    MOTO_ENVIRONMENT,
    S3_ACCESS_KEY,
    S3_REGION,
    S3_SECRET_KEY,
    S3Server,
    s3_client,
)
from tests.support.server_process import free_port

__all__ = [
    "MOTO_ENVIRONMENT",
    "S3_ACCESS_KEY",
    "S3_REGION",
    "S3_SECRET_KEY",
    "TEST_DAGS",
    "PostgresServer",
    "S3Server",
    "airflow_environment",
    "connection_environment",
    "find_postgres_bin",
    "free_port",
    "materialize_connection_json",
    "running_servers",
    "s3_client",
]

TEST_DAGS = Path(__file__).resolve().parents[1] / "integration" / "dags"


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
