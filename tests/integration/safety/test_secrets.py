"""Connection secrets never reach task logs, XCom, the manifest, ``_INCOMPLETE`` or the data files.

The Materialize connection's password and the AWS connection's secret key are distinctive strings with
characters that URL-encoding changes, so their raw, URL-encoded and form-encoded spellings differ (the
ADBC reader gets the password inside a libpq URI). The test PostgreSQL uses trust authentication and
moto accepts any credentials, so both connections work whatever the secrets are.

Each export's evidence is collected and searched for every spelling of both secrets: the log records
(caplog at DEBUG), everything written to the process's stdout and stderr (the hook logs through
structlog), the return value and every XCom pushed, the exception and its traceback for a failed
export, and every object left in the bucket: its bytes, its S3 metadata and, for Parquet, the footer's
key-value metadata and decoded Arrow schema. The run through ``dag.test()`` also searches every file in
Airflow's home (task logs and the metadata database, which holds XCom and rendered template fields).
"""

from __future__ import annotations

import io
import json
import logging
import os
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pyarrow.parquet as pq
import pytest

from tests.support.dag_runs import dag_run_results, load_dag, migrate_airflow_db
from tests.support.operator_run import FakeTaskInstance
from tests.support.s3_objects import list_keys
from tests.support.servers import TEST_DAGS

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]

PG_PASSWORD = "Pg-Secret-9f1c/@:%"
AWS_SECRET_KEY = "Aws-Secret-77ab/+="
SPELLINGS = sorted(
    {
        spelling
        for secret in (PG_PASSWORD, AWS_SECRET_KEY)
        for spelling in (
            secret,
            secret.split("/")[0],  # the distinctive part alone: every spelling above contains it
            quote(secret, safe=""),
            quote(secret),
            quote_plus(secret),
        )
    }
)
GOOD_QUERY = "SELECT i AS id, md5(i::text) AS h FROM generate_series(1, 5000) AS i"
# Fails with a division by zero after ~300k rows: files finished before that stay, with _INCOMPLETE.
FAILING_QUERY = (
    "SELECT i AS id, md5(i::text) || md5((i + 1)::text) AS h, "
    "CASE WHEN i < 300000 THEN 1 ELSE 1 / (i - i) END AS boom FROM generate_series(1, 400000) AS i"
)
# A database where the ADBC driver cannot read the pg_type columns it needs, as on Materialize before
# v26.40 (no pg_type.typsend): reader="auto" logs a warning with the driver's error and falls back to CSV.
NO_ADBC_DATABASE = "secrets_no_adbc"
NO_ADBC_ROLE = "secrets_reader"


def leaks(evidence: dict[str, str]) -> list[str]:
    """Every (place, spelling) where a secret shows."""
    return [
        f"{spelling!r} in {place}"
        for place, text in evidence.items()
        for spelling in SPELLINGS
        if spelling in text
    ]


@pytest.fixture(scope="module")
def secret_connections(postgres: Any, s3_server: Any) -> Iterator[None]:
    """``mz_secrets``, ``mz_secrets_no_adbc`` and ``aws_secrets`` as env connections; restored afterwards."""
    postgres.execute(f"DROP DATABASE IF EXISTS {NO_ADBC_DATABASE} WITH (FORCE)")
    postgres.execute(f"DROP ROLE IF EXISTS {NO_ADBC_ROLE}")
    postgres.execute(f"CREATE ROLE {NO_ADBC_ROLE} LOGIN")
    postgres.execute(f"CREATE DATABASE {NO_ADBC_DATABASE}")
    postgres.execute(
        "REVOKE SELECT ON pg_catalog.pg_type FROM PUBLIC; "
        "GRANT SELECT (oid, typname, typelem, typcategory) ON pg_catalog.pg_type TO PUBLIC",
        database=NO_ADBC_DATABASE,
    )
    materialize = {**json.loads(postgres.materialize_connection_json()), "password": PG_PASSWORD}
    no_adbc = {**materialize, "login": NO_ADBC_ROLE, "schema": NO_ADBC_DATABASE}
    aws = {**json.loads(s3_server.aws_connection_json()), "password": AWS_SECRET_KEY}
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("AIRFLOW_CONN_MZ_SECRETS", json.dumps(materialize))
        environment.setenv("AIRFLOW_CONN_MZ_SECRETS_NO_ADBC", json.dumps(no_adbc))
        environment.setenv("AIRFLOW_CONN_AWS_SECRETS", json.dumps(aws))
        yield
    postgres.execute(f"DROP DATABASE IF EXISTS {NO_ADBC_DATABASE} WITH (FORCE)")
    postgres.execute(f"DROP ROLE IF EXISTS {NO_ADBC_ROLE}")


def bucket_evidence(s3: Any, bucket: str) -> dict[str, str]:
    """Every object in the bucket, as bytes, S3 metadata and (for Parquet) decoded footer metadata."""
    evidence: dict[str, str] = {}
    for key in list_keys(s3, bucket):
        response = s3.get_object(Bucket=bucket, Key=key)
        body = response["Body"].read()
        evidence[f"s3://{bucket}/{key}"] = body.decode("latin-1")
        evidence[f"s3://{bucket}/{key} (S3 metadata)"] = repr(
            {name: response.get(name) for name in ("Metadata", "ContentType", "ContentDisposition")}
        )
        if key.endswith(".parquet"):
            footer = pq.ParquetFile(io.BytesIO(body))
            evidence[f"s3://{bucket}/{key} (footer)"] = "\n".join(
                [
                    repr(footer.metadata.metadata),
                    footer.metadata.created_by or "",
                    footer.schema_arrow.to_string(show_field_metadata=True, show_schema_metadata=True),
                ]
            )
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    evidence[f"s3://{bucket} (multipart uploads)"] = repr(uploads)
    return evidence


