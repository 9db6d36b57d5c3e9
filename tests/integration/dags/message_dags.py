"""A DAG for tests/integration/operators/test_ui_messages.py: one export whose every argument is a Param."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_materialize.operators.copy_to_s3 import MaterializeCopyToS3Operator

with DAG(
    "messages_export",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    params={
        "s3_uri": Param("s3://unset/unset/", type="string"),
        "source": Param("public.orders", type="string"),
        "max_file_size": Param("1MB", type="string"),
    },
) as messages_dag:
    MaterializeCopyToS3Operator(
        task_id="export",
        source="{{ params.source }}",
        s3_uri="{{ params.s3_uri }}",
        max_file_size="{{ params.max_file_size }}",
    )
