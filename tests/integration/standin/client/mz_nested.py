"""List and map columns through the stand-in (tests/support/materialize_standin/nested_types.py), and
what Materialize's native ``COPY TO S3`` writes for them (``scalar_to_arrow_datatype`` in
src/arrow-util/src/builder.rs): the Arrow fields and the rows' values.

The stand-in's types are named ``<element>_list`` / ``<value>_map``; its rows are written in
PostgreSQL's array syntax, which the stand-in stores (Materialize's ``int4 list`` etc.).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pyarrow as pa

from tests.support.parity import parity_field

# every shape of text Materialize quotes or escapes inside a list or map (strconv.rs escapers)
TEXTS = ["a,b", 'q"x', "{br}", " lead", "tab\there", "back\\slash", None, "NULL", "null", "", "x=>y", "é"]
KEYS = ["b,1", 'q"x', "=>", "a b", "NULL", "", "{k}", "back\\slash", "plain"]
VALUES = ["v,1", "{}", None, "NULL", "back\\slash", " ", 'q"', "null", "x"]


def _text_array(values: list[str | None]) -> str:
    listed = ", ".join("NULL" if v is None else "'" + v.replace("'", "''") + "'" for v in values)
    return f"ARRAY[{listed}]::text[]"


COLUMNS = [
    ("id", "int NOT NULL"),
    ("li", "int4_list"),
    ("l8", "int8_list"),
    ("ln", "numeric_list"),
    ("lt", "text_list"),
    ("lb", "bool_list"),
    ("ll", "int4_list_list"),
    ("ltt", "text_list_list"),
    ("mi", "int4_map"),
    ("mn", "numeric_map"),
    ("mt", "text_map"),
    ("mb", "bool_map"),
]
_NESTED_TEXT = (
    f"ARRAY[{_text_array(['a b', 'c'])}::text::text_list, '{{}}'::text_list, NULL, "
    f"{_text_array(TEXTS)}::text::text_list]::text::text_list_list"
)
ROWS = [
    "1, '{1,-2,NULL,2147483647}', '{-9223372036854775808,0}', "
    "'{1.5,NULL,-0.0000000001,1234567890123456789012345678.5}', "
    f"{_text_array(TEXTS)}::text::text_list, '{{t,f,NULL}}', "
    '\'{"{1,2}","{}",NULL,"{NULL}"}\', ' + _NESTED_TEXT + ", "
    "mz_standin.int4_map(ARRAY['b', 'a', 'c'], ARRAY[2, 1, NULL]), "
    "mz_standin.numeric_map(ARRAY['x', 'y'], ARRAY[1.25, NULL]), "
    f"mz_standin.text_map({_text_array(KEYS)}, {_text_array(VALUES)}), "
    "mz_standin.bool_map(ARRAY['t', 'f'], ARRAY[true, false])",
    "2" + ", NULL" * (len(COLUMNS) - 1),
    "3, '{}', '{}', '{}', '{}', '{}', '{}', '{}', "
    "mz_standin.int4_map('{}', '{}'), mz_standin.numeric_map('{}', '{}'), "
    "mz_standin.text_map('{}', '{}'), mz_standin.bool_map('{}', '{}')",
]
TABLE_SQL = (
    "CREATE TABLE mz_nested ("
    + ", ".join(f"{name} {sql_type}" for name, sql_type in COLUMNS)
    + "); INSERT INTO mz_nested VALUES "
    + ", ".join(f"({row})" for row in ROWS)
    + "; CREATE TABLE mz_nested_refused (id int, ld date_list, md date_map);"
    "INSERT INTO mz_nested_refused VALUES (1, '{2024-01-01}', mz_standin.date_map('{a}', '{2024-01-01}'));"
)


def _list(name: str, item: pa.DataType, item_name: str) -> pa.Field:
    return parity_field(name, pa.list_(parity_field("item", item, item_name)), "list")


def _map(name: str, value: pa.DataType, value_name: str) -> pa.Field:
    keys = pa.field("keys", pa.string(), nullable=False)  # no type name on the keys field
    return parity_field(name, pa.map_(keys, parity_field("values", value, value_name)), "map")


EXPECTED_FIELDS = [
    parity_field("id", pa.int32(), "integer", nullable=False),
    _list("li", pa.int32(), "integer"),
    _list("l8", pa.int64(), "bigint"),
    _list("ln", pa.decimal128(38, 10), "numeric"),
    _list("lt", pa.large_string(), "text"),
    _list("lb", pa.bool_(), "boolean"),
    parity_field("ll", pa.list_(_list("item", pa.int32(), "integer")), "list"),
    parity_field("ltt", pa.list_(_list("item", pa.large_string(), "text")), "list"),
    _map("mi", pa.int32(), "integer"),
    _map("mn", pa.decimal128(38, 10), "numeric"),
    _map("mt", pa.large_string(), "text"),
    _map("mb", pa.bool_(), "boolean"),
]


def _sorted_entries(keys: list[str], values: list[Any]) -> list[tuple[str, Any]]:
    return sorted(zip(keys, values, strict=True), key=lambda kv: kv[0].encode())


EXPECTED_ROWS: list[dict[str, Any]] = [
    {
        "id": 1,
        "li": [1, -2, None, 2147483647],
        "l8": [-9223372036854775808, 0],
        "ln": [Decimal("1.5"), None, Decimal("-1E-10"), Decimal("1234567890123456789012345678.5")],
        "lt": TEXTS,
        "lb": [True, False, None],
        "ll": [[1, 2], [], None, [None]],
        "ltt": [["a b", "c"], [], None, TEXTS],
        "mi": [("a", 1), ("b", 2), ("c", None)],
        "mn": [("x", Decimal("1.25")), ("y", None)],
        "mt": _sorted_entries(KEYS, VALUES),
        "mb": [("f", False), ("t", True)],
    },
    {"id": 2, **{name: None for name, _ in COLUMNS[1:]}},
    {"id": 3, **{name: [] for name, _ in COLUMNS[1:]}},
]
