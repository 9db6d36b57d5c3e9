"""What people see in the UI and the logs: the extra link's XCom, log lines, and errors that name the fix.

Every case runs against the real test servers (PostgreSQL, moto S3); the link and log cases run
through Airflow's task runner with ``dag.test()`` (``tests/integration/dags/message_dags.py``).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

# Imported before any test's caplog attaches: importing Airflow configures logging, which replaces
# the root logger's handlers (caplog's among them) the first time it happens in the process.
import airflow_provider_materialize.operators.copy_to_s3  # noqa: F401
from tests.support.dag_runs import load_dag, migrate_airflow_db
from tests.support.operator_run import run_operator
from tests.support.s3_objects import list_keys
from tests.support.sample_data import SAMPLE_SQL
from tests.support.servers import TEST_DAGS

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]
LINK_KEY = "_link_S3ExportFolderLink"


@pytest.fixture(scope="module")
def airflow_db(postgres) -> None:
    postgres.execute(SAMPLE_SQL)
    postgres.execute('CREATE TABLE IF NOT EXISTS "MixedCase" AS SELECT 1 AS id')
    # Streams ~300,000 rows (several batches), then fails with "division by zero" while being read.
    postgres.execute(
        "CREATE OR REPLACE VIEW fails_halfway AS SELECT i AS id, md5(i::text) || md5((i + 1)::text) AS h, "
        "CASE WHEN i < 300000 THEN 1 ELSE 1 / (i - i) END AS boom FROM generate_series(1, 400000) AS i"
    )
    migrate_airflow_db()


def run_dag(**conf: Any) -> tuple[str, dict[str, Any]]:
    """Run ``messages_export`` with ``conf``; its state and every XCom of the export task by key."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag = load_dag(TEST_DAGS / "message_dags.py", "messages_export")
    dag_run = dag.test(logical_date=None, run_conf=conf)
    with create_session() as session:
        rows = session.scalars(XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id)).all()
        return dag_run.state, {row.key: row.value for row in rows if row.task_id == "export"}


def test_a_run_stores_the_link_once_as_the_console_url(airflow_db, s3, bucket) -> None:
    state, xcoms = run_dag(s3_uri=f"s3://{bucket}/ui/ok/", source="public.orders")
    assert state == "success"
    assert set(xcoms) == {"return_value", LINK_KEY}
    assert xcoms[LINK_KEY] == (
        f"https://console.aws.amazon.com/s3/buckets/{bucket}?region=us-east-1&prefix=ui/ok/"
    )


def test_an_export_that_fails_while_writing_keeps_its_link(airflow_db, s3, bucket) -> None:
    state, xcoms = run_dag(s3_uri=f"s3://{bucket}/ui/halfway/", source="public.fails_halfway")
    assert state == "failed"
    assert xcoms[LINK_KEY] == (
        f"https://console.aws.amazon.com/s3/buckets/{bucket}?region=us-east-1&prefix=ui/halfway/"
    )
    assert "ui/halfway/_INCOMPLETE" in list_keys(s3, bucket, "ui/halfway/")  # it failed while writing


def test_an_early_failure_has_no_link_and_logs_no_xcom_error(airflow_db, bucket, capfd) -> None:
    state, xcoms = run_dag(s3_uri=f"s3://{bucket}/ui/small/", max_file_size="512kB")
    output = "".join(capfd.readouterr())
    assert state == "failed"
    assert set(xcoms) <= {LINK_KEY} and not xcoms.get(LINK_KEY)
    assert "XCom not found" not in output
    assert "Failed to push an xcom for task operator extra link" not in output
    # The size below the minimum says the minimum
    assert "max_file_size is 512kB (524,288 bytes), but client mode takes at least 1MB" in output


