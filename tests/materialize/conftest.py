"""The real Materialize the opt-in suites run against (``MATERIALIZE_TEST_URL``), with a scratch schema.

Native mode also needs an S3-compatible store that both Materialize and this machine reach
(``MATERIALIZE_TEST_S3_*``, see ``test_real_native_mode.py``): the ``store`` and
``aws_connection`` fixtures below.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from airflow_provider_materialize.hooks.materialize import MaterializeHook

MATERIALIZE_URL = os.environ.get("MATERIALIZE_TEST_URL")
CLUSTER = os.environ.get("MATERIALIZE_TEST_CLUSTER", "quickstart")
NO_MATERIALIZE = (
    "no Materialize to test against: set MATERIALIZE_TEST_URL="
    "postgresql://user@host:6875/materialize (e.g. the materialize/materialized emulator image)"
)

S3_ENDPOINT = os.environ.get("MATERIALIZE_TEST_S3_ENDPOINT")  # as Materialize reaches the store
S3_LOCAL_ENDPOINT = os.environ.get("MATERIALIZE_TEST_S3_LOCAL_ENDPOINT", S3_ENDPOINT)  # as this machine does
S3_BUCKET = os.environ.get("MATERIALIZE_TEST_S3_BUCKET")
S3_KEY = os.environ.get("MATERIALIZE_TEST_S3_KEY", "")
S3_SECRET = os.environ.get("MATERIALIZE_TEST_S3_SECRET", "")
S3_REGION = os.environ.get("MATERIALIZE_TEST_S3_REGION", "us-east-1")
HAS_STORE = bool(MATERIALIZE_URL and S3_ENDPOINT and S3_BUCKET)
NO_STORE = (
    "native mode needs a real Materialize and an S3 store it can reach: set MATERIALIZE_TEST_URL, "
    "MATERIALIZE_TEST_S3_ENDPOINT, MATERIALIZE_TEST_S3_BUCKET, MATERIALIZE_TEST_S3_KEY and "
    "MATERIALIZE_TEST_S3_SECRET (e.g. the materialize/materialized emulator image and MinIO)"
)

# What the fidelity tests export besides t and mv: NOT NULL columns (a table and a materialized view
# over it, whose columns Materialize derives as NOT NULL too) and arrays of constrained elements.
FIDELITY_SQL = (
    "CREATE TABLE {schema}.nn (id int NOT NULL, label text NOT NULL, tags int[] NOT NULL, note text)",
    "INSERT INTO {schema}.nn VALUES (1, 'x', '{{1}}', NULL), (2, 'y', '{{2,3}}', 'z')",
    "CREATE MATERIALIZED VIEW {schema}.nn_mv AS SELECT id, label, tags, note FROM {schema}.nn",
    "CREATE TABLE {schema}.typed_arrays (amounts numeric(38,16)[], codes varchar(5)[])",
    "INSERT INTO {schema}.typed_arrays VALUES ('{{1.5,2.25}}', '{{ab,cde}}'), (NULL, NULL)",
)


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


@pytest.fixture(scope="module")
def fidelity(materialize: str) -> str:
    """The scratch schema, with the objects of ``FIDELITY_SQL`` added."""
    hook = MaterializeHook()
    for statement in FIDELITY_SQL:
        hook.run(statement.format(schema=materialize), autocommit=True)
    return materialize


@pytest.fixture(scope="module")
def store(connections: None) -> Iterator[Any]:
    """``aws_default`` points at the shared store while the module runs; yields a boto3 client for it."""
    import boto3

    previous = os.environ.get("AIRFLOW_CONN_AWS_DEFAULT")
    os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps(
        {
            "conn_type": "aws",
            "login": S3_KEY,
            "password": S3_SECRET,
            "extra": {"endpoint_url": S3_LOCAL_ENDPOINT, "region_name": S3_REGION},
        }
    )
    yield boto3.client(
        "s3",
        endpoint_url=S3_LOCAL_ENDPOINT,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
        region_name=S3_REGION,
    )
    if previous is None:  # the client-mode suites write to the suite's own S3 server again
        os.environ.pop("AIRFLOW_CONN_AWS_DEFAULT", None)
    else:
        os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = previous


@pytest.fixture(scope="module")
def aws_connection(materialize: str) -> str:
    """A Materialize AWS connection to the shared store, in the scratch schema."""
    name = f"{materialize}.s3_writer"
    MaterializeHook().create_aws_connection(
        name, access_key_id=S3_KEY, secret_access_key=S3_SECRET, region=S3_REGION, endpoint=S3_ENDPOINT
    )
    return name
