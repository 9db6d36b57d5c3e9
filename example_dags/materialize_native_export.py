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

from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

from airflow_provider_materialize.hooks.materialize import MaterializeHook
from airflow_provider_materialize.operators.copy_to_s3 import MaterializeCopyToS3Operator

# One folder per day; run_after also exists on manual runs, which have no logical date.
DAY_FOLDER = "s3://{{ params.bucket }}/{{ params.prefix }}/date={{ dag_run.run_after.strftime('%Y-%m-%d') }}/"


@dag(
    dag_id="materialize_native_export",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "source": Param("public.orders_summary", type="string", description="View or table to export"),
        "bucket": Param("my-data-lake", type="string", description="Target bucket"),
        "prefix": Param("materialize/orders_summary", type="string", description="Path inside the bucket"),
        "aws_connection": Param("s3_writer", type="string", description="Materialize AWS connection name"),
        "role_arn": Param(
            "arn:aws:iam::123456789012:role/materialize-s3-writer",
            type="string",
            description="IAM role Materialize assumes to write to the bucket",
        ),
        "region": Param("us-east-1", type="string", description="Region of the bucket"),
        "cluster": Param(
            "quickstart", type="string", description="Materialize cluster that writes the files"
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
        print(f"Materialize wrote {stats['rows']:,} rows in {len(stats['files'])} file(s) to {stats['uri']}")
        return stats["rows"]

    ensure_aws_connection() >> export
    report(export.output)


dag = materialize_native_export()

if __name__ == "__main__":
    dag.test()
