"""MaterializeHook against a real server, and the provider's registration in Airflow."""

from __future__ import annotations

import pytest

from airflow_provider_materialize.hooks.materialize import MaterializeHook
from airflow_provider_materialize.sql import ServerFlavor

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]


def test_test_connection_reports_the_server_and_its_version() -> None:
    ok, message = MaterializeHook().test_connection()
    assert ok and message.startswith("Connected to PostgreSQL 15.") and "not Materialize" in message


def test_detects_postgres_and_runs_queries() -> None:
    hook = MaterializeHook()
    assert hook.server_info[0] is ServerFlavor.POSTGRES and not hook.is_materialize
    assert hook.get_first("SELECT current_setting('application_name')") == ("airflow-provider-dev",)


def test_test_connection_reports_failures() -> None:
    from airflow.models.connection import Connection

    hook = MaterializeHook(
        connection=Connection(conn_id="x", conn_type="materialize", host="127.0.0.1", port=1)
    )
    ok, message = hook.test_connection()
    assert not ok and message.startswith("Could not connect")


def test_provider_is_registered_with_its_connection_form() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "airflow-provider-materialize" in manager.providers
    hook_info = manager.hooks["materialize"]
    assert hook_info is not None
    assert hook_info.hook_class_name == "airflow_provider_materialize.hooks.materialize.MaterializeHook"
    assert hook_info.connection_id_attribute_name == "materialize_conn_id"
    widgets = manager.connection_form_widgets
    assert {
        "extra__materialize__cluster",
        "extra__materialize__sslmode",
        "extra__materialize__application_name",
    } <= set(widgets)
    behaviour = manager.field_behaviours["materialize"]
    assert behaviour["relabeling"]["schema"] == "Database"
    assert behaviour["placeholders"]["port"].startswith("6875")
    assert "airflow_provider_materialize.links.s3.S3ExportFolderLink" in manager.extra_links_class_names


def test_airflow_cli_lists_the_provider_and_its_connection_type() -> None:
    import subprocess
    import sys

    def airflow(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "airflow", *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    assert "airflow-provider-materialize" in airflow("providers", "list")
    hooks = [line for line in airflow("providers", "hooks").splitlines() if line.startswith("materialize ")]
    assert len(hooks) == 1 and "MaterializeHook" in hooks[0] and "materialize_conn_id" in hooks[0]


def test_aws_connection_helpers_check_their_arguments_and_the_server() -> None:
    hook = MaterializeHook()
    with pytest.raises(ValueError, match="either role_arn= or both access_key_id= and secret_access_key="):
        hook.create_aws_connection(
            "c", role_arn="arn:aws:iam::1:role/r", access_key_id="k", secret_access_key="s"
        )
    with pytest.raises(ValueError, match="either role_arn"):
        hook.create_aws_connection("c", access_key_id="k")
    with pytest.raises(RuntimeError, match="AWS connections need Materialize"):
        hook.create_aws_connection("c", role_arn="arn:aws:iam::1:role/r")
    with pytest.raises(RuntimeError, match="could not validate the AWS connection 'c'"):
        hook.validate_aws_connection("c")
