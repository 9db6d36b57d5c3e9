"""Quoting identifiers and literals, and parsing ``[database.][schema.]name``."""

from __future__ import annotations

import re

_UNQUOTED_PART = r"[A-Za-z_][A-Za-z0-9_$]*"
_QUOTED_PART = r'"(?:[^"\x00]|"")+"'
_NAME_PART = re.compile(rf"\s*({_UNQUOTED_PART}|{_QUOTED_PART})\s*")
_MAX_NAME_PARTS = 3  # database.schema.object


def quote_ident(name: str) -> str:
    """Quote one identifier the way PostgreSQL and Materialize both read it."""
    if "\x00" in name:
        raise ValueError("identifiers cannot contain NUL characters")
    return '"' + name.replace('"', '""') + '"'


def parse_qualified_name(source: str, argument: str = "source") -> list[str]:
    """Split ``[database.][schema.]object`` into its parts, with SQL's rules for quoting and case.

    Unquoted parts fold to lower case, quoted parts keep their text (``""`` stands for ``"``).
    Anything else -- a statement separator, a fourth part, an empty part -- is rejected.
    """
    parts: list[str] = []
    position = 0
    while True:
        match = _NAME_PART.match(source, position)
        if match is None:
            break
        token = match.group(1)
        parts.append(token[1:-1].replace('""', '"') if token.startswith('"') else token.lower())
        position = match.end()
        if position < len(source) and source[position] == ".":
            position += 1
            continue
        break
    if not parts or position != len(source) or source.rstrip().endswith("."):
        what, hint = ("a name", "")
        if argument == "source":
            what, hint = ("a table or view name", "; a SELECT is exported with the query= argument")
        raise ValueError(
            f"{argument} {source!r} is not {what}: expected [database.][schema.]name, "
            f'with "double quotes" around names that have other characters{hint}'
        )
    if len(parts) > _MAX_NAME_PARTS:
        raise ValueError(
            f"{argument} {source!r} has {len(parts)} name parts; at most 3 are allowed (database.schema.name)"
        )
    return parts


def quote_qualified_name(source: str, argument: str = "source") -> str:
    """Return ``source`` with every part quoted, ready to put into a statement."""
    return ".".join(quote_ident(part) for part in parse_qualified_name(source, argument))


def quote_literal(value: str) -> str:
    """A SQL string literal holding ``value`` (quotes doubled; standard-conforming strings)."""
    if "\x00" in value:
        raise ValueError("string literals cannot contain NUL characters")
    return "'" + value.replace("'", "''") + "'"
