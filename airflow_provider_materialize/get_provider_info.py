"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_materialize import __version__

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
                "ui-field-behaviour": {
                    "relabeling": {
                        "schema": "Database",
                        "login": "User",
                        "password": "Password / app password",
                    },
                    "placeholders": {
                        "host": "<region-id>.aws.materialize.cloud",
                        "port": "6875",
                        "schema": "materialize",
                        "login": "materialize (Cloud: your e-mail address)",
                        "cluster": "quickstart",
                        "application_name": "airflow",
                    },
                },
                "conn-fields": {
                    "cluster": {
                        "label": "Cluster",
                        "description": "Compute cluster for every session (SET cluster = ...). "
                        "Empty: the server's default (quickstart).",
                        "schema": {"type": ["string", "null"]},
                    },
                    "sslmode": {
                        "label": "SSL mode",
                        "description": "libpq sslmode; Materialize Cloud needs require or stricter.",
                        "schema": {
                            "type": ["string", "null"],
                            "enum": [
                                "disable",
                                "allow",
                                "prefer",
                                "require",
                                "verify-ca",
                                "verify-full",
                                None,
                            ],
                        },
                    },
                    "application_name": {
                        "label": "Application name",
                        "description": "Reported to the server as application_name.",
                        "schema": {"type": ["string", "null"]},
                    },
                },
            }
        ],
    }
