"""OpenLineage, with real exports through the test servers, two ways.

- The facets taken as the openlineage provider takes them (its DefaultExtractor calls
  ``get_openlineage_facets_on_complete``), emitted as a COMPLETE run event through the OpenLineage
  client's file transport and read back as JSON: sources, queries, a query without tables.
- The provider's own listener, configured with a file transport, during a ``dag.test()`` run of the
  nightly example DAG (in a process of its own).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.openlineage.extractors.base import DefaultExtractor
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.transport.file import FileConfig, FileTransport

from airflow_provider_materialize.hooks.materialize import MaterializeHook
from airflow_provider_materialize.operators.copy_to_s3 import MaterializeCopyToS3Operator
from tests.support.dag_runs import migrate_airflow_db
from tests.support.operator_run import ROOT, FakeTaskInstance
from tests.support.sample_data import SAMPLE_SQL

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]


@pytest.fixture(scope="module")
def sample(postgres) -> None:
    postgres.execute(SAMPLE_SQL)


def emitted_event(tmp_path: Path, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run an export, extract its lineage as the provider does, emit it to a file; the event and stats."""
    operator = MaterializeCopyToS3Operator(task_id="export", progress_interval=0.0, **kwargs)
    ti = FakeTaskInstance()
    stats = operator.execute({"ti": ti})  # type: ignore[arg-type]
    lineage = DefaultExtractor(operator).extract_on_complete(ti)
    assert lineage is not None
    log_file = tmp_path / "events.jsonl"
    client = OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=str(log_file), append=True)))
    client.emit(
        RunEvent(
            eventType=RunState.COMPLETE,
            eventTime="2026-11-27T00:00:00Z",
            run=Run(runId=str(uuid.uuid4())),
            job=Job(namespace="default", name="test_dag.export", facets=lineage.job_facets),
            producer="https://github.com/materialize/airflow-provider-materialize",
            inputs=lineage.inputs,
            outputs=lineage.outputs,
        )
    )
    (line,) = log_file.read_text().splitlines()
    return json.loads(line), stats


def source_namespace() -> tuple[str, str]:
    conn = MaterializeHook().connection
    return f"postgres://{conn.host}:{conn.port}", conn.schema


def test_source_export_names_the_table_and_describes_the_folder(sample, s3, bucket, tmp_path) -> None:
    event, stats = emitted_event(tmp_path, source="Orders", s3_uri=f"s3://{bucket}/lineage/orders/")
    namespace, database = source_namespace()
    assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [
        (namespace, f"{database}.public.orders")
    ]
    (output,) = event["outputs"]
    assert (output["namespace"], output["name"]) == (f"s3://{bucket}", "lineage/orders")
    statistics = output["outputFacets"]["outputStatistics"]
    assert (statistics["rowCount"], statistics["size"], statistics["fileCount"]) == (
        20000,
        stats["bytes"],
        len(stats["files"]),
    )
    fields = [(f["name"], f["type"]) for f in output["facets"]["schema"]["fields"]]
    assert fields == [
        ("id", "materialize.v1.bigint"),
        ("customer", "materialize.v1.text"),
        ("amount", "materialize.v1.numeric"),
        ("placed_at", "materialize.v1.timestamptz"),
    ]
    assert event["job"]["facets"]["sql"]["query"] == 'SELECT * FROM "orders"'


def test_query_export_names_each_table_the_parser_finds(sample, s3, bucket, tmp_path) -> None:
    query = (
        "WITH recent AS (SELECT * FROM Public.Orders WHERE id > 19990) "
        'SELECT r.id, s.revenue FROM recent r JOIN "orders_summary" s ON s.customer = r.customer'
    )
    event, stats = emitted_event(tmp_path, query=query, s3_uri=f"s3://{bucket}/lineage/joined/")
    namespace, database = source_namespace()
    assert stats["rows"] == 10
    assert sorted(d["name"] for d in event["inputs"]) == [
        f"{database}.public.orders",
        f"{database}.public.orders_summary",
    ]
    assert {d["namespace"] for d in event["inputs"]} == {namespace}
    (output,) = event["outputs"]
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == 10
    assert [f["name"] for f in output["facets"]["schema"]["fields"]] == ["id", "revenue"]


def test_a_query_the_parser_cannot_read_still_gives_the_output(sample, s3, bucket, tmp_path) -> None:
    event, _ = emitted_event(tmp_path, query="SELECT 42 AS answer", s3_uri=f"s3://{bucket}/lineage/const/")
    assert event["inputs"] == []
    assert event["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 1


# Run in a process of its own: the openlineage provider reads its configuration once per process.
LISTENER_RUN = """
import json, os, sys
transport = {"type": "file", "log_file_path": sys.argv[1], "append": True}
os.environ["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(transport)
from tests.support.dag_runs import load_example_dag
dag = load_example_dag("materialize_nightly_snapshot")
run = dag.test(logical_date=None, run_conf=json.loads(sys.argv[2]))
sys.exit(0 if run.state == "success" else 1)
"""


def test_the_openlineage_listener_emits_the_facets_of_a_dag_run(sample, bucket, tmp_path) -> None:
    migrate_airflow_db()
    log_file = tmp_path / "events.jsonl"
    conf = {"bucket": bucket, "prefix": "lineage/nightly"}
    subprocess.run(
        [sys.executable, "-c", LISTENER_RUN, str(log_file), json.dumps(conf)],
        check=True,
        cwd=ROOT,
        timeout=600,
    )
    events = [json.loads(line) for line in log_file.read_text().splitlines()]
    (complete,) = [
        e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"].endswith(".snapshot_to_s3")
    ]
    namespace, database = source_namespace()
    assert [(d["namespace"], d["name"]) for d in complete["inputs"]] == [
        (namespace, f"{database}.public.orders_summary")
    ]
    (output,) = complete["outputs"]
    assert output["namespace"] == f"s3://{bucket}" and output["name"].startswith("lineage/nightly/date=")
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == 97
    assert output["outputFacets"]["outputStatistics"]["fileCount"] == 1
    assert [f["name"] for f in output["facets"]["schema"]["fields"]] == [
        "customer",
        "orders",
        "revenue",
        "last_order",
    ]
