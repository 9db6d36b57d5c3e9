"""
Nightly snapshot of a Materialize view to S3 as Parquet.

Every run writes a folder of its own, named after the run's ``run_after`` time: it exists for
scheduled runs (the end of the data interval) and for manual runs alike -- manual runs have no
logical date in Airflow 3, so ``{{ ds }}`` would fail there. A retry of the same run reuses the
folder, and the operator cleans its own earlier try's leftovers first.

The downstream task reads the statistics from XCom and fails the run when the snapshot is empty.
Connections used: ``materialize_default`` (type ``materialize``) and ``aws_default``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

from airflow_provider_materialize.operators.copy_to_s3 import MaterializeCopyToS3Operator

RUN_FOLDER = (
    "s3://{{ params.bucket }}/{{ params.prefix }}/"
    "date={{ dag_run.run_after.strftime('%Y-%m-%d') }}/run={{ dag_run.run_after.strftime('%H%M%S') }}/"
)


@dag(
    dag_id="materialize_nightly_snapshot",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    params={
        "source": Param("public.orders_summary", type="string", description="View or table to snapshot"),
        "bucket": Param("my-data-lake", type="string", description="Target bucket"),
        "prefix": Param("materialize/orders_summary", type="string", description="Folder inside the bucket"),
    },
    tags=["materialize", "example"],
)
def materialize_nightly_snapshot() -> None:
    snapshot = MaterializeCopyToS3Operator(
        task_id="snapshot_to_s3",
        source="{{ params.source }}",
        s3_uri=RUN_FOLDER,
        max_file_size="256MB",
    )

    @task(retries=0)  # retrying does not make an empty snapshot fuller
    def check_snapshot(stats: dict[str, Any]) -> int:
        """Fail when the snapshot is empty; otherwise report what was written."""
        if stats["rows"] == 0:
            raise ValueError(f"The snapshot in {stats['uri']} is empty: is the source view being fed?")
        print(
            f"{stats['rows']} rows in {len(stats['files'])} file(s), {stats['bytes']} bytes, "
            f"snapshot timestamp {stats['snapshot_timestamp']}; manifest: {stats['manifest_uri']}"
        )
        return int(stats["rows"])

    check_snapshot(snapshot.output)


dag = materialize_nightly_snapshot()

if __name__ == "__main__":
    dag.test()
