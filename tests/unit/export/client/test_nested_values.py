"""The list / map text decoder: Materialize's text format (src/repr/src/strconv.rs, written here from its
rules) decoded back to exactly the values it was written from, and the plan's Arrow types."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_materialize.export.client.nested_values import LIST, MAP, NestedShape, decode
from airflow_provider_materialize.export.client.type_plan import UnsupportedColumnsError, plan_export
from airflow_provider_materialize.export.describe import DescribedColumn

_LIST_SPECIAL = set('{},"\\ \t\n\x0c\r')  # ListElementEscaper::needs_escaping (Rust's ASCII whitespace)
_MAP_SPECIAL = _LIST_SPECIAL | set("=>")  # MapElementEscaper::needs_escaping


def _escape(text: str, special: set[str]) -> str:
    """escape_elem: quote when empty, exactly NULL, or holding a special character."""
    if text == "" or text == "NULL" or any(c in special for c in text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def mz_list(value: list[Any] | None, element: Any = str) -> str | None:
    """format_list: nested lists unquoted, NULL bare, other elements escaped."""
    if value is None:
        return None
    parts = [
        "NULL"
        if e is None
        else mz_list(e, element)
        if isinstance(e, list)
        else _escape(element(e), _LIST_SPECIAL)
        for e in value
    ]
    return "{" + ",".join(p or "" for p in parts) + "}"


def mz_map(value: dict[str, Any] | None, element: Any = str) -> str | None:
    """format_map: entries in key order, keys and values escaped."""
    if value is None:
        return None
    entries = sorted(value.items(), key=lambda kv: kv[0].encode())
    parts = [
        _escape(k, _MAP_SPECIAL) + "=>" + ("NULL" if v is None else _escape(element(v), _MAP_SPECIAL))
        for k, v in entries
    ]
    return "{" + ",".join(parts) + "}"


def _text_leaf(array: pa.Array) -> pa.Array:
    return pc.cast(array, pa.large_string())


TEXT_LIST = pa.list_(pa.field("item", pa.large_string()))
TEXT_MAP = pa.map_(pa.field("keys", pa.string(), nullable=False), pa.field("values", pa.large_string()))
# Any text a PostgreSQL-wire server can send (no NUL), control characters and quotes included.
texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.none() | st.lists(st.none() | texts, max_size=6), max_size=8))
def test_any_text_list_decodes_to_what_was_written(values: list[list[str | None] | None]) -> None:
    decoded = decode(pa.array([mz_list(v) for v in values]), NestedShape(LIST), TEXT_LIST, _text_leaf)
    assert decoded.to_pylist() == values


@settings(max_examples=200, deadline=None)
@given(st.lists(st.none() | st.lists(st.none() | st.lists(st.none() | texts, max_size=4), max_size=4)))
def test_any_layered_text_list_decodes_to_what_was_written(values: list[Any]) -> None:
    target = pa.list_(pa.field("item", TEXT_LIST))
    shape = NestedShape(LIST, NestedShape(LIST))
    decoded = decode(pa.array([mz_list(v) for v in values]), shape, target, _text_leaf)
    assert decoded.to_pylist() == values


@settings(max_examples=300, deadline=None)
@given(st.lists(st.none() | st.dictionaries(texts, st.none() | texts, max_size=6), max_size=8))
def test_any_text_map_decodes_to_what_was_written(values: list[dict[str, str | None] | None]) -> None:
    decoded = decode(pa.array([mz_map(v) for v in values]), NestedShape(MAP), TEXT_MAP, _text_leaf)
    expected = [None if v is None else sorted(v.items(), key=lambda kv: kv[0].encode()) for v in values]
    assert decoded.to_pylist() == expected


def test_the_word_null_is_null_only_bare_and_upper_case() -> None:
    # format_list writes a NULL element as bare NULL, and quotes a string "NULL"; "null" stays bare
    decoded = decode(pa.array(['{NULL,"NULL",null,nUlL}']), NestedShape(LIST), TEXT_LIST, _text_leaf)
    assert decoded.to_pylist() == [[None, "NULL", "null", "nUlL"]]


def test_the_documented_example() -> None:
    # doc/user/content/sql/types/list.md, "Output format"
    text = '{{a,"white space"},{NULL,""},{"escape\\"m\\\\e",nUlL}}'
    target = pa.list_(pa.field("item", TEXT_LIST))
    decoded = decode(pa.array([text]), NestedShape(LIST, NestedShape(LIST)), target, _text_leaf)
    assert decoded.to_pylist() == [[["a", "white space"], [None, ""], ['escape"m\\e', "nUlL"]]]


def _list_of(name: str, element: str) -> DescribedColumn:
    return DescribedColumn(name, "list", nested=DescribedColumn("", element))


# numeric without a scale: decimal128(38, 10), so up to 28 digits before the point
_DECIMALS = st.decimals(allow_nan=False, allow_infinity=False, places=10).filter(lambda d: abs(d) < 10**27)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.none() | st.lists(st.none() | _DECIMALS)))
def test_numeric_lists_are_exact(values: list[list[Decimal | None] | None]) -> None:
    plan = plan_export([_list_of("n", "numeric")])
    array = pa.array([mz_list(v, lambda d: format(d, "f")) for v in values])
    decoded = plan.convert(pa.record_batch([array], names=["n"])).column(0)
    assert decoded.to_pylist() == values


@given(st.lists(st.none() | st.floats(), max_size=10))
def test_double_lists_are_exact(values: list[float | None]) -> None:
    # Materialize writes NaN / Infinity / -Infinity, and the shortest text that reads back exactly
    def shown(x: float) -> str:
        return "NaN" if math.isnan(x) else ("-" if x < 0 else "") + "Infinity" if math.isinf(x) else repr(x)

    plan = plan_export([_list_of("f", "float8")])
    decoded = plan.convert(pa.record_batch([pa.array([mz_list(values, shown)])], names=["f"])).column(0)
    got = decoded.to_pylist()[0]
    assert [None if g is None else repr(g) for g in got] == [None if v is None else repr(v) for v in values]


def test_plan_has_native_types_names_and_values() -> None:
    columns = [
        DescribedColumn("l", "list", nested=DescribedColumn("", "int4")),
        DescribedColumn("ll", "list", nested=DescribedColumn("", "list", nested=DescribedColumn("", "text"))),
        DescribedColumn("m", "map", nested=DescribedColumn("", "bool")),
        DescribedColumn("mv", "map", nested=DescribedColumn("", "varchar", typmod=9)),
    ]
    plan = plan_export(columns)
    assert plan.select_list == ['"c0"::text', '"c1"::text', '"c2"::text', '"c3"::text']
    schema = plan.schema
    ext = b"ARROW:extension:name"
    l_field, ll_field, m_field, mv_field = schema
    assert l_field.metadata == {ext: b"materialize.v1.list"}
    assert l_field.type.value_field.name == "item" and l_field.type.value_field.nullable
    assert l_field.type.value_field.metadata == {ext: b"materialize.v1.integer"}
    assert l_field.type.value_type == pa.int32()
    inner = ll_field.type.value_field
    assert inner.metadata == {ext: b"materialize.v1.list"} and inner.type.value_type == pa.large_string()
    assert m_field.metadata == {ext: b"materialize.v1.map"} and not m_field.type.keys_sorted
    entries = m_field.type.field(0)  # MapFieldNames::default(): entries { keys, values }
    assert (entries.name, entries.nullable, entries.type.names) == ("entries", False, ["keys", "values"])
    assert m_field.type.key_field.equals(pa.field("keys", pa.string(), nullable=False), check_metadata=True)
    assert m_field.type.item_field.metadata == {ext: b"materialize.v1.boolean"}
    assert mv_field.type.item_type == pa.string()  # varchar(5): Utf8, as a scalar varchar(n)
    batch = pa.record_batch(
        [
            pa.array(["{1,NULL}", None]),
            pa.array(["{{a},{}}", "{}"]),
            pa.array(["{a=>t,b=>f,c=>NULL}", "{}"]),
            pa.array([None, "{k=>v}"]),
        ],
        names=["l", "ll", "m", "mv"],
    )
    converted = plan.convert(batch)
    assert converted.schema.equals(schema, check_metadata=True)
    assert converted.to_pylist() == [
        {"l": [1, None], "ll": [["a"], []], "m": [("a", True), ("b", False), ("c", None)], "mv": None},
        {"l": None, "ll": [], "m": [], "mv": [("k", "v")]},
    ]


@pytest.mark.parametrize(
    ("column", "shown"),
    [
        (DescribedColumn("d", "list", nested=DescribedColumn("", "date")), "d (date list)"),
        (DescribedColumn("a", "list", nested=DescribedColumn("", "_int4", "int4")), "a (int4[] list)"),
        (
            DescribedColumn(
                "m", "map", nested=DescribedColumn("", "list", nested=DescribedColumn("", "int4"))
            ),
            "m (map[text=>int4 list])",
        ),
        (
            DescribedColumn(
                "lm", "list", nested=DescribedColumn("", "map", nested=DescribedColumn("", "int4"))
            ),
            "lm (map[text=>int4] list)",
        ),
        (DescribedColumn("x", "list"), "x (list)"),  # element type unknown
    ],
)
def test_element_types_not_decoded_exactly_are_refused(column: DescribedColumn, shown: str) -> None:
    with pytest.raises(UnsupportedColumnsError, match="Cast them in a query") as refused:
        plan_export([DescribedColumn("ok", "int4"), column])
    assert shown in str(refused.value) and "ok (" not in str(refused.value)
    assert "from the Trigger form, set source to a view" in str(refused.value)  # no code to edit there
