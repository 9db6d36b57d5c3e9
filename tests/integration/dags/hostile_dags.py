"""DAGs for tests/integration/safety/: hostile text typed into a Trigger form, rendered by Jinja.

Every templated argument is ``{{ params.<name> }}``, so whatever a person types into the Trigger form
reaches the operator verbatim (text DAGs) or as the Python object Jinja's native rendering makes of
it (``hostile_native_values``: "123" becomes an int, "{'a': 1}" a dict, "None" None).
``secrets_export`` uses the connections that tests/integration/safety/test_secrets.py defines.

A DAG file rather than DAGs built inside the tests: ``dag.test()`` runs only DAGs it finds in a bundle.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_materialize.operators.copy_to_s3 import MaterializeCopyToS3Operator

START = pendulum.datetime(2026, 1, 1, tz="UTC")
URI = {"uri": Param("s3://unset/hostile/", type="string", title="Target folder")}

with DAG(
    "hostile_query_text",
    schedule=None,
    start_date=START,
    params={**URI, "q": Param("SELECT 1 AS x", type="string", title="Query")},
) as hostile_query_text:
    MaterializeCopyToS3Operator(
        task_id="export", query="{{ params.q }}", s3_uri="{{ params.uri }}", max_file_size="1MB"
    )

with DAG(
    "hostile_source_text",
    schedule=None,
    start_date=START,
    params={**URI, "source": Param("victim", type="string", title="Source")},
) as hostile_source_text:
    MaterializeCopyToS3Operator(
        task_id="export", source="{{ params.source }}", s3_uri="{{ params.uri }}", max_file_size="1MB"
    )

# Untyped Params: the Trigger form (or run_conf) may hold any JSON value.
with DAG(
    "hostile_native_values",
    schedule=None,
    start_date=START,
    params={"uri": "s3://unset/hostile/", "q": "SELECT 1 AS x", "cluster": None, "size": "1MB"},
    render_template_as_native_obj=True,
) as hostile_native_values:
    MaterializeCopyToS3Operator(
        task_id="export",
        query="{{ params.q }}",
        s3_uri="{{ params.uri }}",
        cluster="{{ params.cluster }}",
        max_file_size="{{ params.size }}",
    )

with DAG(
    "secrets_export",
    schedule=None,
    start_date=START,
    params={**URI, "q": Param("SELECT 1 AS x", type="string")},
) as secrets_export:
    MaterializeCopyToS3Operator(
        task_id="export",
        query="{{ params.q }}",
        s3_uri="{{ params.uri }}",
        max_file_size="1MB",
        materialize_conn_id="mz_secrets",
        aws_conn_id="aws_secrets",
    )
