"""The folder's asset event with the statistics, and the example consumer DAG scheduled on it.

Producer run (``dag.test``) -> asset event recorded in the metadata DB with its extra -> a consumer
run whose triggering event it is. ``dag.test()`` runs no scheduler, so the consumer's run is created
as the scheduler creates asset-triggered runs (run type ``asset_triggered``, the event consumed) and
its tasks are run the way ``dag.test()`` runs them.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from airflow_provider_materialize.compat import Asset, AssetAlias
from airflow_provider_materialize.lineage import asset_extra, export_alias, folder_asset
from airflow_provider_materialize.operators.copy_to_s3 import MaterializeCopyToS3Operator
from tests.support.dag_runs import dag_run_results, load_example_dag, migrate_airflow_db
from tests.support.sample_data import SAMPLE_SQL

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]

ALIAS = "materialize:materialize_nightly_snapshot/snapshot_to_s3"


@pytest.fixture(scope="module")
def airflow_db(postgres) -> None:
    postgres.execute(SAMPLE_SQL)
    migrate_airflow_db()
    # The consumer must be known and unpaused for a new event to queue a run for it, as in production
    for command in (["dags", "reserialize"], ["dags", "unpause", "materialize_snapshot_consumer"]):
        subprocess.run([sys.executable, "-m", "airflow", *command], check=True, capture_output=True)


def queued_for(dag_id: str) -> list[int]:
    """The asset ids the scheduler has queued a run of ``dag_id`` for (AssetDagRunQueue)."""
    from airflow.models.asset import AssetDagRunQueue
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = select(AssetDagRunQueue.asset_id).where(AssetDagRunQueue.target_dag_id == dag_id)
        return list(session.scalars(query).all())


def recorded_events(uri: str) -> list[Any]:
    """The asset events the metadata DB holds for the asset ``uri``, with their aliases loaded."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    with create_session() as session:
        events = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.uri == uri)
            .options(selectinload(AssetEvent.source_aliases))
        ).all()
        session.expunge_all()
        return list(events)


def run_asset_triggered(dag: Any, event_ids: list[int]) -> Any:
    """Create ``dag``'s run as the scheduler does for new asset events (queue cleared), then run its tasks."""
    from airflow.models.asset import AssetDagRunQueue, AssetEvent
    from airflow.models.dagrun import DagRun
    from airflow.sdk import timezone
    from airflow.sdk.definitions.dag import _run_task
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType
    from sqlalchemy import delete, select

    scheduler_dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    now = timezone.utcnow()
    with create_session() as session:
        dag_run = scheduler_dag.create_dagrun(
            run_id=DagRun.generate_run_id(
                run_type=DagRunType.ASSET_TRIGGERED, logical_date=None, run_after=now
            ),
            logical_date=None,
            data_interval=None,
            run_after=now,
            conf=None,
            run_type=DagRunType.ASSET_TRIGGERED,
            triggered_by=DagRunTriggeredByType.ASSET,
            state=DagRunState.RUNNING,
            start_date=now,
            session=session,
        )
        dag_run.consumed_asset_events.extend(
            session.scalars(select(AssetEvent).where(AssetEvent.id.in_(event_ids))).all()
        )
        session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag.dag_id))
        session.commit()
        while dag_run.state == DagRunState.RUNNING:
            session.expire_all()
            schedulable, _ = dag_run.update_state(session=session)
            for ti in schedulable:
                ti.try_number += 1
                ti.state = TaskInstanceState.SCHEDULED
            session.commit()
            for ti in schedulable:
                _run_task(ti=ti, task=dag.task_dict[ti.task_id])
        finished = session.scalar(
            select(DagRun).where(DagRun.dag_id == dag.dag_id, DagRun.run_id == dag_run.run_id)
        )
        session.expunge(finished)
    return finished


