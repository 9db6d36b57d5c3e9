"""``COPY <object | (query)> [(columns)] TO <expr> [WITH] (<options>)``: the statement's parts.

The parts are those of Materialize's AST as src/sql/src/plan/statement/dml.rs (plan_copy) reads
them: CopyRelation::Named { name, columns } or a parenthesised SELECT, CopyTarget::Expr, and
CopyOption names (the syntax in /work/shared/reference/materialize.md). parser.rs was not read:
its error texts, and whether the option list may follow TO <expr> without WITH (accepted here),
are UNCONFIRMED.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.support.materialize_standin.errors import SYNTAX_ERROR, MzError
from tests.support.materialize_standin.sqltext import Token, matching_paren, tokenize, top_level

# dml.rs, generate_extracted_config!(CopyOption, ...): the option names and their value types
OPTION_KINDS = {
    "FORMAT": "string",
    "DELIMITER": "string",
    "NULL": "string",
    "ESCAPE": "string",
    "QUOTE": "string",
    "HEADER": "bool",
    "AWS CONNECTION": "object",
    "MAX FILE SIZE": "bytes",
    "FILES": "strings",
    "PATTERN": "string",
}


@dataclass
class Option:
    name: str
    value: tuple[str, str] | None  # (kind, text): string, number, ident, bool, name, other


@dataclass
class CopyStatement:
    name: str | None  # the object's name as written, or None for a query
    query: str | None
    columns: list[str]
    target_sql: str
    options: list[Option] = field(default_factory=list)

    @property
    def select_sql(self) -> str:
        return self.query if self.query is not None else f"SELECT * FROM {self.name}"


def parse_copy_to(sql: str) -> CopyStatement | None:
    """The COPY ... TO <expr> statement, or None for anything else (COPY FROM, COPY TO STDOUT)."""
    tokens = tokenize(sql)
    if not tokens or not tokens[0].is_word("copy") or len(tokens) < 3:
        return None
    index, name, query, columns = 1, None, None, []
    if tokens[1].is_op("("):
        close = matching_paren(tokens, 1)
        query = sql[tokens[1].end : tokens[close].start if close < len(tokens) else len(sql)].strip()
        index = close + 1
    else:
        start = index
        while index < len(tokens) and (tokens[index].kind in ("ident", "qident") or tokens[index].is_op(".")):
            if tokens[index].is_word("to", "from"):
                break
            index += 1
        name = sql[tokens[start].start : tokens[index - 1].end]
        if index < len(tokens) and tokens[index].is_op("("):
            close = matching_paren(tokens, index)
            columns = [t.value for t in tokens[index + 1 : close] if t.kind in ("ident", "qident")]
            index = close + 1
    if index >= len(tokens) or not tokens[index].is_word("to"):
        return None
    index += 1
    if index < len(tokens) and tokens[index].is_word("stdout"):
        return None
    target_end, options_open = _options_start(tokens, index)
    if target_end <= index:
        raise MzError(
            "Expected an expression after TO (stand-in parser; Materialize's text UNCONFIRMED)", SYNTAX_ERROR
        )
    target_sql = sql[tokens[index].start : tokens[target_end - 1].end]
    options = _parse_options(sql, tokens, options_open) if options_open is not None else []
    return CopyStatement(name, query, columns, target_sql, options)


def _options_start(tokens: list[Token], start: int) -> tuple[int, int | None]:
    """Where the TO expression ends and the option list's '(' is: after WITH, or a final
    parenthesised group that follows a literal or ')' (so ``f(x)`` stays part of the expression)."""
    rest = tokens[start:]
    for index, token in top_level(rest):
        if token.is_word("with") and index + 1 < len(rest) and rest[index + 1].is_op("("):
            return start + index, start + index + 1
    if rest and rest[-1].is_op(")"):
        ends = [i for i, t in enumerate(rest) if t.is_op("(") and matching_paren(rest, i) == len(rest) - 1]
        opening = ends[0] if ends else 0
        before = rest[opening - 1] if opening > 0 else None
        if before is not None and (before.kind in ("string", "number") or before.is_op(")")):
            return start + opening, start + opening
    return start + len(rest), None


def _parse_options(sql: str, tokens: list[Token], open_index: int) -> list[Option]:
    close = matching_paren(tokens, open_index)
    inner = tokens[open_index + 1 : close]
    groups: list[list[Token]] = [[]]
    depth = 0
    for token in inner:
        depth += token.is_op("(") - token.is_op(")")
        if token.is_op(",") and depth == 0:
            groups.append([])
        else:
            groups[-1].append(token)
    return [_parse_option(sql, group) for group in groups if group]


def _parse_option(sql: str, group: list[Token]) -> Option:
    for width in (3, 2, 1):
        words = [t.text.upper() for t in group[:width] if t.kind == "ident"]
        if len(words) == width and " ".join(words) in OPTION_KINDS:
            rest = group[width:]
            if rest and rest[0].is_op("="):
                rest = rest[1:]
            return Option(" ".join(words), _value(sql, rest))
    # UNCONFIRMED: Materialize's parser rejects unknown option names; its exact text is not known.
    raise MzError(
        f"unknown COPY option {group[0].text} (stand-in parser; Materialize's text UNCONFIRMED)", SYNTAX_ERROR
    )


def _value(sql: str, tokens: list[Token]) -> tuple[str, str] | None:
    if not tokens:
        return None
    text = sql[tokens[0].start : tokens[-1].end]
    if len(tokens) == 1 and tokens[0].kind == "string":
        return ("string", tokens[0].value)
    if len(tokens) == 1 and tokens[0].kind == "number":
        return ("number", text)
    if len(tokens) == 2 and tokens[0].is_op("-") and tokens[1].kind == "number":
        return ("number", text)
    if len(tokens) == 1 and tokens[0].is_word("true", "false"):
        return ("bool", tokens[0].value)
    if all(t.kind in ("ident", "qident") or t.is_op(".") for t in tokens):
        return ("name", ".".join(t.value for t in tokens if not t.is_op(".")))
    return ("other", text)
