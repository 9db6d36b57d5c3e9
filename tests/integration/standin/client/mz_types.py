"""The table of every Materialize type that client mode exports through the stand-in, and what
Materialize's native ``COPY TO S3`` writes for it: the Arrow fields and the first row's values."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pyarrow as pa

from tests.support.parity import parity_field

# name, SQL type; the arrays separately (only the ADBC reader exports them)
COLUMNS: list[tuple[str, str]] = [
    ("id", "integer NOT NULL"),
    ("label", "text NOT NULL"),
    ("b", "boolean"),
    ("i2", "smallint"),
    ("i4", "integer"),
    ("i8", "bigint"),
    ("u2", "uint2"),
    ("u4", "uint4"),
    ("u8", "uint8"),
    ("f4", "real"),
    ("f8", "double precision"),
    ("n", "numeric(18, 4)"),
    ("nu", "numeric"),
    ("tx", "text"),
    ("vc", "varchar"),
    ("vc10", "varchar(10)"),
    ("ch5", "char(5)"),
    ("by", "bytea"),
    ("u", "uuid"),
    ("j", "jsonb"),
    ("d", "date"),
    ("tm", "time"),
    ("ts", "timestamp"),
    ("tz", "timestamptz"),
    ("mzt", "mz_timestamp"),
]
ARRAY_COLUMNS: list[tuple[str, str]] = [
    ("ai", "integer[]"),
    ("an", "numeric(38, 16)[]"),
    ("av", "varchar(5)[]"),
    ("au", "uint4[]"),
]
ROWS = [
    # scalars ..., then the arrays
    (
        "1, 'full', true, -32768, 2147483647, -9223372036854775808, 32767, 2147483647, 9223372036854775807, "
        "1.5, -2.25e300, 12345678901234.5678, 1234, 'héllo', '', 'ten chars!', 'ab', '\\x00ff10', "
        "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"b\": [1, 2.5], \"a\": \"x, y: z\"}', '2024-02-29', "
        "'23:59:59.999999', '1999-12-31 23:59:59.000001', '2024-01-02 03:04:05.5+02', 1700000000000",
        "'{{1,2},{3,4}}', '{1.5,NULL,-0.0000000000000001}', '{\"ab\",NULL,\"c d\"}', '{7,NULL}'",
    ),
    ("2, 'nulls'" + ", NULL" * (len(COLUMNS) - 2), "NULL, NULL, NULL, NULL"),
    (
        "3, 'edges', false, 0, 0, 0, 0, 0, 0, 'NaN', 'Infinity', -0.0001, 0.0000000001, 'x', 'y', 'z', "
        "'abcde', '\\x', '00000000-0000-0000-0000-000000000000', '[]', '0001-01-01', '00:00', "
        "'0001-01-01 00:00', '1970-01-01 00:00+00', 0",
        "'{}', '{}', '{}', '{}'",
    ),
]


def _table_sql(table: str, columns: list[tuple[str, str]], with_arrays: bool) -> str:
    ddl = ", ".join(f"{name} {sql_type}" for name, sql_type in columns)
    values = ", ".join(
        f"({scalars}, {arrays})" if with_arrays else f"({scalars})" for scalars, arrays in ROWS
    )
    return f"CREATE TABLE {table} ({ddl}); INSERT INTO {table} VALUES {values};"


def _array(name: str, element: pa.DataType, element_mz: str) -> pa.Field:
    items = parity_field(
        "items", pa.list_(parity_field("item", element, element_mz)), "array_items", nullable=False
    )
    dims = parity_field("dimensions", pa.uint8(), "array_dimensions", nullable=False)
    return parity_field(name, pa.struct([items, dims]), "array")


# What Materialize's native COPY TO S3 writes for these columns (README, "Type mapping").
EXPECTED_FIELDS = {
    "id": parity_field("id", pa.int32(), "integer", nullable=False),
    "label": parity_field("label", pa.large_string(), "text", nullable=False),
    "b": parity_field("b", pa.bool_(), "boolean"),
    "i2": parity_field("i2", pa.int16(), "smallint"),
    "i4": parity_field("i4", pa.int32(), "integer"),
    "i8": parity_field("i8", pa.int64(), "bigint"),
    "u2": parity_field("u2", pa.uint16(), "uint2"),
    "u4": parity_field("u4", pa.uint32(), "uint4"),
    "u8": parity_field("u8", pa.uint64(), "uint8"),
    "f4": parity_field("f4", pa.float32(), "real"),
    "f8": parity_field("f8", pa.float64(), "double"),
    "n": parity_field("n", pa.decimal128(38, 4), "numeric"),  # wire typmod: precision 39, scale 4
    "nu": parity_field("nu", pa.decimal128(38, 10), "numeric"),  # wire typmod 39/39
    "tx": parity_field("tx", pa.large_string(), "text"),
    "vc": parity_field("vc", pa.large_string(), "text"),
    "vc10": parity_field("vc10", pa.string(), "text"),
    "ch5": parity_field("ch5", pa.string(), "text"),
    "by": parity_field("by", pa.large_binary(), "bytea"),
    "u": parity_field("u", pa.binary(16), "uuid"),
    "j": parity_field("j", pa.large_string(), "jsonb"),
    "d": parity_field("d", pa.date32(), "date"),
    "tm": parity_field("tm", pa.time64("us"), "time"),
    "ts": parity_field("ts", pa.timestamp("us"), "timestamp"),
    "tz": parity_field("tz", pa.timestamp("us", tz="+00:00"), "timestamptz"),
    "mzt": parity_field("mzt", pa.uint64(), "mz_timestamp"),
    # arrays: typmod -1 on the wire; the element types come from describing `col[1]`
    "ai": _array("ai", pa.int32(), "integer"),
    "an": _array("an", pa.decimal128(38, 16), "numeric"),
    "av": _array("av", pa.string(), "text"),
    "au": _array("au", pa.uint32(), "uint4"),
}

EXPECTED_FIRST_ROW = {
    "id": 1,
    "label": "full",
    "b": True,
    "i2": -32768,
    "i4": 2147483647,
    "i8": -9223372036854775808,
    "u2": 32767,  # the stand-in stores uint2/4/8 as int2/4/8: values up to 2^15-1 / 2^31-1 / 2^63-1
    "u4": 2147483647,
    "u8": 9223372036854775807,
    "f4": 1.5,
    "f8": -2.25e300,
    "n": Decimal("12345678901234.5678"),
    "nu": Decimal("1234.0000000000"),  # padded to scale 10
    "tx": "héllo",
    "vc": "",
    "vc10": "ten chars!",
    "ch5": "ab   ",
    "by": b"\x00\xff\x10",
    "u": uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").bytes,
    "j": None,  # compared as JSON below
    "d": dt.date(2024, 2, 29),
    "tm": dt.time(23, 59, 59, 999999),
    "ts": dt.datetime(1999, 12, 31, 23, 59, 59, 1),
    "tz": dt.datetime(2024, 1, 2, 1, 4, 5, 500000, tzinfo=dt.UTC),
    "mzt": 1700000000000,
    "ai": {"items": [1, 2, 3, 4], "dimensions": 2},
    "an": {"items": [Decimal("1.5"), None, Decimal("-1E-16")], "dimensions": 1},
    "av": {"items": ["ab", None, "c d"], "dimensions": 1},
    "au": {"items": [7, None], "dimensions": 1},
}
