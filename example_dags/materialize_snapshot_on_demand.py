"""
Snapshot any Materialize view or table to S3, triggered by a person from the Airflow UI.

The Trigger form shows the Params below: what to export, where to, how large each file may be,
and which cluster serves the read (empty: the connection's cluster). The form checks the values'
shape before the run starts (an S3 folder, a size such as 64MB); what only the servers can tell
(a table that does not exist, a missing bucket, a folder that is not empty) fails the task with a
message that says which field to change.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag

from airflow_provider_materialize.export.sizes import SIZE_PATTERN
from airflow_provider_materialize.operators.copy_to_s3 import MaterializeCopyToS3Operator


@dag(
    dag_id="materialize_snapshot_on_demand",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    description="Snapshot any Materialize view or table to an S3 folder, from the Trigger form",
    doc_md=__doc__,
    params={
        "source": Param(
            "public.orders_summary",
            type="string",
            title="Source",
            description="Table, view or materialized view, e.g. analytics.daily_revenue; double-quote "
            'names with capitals: "MixedCase"',
            minLength=1,
        ),
        "s3_uri": Param(
            "s3://my-data-lake/adhoc/orders_summary/",
            type="string",
            title="Target folder",
            description="An empty S3 folder, s3://bucket/path/ (a folder that holds files is refused)",
            pattern=r"^s3://[^/]+/.*",
        ),
        "max_file_size": Param(
            "256MB",
            type="string",
            title="Max file size",
            description="Largest Parquet file, at least 1MB, e.g. 64MB, 1.5GB or 512MiB. "
            "Units count in powers of 1024, as in Materialize: 1MB = 1,048,576 bytes",
            pattern=SIZE_PATTERN,
        ),
        "cluster": Param(
            None,
            type=["null", "string"],
            title="Cluster",
            description="Materialize cluster for the read; empty uses the connection's cluster",
        ),
    },
    render_template_as_native_obj=True,
    tags=["materialize", "example"],
)
def materialize_snapshot_on_demand() -> None:
    MaterializeCopyToS3Operator(
        task_id="snapshot_to_s3",
        source="{{ params.source }}",
        s3_uri="{{ params.s3_uri }}",
        max_file_size="{{ params.max_file_size }}",
        cluster="{{ params.cluster }}",  # rendered as a native object: None when left empty
    )


dag = materialize_snapshot_on_demand()

if __name__ == "__main__":
    dag.test()
