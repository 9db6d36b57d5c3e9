"""MaterializeHook: defaults, cluster handling and detection (no server needed)."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.models.connection import Connection

from airflow_provider_materialize.hooks.materialize import MaterializeHook
from airflow_provider_materialize.sql import ServerFlavor


class RecordingHook(MaterializeHook):
    """Records the arguments ``get_conn`` would hand to psycopg instead of connecting."""

    def _create_connection(self, conn_args: dict[str, Any]) -> Any:
        self.conn_args = conn_args
        raise ConnectionAbortedError("recorded")


def _hook(cls: type[MaterializeHook] = MaterializeHook, **kwargs: Any) -> MaterializeHook:
    extra = kwargs.pop("extra", None)
    connection = Connection(
        conn_id="mz", conn_type="materialize", host="mz.example.com", extra=extra, **kwargs
    )
    return cls(materialize_conn_id="mz", connection=connection)


def test_empty_fields_default_to_materialize_port_user_and_database() -> None:
    hook = _hook(RecordingHook)
    with pytest.raises(ConnectionAbortedError):
        hook.get_conn()
    assert hook.conn_args["port"] == 6875  # type: ignore[attr-defined]
    assert hook.conn_args["user"] == "materialize"  # type: ignore[attr-defined]
    assert hook.conn_args["dbname"] == "materialize"  # type: ignore[attr-defined]
    assert hook.get_uri() == "postgresql+psycopg://materialize@mz.example.com:6875/materialize"
    url = hook.sqlalchemy_url
    assert (url.port, url.username, url.database) == (6875, "materialize", "materialize")
    assert hook.get_libpq_uri() == "postgresql://materialize@mz.example.com:6875/materialize"


def test_given_fields_win_and_cloud_logins_are_percent_encoded() -> None:
    hook = _hook(
        port=6877,
        login="me@example.com",
        password="p@ss:word",
        schema="prod",
        extra={"sslmode": "require", "cluster": "c1", "application_name": "etl"},
    )
    assert hook.get_libpq_uri() == (
        "postgresql://me%40example.com:p%40ss%3Aword@mz.example.com:6877/prod?sslmode=require&application_name=etl"
    )
    assert "cluster" in MaterializeHook.ignored_extra_options  # never handed to libpq as a keyword


def test_cluster_comes_from_the_extra_and_the_hook_argument_overrides_it() -> None:
    hook = _hook(extra={"cluster": "from_extra"})
    hook._server_info = (ServerFlavor.MATERIALIZE, "v26.1.0")
    assert hook.session_setup_statements() == ['SET cluster = "from_extra"']
    override = MaterializeHook(materialize_conn_id="mz", connection=hook.connection, cluster='odd "name"')
    override._server_info = (ServerFlavor.MATERIALIZE, "v26.1.0")
    assert override.session_setup_statements() == ['SET cluster = "odd ""name"""']


def test_cluster_is_ignored_with_a_warning_on_postgres(capsys) -> None:
    hook = _hook(extra={"cluster": "c1"})
    hook._server_info = (ServerFlavor.POSTGRES, "15.18")
    assert hook.session_setup_statements() == []
    assert "(no clusters)" in capsys.readouterr().out  # Airflow's task logger writes to stdout


def test_hook_identity() -> None:
    assert (
        MaterializeHook.conn_type,
        MaterializeHook.default_conn_name,
        MaterializeHook.conn_name_attr,
        MaterializeHook.hook_name,
    ) == ("materialize", "materialize_default", "materialize_conn_id", "Materialize")
