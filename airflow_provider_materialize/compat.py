"""Every Airflow name the provider uses that differs between Airflow 3.0 and 3.3, resolved once.

The package imports these names from here and nowhere else, so supporting another Airflow
version means changing this one module (``tests/unit/test_compat.py`` checks each seam, and
``python3 dev/run.py matrix`` runs the example DAGs on every supported version). Each seam tries
the newest location first and falls back to the older one; ``docs/versions.md`` says which
versions take which branch, and why.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.postgres.hooks import postgres as _postgres

# Task SDK names that every supported version (3.0 onwards) exports from ``airflow.sdk``.
from airflow.sdk import Asset, AssetAlias, BaseOperator, BaseOperatorLink, Context, Param

try:  # 3.1+: the Task SDK's hook
    from airflow.sdk import BaseHook
except ImportError:  # 3.0: the core hook (inside a task it reads connections through the Task SDK too)
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef,attr-defined]

try:  # 3.2+: the Task SDK's class, which airflow.exceptions re-exports (one class)
    from airflow.sdk.exceptions import AirflowNotFoundException
except ImportError:  # 3.0, 3.1: the Task SDK raises the core exception
    from airflow.exceptions import AirflowNotFoundException  # type: ignore[no-redef,assignment]

# The Postgres provider hands out psycopg 3 connections only when SQLAlchemy 2 is installed, and
# Airflow before 3.2 requires SQLAlchemy 1.4. The provider's code needs psycopg 3 (prepared
# statements, COPY streams), so on those versions the hook opens psycopg 3 connections itself,
# with the same arguments the Postgres provider computed (host, user, extras, IAM token, ...).
POSTGRES_PROVIDER_USES_PSYCOPG3: bool = _postgres.USE_PSYCOPG3

if POSTGRES_PROVIDER_USES_PSYCOPG3:
    PostgresHook = _postgres.PostgresHook
else:

    class PostgresHook(_postgres.PostgresHook):  # type: ignore[no-redef]
        """The Postgres provider's hook, connecting with psycopg 3 although SQLAlchemy is 1.4."""

        def _create_connection(self, conn_args: dict[str, Any]) -> Any:
            import psycopg
            from psycopg.types.json import register_default_adapters

            connection = psycopg.Connection.connect(**conn_args)
            register_default_adapters(connection)
            if self.enable_log_db_messages:
                connection.add_notice_handler(self._notice_handler)
            return connection


__all__ = [
    "POSTGRES_PROVIDER_USES_PSYCOPG3",
    "AirflowNotFoundException",
    "Asset",
    "AssetAlias",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "Context",
    "Param",
    "PostgresHook",
]
