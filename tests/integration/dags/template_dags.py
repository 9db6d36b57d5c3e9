"""DAGs for tests/integration/operators/test_templates.py; each takes its target bucket from Params.

A DAG file rather than DAGs built inside the tests: ``dag.test()`` runs only DAGs it finds in a bundle.
"""

from __future__ import annotations

from pathlib import Path

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_materialize.operators.copy_to_s3 import MaterializeCopyToS3Operator

START = pendulum.datetime(2026, 1, 1, tz="UTC")
BUCKET = {"bucket": Param("unset", type="string")}

with DAG("templates_xcom_args", schedule=None, start_date=START, params=BUCKET) as xcom_args_dag:

    @task
    def choose_folder(params: dict) -> str:
        return f"s3://{params['bucket']}/from_xcom/"

    @task
    def choose_source() -> str:
        return "public.template_rows"

    MaterializeCopyToS3Operator(
        task_id="export", source=choose_source(), s3_uri=choose_folder(), max_file_size="1MB"
    )

with DAG(
    "templates_sql_file",
    schedule=None,
    start_date=START,
    template_searchpath=[str(Path(__file__).parent)],
    params={**BUCKET, "group": Param(1, type="integer")},
) as sql_file_dag:
    MaterializeCopyToS3Operator(
        task_id="export", query="template_rows_of_group.sql", s3_uri="s3://{{ params.bucket }}/sql_file/"
    )

with DAG(
    "templates_jinja_blocks",
    schedule=None,
    start_date=START,
    params={**BUCKET, "full": Param(True, type="boolean")},
) as jinja_blocks_dag:
    MaterializeCopyToS3Operator(
        task_id="export",
        query=(
            "SELECT id, grp FROM template_rows{% if not params.full %} WHERE grp = 0{% endif %}"
            "{% for extra in ['id'] %} ORDER BY {{ extra }}{% endfor %}"
        ),
        s3_uri="s3://{{ params.bucket }}/jinja/{{ 'full' if params.full else 'part' }}/",
    )

with DAG(
    "templates_rendered_values",
    schedule=None,
    start_date=START,
    params={**BUCKET, "source": "template_rows", "folder": "", "size": "16MB"},
) as rendered_values_dag:
    MaterializeCopyToS3Operator(
        task_id="export",
        source="{{ params.source }}",
        s3_uri="{{ params.folder or 's3://' ~ params.bucket ~ '/rendered/' }}",
        max_file_size="{{ params.size }}",
    )