def test_templated_export_adds_its_folder_through_the_alias_and_the_consumer_reads_the_extra(
    airflow_db, bucket
) -> None:
    producer = load_example_dag("materialize_nightly_snapshot")
    (outlet,) = producer.get_task("snapshot_to_s3").outlets
    assert outlet == AssetAlias(name=ALIAS) == export_alias("materialize_nightly_snapshot", "snapshot_to_s3")
    produced = producer.test(logical_date=None, run_conf={"bucket": bucket, "prefix": "assets/summary"})
    stats = dag_run_results(produced)["xcom"]["snapshot_to_s3"]
    assert produced.state == "success" and stats["rows"] == 97

    # Airflow stores the folder without its trailing slash; that is the asset's URI and name.
    asset_uri = stats["uri"].rstrip("/")
    assert folder_asset(stats["uri"]) == Asset(name=asset_uri, uri=asset_uri)
    (event,) = recorded_events(asset_uri)
    expected_extra = {
        "rows": 97,
        "bytes": stats["bytes"],
        "files": 1,
        "snapshot_timestamp": None,  # PostgreSQL has no mz_now(); Materialize gives the read's timestamp
        "manifest_uri": f"{stats['uri']}_manifest.json",
        "mode": "client",
    }
    assert event.extra == expected_extra == asset_extra(stats)
    assert (event.source_dag_id, event.source_task_id, event.source_run_id) == (
        "materialize_nightly_snapshot",
        "snapshot_to_s3",
        produced.run_id,
    )
    assert [alias.name for alias in event.source_aliases] == [ALIAS]
    # The scheduler would now start the consumer: the event queued a run of it.
    assert queued_for("materialize_snapshot_consumer") == [event.asset_id]

    consumer = load_example_dag("materialize_snapshot_consumer")
    assert consumer.timetable.asset_condition == AssetAlias(name=ALIAS)
    consumed = run_asset_triggered(consumer, [event.id])
    results = dag_run_results(consumed)
    assert consumed.state == "success", results
    assert results["xcom"]["read_new_snapshot"] == {"uri": asset_uri, **expected_extra}


def test_consumer_started_without_an_asset_event_says_what_to_do(airflow_db) -> None:
    consumer = load_example_dag("materialize_snapshot_consumer")
    dag_run = consumer.test(logical_date=None)
    assert dag_run.state == "failed"
    assert dag_run_results(dag_run)["states"] == {"read_new_snapshot": "failed"}


@pytest.mark.parametrize(
    ("s3_uri", "alias", "expected"),
    [
        (
            "s3://bucket/fixed/folder/",
            None,
            Asset(name="s3://bucket/fixed/folder", uri="s3://bucket/fixed/folder"),
        ),
        (
            "s3://bucket/fixed/folder",
            None,
            Asset(name="s3://bucket/fixed/folder", uri="s3://bucket/fixed/folder"),
        ),
        ("s3://bucket/{{ ds }}/", None, AssetAlias(name="materialize:producer/export")),
        ("s3://bucket/fixed/", "orders_snapshots", AssetAlias(name="orders_snapshots")),
    ],
)
def test_the_outlet_is_the_folder_unless_the_uri_is_templated_or_an_alias_is_named(
    s3_uri: str, alias: str | None, expected: Any
) -> None:
    from airflow.sdk import DAG

    with DAG(dag_id="producer", schedule=None):
        operator = MaterializeCopyToS3Operator(task_id="export", source="t", s3_uri=s3_uri, asset_alias=alias)
    assert operator.outlets == [expected]


def test_a_fixed_folder_puts_the_statistics_on_its_own_asset_event(airflow_db, bucket) -> None:
    from airflow.sdk import DAG
    from airflow.sdk.execution_time.context import OutletEventAccessors

    from tests.support.operator_run import FakeTaskInstance

    with DAG(dag_id="producer", schedule=None):
        operator = MaterializeCopyToS3Operator(
            task_id="export", source="orders_summary", s3_uri=f"s3://{bucket}/fixed/", progress_interval=0.0
        )
    events = OutletEventAccessors()
    stats = operator.execute({"ti": FakeTaskInstance(), "outlet_events": events})  # type: ignore[arg-type]
    (asset,) = operator.outlets
    assert asset == folder_asset(f"s3://{bucket}/fixed")
    assert events[asset].extra == asset_extra(stats) and events[asset].extra["rows"] == 97
