"""Runs Materialize's ``COPY ... TO 's3://...'`` on the Materialize connection, and can cancel it."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_materialize.export.native.error_hints import NativeCopyError, NativeModeUnavailableError
from airflow_provider_materialize.hooks.statements import execute_one
from airflow_provider_materialize.sql import ServerFlavor

if TYPE_CHECKING:
    from airflow_provider_materialize.hooks.materialize import MaterializeHook

log = logging.getLogger(__name__)

# Materialize answers a COPY with the command tag "COPY <rows>" (src/adapter/src/command.rs)
_COPY_TAG = re.compile(r"^COPY (\d+)$")


class CopyRunner(Protocol):
    """Runs the COPY statement on the server."""

    def check_server(self) -> None: ...

    def run(self, statement: str) -> int: ...

    def cancel(self) -> None: ...


def parse_copy_tag(status: str | None) -> int:
    """The row count of a ``COPY <n>`` command tag."""
    match = _COPY_TAG.match(status or "")
    if match is None:
        raise NativeCopyError(f"Materialize answered the COPY with {status!r} instead of 'COPY <rows>'")
    return int(match.group(1))


class MaterializeCopy:
    """Runs the COPY on the Materialize connection, on the hook's cluster, and can cancel it.

    :param mz_hook: Hook of the Materialize connection (its cluster applies to the session).
    """

    def __init__(self, mz_hook: MaterializeHook) -> None:
        self.mz_hook = mz_hook
        self._conn: Any = None

    def check_server(self) -> None:
        flavor, version = self.mz_hook.server_info
        if flavor is not ServerFlavor.MATERIALIZE:
            raise NativeModeUnavailableError(
                f"Native mode needs Materialize, but the connection {self.mz_hook.get_conn_id()!r} leads to "
                f"PostgreSQL {version}. Leave out aws_connection= to export in client mode instead."
            )

    def run(self, statement: str) -> int:
        conn = self._conn = self.mz_hook.get_conn()
        try:
            conn.autocommit = True  # COPY TO S3 runs on its own, not inside a transaction block
            cursor = conn.cursor()
            execute_one(cursor, statement)  # Materialize runs COPY TO S3 in the extended protocol too
            return parse_copy_tag(cursor.statusmessage)
        finally:
            self._conn = None
            conn.close()

    def cancel(self) -> None:
        conn = self._conn
        if conn is not None:
            log.info("Cancelling the COPY on the server")
            conn.cancel_safe()
