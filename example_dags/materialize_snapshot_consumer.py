"""
Runs whenever the nightly snapshot DAG (``materialize_nightly_snapshot``) has published a new folder.

The export task emits an Airflow asset event for the folder it wrote, with the export's statistics
in the event's extra: ``rows``, ``bytes``, ``files`` (a count), ``snapshot_timestamp``,
``manifest_uri`` and ``mode``. The nightly DAG writes a new folder every run (its ``s3_uri`` is
templated), so each run adds a new asset, ``s3://bucket/.../date=.../run=...``, through the task's
asset alias ``materialize:materialize_nightly_snapshot/snapshot_to_s3``; this DAG is scheduled on
that alias. An export whose ``s3_uri`` is fixed emits its folder's asset itself, and a consumer
schedules on ``folder_asset("s3://bucket/path/")`` instead.

Nothing here reads the data: it shows where a downstream job finds the folder and its statistics.
"""

from __future__ import annotations

import logging
from typing import Any

import pendulum
from airflow.sdk import dag, task

from airflow_provider_materialize.lineage import export_alias

log = logging.getLogger(__name__)

# The alias the nightly DAG's export task adds its folders through:
# AssetAlias(name="materialize:materialize_nightly_snapshot/snapshot_to_s3")
NIGHTLY_SNAPSHOTS = export_alias("materialize_nightly_snapshot", "snapshot_to_s3")


@dag(
    dag_id="materialize_snapshot_consumer",
    schedule=NIGHTLY_SNAPSHOTS,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    doc_md=__doc__,
    description="Runs when the nightly Materialize snapshot has published a new folder",
    tags=["materialize", "example"],
)
def materialize_snapshot_consumer() -> None:
    @task
    def read_new_snapshot(*, triggering_asset_events: Any = None) -> dict[str, Any]:
        """Log and return the newest snapshot folder that triggered this run, with its statistics."""
        events = list(triggering_asset_events[NIGHTLY_SNAPSHOTS]) if triggering_asset_events else []
        if not events:
            raise ValueError(
                "This run was not started by a new snapshot, so there is no folder to read. It runs by "
                "itself once materialize_nightly_snapshot has exported; trigger that DAG instead."
            )
        event = max(events, key=lambda e: e.timestamp)
        stats = dict(event.extra)
        log.info(
            "New snapshot %s: %s rows in %s file(s), %s bytes, %s mode, snapshot timestamp %s; manifest %s",
            event.asset.uri,
            f"{stats['rows']:,}",
            stats["files"],
            f"{stats['bytes']:,}",
            stats["mode"],
            stats["snapshot_timestamp"],
            stats["manifest_uri"],
        )
        return {"uri": event.asset.uri, **stats}

    read_new_snapshot()


dag = materialize_snapshot_consumer()
