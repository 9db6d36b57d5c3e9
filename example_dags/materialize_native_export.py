"""
Nightly native-mode export: Materialize writes the Parquet files to S3 itself, on its own cluster.

No data passes through the Airflow worker, so this scales with the Materialize cluster rather
than the worker. The first task makes sure Materialize's AWS connection exists (it is created the
first time, from the role ARN in the Params, and validated on every run); the export then runs
``COPY ... TO 's3://...'`` and the operator checks Materialize's files against its row count
before writing ``_manifest.json``. The last task reads the statistics from XCom.

Materialize's role needs s3:ListBucket, s3:PutObject and s3:DeleteObject on the target, and the
Airflow AWS connection (``aws_default``) needs s3:ListBucket, s3:GetObject, s3:PutObject and
s3:DeleteObject to check the files and write the manifest (see the README).
"""

from __future__ import annotations

import logging
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

from airflow_provider_materialize.export.sizes import human_size
from airflow_provider_materialize.hooks.materialize import MaterializeHook
from airflow_provider_materialize.operators.copy_to_s3 import MaterializeCopyToS3Operator

log = logging.getLogger(__name__)

# One folder per day; run_after also exists on manual runs, which have no logical date.
DAY_FOLDER = "s3://{{ params.bucket }}/{{ params.prefix }}/date={{ dag_run.run_after.strftime('%Y-%m-%d') }}/"


@dag(
    dag_id="materialize_native_export",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    description="Nightly native export: Materialize's COPY TO S3 writes the Parquet files itself",
    doc_md=__doc__,
    params={
        "source": Param(
            "public.orders_summary",
            type="string",
            title="Source",
            description='View or table to export; double-quote names with capitals: "MixedCase"',
            minLength=1,
        ),
        "bucket": Param("my-data-lake", type="string", title="Bucket", description="Target bucket"),
        "prefix": Param(
            "materialize/orders_summary",
            type="string",
            title="Folder path",
            description="Path inside the bucket; each day writes under <path>/date=YYYY-MM-DD/",
            minLength=1,
        ),
        "aws_connection": Param(
            "s3_writer",
            type="string",
            title="Materialize AWS connection",
            description="Name of the AWS connection inside Materialize (created by the first task)",
        ),
        "role_arn": Param(
            "arn:aws:iam::123456789012:role/materialize-s3-writer",
            type="string",
            title="IAM role ARN",
            description="IAM role Materialize assumes to write to the bucket",
            pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$",
        ),
        "region": Param("us-east-1", type="string", title="Region", description="Region of the bucket"),
        "cluster": Param(
            "quickstart",
            type="string",
            title="Cluster",
            description="Materialize cluster that runs the COPY and writes the files",
        ),
    },
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=5)},
    tags=["materialize", "example"],
)
def materialize_native_export() -> None:
    @task
    def ensure_aws_connection(params: dict[str, Any]) -> str:
        """Create Materialize's AWS connection the first time; validate it on every run."""
        MaterializeHook().create_aws_connection(
            params["aws_connection"], role_arn=params["role_arn"], region=params["region"]
        )
        return params["aws_connection"]

    export = MaterializeCopyToS3Operator(
        task_id="native_export_to_s3",
        source="{{ params.source }}",
        s3_uri=DAY_FOLDER,
        aws_connection="{{ params.aws_connection }}",
        cluster="{{ params.cluster }}",
        max_file_size="512MB",
    )

    @task(retries=0)
    def report(stats: dict[str, Any]) -> int:
        log.info(
            "Materialize wrote %s rows in %d file(s), %s, to %s",
            f"{stats['rows']:,}",
            len(stats["files"]),
            human_size(stats["bytes"]),
            stats["uri"],
        )
        return stats["rows"]

    ensure_aws_connection() >> export
    report(export.output)


dag = materialize_native_export()

if __name__ == "__main__":
    dag.test()
