"""PostgreSQL jsonb text -> compact JSON: exact for any JSON, checked against Python's json module."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_materialize.export.client.conversions import compact_postgres_json

# Strings with what makes compaction hard: blanks, quotes, backslash runs, control characters
# (escaped by the encoder), non-ASCII.
_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from(' "\\,:{}[]\t\n\r\x00\x1f/u'), st.characters(codec="utf-8")),
    max_size=12,
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    _TEXT,
)
_JSON = st.recursive(
    _SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(_TEXT, children, max_size=4)),
    max_leaves=12,
)
# How the text is spaced: as PostgreSQL prints jsonb (", " and ": "), compact, or pretty-printed.
_LAYOUTS = st.sampled_from(
    [{"separators": (", ", ": ")}, {"separators": (",", ":")}, {"indent": 2}, {"indent": "\t"}]
)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), _JSON.map(lambda v: ("json", v))), max_size=20),
    layout=_LAYOUTS,
    large=st.booleans(),
    slice_from=st.integers(min_value=0, max_value=3),
)
def test_compaction_equals_json_module(values: list[Any], layout: dict, large: bool, slice_from: int) -> None:
    texts = [None if v is None else json.dumps(v[1], ensure_ascii=False, **layout) for v in values]
    expected = [None if v is None else _compact(v[1]) for v in values]
    array = pa.array(texts, pa.large_string() if large else pa.string())
    assert compact_postgres_json(array).to_pylist() == expected
    start = min(slice_from, len(texts))
    assert compact_postgres_json(array.slice(start)).to_pylist() == expected[start:]


def test_backslash_runs_before_quotes() -> None:
    # An even run leaves the quote unescaped (the literal ends), an odd run escapes it.
    values = ['{"a\\\\": "b c"}', '["\\\\\\" x", "y z"]', '{"k": "\\\\\\\\"}', '[ "\\"", 1 ]']
    assert compact_postgres_json(pa.array(values)).to_pylist() == [_compact(json.loads(v)) for v in values]


def test_null_slots_holding_unbalanced_bytes() -> None:
    data = b'{"a": 1}"x y{"b": "c d"}'
    offsets = pa.array([0, 8, 12, 24], pa.int32()).buffers()[1]
    validity = pa.array([True, False, True]).buffers()[1]
    array = pa.StringArray.from_buffers(3, offsets, pa.py_buffer(data), validity, null_count=1)
    assert compact_postgres_json(array).to_pylist() == ['{"a":1}', None, '{"b":"c d"}']


def test_nothing_to_drop_returns_the_same_values() -> None:
    array = pa.array(['{"a":"b c"}', None, "[]"])
    assert compact_postgres_json(array).to_pylist() == ['{"a":"b c"}', None, "[]"]
    assert compact_postgres_json(pa.array([], pa.string())).to_pylist() == []
    assert compact_postgres_json(pa.array([None], pa.string())).to_pylist() == [None]
