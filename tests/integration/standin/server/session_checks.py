"""What a psycopg session to the stand-in saw: its notices and its errors."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest


def collect_notices(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    """(severity, SQLSTATE, message, hint) of each notice; a Diagnostic is only valid in the callback."""
    notices: list[tuple[Any, ...]] = []
    conn.add_notice_handler(
        lambda d: notices.append((d.severity, d.sqlstate, d.message_primary, d.message_hint))
    )
    return notices


def error_of(conn: psycopg.Connection, sql: str, binary: bool = False) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(sql, binary=binary)
    return caught.value
