"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_materialize import __version__
from airflow_provider_materialize.hooks import connection_form

_HOOK_MODULE = "airflow_provider_materialize.hooks.materialize"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-materialize",
        "name": "Materialize",
        # Plain text: Airflow's provider page strips RST markup, which left a stray "https://...:"
        "description": "Materialize: consistent snapshots of views, tables and queries exported to S3 "
        "as Parquet.",
        "versions": [__version__],
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
