"""Native mode over the wire: one stand-in per test module, with the tables and the AWS connection
its tests use, and ``materialize_default`` leading to it during each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.standin.native.native_runs import ROWS
from tests.support.materialize_standin import MaterializeStandin


@pytest.fixture(scope="module")
def mz(postgres: Any, s3_server: Any) -> Iterator[MaterializeStandin]:
    with MaterializeStandin(postgres=postgres, s3=s3_server, clusters=("quickstart", "exports")) as standin:
        standin.execute(
            "CREATE TABLE orders (id bigint NOT NULL, name text, amount numeric(12,2));"
            f"INSERT INTO orders SELECT g, 'n' || g, g * 1.25 FROM generate_series(1, {ROWS}) g;"
            "CREATE TABLE readings (id int NOT NULL, value numeric)"
        )
        standin.create_aws_connection("s3_writer")
        yield standin


@pytest.fixture(autouse=True)
def materialize_default(mz: MaterializeStandin, monkeypatch: pytest.MonkeyPatch) -> None:
    """``materialize_default`` leads to the stand-in during each test, to the test PostgreSQL after it."""
    monkeypatch.setenv("AIRFLOW_CONN_MATERIALIZE_DEFAULT", mz.materialize_connection_json())
