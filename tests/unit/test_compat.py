"""compat.py, the one module that absorbs the differences between Airflow 3.0 and 3.3.

``python3 dev/run.py matrix`` runs this module on every supported Airflow version, so each test
holds on all of them; the fallback branches are also forced here on the newest version.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.metadata
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from airflow.models.connection import Connection
from airflow.providers.postgres.hooks import postgres as postgres_provider

from airflow_provider_materialize import compat

PACKAGE = Path(compat.__file__).parent
# Modules whose names moved between 3.0 and 3.3: only compat.py may import from them.
VERSION_DEPENDENT = ("airflow.sdk", "airflow.hooks", "airflow.exceptions", "airflow.providers.postgres")


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def test_only_compat_imports_the_names_that_moved_between_airflow_versions() -> None:
    offenders = {
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in PACKAGE.rglob("*.py")
        if path.name != "compat.py"
        for module in _imported_modules(path)
        if module.startswith(VERSION_DEPENDENT)
    }
    assert not offenders, f"import these through airflow_provider_materialize.compat: {sorted(offenders)}"


def test_the_package_modules_import_on_this_airflow_version() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        importlib.import_module(module)


def test_an_unknown_connection_raises_the_exception_compat_exports() -> None:
    with pytest.raises(compat.AirflowNotFoundException):
        compat.BaseHook.get_connection("compat_test_no_such_connection")


def test_the_postgres_hook_seam_follows_the_provider_choice_of_driver() -> None:
    assert compat.POSTGRES_PROVIDER_USES_PSYCOPG3 is postgres_provider.USE_PSYCOPG3
    assert issubclass(compat.PostgresHook, postgres_provider.PostgresHook)
    if postgres_provider.USE_PSYCOPG3:
        assert compat.PostgresHook is postgres_provider.PostgresHook
    # The fallback overrides the Postgres provider's connection factory, which must still exist.
    assert callable(postgres_provider.PostgresHook._create_connection)


@pytest.fixture
def compat_without_psycopg3_from_the_provider(monkeypatch: pytest.MonkeyPatch) -> Any:
    """compat.py as Airflow 3.0 and 3.1 load it: the Postgres provider would hand out psycopg2."""
    monkeypatch.setattr(postgres_provider, "USE_PSYCOPG3", False)
    try:
        yield importlib.reload(compat)
    finally:
        monkeypatch.undo()
        importlib.reload(compat)


@pytest.mark.integration
def test_the_hook_connects_with_psycopg3_where_the_provider_would_use_psycopg2(
    compat_without_psycopg3_from_the_provider: Any, postgres: Any
) -> None:
    seam = compat_without_psycopg3_from_the_provider
    assert seam.PostgresHook is not postgres_provider.PostgresHook
    connection = Connection.from_json(postgres.materialize_connection_json(), conn_id="pg")
    hook = seam.PostgresHook(postgres_conn_id="pg", connection=connection, enable_log_db_messages=True)
    with hook.get_conn() as conn:
        assert isinstance(conn, psycopg.Connection)
        # psycopg 3 only: the provider's statements are prepared (one statement per text)
        assert conn.execute("SELECT %s::int + 1", (1,), prepare=True).fetchone() == (2,)
        assert conn.execute("SELECT '{\"a\": 1}'::jsonb").fetchone() == ({"a": 1},)


def test_the_api_server_offers_the_connection_form_with_its_extra_fields() -> None:
    # What Airflow's UI asks its API server for: 3.2+ build it from the provider info's conn-fields,
    # 3.0 and 3.1 from the hook's form methods. A fresh process: the providers manager is a singleton,
    # and the API server builds it with stand-ins for Flask AppBuilder and WTForms.
    probe = (
        "import json\n"
        "from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService\n"
        "meta = {m.connection_type: m for m in HookMetaService.hook_meta_data()}['materialize']\n"
        "print(json.dumps([meta.hook_class_name, sorted(meta.extra_fields or {})]))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    hook_class, extra_fields = json.loads(done.stdout.strip().splitlines()[-1])
    assert hook_class == "airflow_provider_materialize.hooks.materialize.MaterializeHook"
    if not extra_fields and importlib.util.find_spec("flask_appbuilder") is None:
        # 3.0's API server stands in for Flask AppBuilder and WTForms only when they are installed:
        # without them (no apache-airflow-providers-fab) it shows no hook's extra fields at all.
        assert importlib.metadata.version("apache-airflow").startswith("3.0.")
        return
    assert extra_fields == ["application_name", "cluster", "sslmode"]


@dataclasses.dataclass(slots=True)
class SlottedConnection:
    """Shaped like the Connection the Task SDK hands a task on Airflow 3.1: attributes fixed by slots."""

    conn_id: str
    conn_type: str
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = None
    schema: str | None = None


def test_the_hook_fills_in_defaults_on_a_connection_without_a_dict() -> None:
    from airflow_provider_materialize.hooks.materialize import MaterializeHook

    connection = SlottedConnection(conn_id="mz", conn_type="materialize", host="mz.example.com")
    hook = MaterializeHook(materialize_conn_id="mz", connection=connection)
    filled = hook.connection
    assert (filled.port, filled.login, filled.schema) == (6875, "materialize", "materialize")
    assert hook.connection is filled and connection.port is None
