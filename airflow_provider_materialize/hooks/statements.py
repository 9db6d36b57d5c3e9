"""Running one statement, and turning the server's refusals into errors that say what to do.

Used wherever the provider sends SQL through psycopg: the hook, describe, the CSV reader, native COPY.
"""

from __future__ import annotations

from typing import Any

_UNDEFINED_TABLE = "42P01"
_READ_ONLY_TRANSACTION = "25006"
# PostgreSQL answers a Parse of several statements with 42601, Materialize with XX000, both saying:
_MULTIPLE_COMMANDS = "cannot insert multiple commands into a prepared statement"


class StatementRefusedError(ValueError):
    """The server refused user text as more than one statement, or because it would write."""


def execute_one(cursor: Any, statement: str) -> Any:
    """Send ``statement`` with the extended query protocol, so the server parses exactly one statement.

    psycopg sends a statement without parameters with the simple protocol, which runs every
    ``;``-separated statement in the text; a prepared statement goes through Parse/Bind/Execute
    instead, where a second statement is an error: PostgreSQL and Materialize
    (``StateMachine::parse`` in src/pgwire/src/protocol.rs) both refuse it. Results stay in text
    format: Materialize refuses binary results for list and map columns at Bind (same file).
    """
    try:
        return cursor.execute(statement, prepare=True)
    except Exception as error:
        explained = _explained(error, statement)
        if explained is None:
            raise
        raise explained from error


def _explained(error: Exception, statement: str = "") -> Exception | None:
    """The error to raise instead of ``error``: a refusal of user text, or the fix for an unknown name."""
    code = getattr(error, "sqlstate", None)
    # PostgreSQL: relation "x" does not exist (42P01); Materialize: CatalogError::UnknownItem,
    # "unknown catalog item 'x'" (src/sql/src/catalog.rs). Not for COPY TO S3: the source was
    # described before it, so an unknown item there is the AWS connection (native/error_hints.py).
    is_copy = statement.lstrip().upper().startswith("COPY")
    if not is_copy and (code == _UNDEFINED_TABLE or "unknown catalog item" in str(error)):
        return LookupError(
            f"{str(error).strip()}. Unquoted names are folded to lower case: a table created as "
            '"MixedCase" is source=\'"MixedCase"\' (in the Trigger form, type the double quotes: '
            '"MixedCase"); a table outside the search path is qualified, schema.table or '
            "database.schema.table. Check the spelling, and that the connection's database and user "
            "can see it."
        )
    if "unknown cluster" in str(error):  # CatalogError::UnknownCluster, src/sql/src/catalog.rs
        return RuntimeError(
            f"{str(error).strip()}: the cluster named by cluster= (or the connection's cluster extra) "
            "does not exist on this Materialize. Pick one that SHOW CLUSTERS lists, or create it."
        )
    if _MULTIPLE_COMMANDS in str(error):
        return StatementRefusedError(
            "Refused: the text holds more than one SQL statement, and only one SELECT is exported. "
            f"Remove the ';' and whatever follows it. (The server said: {str(error).strip()})"
        )
    if code == _READ_ONLY_TRANSACTION:
        return StatementRefusedError(
            "Refused: the query tried to write, and exports only read (they run in a READ ONLY "
            f"transaction). Export a plain SELECT. (The server said: {str(error).strip()})"
        )
    return None
