"""What the stand-in does with each statement: pass it on, rewrite it, or answer it itself.

A statement the stand-in answers itself is sent to PostgreSQL as ``PLACEHOLDER`` (so statement and
portal names, Describe and the transaction state stay PostgreSQL's), and its ``run`` replaces the
placeholder's result when it executes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.support.materialize_standin.errors import MzError, unknown_item
from tests.support.materialize_standin.sqltext import Token, quote_literal, replace_spans, tokenize
from tests.support.materialize_standin.wire import notice_fields

if TYPE_CHECKING:
    from tests.support.materialize_standin.session import Session

PLACEHOLDER = "DO $mz_standin$ BEGIN END $mz_standin$"
# Session default: cluster "quickstart" (/work/shared/reference/materialize.md, "Connecting")
DEFAULT_CLUSTER = "quickstart"
# src/sql/src/session/vars: SERVER_VERSION = "{major}.{minor}.{patch}" with 9, 5, 0 (read-only)
SERVER_VERSION = "9.5.0"
_QUERY_STARTS = ("select", "with", "values", "table")


@dataclass
class Result:
    tag: str
    notices: list[bytes] = field(default_factory=list)


@dataclass
class Plan:
    sql: str  # what PostgreSQL receives
    needs_cluster: bool = False
    run: Callable[[Any], Result] | None = None  # called with the Session
    on_complete: Callable[[Any], list[bytes]] | None = None


@dataclass
class Catalog:
    """Catalog items PostgreSQL cannot hold: connections (with their kind) and secrets."""

    connections: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def connection_kind(self, name: str) -> str:
        with self.lock:
            kind = self.connections.get(item_key(name))
        if kind is None:
            raise unknown_item(name)
        return kind


def item_key(name: str) -> str:
    """Item names resolve with schema ``public`` by default: ``db.public.x`` = ``public.x`` = ``x``."""
    parts = name.split(".")
    if len(parts) == 3:
        parts = parts[1:]
    if len(parts) == 2 and parts[0] == "public":
        parts = parts[1:]
    return ".".join(parts)


def _name(tokens: list[Token], index: int) -> tuple[str, int]:
    parts = []
    while index < len(tokens) and tokens[index].kind in ("ident", "qident"):
        parts.append(tokens[index].value)
        if index + 1 < len(tokens) and tokens[index + 1].is_op("."):
            index += 2
        else:
            index += 1
            break
    if not parts:
        raise MzError("Expected a name (stand-in parser; Materialize's text UNCONFIRMED)", "42601")
    return ".".join(parts), index


def _words_at(tokens: list[Token], index: int, *words: str) -> bool:
    return all(i < len(tokens) and tokens[i].is_word(w) for i, w in enumerate(words, start=index))


def rewrite_pg_type(sql: str, tokens: list[Token]) -> str:
    """Point ``pg_type`` / ``pg_catalog.pg_type`` at the view with Materialize's OIDs (install.py)."""
    spans = []
    for index, token in enumerate(tokens):
        if token.kind not in ("ident", "qident") or token.value != "pg_type":
            continue
        before = tokens[index - 1] if index else None
        if before is not None and before.is_op("."):
            owner = tokens[index - 2] if index >= 2 else None
            if owner is not None and owner.kind in ("ident", "qident") and owner.value == "pg_catalog":
                spans.append((owner.start, token.end, "mz_standin.pg_type"))
            continue
        spans.append((token.start, token.end, "mz_standin.pg_type"))
    return replace_spans(sql, spans) if spans else sql


def classify(sql: str, standin_clusters: tuple[str, ...], catalog: Catalog) -> Plan:
    tokens = tokenize(sql)
    first = tokens[0].value if tokens and tokens[0].kind == "ident" else ""
    if first in ("set", "reset"):
        plan = _set_cluster(tokens, standin_clusters)
        if plan is not None:
            return plan
    if _words_at(tokens, 0, "show", "server_version") and len(tokens) == 2:
        return Plan(f"SELECT {quote_literal(SERVER_VERSION)}::text AS server_version")
    if first == "copy":
        from tests.support.materialize_standin.copy_to_s3 import copy_plan

        plan = copy_plan(sql)
        if plan is not None:
            return plan
        return Plan(rewrite_pg_type(sql, tokens), needs_cluster=any(t.is_word("to") for t in tokens))
    ddl = _materialize_ddl(tokens, catalog)
    if ddl is not None:
        return ddl
    needs_cluster = first in _QUERY_STARTS or bool(tokens and tokens[0].is_op("("))
    return Plan(rewrite_pg_type(sql, tokens), needs_cluster=needs_cluster)


