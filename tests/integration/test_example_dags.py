"""The example DAGs, run end to end through Airflow (dag.test) against the test servers."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from dev.sample_data import SAMPLE_SQL
from tests.conftest import ROOT, list_keys, read_parquet

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]


@pytest.fixture(scope="module")
def airflow_db(postgres) -> None:
    postgres.execute(SAMPLE_SQL)
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, cwd=ROOT
    )


def _load_dag(module_name: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(module_name, ROOT / "example_dags" / f"{module_name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def _results(dag_run: Any) -> dict[str, Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(
            XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id, key="return_value")
        ).all()
        states = {ti.task_id: ti.state for ti in dag_run.get_task_instances(session=session)}
        return {"xcom": {row.task_id: row.value for row in rows}, "states": states}


def test_nightly_snapshot_dag_on_a_manual_run_without_logical_date(airflow_db, s3, bucket) -> None:
    dag = _load_dag("materialize_nightly_snapshot")
    dag_run = dag.test(logical_date=None, run_conf={"bucket": bucket, "prefix": "nightly/orders_summary"})
    results = _results(dag_run)
    assert dag_run.state == "success", results
    stats = results["xcom"]["snapshot_to_s3"]
    assert stats["rows"] == 97 and results["xcom"]["check_snapshot"] == 97
    run_after = dag_run.run_after
    folder = f"nightly/orders_summary/date={run_after:%Y-%m-%d}/run={run_after:%H%M%S}/"
    assert stats["uri"] == f"s3://{bucket}/{folder}"
    assert list_keys(s3, bucket) == [f"{folder}_manifest.json", f"{folder}part-00000.parquet"]
    table = read_parquet(s3, bucket, f"{folder}part-00000.parquet").read()
    assert table.column_names == ["customer", "orders", "revenue", "last_order"] and table.num_rows == 97


def test_nightly_snapshot_dag_fails_downstream_on_an_empty_snapshot(airflow_db, bucket) -> None:
    dag = _load_dag("materialize_nightly_snapshot")
    dag_run = dag.test(run_conf={"bucket": bucket, "source": "public.no_orders"})
    results = _results(dag_run)
    assert dag_run.state == "failed"
    assert results["states"] == {"snapshot_to_s3": "success", "check_snapshot": "failed"}
    assert results["xcom"]["snapshot_to_s3"]["rows"] == 0


def test_on_demand_dag_takes_its_params_from_the_trigger_form(airflow_db, s3, bucket) -> None:
    dag = _load_dag("materialize_snapshot_on_demand")
    conf = {
        "source": "orders",
        "s3_uri": f"s3://{bucket}/adhoc/orders",
        "max_file_size": "1MB",
        "cluster": None,
    }
    dag_run = dag.test(logical_date=None, run_conf=conf)
    results = _results(dag_run)
    assert dag_run.state == "success", results
    stats = results["xcom"]["snapshot_to_s3"]
    assert stats["rows"] == 20000 and stats["uri"] == f"s3://{bucket}/adhoc/orders/"
    assert f"adhoc/orders/{'_manifest.json'}" in list_keys(s3, bucket)
