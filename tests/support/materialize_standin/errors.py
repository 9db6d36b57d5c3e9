"""Errors the stand-in answers with, carrying Materialize's SQLSTATE (src/adapter/src/error.rs, code)."""

from __future__ import annotations

# src/adapter/src/error.rs, AdapterError::code: PlanError, Catalog (except VarError) and
# Unstructured errors are INTERNAL_ERROR; PlanError::Unsupported (bail_unsupported!) is
# FEATURE_NOT_SUPPORTED in current sources (it was INTERNAL_ERROR before SQL-326); Canceled is
# QUERY_CANCELED.
INTERNAL_ERROR = "XX000"
FEATURE_NOT_SUPPORTED = "0A000"
QUERY_CANCELED = "57014"
PROTOCOL_VIOLATION = "08P01"
SYNTAX_ERROR = "42601"


class MzError(Exception):
    """An error Materialize would send: an ErrorResponse with this SQLSTATE and message."""

    def __init__(self, message: str, code: str = INTERNAL_ERROR, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.hint = hint


def canceled() -> MzError:
    # AdapterError::Canceled; its text is PostgreSQL's "canceling statement due to user request"
    return MzError("canceling statement due to user request", QUERY_CANCELED)


def unknown_item(name: str) -> MzError:
    # src/sql/src/catalog.rs, CatalogError::UnknownItem: "unknown catalog item '{}'"
    return MzError(f"unknown catalog item '{name}'")


def rust_debug_str(text: str) -> str:
    """A string as Rust's ``{:?}`` prints it (quotes, backslash escapes)."""
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif char in "\n\r\t":
            escaped.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{{{ord(char):x}}}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'
