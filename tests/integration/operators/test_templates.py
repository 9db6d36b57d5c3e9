"""Templated arguments the Airflow way, end to end through ``dag.test()``: XComArgs, .sql files, Jinja blocks.

The DAGs are in ``tests/integration/dags/template_dags.py``. A bad rendered value must still fail in the
task, before S3 is touched.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.dag_runs import dag_run_results, load_dag, migrate_airflow_db
from tests.support.s3_objects import file_keys, list_keys, read_parquet
from tests.support.servers import TEST_DAGS

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]


@pytest.fixture(scope="module")
def airflow_db(postgres) -> None:
    postgres.execute(
        "CREATE TABLE IF NOT EXISTS template_rows AS "
        "SELECT i AS id, i % 3 AS grp FROM generate_series(1, 30) AS i"
    )
    migrate_airflow_db()


def run(dag_id: str, **conf: Any) -> dict[str, Any]:
    dag = load_dag(TEST_DAGS / "template_dags.py", dag_id)
    dag_run = dag.test(logical_date=None, run_conf=conf)
    return {**dag_run_results(dag_run), "state": dag_run.state}


def test_s3_uri_and_source_from_upstream_tasks(airflow_db, s3, bucket) -> None:
    results = run("templates_xcom_args", bucket=bucket)
    assert results["state"] == "success", results
    stats = results["xcom"]["export"]
    assert stats["uri"] == f"s3://{bucket}/from_xcom/" and stats["rows"] == 30
    assert list_keys(s3, bucket) == ["from_xcom/_manifest.json", *file_keys(stats)]


def test_query_from_a_sql_template_file(airflow_db, s3, bucket) -> None:
    results = run("templates_sql_file", bucket=bucket, group=1)
    assert results["state"] == "success", results
    assert results["xcom"]["export"]["rows"] == 10
    table = read_parquet(s3, bucket, file_keys(results["xcom"]["export"])[0]).read()
    assert sorted(table.column("id").to_pylist()) == list(range(1, 30, 3))


@pytest.mark.parametrize(("full", "folder", "rows"), [(True, "full", 30), (False, "part", 10)])
def test_query_with_jinja_blocks(airflow_db, s3, bucket, full: bool, folder: str, rows: int) -> None:
    results = run("templates_jinja_blocks", bucket=bucket, full=full)
    assert results["state"] == "success", results
    stats = results["xcom"]["export"]
    assert stats["rows"] == rows and stats["uri"] == f"s3://{bucket}/jinja/{folder}/"


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"source": "template_rows; DROP TABLE template_rows"}, "is not a table or view name"),
        ({"folder": "s3://Not_A_Bucket/x/"}, "not a valid bucket name"),
        ({"size": "huge"}, "is not a size"),
    ],
)
def test_bad_rendered_values_fail_in_the_task_before_s3_is_touched(
    airflow_db, postgres, s3, bucket, conf: dict[str, str], message: str, capfd
) -> None:
    results = run("templates_rendered_values", bucket=bucket, **conf)
    assert results["state"] == "failed" and results["states"] == {"export": "failed"}
    task_output = capfd.readouterr().out  # the task's traceback, as its log shows it
    assert "ValueError" in task_output and message in task_output
    assert list_keys(s3, bucket) == []
    postgres.execute("SELECT count(*) FROM template_rows")  # still there


def test_good_rendered_values_succeed(airflow_db, s3, bucket) -> None:
    results = run("templates_rendered_values", bucket=bucket)
    assert results["state"] == "success", results
    assert results["xcom"]["export"]["rows"] == 30
