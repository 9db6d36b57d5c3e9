"""The real Materialize the opt-in suites run against (``MATERIALIZE_TEST_URL``), with a scratch schema."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

import pytest

from airflow_provider_materialize.hooks.materialize import MaterializeHook

MATERIALIZE_URL = os.environ.get("MATERIALIZE_TEST_URL")
CLUSTER = os.environ.get("MATERIALIZE_TEST_CLUSTER", "quickstart")


@pytest.fixture(scope="module")
def materialize(connections: None) -> Iterator[str]:
    """Point ``materialize_default`` at the real Materialize; yields a scratch schema name."""
    url = urlsplit(MATERIALIZE_URL or "")
    extra = dict(part.split("=", 1) for part in url.query.split("&") if "=" in part)
    os.environ["AIRFLOW_CONN_MATERIALIZE_DEFAULT"] = json.dumps(
        {
            "conn_type": "materialize",
            "host": url.hostname,
            "port": url.port,
            "login": unquote(url.username or ""),
            "password": unquote(url.password or ""),
            "schema": url.path.lstrip("/"),
            "extra": {**extra, "cluster": CLUSTER},
        }
    )
    schema = f"airflow_provider_test_{uuid.uuid4().hex[:8]}"
    hook = MaterializeHook()
    hook.run(f"CREATE SCHEMA {schema}", autocommit=True)
    hook.run(
        f"CREATE TABLE {schema}.t (b boolean, i int, n numeric(10, 2), nu numeric, u uint4, tx text, "
        f"j jsonb, ts timestamptz, a int[])",
        autocommit=True,
    )
    hook.run(
        f"INSERT INTO {schema}.t VALUES (true, 1, 1.50, 1234, 7, 'x', '{{\"b\": [1, 2]}}', "
        f"'2024-01-02 03:04:05+02', '{{{{1,2}},{{3,4}}}}'), "
        "(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
        autocommit=True,
    )
    hook.run(f"CREATE MATERIALIZED VIEW {schema}.mv AS SELECT * FROM {schema}.t", autocommit=True)
    yield schema
    hook.run(f"DROP SCHEMA {schema} CASCADE", autocommit=True)