def _set_cluster(tokens: list[Token], clusters: tuple[str, ...]) -> Plan | None:
    """``SET [SESSION|LOCAL] cluster {=|TO} name|DEFAULT`` and ``RESET cluster``.

    Materialize accepts a cluster that does not exist and only adds a notice
    (sequence_set_variable, src/adapter/src/coord/sequencer/inner.rs); queries then fail when they
    resolve the cluster. PostgreSQL has no such variable: a custom one takes the SET, so the
    command tag and the transaction's state stay PostgreSQL's.
    """
    index = 1
    if tokens[0].is_word("set") and len(tokens) > 1 and tokens[1].is_word("session", "local"):
        index = 2
    if not _words_at(tokens, index, "cluster"):
        return None
    value = DEFAULT_CLUSTER
    if tokens[0].is_word("set"):
        rest = tokens[index + 1 :]
        if (rest and rest[0].is_op("=")) or (rest and rest[0].is_word("to")):
            rest = rest[1:]
        if len(rest) != 1:
            return None
        value = DEFAULT_CLUSTER if rest[0].is_word("default") else rest[0].value
    cluster = value

    def applied(session: Session) -> list[bytes]:
        session.cluster = cluster
        if cluster in clusters:
            return []
        # src/adapter/src/notice.rs, AdapterNotice::ClusterDoesNotExist: severity Notice, code
        # WARNING (01000), "cluster {} does not exist" with name.quoted(), and this hint.
        # sequence_set_variable adds it (newer versions only with current_object_missing_warnings).
        return [
            notice_fields(
                "NOTICE",
                "01000",
                f'cluster "{cluster}" does not exist',
                "Create the cluster with CREATE CLUSTER or pick an extant cluster with SET CLUSTER = name. "
                "List available clusters with SHOW CLUSTERS.",
            )
        ]

    return Plan(f"SET mz_standin.cluster = {quote_literal(cluster)}", on_complete=applied)


def _already_exists(kind: str, name: str) -> bytes:
    # src/adapter/src/notice.rs, AdapterNotice::ObjectAlreadyExists: severity Notice, code
    # DUPLICATE_OBJECT, "{ty} {name} already exists, skipping"
    return notice_fields("NOTICE", "42710", f'{kind} "{name}" already exists, skipping')


def _materialize_ddl(tokens: list[Token], catalog: Catalog) -> Plan | None:
    """CREATE/ALTER/DROP SECRET, CREATE/VALIDATE/DROP CONNECTION: kept in ``catalog``.

    Names resolve as catalog items ("unknown catalog item '...'", src/sql/src/catalog.rs). Every
    connection is served by the test S3 server; validation does not contact it. The command tags
    ("CREATE SECRET", ...) are UNCONFIRMED (src/adapter/src/command.rs was not read for them).
    """
    if _words_at(tokens, 0, "create", "secret") or _words_at(tokens, 0, "create", "connection"):
        kind_word = tokens[1].value
        index, if_not_exists = 2, _words_at(tokens, 2, "if", "not", "exists")
        name, index = _name(tokens, index + 3 if if_not_exists else index)
        connection_kind = ""
        if kind_word == "connection":
            end = next((i for i in range(index, len(tokens)) if tokens[i].is_op("(")), len(tokens))
            connection_kind = " ".join(t.value for t in tokens[index + 1 : end])
        value = tokens[-1].value if kind_word == "secret" else ""
        secrets = [  # SECRET <name> values (not the option name SECRET ACCESS KEY)
            tokens[i + 1].value
            for i in range(3, len(tokens) - 1)
            if tokens[i].is_word("secret")
            and tokens[i + 1].kind in ("ident", "qident")
            and not tokens[i + 1].is_word("access")
        ]

        def create(session: Session) -> Result:
            with catalog.lock:
                table = catalog.secrets if kind_word == "secret" else catalog.connections
                for secret in secrets:
                    if item_key(secret) not in catalog.secrets:
                        raise unknown_item(secret)
                if item_key(name) in table:
                    if if_not_exists:
                        return Result(f"CREATE {kind_word.upper()}", [_already_exists(kind_word, name)])
                    # UNCONFIRMED text (CatalogError::ItemAlreadyExists)
                    raise MzError(f"catalog item '{name}' already exists")
                table[item_key(name)] = value if kind_word == "secret" else connection_kind
            return Result(f"CREATE {kind_word.upper()}")

        return Plan(PLACEHOLDER, run=create)
    for words, tag in (
        (("alter", "secret"), "ALTER SECRET"),
        (("validate", "connection"), "VALIDATE CONNECTION"),
        (("drop", "secret"), "DROP SECRET"),
        (("drop", "connection"), "DROP CONNECTION"),
    ):
        if not _words_at(tokens, 0, *words):
            continue
        if_exists = _words_at(tokens, 2, "if", "exists")
        name, _ = _name(tokens, 4 if if_exists else 2)
        kind_word, verb = words[1], words[0]

        def other(
            session: Session,
            name: str = name,
            kind_word: str = kind_word,
            verb: str = verb,
            tag: str = tag,
            if_exists: bool = if_exists,
        ) -> Result:
            with catalog.lock:
                table = catalog.secrets if kind_word == "secret" else catalog.connections
                if item_key(name) not in table:
                    if if_exists:
                        return Result(tag)
                    raise unknown_item(name)
                if verb == "drop":
                    del table[item_key(name)]
                elif verb == "alter":
                    table[item_key(name)] = tokens[-1].value
            return Result(tag)

        return Plan(PLACEHOLDER, run=other)
    return None
