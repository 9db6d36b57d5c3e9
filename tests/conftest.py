"""Shared fixtures: a throwaway PostgreSQL and S3-compatible server, and Airflow's environment.

Airflow reads its configuration when first imported, so AIRFLOW_HOME and friends are set here,
at import time of this conftest, before any test module imports Airflow. The servers and helpers
themselves live in ``tests/support/``, which ``dev/`` and ``bench/`` use too.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.operator_run import prepare_environment
from tests.support.servers import PostgresServer, S3Server, connection_environment, running_servers

prepare_environment()  # before any test module imports Airflow


def _interrupt_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def servers() -> Iterator[tuple[PostgresServer, S3Server]]:
    # A CI time-out or `kill` sends SIGTERM: turn it into an interrupt so the servers still stop.
    previous = signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    try:
        with running_servers() as started:
            yield started
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="session")
def postgres(servers: tuple[PostgresServer, S3Server]) -> PostgresServer:
    return servers[0]


@pytest.fixture(scope="session")
def s3_server(servers: tuple[PostgresServer, S3Server]) -> S3Server:
    return servers[1]


@pytest.fixture(scope="session", autouse=False)
def connections(postgres: PostgresServer, s3_server: S3Server) -> Iterator[None]:
    """``materialize_default`` and ``aws_default`` point at the test servers (as env connections)."""
    variables = connection_environment(postgres, s3_server)
    os.environ.update(variables)
    yield
    for name in variables:
        os.environ.pop(name, None)


@pytest.fixture
def s3(s3_server: S3Server) -> Any:
    return s3_server.client()


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"test-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name
