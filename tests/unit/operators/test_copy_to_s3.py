"""The operator when a DAG is parsed: which arguments it checks then, and what it leaves to execute()."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk import DAG, task

from airflow_provider_materialize.operators.copy_to_s3 import MaterializeCopyToS3Operator


def build(**kwargs: Any) -> MaterializeCopyToS3Operator:
    return MaterializeCopyToS3Operator(**{"task_id": "t", "source": "v", "s3_uri": "s3://bkt/p/", **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source": None}, "exactly one of source="),
        ({"reader": "odbc"}, "reader 'odbc'"),
        ({"compression": "brotli"}, "compression 'brotli'"),
        ({"format": "csv"}, "csv is available in native mode"),
        ({"csv_delimiter": "|"}, "only to format='csv'"),
        ({"aws_connection": "c", "format": "json"}, "choose one of parquet, csv"),
    ],
)
def test_literal_untemplated_arguments_fail_when_the_dag_is_parsed(kwargs: dict[str, Any], message: str):
    with pytest.raises(ValueError, match=message):
        build(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"source": "x; DROP TABLE y"},  # refused once rendered, in execute
        {"source": None, "query": "{% if params.full %}SELECT * FROM t{% else %}SELECT 1{% endif %}"},
        {"source": None, "query": "export.sql"},
        {"s3_uri": "s3://{{ params.bucket }}/{{ params.prefix }}/"},
        {"max_file_size": "{{ params.size }}"},
        {"aws_connection": "{{ params.conn }}", "format": "csv", "csv_header": True},
        {"aws_connection": "c", "max_file_size": "1MB"},  # native limits: checked in execute
    ],
)
def test_templated_arguments_are_not_judged_before_rendering(kwargs: dict[str, Any]) -> None:
    build(**kwargs)


def test_upstream_outputs_are_accepted_for_every_templated_argument() -> None:
    with DAG("xcom_args", schedule=None):

        @task
        def produce() -> str:
            return "value"

        values = {name: produce() for name in MaterializeCopyToS3Operator.template_fields}
        operator = MaterializeCopyToS3Operator(task_id="export", **values)
    assert set(operator.upstream_task_ids) == {value.operator.task_id for value in values.values()}


def test_queries_may_be_sql_template_files() -> None:
    assert ".sql" in MaterializeCopyToS3Operator.template_ext
    assert MaterializeCopyToS3Operator.template_fields_renderers == {"query": "sql"}
