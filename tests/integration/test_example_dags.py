"""The example DAGs, run end to end through Airflow (dag.test) against the test servers."""

from __future__ import annotations

import pytest

from tests.support.dag_runs import dag_run_results, load_example_dag, migrate_airflow_db
from tests.support.s3_objects import file_keys, list_keys, read_parquet
from tests.support.sample_data import SAMPLE_SQL

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]


@pytest.fixture(scope="module")
def airflow_db(postgres) -> None:
    postgres.execute(SAMPLE_SQL)
    migrate_airflow_db()


def test_nightly_snapshot_dag_on_a_manual_run_without_logical_date(airflow_db, s3, bucket) -> None:
    dag = load_example_dag("materialize_nightly_snapshot")
    dag_run = dag.test(logical_date=None, run_conf={"bucket": bucket, "prefix": "nightly/orders_summary"})
    results = dag_run_results(dag_run)
    assert dag_run.state == "success", results
    stats = results["xcom"]["snapshot_to_s3"]
    assert stats["rows"] == 97 and results["xcom"]["check_snapshot"] == 97
    run_after = dag_run.run_after
    folder = f"nightly/orders_summary/date={run_after:%Y-%m-%d}/run={run_after:%H%M%S}/"
    assert stats["uri"] == f"s3://{bucket}/{folder}"
    (key,) = file_keys(stats)
    assert list_keys(s3, bucket) == [f"{folder}_manifest.json", key]
    assert key.startswith(f"{folder}part-00000-")
    table = read_parquet(s3, bucket, key).read()
    assert table.column_names == ["customer", "orders", "revenue", "last_order"] and table.num_rows == 97


def test_nightly_snapshot_dag_fails_downstream_on_an_empty_snapshot(airflow_db, bucket) -> None:
    dag = load_example_dag("materialize_nightly_snapshot")
    dag_run = dag.test(run_conf={"bucket": bucket, "source": "public.no_orders"})
    results = dag_run_results(dag_run)
    assert dag_run.state == "failed"
    assert results["states"] == {"snapshot_to_s3": "success", "check_snapshot": "failed"}
    assert results["xcom"]["snapshot_to_s3"]["rows"] == 0


def test_on_demand_dag_takes_its_params_from_the_trigger_form(airflow_db, s3, bucket) -> None:
    dag = load_example_dag("materialize_snapshot_on_demand")
    conf = {
        "source": "orders",
        "s3_uri": f"s3://{bucket}/adhoc/orders",
        "max_file_size": "1MB",
        "cluster": None,
    }
    dag_run = dag.test(logical_date=None, run_conf=conf)
    results = dag_run_results(dag_run)
    assert dag_run.state == "success", results
    stats = results["xcom"]["snapshot_to_s3"]
    assert stats["rows"] == 20000 and stats["uri"] == f"s3://{bucket}/adhoc/orders/"
    assert f"adhoc/orders/{'_manifest.json'}" in list_keys(s3, bucket)


def test_native_export_dag_wires_connection_setup_export_and_report() -> None:
    # Its run needs a real Materialize (tests/materialize covers native mode end to end); here the
    # file must import, pass the operator's parse-time checks and wire its tasks.
    dag = load_example_dag("materialize_native_export")
    assert {task.task_id for task in dag.tasks} == {"ensure_aws_connection", "native_export_to_s3", "report"}
    export = dag.get_task("native_export_to_s3")
    assert export.aws_connection == "{{ params.aws_connection }}"
    assert export.upstream_task_ids == {"ensure_aws_connection"}
    assert dag.get_task("report").upstream_task_ids == {"native_export_to_s3"}
