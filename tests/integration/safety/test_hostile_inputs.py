"""Hostile and malformed arguments are refused: nothing is written to S3 and nothing changes in the database.

Every case runs the operator against the test PostgreSQL and S3 server and checks three things:

* it is **refused** with an exception whose message says what was refused;
* the **bucket is empty** afterwards (the whole bucket is listed, multipart uploads included);
* the **guard objects are unchanged**: the ``victim`` table (row count and a checksum over its rows,
  their ``ctid`` and ``xmin``, so a delete-and-reinsert shows too, and its oid and file node, so a
  ``TRUNCATE`` or drop-and-recreate shows), the ``victim_seq`` sequence, the relations, routines,
  schemas and roles, and no file was written by ``COPY ... TO PROGRAM`` / ``TO 'file'``.

Most cases run in-process (``run_operator``); a few run through ``dag.test()`` with the hostile value
typed into a Param and rendered by Jinja (tests/integration/dags/hostile_dags.py), once with
``render_template_as_native_obj=True``. A hostile ``cluster`` is not refused on PostgreSQL (the hook
ignores clusters there, with a warning): those cases must succeed without running anything else.
The in-process cases are in hostile_cases.py, the guard objects and the checks in hostile_harness.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.integration.safety.hostile_cases import (
    BREAK,
    BUCKET_ROOT,
    IN_PROCESS_CASES,
    MULTIPLE,
    NOT_NAME,
    NOT_SELECT,
    NOT_URI,
    ROOT_OR_SEGMENT,
    WRITES,
)
from tests.integration.safety.hostile_harness import (
    BUCKET,
    GUARD_SQL,
    WRITTEN_FILE,
    check_refused_safely,
    fill_bucket,
    guard_state,
    restore_guard,
)
from tests.support.dag_runs import dag_run_results, load_dag, migrate_airflow_db
from tests.support.operator_run import run_operator
from tests.support.s3_objects import list_keys
from tests.support.servers import TEST_DAGS

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections", "guard")]


@pytest.fixture(scope="module")
def guard(postgres: Any) -> Any:
    postgres.execute(GUARD_SQL)
    yield
    WRITTEN_FILE.unlink(missing_ok=True)


@pytest.mark.parametrize(("kwargs", "message"), IN_PROCESS_CASES)
def test_hostile_argument_is_refused_and_changes_nothing(kwargs, message, postgres, s3, bucket) -> None:
    arguments = {name: fill_bucket(value, bucket) for name, value in kwargs.items()}
    arguments.setdefault("s3_uri", f"s3://{bucket}/out/")
    arguments.setdefault("max_file_size", "1MB")
    problems = check_refused_safely(lambda: run_operator(**arguments), message, postgres, s3, bucket)
    assert not problems, problems


# --- through Jinja, as a person would type them into the Trigger form --------------------------------

DAG_CASES = [
    pytest.param(
        "hostile_query_text",
        {"q": BREAK.format("COMMIT; DROP TABLE victim; COMMIT;")},
        MULTIPLE,
        id="dag-query-commit-drop",
    ),
    pytest.param(
        "hostile_query_text",
        {"q": "WITH d AS (DELETE FROM victim RETURNING *) SELECT * FROM d"},
        rf"{WRITES}|data-modifying statement",
        id="dag-query-cte-delete",
    ),
    pytest.param(
        "hostile_query_text",
        {"q": "{% for t in ['victim'] %}DROP TABLE {{ t }}{% endfor %}"},
        NOT_SELECT,  # a Param's value is text, never rendered a second time
        id="dag-query-jinja-in-param",
    ),
    pytest.param("hostile_query_text", {"uri": f"s3://{BUCKET}"}, BUCKET_ROOT, id="dag-uri-bucket-root"),
    pytest.param(
        "hostile_query_text",
        {"uri": f"s3://{BUCKET}//x"},
        ROOT_OR_SEGMENT,
        id="dag-uri-leading-empty-segment",
    ),
    pytest.param(
        "hostile_source_text", {"source": "victim; DROP TABLE victim"}, NOT_NAME, id="dag-source-semicolon"
    ),
    pytest.param(
        "hostile_source_text",
        {"source": 'victim"; DROP TABLE victim; --'},
        NOT_NAME,
        id="dag-source-quote-breakout",
    ),
    pytest.param("hostile_native_values", {"q": "123"}, r"query must be text", id="native-query-int"),
    pytest.param("hostile_native_values", {"q": {"a": 1}}, r"query must be text", id="native-query-dict"),
    pytest.param(
        "hostile_native_values",
        {"q": None},
        r"query must be text|exactly one of",
        id="native-query-none",
    ),
    pytest.param("hostile_native_values", {"cluster": 42}, r"cluster must be text", id="native-cluster-int"),
    pytest.param("hostile_native_values", {"uri": "None"}, NOT_URI, id="native-uri-none"),
]


@pytest.fixture(scope="module")
def airflow_db() -> None:
    migrate_airflow_db()


@pytest.mark.parametrize(("dag_id", "conf", "message"), DAG_CASES)
def test_hostile_trigger_form_value_is_refused_and_changes_nothing(
    airflow_db, dag_id, conf, message, postgres, s3, bucket, capfd
) -> None:
    run_conf = {"uri": f"s3://{bucket}/out/", **{k: fill_bucket(v, bucket) for k, v in conf.items()}}
    dag = load_dag(TEST_DAGS / "hostile_dags.py", dag_id)

    def run() -> Any:
        capfd.readouterr()
        dag_run = dag.test(logical_date=None, run_conf=run_conf)
        results = dag_run_results(dag_run)
        task_output = "".join(capfd.readouterr())
        if dag_run.state == "success":
            return results
        assert results["states"] == {"export": "failed"} and "export" not in results["xcom"], results
        refusal = re.search(message, task_output)
        raise RuntimeError(refusal.group(0) if refusal else f"failed, message not found in: {task_output}")

    problems = check_refused_safely(run, message, postgres, s3, bucket)
    assert not problems, problems


# --- a hostile cluster= on PostgreSQL: ignored with a warning, never sent ---------------------------


@pytest.mark.parametrize(
    "cluster",
    [
        pytest.param("x; DROP TABLE victim", id="cluster-semicolon"),
        pytest.param('x"; DROP TABLE victim; --', id="cluster-double-quote"),
        pytest.param("x'; DROP TABLE victim; --", id="cluster-single-quote"),
        pytest.param("quickstart\nDROP TABLE victim", id="cluster-newline"),
    ],
)
def test_hostile_cluster_runs_nothing(cluster, postgres, s3, bucket, caplog, capfd) -> None:
    before = guard_state(postgres)
    stats: Any = None
    with caplog.at_level("WARNING"):
        try:
            stats = run_operator(
                query="SELECT id, name FROM victim",
                s3_uri=f"s3://{bucket}/c/",
                cluster=cluster,
                max_file_size="1MB",
            )
        except Exception as error:
            stats = error
    after = guard_state(postgres)
    if after != before:
        restore_guard(postgres, before)
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    assert not changed, f"changed the database (before, after): {changed}; the run gave {stats!r}"
    assert isinstance(stats, dict) and stats["rows"] == 50, stats  # victim was intact while it was read
    keys = list_keys(s3, bucket)
    assert keys[0] == "c/_manifest.json" and all(key.endswith(".parquet") for key in keys[1:]), keys
    logged = caplog.text + "".join(capfd.readouterr())  # the hook logs through structlog
    assert f"Cluster {cluster!r} is set, but the server" in logged, logged


def test_the_harness_flags_an_export_that_was_not_refused(postgres, s3, bucket) -> None:
    """Control: a plain read is reported as not refused and as writing to S3, but not as a database change."""
    problems = check_refused_safely(
        lambda: run_operator(query="SELECT * FROM victim", s3_uri=f"s3://{bucket}/ok/", max_file_size="1MB"),
        "never",
        postgres,
        s3,
        bucket,
    ).splitlines()
    assert [line.split(":")[0] for line in problems] == ["not refused", "wrote to S3"], problems