def run_in_process(caplog: Any, capfd: Any, **kwargs: Any) -> tuple[dict[str, str], dict[str, Any] | None]:
    """Run the operator with the secret connections; return the evidence and the XCom return value."""
    from airflow_provider_materialize.operators.copy_to_s3 import MaterializeCopyToS3Operator

    kwargs = {"materialize_conn_id": "mz_secrets", "aws_conn_id": "aws_secrets", **kwargs}
    operator = MaterializeCopyToS3Operator(task_id="export", progress_interval=0.0, **kwargs)
    ti = FakeTaskInstance()
    evidence: dict[str, str] = {}
    result = None
    capfd.readouterr()
    with caplog.at_level(logging.DEBUG):
        try:
            result = operator.execute({"ti": ti})  # type: ignore[arg-type]
        except Exception as error:
            evidence["exception"] = "".join(traceback.format_exception(error))
        lineage = operator.get_openlineage_facets_on_complete(ti)
    out, err = capfd.readouterr()
    evidence.update(
        {
            "log records": caplog.text,
            "log messages and arguments": "\n".join(
                f"{record.getMessage()} {record.args!r}" for record in caplog.records
            ),
            "stdout": out,
            "stderr": err,
            "return value (XCom)": json.dumps(result, default=str),
            "XCom pushed": json.dumps(ti.pushed, default=str),
            "OpenLineage facets": repr(lineage),
        }
    )
    return evidence, result


def test_a_successful_export_shows_no_secret(secret_connections, s3, bucket, caplog, capfd) -> None:
    evidence, result = run_in_process(caplog, capfd, query=GOOD_QUERY, s3_uri=f"s3://{bucket}/ok/")
    assert result is not None and result["rows"] == 5000, evidence.get("exception")
    evidence.update(bucket_evidence(s3, bucket))
    assert f"s3://{bucket}/ok/_manifest.json" in evidence
    assert any(place.endswith("(footer)") for place in evidence)
    assert not leaks(evidence), leaks(evidence)


def test_a_failed_export_shows_no_secret_in_its_marker_or_error(
    secret_connections, s3, bucket, caplog, capfd
) -> None:
    evidence, result = run_in_process(
        caplog, capfd, query=FAILING_QUERY, s3_uri=f"s3://{bucket}/f/", max_file_size="1MB"
    )
    assert result is None and "division by zero" in evidence["exception"], evidence.get("exception")
    evidence.update(bucket_evidence(s3, bucket))
    assert f"s3://{bucket}/f/_INCOMPLETE" in evidence, sorted(evidence)
    assert any(place.endswith("(footer)") for place in evidence), "finished files stay for the retry"
    assert not leaks(evidence), leaks(evidence)


def test_the_adbc_fallback_warning_shows_no_secret(secret_connections, s3, bucket, caplog, capfd) -> None:
    evidence, result = run_in_process(
        caplog,
        capfd,
        materialize_conn_id="mz_secrets_no_adbc",
        query=GOOD_QUERY,
        s3_uri=f"s3://{bucket}/csv/",
        reader="auto",
    )
    assert result is not None and result["rows"] == 5000, evidence.get("exception")
    logged = evidence["log records"] + evidence["stdout"] + evidence["stderr"]
    assert "The ADBC reader cannot talk to this server" in logged and "permission denied" in logged
    evidence.update(bucket_evidence(s3, bucket))
    assert not leaks(evidence), leaks(evidence)


@pytest.fixture(scope="module")
def airflow_db() -> None:
    migrate_airflow_db()


@pytest.mark.parametrize(
    ("query", "state"),
    [
        (GOOD_QUERY, "success"),
        # fails after its first batches, so the folder holds a marker written by the failing try
        (
            "SELECT i, md5(i::text) AS h, CASE WHEN i < 200000 THEN 1 ELSE 1 / (i - i) END AS boom "
            "FROM generate_series(1, 300000) AS i",
            "failed",
        ),
    ],
    ids=["ok", "fails"],
)
def test_a_dag_run_shows_no_secret_in_task_logs_xcom_or_airflow_home(
    secret_connections, airflow_db, s3, bucket, capfd, query: str, state: str
) -> None:
    dag = load_dag(TEST_DAGS / "hostile_dags.py", "secrets_export")
    capfd.readouterr()
    dag_run = dag.test(logical_date=None, run_conf={"q": query, "uri": f"s3://{bucket}/dag/"})
    out, err = capfd.readouterr()
    results = dag_run_results(dag_run)
    assert dag_run.state == state, (results, out)
    evidence = {
        "task output (stdout)": out,
        "task output (stderr)": err,
        "XCom": json.dumps(results, default=str),
    }
    evidence.update(bucket_evidence(s3, bucket))
    assert any(key.startswith(f"s3://{bucket}/dag/_") for key in evidence), sorted(evidence)
    home = Path(os.environ["AIRFLOW_HOME"])
    for path in home.rglob("*"):
        if path.is_file():
            evidence[f"Airflow home: {path.relative_to(home)}"] = path.read_bytes().decode("latin-1")
    assert not leaks(evidence), leaks(evidence)
