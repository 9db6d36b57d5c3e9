"""A small SQL lexer: enough to split statements, classify them and rewrite a few identifiers.

It knows PostgreSQL's (and Materialize's) literal forms -- '..' with '' escapes, E'..', $tag$..$tag$,
"quoted identifiers", nested /* */ and -- comments -- so nothing inside them is mistaken for SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SIMPLE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<line>--[^\n]*)
  | (?P<estring>[eE]'(?:[^'\\]|\\.|'')*'?)
  | (?P<string>[bBxXnN]?'(?:[^']|'')*'?)
  | (?P<qident>"(?:[^"]|"")*"?)
  | (?P<param>\$\d+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_\u0080-\uffff][A-Za-z_0-9$\u0080-\uffff]*)
  | (?P<op>::|<=|>=|<>|!=|\|\||=>|[-+*/<>=~!@#%^&|`?(),;.\[\]:{}])
    """,
    re.VERBOSE | re.DOTALL,
)
_DOLLAR = re.compile(r"\$(?P<tag>[A-Za-z_][A-Za-z_0-9]*)?\$")


@dataclass(frozen=True)
class Token:
    kind: str  # ident, qident, string, number, param, op
    text: str  # as written
    start: int
    end: int

    @property
    def value(self) -> str:
        """Identifiers folded (unquoted) or unescaped (quoted); strings unescaped; else the text."""
        if self.kind == "ident":
            return self.text.lower()
        if self.kind == "qident":
            return self.text[1:-1].replace('""', '"')
        if self.kind == "string":
            return string_value(self.text)
        return self.text

    def is_word(self, *words: str) -> bool:
        return self.kind == "ident" and self.text.lower() in words

    def is_op(self, *ops: str) -> bool:
        return self.kind == "op" and self.text in ops


def string_value(text: str) -> str:
    if text.startswith("$"):
        tag_end = text.index("$", 1) + 1
        return text[tag_end : len(text) - tag_end]
    if text[0] in "eE":
        body = text[2:-1]
        return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m[1], m[1]), body)
    if text[0] != "'":
        text = text[1:]
    return text[1:-1].replace("''", "'")


def tokenize(sql: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(sql):
        if sql.startswith("/*", position):
            position = _skip_block_comment(sql, position)
            continue
        dollar = _DOLLAR.match(sql, position)
        if dollar:
            close = sql.find(dollar.group(0), dollar.end())
            end = len(sql) if close < 0 else close + len(dollar.group(0))
            tokens.append(Token("string", sql[position:end], position, end))
            position = end
            continue
        match = _SIMPLE.match(sql, position)
        if match is None:  # a character no SQL token starts with: keep it as an operator
            tokens.append(Token("op", sql[position], position, position + 1))
            position += 1
            continue
        kind = match.lastgroup or "op"
        if kind == "estring":
            kind = "string"
        if kind not in ("ws", "line"):
            tokens.append(Token(kind, match.group(0), position, match.end()))
        position = match.end()
    return tokens


def _skip_block_comment(sql: str, position: int) -> int:
    depth, position = 0, position
    while position < len(sql):
        if sql.startswith("/*", position):
            depth, position = depth + 1, position + 2
        elif sql.startswith("*/", position):
            depth, position = depth - 1, position + 2
            if depth == 0:
                return position
        else:
            position += 1
    return position


def split_statements(sql: str) -> list[str]:
    """The statements of a simple-protocol Query, without the separating semicolons."""
    statements, start, depth = [], 0, 0
    for token in tokenize(sql):
        if token.is_op("("):
            depth += 1
        elif token.is_op(")"):
            depth = max(depth - 1, 0)
        elif token.is_op(";") and depth == 0:
            statements.append(sql[start : token.start])
            start = token.end
    statements.append(sql[start:])
    return [statement for statement in statements if tokenize(statement)]


def matching_paren(tokens: list[Token], open_index: int) -> int:
    """Index of the ')' closing the '(' at ``open_index`` (or len(tokens) when unbalanced)."""
    depth = 0
    for index in range(open_index, len(tokens)):
        if tokens[index].is_op("("):
            depth += 1
        elif tokens[index].is_op(")"):
            depth -= 1
            if depth == 0:
                return index
    return len(tokens)


def top_level(tokens: list[Token]) -> list[tuple[int, Token]]:
    """The tokens outside any parentheses, with their indexes."""
    found, depth = [], 0
    for index, token in enumerate(tokens):
        if token.is_op("("):
            depth += 1
        elif token.is_op(")"):
            depth -= 1
        elif depth == 0:
            found.append((index, token))
    return found


def leading_words(tokens: list[Token], count: int) -> list[str]:
    words = []
    for token in tokens[:count]:
        if token.kind != "ident":
            break
        words.append(token.value)
    return words


def replace_spans(sql: str, replacements: list[tuple[int, int, str]]) -> str:
    for start, end, text in sorted(replacements, reverse=True):
        sql = sql[:start] + text + sql[end:]
    return sql


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def quote_ident(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'
