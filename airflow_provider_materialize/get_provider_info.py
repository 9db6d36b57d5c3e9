"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, metadata
from typing import Any

from airflow_provider_materialize import __version__
from airflow_provider_materialize.hooks import connection_form

_HOOK_MODULE = "airflow_provider_materialize.hooks.materialize"
_DISTRIBUTION = "airflow-provider-materialize"


def documentation_url() -> str | None:
    """The ``Documentation`` project URL of the installed distribution (``[project.urls]``).

    Airflow 3.3 reads the same entry for its provider page; earlier versions take it from here.
    """
    try:
        entries = metadata(_DISTRIBUTION).get_all("Project-URL") or []
    except PackageNotFoundError:
        return None
    for entry in entries:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "documentation":
            return url.strip()
    return None


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": _DISTRIBUTION,
        "name": "Materialize",
        # Plain text: Airflow's provider page strips RST markup, which left a stray "https://...:"
        "description": "Materialize: consistent snapshots of views, tables and queries exported to S3 "
        "as Parquet.",
        "versions": [__version__],
        "documentation-url": documentation_url(),
        "integrations": [
            {
                "integration-name": "Materialize",
                "external-doc-url": "https://materialize.com/docs/",
                "tags": ["software"],
            }
        ],
        "hooks": [{"integration-name": "Materialize", "python-modules": [_HOOK_MODULE]}],
        "operators": [
            {
                "integration-name": "Materialize",
                "python-modules": ["airflow_provider_materialize.operators.copy_to_s3"],
            }
        ],
        "extra-links": ["airflow_provider_materialize.links.s3.S3ExportFolderLink"],
        "connection-types": [
            {
                "connection-type": "materialize",
                "hook-class-name": f"{_HOOK_MODULE}.MaterializeHook",
                "hook-name": "Materialize",
                # One declaration for every Airflow version: hooks/connection_form.py
                "ui-field-behaviour": connection_form.ui_field_behaviour(),
                "conn-fields": connection_form.conn_fields(),
            }
        ],
    }
