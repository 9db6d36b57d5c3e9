"""Parity with Materialize's native ``COPY TO S3``: its Arrow fields, and how a schema differs.

Materialize writes each column with its Arrow type and the field metadata
``ARROW:extension:name = materialize.v1.<type>``; the operator's client mode must write the same.
"""

from __future__ import annotations

import pyarrow as pa


def parity_field(name: str, arrow_type: pa.DataType, type_name: str, nullable: bool = True) -> pa.Field:
    """A field as Materialize's native COPY TO S3 writes it: the Arrow type and ``materialize.v1.*``."""
    return pa.field(
        name, arrow_type, nullable=nullable, metadata={"ARROW:extension:name": f"materialize.v1.{type_name}"}
    )


TIMESTAMPTZ = pa.timestamp("us", tz="+00:00")

# The schemas of the benchmark's tables (bench/tables.py) as Materialize would write them.
PARITY_SCHEMAS: dict[str, pa.Schema] = {
    "mixed": pa.schema(
        [
            parity_field("id", pa.int64(), "bigint"),
            parity_field("account", pa.int32(), "integer"),
            parity_field("name", pa.large_string(), "text"),
            parity_field("note", pa.large_string(), "text"),
            parity_field("amount", pa.decimal128(38, 4), "numeric"),
            parity_field("tax", pa.decimal128(38, 4), "numeric"),
            parity_field("score", pa.float64(), "double"),
            parity_field("flag", pa.bool_(), "boolean"),
            parity_field("created_at", TIMESTAMPTZ, "timestamptz"),
            parity_field("updated_at", TIMESTAMPTZ, "timestamptz"),
            parity_field("day", pa.date32(), "date"),
            parity_field("uid", pa.binary(16), "uuid"),
            parity_field("attrs", pa.large_string(), "jsonb"),
        ]
    ),
    "narrow": pa.schema(
        [parity_field("id", pa.int64(), "bigint"), parity_field("value", pa.float64(), "double")]
    ),
}


def schema_differences(actual: pa.Schema, expected: pa.Schema) -> list[str]:
    """Human-readable differences between two schemas, field by field, metadata included."""
    if actual.names != expected.names:
        return [f"column names {actual.names} != {expected.names}"]
    return [
        f"{want.name}: {got.type} {dict(got.metadata or {})} != {want.type} {dict(want.metadata or {})}"
        for got, want in zip(actual, expected, strict=True)
        if not got.equals(want, check_metadata=True)
    ]


def describe_schema(schema: pa.Schema) -> list[str]:
    return [f"{f.name}: {f.type}" for f in schema]


def type_differences(actual: pa.Schema, expected: pa.Schema) -> list[str]:
    """Columns whose Arrow type differs from the expected one (metadata ignored)."""
    wanted = {f.name: f.type for f in expected}
    return [
        f"{f.name} {f.type} (parity: {wanted.get(f.name, 'no such column')})"
        for f in actual
        if wanted.get(f.name) != f.type
    ]
