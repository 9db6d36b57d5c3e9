"""Materialize ``list`` and ``map`` columns, read as their text form, decoded into Arrow lists and maps.

Materialize sends list and map values only as text (its Bind refuses binary results for them:
src/pgwire/src/protocol.rs; doc/user/content/sql/types/list.md, "list data can only be sent to
PostgreSQL as text"), in the format of ``format_list`` / ``format_map`` in src/repr/src/strconv.rs:

* a list is ``{e1,e2,...}``; a nested list is written bare inside it (``{{1,2},{}}``);
* a map is ``{k1=>v1,k2=>v2}``, keys in the map's (byte) order;
* a NULL element or value is the bare word ``NULL``;
* an element, key or value that is empty, is ``NULL``, or holds ``{ } , " \\`` or ASCII whitespace
  (for maps also ``= >``) is put in double quotes, with a backslash before each ``"`` and ``\\``
  (``ListElementEscaper`` / ``MapElementEscaper`` and ``escape_elem``). Nothing else is escaped, so
  other control characters can appear bare.

The text of a whole batch is turned into newline-delimited JSON with a few vectorised regular
expression and substring passes (no per-value Python), read by ``pyarrow.json`` with an explicit
schema whose leaves are strings, and the leaf strings are then converted like scalar columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from airflow_provider_materialize.export.client.conversions import ValueConversionError
from airflow_provider_materialize.export.client.type_mapping import mz_metadata
from airflow_provider_materialize.export.describe import NESTED_TYPES, DescribedColumn

LIST = "list"
MAP = "map"

# One token per match: a quoted element (group 1), a bare element (group 2), structure (group 3).
# Each match is written back between the markers \x01..\x04, so that the token kind can be told by
# plain substring replacements afterwards. The markers cannot occur in the data: every control
# character is escaped for JSON before this pass.
_LIST_TOKEN = r'("(?:[^"\\]|\\.)*")|([^{},"]+)|([{},])'
_MAP_TOKEN = r'("(?:[^"\\]|\\.)*")|([^{},"=>]+)|([{},]|=>)'
_MARKED = "\x01\\1\x02\\2\x03\\3\x04"
_STRUCTURE = "\x01\x02\x03{}\x04"
_CONTROL_CHARACTERS = "[\x01-\x1f]"

_LIST_REPLACEMENTS = (
    (_STRUCTURE.format("{"), "["),
    (_STRUCTURE.format("}"), "]"),
    (_STRUCTURE.format(","), ","),
)
# Map entries become JSON objects {"k": key, "v": value} in a JSON array.
_MAP_REPLACEMENTS = (
    (_STRUCTURE.format("{") + _STRUCTURE.format("}"), "[]"),
    (_STRUCTURE.format("{"), '[{"k":'),
    (_STRUCTURE.format("}"), "}]"),
    (_STRUCTURE.format(","), '},{"k":'),
    (_STRUCTURE.format("=>"), ',"v":'),
)
_TOKEN_REPLACEMENTS = (
    ("\x01\x02NULL\x03\x04", "null"),  # the bare word NULL is a NULL; a string "NULL" is quoted
    ("\x02\x03\x04", ""),  # after a quoted element: it is a JSON string already
    ("\x01\x02", '"'),  # around a bare element
    ("\x03\x04", '"'),
    ("\x01", ""),  # before a quoted element
)


@dataclass(frozen=True)
class NestedShape:
    """A list or map column: ``kind`` over ``inner`` (a list's nested list), or over scalar leaves."""

    kind: str  # LIST or MAP
    inner: NestedShape | None = None

    @property
    def depth(self) -> int:
        return 1 + (self.inner.depth if self.inner else 0)


def shape_of(column: DescribedColumn) -> tuple[NestedShape | None, DescribedColumn | None]:
    """A list (layers of lists) or a map over scalar leaves, and the leaf; anything else (None, None)."""
    inner = column.nested
    if inner is None:
        return None, None
    if column.type_name == MAP:
        return (NestedShape(MAP), inner) if inner.type_name not in NESTED_TYPES else (None, None)
    if inner.type_name == LIST:
        shape, leaf = shape_of(inner)
        return (NestedShape(LIST, shape), leaf) if shape is not None else (None, None)
    if inner.type_name == MAP:
        return None, None
    return NestedShape(LIST), inner


def nested_arrow_type(
    column: DescribedColumn, leaf: pa.DataType, leaf_metadata: dict[bytes, bytes]
) -> pa.DataType:
    """Native COPY's Arrow type of a list or map column (``scalar_to_arrow_datatype`` in builder.rs).

    ``T list`` is ``List(item: T)``; ``map[text=>T]`` is ``Map(entries: Struct(keys: Utf8 not null,
    values: T))``, unsorted. The item and values fields are nullable and carry the element's
    ``materialize.v1.<type>`` name (a layered list's inner lists: ``list``); the keys field has none.

    :param column: the described list or map column
    :param leaf: the Arrow type of the innermost elements (values)
    :param leaf_metadata: their field metadata
    """
    inner = column.nested
    assert inner is not None
    if inner.type_name in NESTED_TYPES:
        inner_type = nested_arrow_type(inner, leaf, leaf_metadata)
        metadata = mz_metadata(inner.type_name)
    else:
        inner_type, metadata = leaf, leaf_metadata
    if column.type_name == LIST:
        return pa.list_(pa.field("item", inner_type, nullable=True, metadata=metadata))
    return pa.map_(
        pa.field("keys", pa.string(), nullable=False),
        pa.field("values", inner_type, nullable=True, metadata=metadata),
    )


def to_json_text(texts: pa.Array, kind: str, *, quoted: bool) -> pa.Array:
    """Materialize's list or map text -> JSON text, value by value (NULLs stay NULL).

    A list becomes a JSON array (nested lists nested arrays), a map a JSON array of
    ``{"k": key, "v": value}`` objects; every element, key and value is a JSON string or null.

    :param quoted: Whether any value holds a ``"`` (a quoted element).
    """
    if pc.any(pc.match_substring_regex(texts, _CONTROL_CHARACTERS)).as_py():
        for code in range(1, 0x20):
            texts = pc.replace_substring(texts, chr(code), f"\\u{code:04x}")
    if kind == LIST and not quoted:
        # No quoted element: every { } , is structure and every other run an element (3x faster).
        texts = pc.replace_substring_regex(texts, "[^{},]+", '"\\0"')
        for pattern, replacement in (('"NULL"', "null"), ("{", "["), ("}", "]")):
            texts = pc.replace_substring(texts, pattern, replacement)
        return texts
    texts = pc.replace_substring_regex(texts, _LIST_TOKEN if kind == LIST else _MAP_TOKEN, _MARKED)
    for pattern, replacement in _LIST_REPLACEMENTS if kind == LIST else _MAP_REPLACEMENTS:
        texts = pc.replace_substring(texts, pattern, replacement)
    for pattern, replacement in _TOKEN_REPLACEMENTS:
        texts = pc.replace_substring(texts, pattern, replacement)
    return texts


def json_type(shape: NestedShape) -> pa.DataType:
    """The Arrow type ``pyarrow.json`` reads the JSON text of ``shape`` as: string leaves."""
    if shape.kind == MAP:
        return pa.list_(pa.struct([("k", pa.string()), ("v", pa.string())]))
    return pa.list_(json_type(shape.inner) if shape.inner else pa.string())


def decode(
    texts: pa.Array,
    shape: NestedShape,
    target: pa.DataType,
    convert_leaf: Callable[[pa.Array], pa.Array],
) -> pa.Array:
    """Decode a batch of list or map text into ``target``; ``convert_leaf`` turns leaf strings into leaves.

    :param texts: the column as text, as Materialize formats it
    :param shape: list / map nesting of the column
    :param target: the output type (native COPY's list or map type)
    :param convert_leaf: string array -> array of the leaf type of ``target``
    """
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if not len(texts):
        return pa.array([], type=target)
    if pa.types.is_null(texts.type):
        texts = texts.cast(pa.string())
    quoted = bool(pc.any(pc.match_substring(texts, '"')).as_py())  # escaping control characters adds none
    if shape.inner is None and not quoted:
        return _decode_unquoted(texts, shape.kind, target, convert_leaf)
    json_text = pc.fill_null(to_json_text(texts, shape.kind, quoted=quoted), "null")
    lines = pc.binary_join_element_wise('{"v":', json_text, "}\n", "")
    _, offsets, data = lines.buffers()
    first = int.from_bytes(offsets[:4].to_pybytes(), "little")  # not a copy of every offset
    assert first == 0  # a fresh array from the kernel: its values are one NDJSON buffer
    size = int(pc.sum(pc.binary_length(lines)).as_py())
    try:
        table = pa_json.read_json(
            pa.BufferReader(data[:size]),
            read_options=pa_json.ReadOptions(use_threads=False, block_size=max(size + 1, 1 << 20)),
            parse_options=pa_json.ParseOptions(
                explicit_schema=pa.schema([("v", json_type(shape))]), unexpected_field_behavior="error"
            ),
        )
    except pa.ArrowInvalid as error:
        raise ValueConversionError(f"cannot decode {shape.kind} values: {error}") from error
    decoded = table.column("v").combine_chunks()
    if len(decoded) != len(texts):
        raise ValueConversionError(f"decoding {len(texts)} {shape.kind} values gave {len(decoded)}")
    return _rebuild(decoded, target, convert_leaf)


def _decode_unquoted(
    texts: pa.Array, kind: str, target: pa.DataType, convert_leaf: Callable[[pa.Array], pa.Array]
) -> pa.Array:
    """The common case, about ten times faster: a flat list or map and no quoted element in the batch.

    Then every ``{ } , =>`` is structure (inside elements they would have been quoted), so the
    elements are the pieces between them.
    """
    inside = pc.utf8_slice_codeunits(texts, 1, -1)  # without the braces
    empty = pc.fill_null(pc.equal(inside, ""), False)
    pieces = pc.split_pattern(inside, ",")
    keep = pc.invert(pc.take(empty, pc.list_parent_indices(pieces)))
    elements = pc.filter(pieces.flatten(), keep)
    lengths = pc.if_else(empty, 0, pc.fill_null(pc.list_value_length(pieces), 0))
    offsets = pa.concat_arrays([pa.array([0], pa.int32()), pc.cast(pc.cumulative_sum(lengths), pa.int32())])
    mask = texts.is_null() if texts.null_count else None
    if kind == MAP:
        pairs = pc.split_pattern(elements, "=>", max_splits=1)
        keys = pc.list_element(pairs, 0)
        values = _nulls_for_null_word(pc.list_element(pairs, 1))
        return pa.MapArray.from_arrays(offsets, keys, convert_leaf(values), type=target, mask=mask)
    values = convert_leaf(_nulls_for_null_word(elements))
    return pa.ListArray.from_arrays(offsets, values, type=target, mask=mask)


def _nulls_for_null_word(elements: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(elements, "NULL"), pa.scalar(None, elements.type), elements)


def _rebuild(array: pa.Array, target: pa.DataType, convert_leaf: Callable[[pa.Array], pa.Array]) -> pa.Array:
    mask = array.is_null() if array.null_count else None
    if pa.types.is_map(target):
        entries = array.values
        values = convert_leaf(entries.field("v"))
        return pa.MapArray.from_arrays(array.offsets, entries.field("k"), values, type=target, mask=mask)
    if pa.types.is_list(target):
        values = _rebuild(array.values, target.value_type, convert_leaf)
        return pa.ListArray.from_arrays(array.offsets, values, type=target, mask=mask)
    return convert_leaf(array)


def text_to_bool(texts: pa.Array) -> pa.Array:
    """Materialize's boolean text inside lists and maps: ``t`` / ``f`` (strconv.rs ``format_bool``)."""
    return pc.equal(texts, "t")
