"""The example DAGs, run end to end through Airflow (dag.test) against the test servers."""

from __future__ import annotations

import pytest

from tests.support.dag_runs import dag_run_results, load_example_dag, migrate_airflow_db
from tests.support.materialize_standin import MaterializeStandin
from tests.support.s3_objects import assert_published_exactly, file_keys, list_keys, read_parquet
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


def test_native_export_dag_runs_against_the_materialize_standin(
    airflow_db, postgres, s3_server, s3, bucket, monkeypatch
) -> None:
    # materialize_default leads to the Materialize stand-in for this run: the DAG creates its AWS
    # connection from the role ARN (the stand-in accepts and validates it without calling AWS, and
    # writes with the test S3 server's credentials), then Materialize's COPY writes the files.
    with MaterializeStandin(postgres=postgres, s3=s3_server) as mz:
        mz.execute(SAMPLE_SQL)
        monkeypatch.setenv("AIRFLOW_CONN_MATERIALIZE_DEFAULT", mz.materialize_connection_json())
        dag = load_example_dag("materialize_native_export")
        assert dag.get_task("native_export_to_s3").upstream_task_ids == {"ensure_aws_connection"}
        dag_run = dag.test(logical_date=None, run_conf={"bucket": bucket, "prefix": "native/orders_summary"})
        results = dag_run_results(dag_run)
        copies, statements = list(mz.copies), list(mz.statements)
    assert dag_run.state == "success", results
    assert results["xcom"]["ensure_aws_connection"] == "s3_writer"
    assert (
        'CREATE CONNECTION IF NOT EXISTS "s3_writer" TO AWS (ASSUME ROLE ARN = '
        "'arn:aws:iam::123456789012:role/materialize-s3-writer', REGION = 'us-east-1')"
    ) in statements
    assert 'VALIDATE CONNECTION "s3_writer"' in statements and 'SET cluster = "quickstart"' in statements
    folder = f"native/orders_summary/date={dag_run.run_after:%Y-%m-%d}/"
    (copy,) = copies
    assert copy.error is None and copy.max_file_size == 512 * 1024**2 and copy.path == folder.rstrip("/")
    stats = results["xcom"]["native_export_to_s3"]
    assert stats["mode"] == "native" and stats["format"] == "parquet" and stats["rows"] == copy.rows == 97
    assert stats["uri"] == f"s3://{bucket}/{folder}" and stats["snapshot_timestamp"] is None
    assert file_keys(stats) == sorted(copy.files) and all(f["rows"] is not None for f in stats["files"])
    assert results["xcom"]["report"] == 97
    manifest = assert_published_exactly(s3, bucket, folder, 97, key_column="customer")
    assert manifest["mode"] == "native" and manifest["files"] == stats["files"]
