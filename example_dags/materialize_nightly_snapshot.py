"""
Nightly snapshot of a Materialize view to S3 as Parquet.

Every run writes a folder of its own, named after the run's ``run_after`` time: it exists for
scheduled runs (the end of the data interval) and for manual runs alike -- manual runs have no
logical date in Airflow 3, so ``{{ ds }}`` would fail there. A retry of the same run reuses the
folder, and the operator cleans its own earlier try's leftovers first.

The downstream task reads the statistics from XCom, logs them, and fails the run when the snapshot
is empty. Connections used: ``materialize_default`` (type ``materialize``) and ``aws_default``.

A manual run takes other values in the Trigger form: the source, the bucket and the folder path.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

from airflow_provider_materialize.export.sizes import human_size
from airflow_provider_materialize.operators.copy_to_s3 import MaterializeCopyToS3Operator

log = logging.getLogger(__name__)

RUN_FOLDER = (
    "s3://{{ params.bucket }}/{{ params.prefix }}/"
    "date={{ dag_run.run_after.strftime('%Y-%m-%d') }}/run={{ dag_run.run_after.strftime('%H%M%S') }}/"
)


@dag(
    dag_id="materialize_nightly_snapshot",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    description="Nightly snapshot of a Materialize view to S3 as Parquet, one folder per run",
    doc_md=__doc__,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    params={
        "source": Param(
            "public.orders_summary",
            type="string",
            title="Source",
            description="View or table to snapshot, e.g. analytics.daily_revenue; double-quote names "
            'with capitals: "MixedCase"',
            minLength=1,
        ),
        "bucket": Param(
            "my-data-lake",
            type="string",
            title="Bucket",
            description="S3 bucket that receives the run's folder",
            pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        ),
        "prefix": Param(
            "materialize/orders_summary",
            type="string",
            title="Folder path",
            description="Path inside the bucket; each run writes under <path>/date=YYYY-MM-DD/run=HHMMSS/",
            minLength=1,
        ),
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
        log.info(
            "Snapshot checked: %s rows in %d file(s), %s, snapshot timestamp %s; manifest: %s",
            f"{stats['rows']:,}",
            len(stats["files"]),
            human_size(stats["bytes"]),
            stats["snapshot_timestamp"],
            stats["manifest_uri"],
        )
        return int(stats["rows"])

    check_snapshot(snapshot.output)


dag = materialize_nightly_snapshot()

if __name__ == "__main__":
    dag.test()