def test_log_lines_read_as_sizes_counts_and_a_released_marker(airflow_db, s3, bucket, caplog) -> None:
    caplog.set_level(logging.INFO)
    stats = run_operator(source="public.orders", s3_uri=f"s3://{bucket}/ui/logs/", max_file_size="1MB")
    text = caplog.text
    assert stats["rows"] == 20000 and stats["bytes"] < 1024**2
    size = re.escape(f"{stats['bytes'] / 1024:.1f} kB")
    assert re.search(rf"Exported 20,000 rows into 1 file\(s\), {size}, to s3://{bucket}/ui/logs/", text)
    assert re.search(rf"Wrote s3://{bucket}/ui/logs/part-00000-\w+\.parquet: 20,000 rows, {size}", text)
    assert f"Released the in-progress marker s3://{bucket}/ui/logs/_INCOMPLETE" in text
    # How long the read took, and how much came after it
    stored = r"The read of 20,000 rows ended \d+\.\ds after it began; the last file was stored \d+\.\ds later"
    assert re.search(stored, text)
    assert "0.0 MB" not in text and "Deleted" not in text


def test_replacing_a_folder_logs_the_reason_once_and_no_bare_deleted_line(airflow_db, s3, bucket, caplog):
    s3.put_object(Bucket=bucket, Key="ui/replace/old.parquet", Body=b"x")
    caplog.set_level(logging.INFO)
    run_operator(source="public.orders", s3_uri=f"s3://{bucket}/ui/replace/", overwrite=True)
    assert "Deleting 1 object(s) under" in caplog.text and "Deleted:" not in caplog.text
    assert "ui/replace/old.parquet" not in {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}


@pytest.mark.parametrize("source", ["MixedCase", "mixedcase", "nowhere.orders"])
def test_an_unknown_or_mixed_case_table_says_how_to_quote_or_qualify(airflow_db, bucket, source) -> None:
    with pytest.raises(LookupError) as raised:
        run_operator(source=source, s3_uri=f"s3://{bucket}/ui/unknown/")
    message = str(raised.value)
    assert "does not exist" in message
    assert """source='"MixedCase"'""" in message and "schema.table" in message


def test_a_quoted_mixed_case_name_exports(airflow_db, bucket) -> None:
    assert run_operator(source='"MixedCase"', s3_uri=f"s3://{bucket}/ui/quoted/")["rows"] == 1


def test_a_folder_that_is_not_empty_says_what_a_form_user_can_change(airflow_db, s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="ui/full/other.csv", Body=b"x")
    with pytest.raises(RuntimeError, match="is not empty") as raised:
        run_operator(source="public.orders", s3_uri=f"s3://{bucket}/ui/full/")
    assert "in the Trigger form: a new target folder" in str(raised.value)


def test_a_missing_bucket_names_the_bucket_and_the_connection(airflow_db) -> None:
    missing = f"no-such-bucket-{uuid.uuid4().hex[:8]}"
    with pytest.raises(RuntimeError) as raised:
        run_operator(source="public.orders", s3_uri=f"s3://{missing}/ui/")
    message = str(raised.value)
    assert f"The bucket {missing!r}" in message and "does not exist" in message
    assert "'aws_default'" in message


@pytest.fixture
def password_user(postgres) -> Iterator[str]:
    """A role that must log in with a password (the test server trusts everyone else)."""
    assert postgres.directory is not None
    hba = postgres.directory / "data" / "pg_hba.conf"
    original = hba.read_text()
    hba.write_text("host all ui_password_user 127.0.0.1/32 scram-sha-256\n" + original)
    postgres.execute(
        "DO $$ BEGIN CREATE ROLE ui_password_user LOGIN PASSWORD 'right'; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )
    postgres.execute("SELECT pg_reload_conf()")
    try:
        yield "ui_password_user"
    finally:
        hba.write_text(original)
        postgres.execute("SELECT pg_reload_conf()")


def test_a_wrong_password_names_the_connection(airflow_db, postgres, bucket, password_user, monkeypatch):
    import json

    connection = {
        "conn_type": "materialize",
        "host": "127.0.0.1",
        "port": postgres.port,
        "schema": postgres.database,
        "login": password_user,
        "password": "wrong",
    }
    monkeypatch.setenv("AIRFLOW_CONN_MZ_WRONG_PASSWORD", json.dumps(connection))
    with pytest.raises(PermissionError) as raised:
        run_operator(
            source="public.orders", s3_uri=f"s3://{bucket}/ui/pw/", materialize_conn_id="mz_wrong_password"
        )
    message = str(raised.value)
    assert "password authentication failed" in message
    assert "Airflow connection 'mz_wrong_password'" in message and "wrong" not in message.replace(
        "'mz_wrong_password'", ""
    )
