"""Materialize's Arrow schema for COPY TO S3 Parquet, and its value conversions, from PostgreSQL columns.

src/arrow-util/src/builder.rs: ``desc_to_schema`` / ``scalar_to_arrow_datatype`` (types, the
``materialize.v1.<type>`` field metadata, NOT NULL -> required, duplicate names),
``ArrowBuilder::validate_desc`` (unsupported columns, all named at plan time) and
``ArrowColumn::append_datum`` (values Parquet cannot hold fail the COPY at write time).
Values arrive as PostgreSQL's text output and are converted here.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

import pyarrow as pa

from tests.support.materialize_standin.errors import MzError, rust_debug_str
from tests.support.materialize_standin.nested_types import NESTED_TYPES, parse_stored

EXTENSION_KEY = "ARROW:extension:name"
DECIMAL_PRECISION = 38  # arrow's DECIMAL128_MAX_PRECISION
DECIMAL_DEFAULT_SCALE = 10  # builder.rs, DECIMAL_DEFAULT_SCALE for numeric without a scale
# Python's default context rounds to 28 digits; Materialize's numerics have up to 39 digits
_EXACT = Context(prec=100)
# DERIVED from SqlScalarType's variant names ({:?} of the column type); the testdrive confirms
# "Interval" and "Numeric { max_scale: Some(NumericMaxScale(39)) }" only.
_UNSUPPORTED = {
    "interval": "Interval",
    "char": "PgLegacyChar",
    "name": "PgLegacyName",
    "oid": "Oid",
    "regproc": "RegProc",
    "regtype": "RegType",
    "regclass": "RegClass",
    "int2vector": "Int2Vector",
    "aclitem": "AclItem",
    "mz_aclitem": "MzAclItem",
}
_RANGES = {
    "int4range": "Int32",
    "int8range": "Int64",
    "numrange": "Numeric { max_scale: None }",
    "daterange": "Date",
    "tsrange": "Timestamp { precision: None }",
    "tstzrange": "TimestampTz { precision: None }",
}


@dataclass(frozen=True)
class PgColumn:
    """A result column as PostgreSQL describes it, with the element type for arrays."""

    name: str
    typname: str  # pg_type.typname; Materialize's name for the stand-in types
    typmod: int
    nullable: bool
    element: PgColumn | None = None


@dataclass(frozen=True)
class ArrowColumn:
    field: pa.Field
    convert: Callable[[str], Any]  # PostgreSQL text -> the value Arrow takes


def _field(name: str, data_type: pa.DataType, nullable: bool, ext: str) -> pa.Field:
    # field_with_typename: every field carries ARROW:extension:name = materialize.v1.<ext>
    return pa.field(name, data_type, nullable=nullable, metadata={EXTENSION_KEY: f"materialize.v1.{ext}"})


def _numeric_scale(typmod: int) -> int | None:
    return None if typmod < 4 else (typmod - 4) & 0xFFFF


def _scalar(column: PgColumn) -> tuple[pa.DataType, str, Callable[[str], Any]]:
    """scalar_to_arrow_datatype for one scalar type; raises KeyError with the {:?} text if unsupported."""
    fixed: dict[str, tuple[pa.DataType, str, Callable[[str], Any]]] = {
        "bool": (pa.bool_(), "boolean", lambda v: v == "t"),
        "int2": (pa.int16(), "smallint", int),
        "int4": (pa.int32(), "integer", int),
        "int8": (pa.int64(), "bigint", int),
        "uint2": (pa.uint16(), "uint2", int),
        "uint4": (pa.uint32(), "uint4", int),
        "uint8": (pa.uint64(), "uint8", int),
        "float4": (pa.float32(), "real", float),
        "float8": (pa.float64(), "double", float),
        "date": (pa.date32(), "date", datetime.date.fromisoformat),
        "time": (pa.time64("us"), "time", datetime.time.fromisoformat),
        "timestamp": (pa.timestamp("us"), "timestamp", datetime.datetime.fromisoformat),
        "timestamptz": (pa.timestamp("us", tz="+00:00"), "timestamptz", datetime.datetime.fromisoformat),
        "bytea": (pa.large_binary(), "bytea", lambda v: bytes.fromhex(v[2:])),
        "uuid": (pa.binary(16), "uuid", lambda v: uuid.UUID(v).bytes),
        "jsonb": (pa.large_string(), "jsonb", compact_json),
        "mz_timestamp": (pa.uint64(), "mz_timestamp", int),
        "text": (pa.large_string(), "text", str),
    }
    if column.typname in fixed:
        return fixed[column.typname]
    if column.typname in ("varchar", "bpchar"):  # Utf8 with a length, LargeUtf8 without
        return (pa.string() if column.typmod >= 4 else pa.large_string()), "text", str
    if column.typname == "numeric":
        scale = _numeric_scale(column.typmod)
        if scale is not None and scale > DECIMAL_PRECISION:
            raise KeyError(f"Numeric {{ max_scale: Some(NumericMaxScale({scale})) }}")
        scale = DECIMAL_DEFAULT_SCALE if scale is None else scale
        return pa.decimal128(DECIMAL_PRECISION, scale), "numeric", lambda v: numeric_value(v, scale)
    if column.typname in _RANGES:
        raise KeyError(f"Range {{ element_type: {_RANGES[column.typname]} }}")
    # Types PostgreSQL has and Materialize does not (inet, json, money, ...) are named as PostgreSQL's.
    raise KeyError(_UNSUPPORTED.get(column.typname, column.typname))


def _nested(column: PgColumn) -> tuple[pa.DataType, str, Callable[[str], Any]]:
    """scalar_to_arrow_datatype's List / Map arms: ``List(item: T)`` and ``Map(entries: Struct(keys:
    Utf8 not null, values: T), unsorted)``, item and values nullable with the element's type name,
    keys without one; append_datum appends the elements in order, the map's entries in its order."""
    nested = NESTED_TYPES[column.typname]
    element = PgColumn("item", nested.element, -1, True)
    if nested.element in NESTED_TYPES:
        inner_type, inner_ext, convert_inner = _nested(element)
    else:
        inner_type, inner_ext, convert_inner = _scalar(element)

    def convert_element(value: Any) -> Any:
        return None if value is None else convert_inner(value)

    if nested.kind == "list":
        data_type: pa.DataType = pa.list_(_field("item", inner_type, True, inner_ext))

        def convert_list(text: Any) -> Any:
            elements = parse_stored(text, nested) if isinstance(text, str) else text
            return [convert_element(e) for e in elements]

        return data_type, "list", convert_list
    data_type = pa.map_(
        pa.field("keys", pa.string(), nullable=False), _field("values", inner_type, True, inner_ext)
    )

    def convert_map(text: str) -> Any:
        return [(key, convert_element(value)) for key, value in parse_stored(text, nested)]

    return data_type, "map", convert_map


def arrow_column(name: str, column: PgColumn) -> ArrowColumn:
    if column.typname in NESTED_TYPES:
        data_type, ext, convert = _nested(column)
        return ArrowColumn(_field(name, data_type, column.nullable, ext), convert)
    if column.typname in ("list", "map"):
        raise MzError("stand-in: COPY TO S3 of list and map columns is not modelled (element types unknown)")
    if column.element is None:
        data_type, ext, convert = _scalar(column)
        return ArrowColumn(_field(name, data_type, column.nullable, ext), convert)
    try:
        data_type, ext, convert_item = _scalar(column.element)
    except KeyError as error:
        raise KeyError(f"Array({error.args[0]})") from None
    item = _field("item", data_type, True, ext)
    items = _field("items", pa.list_(item), False, "array_items")
    dimensions = _field("dimensions", pa.uint8(), False, "array_dimensions")

    def convert_array(text: str) -> dict[str, Any]:
        elements, ndims = parse_array(text)
        values = [None if e is None else convert_item(e) for e in elements]
        return {"items": values, "dimensions": ndims}

    return ArrowColumn(_field(name, pa.struct([items, dimensions]), column.nullable, "array"), convert_array)


def unique_names(names: list[str]) -> list[str]:
    """desc_to_schema's suffixes: counted per original name only, so ``a, a, a2`` -> ``a, a2, a2``."""
    seen: dict[str, int] = {}
    result = []
    for name in names:
        if name in seen:
            seen[name] += 1
            result.append(f"{name}{seen[name]}")
        else:
            seen[name] = 1
            result.append(name)
    return result


def desc_to_schema(columns: list[PgColumn]) -> list[ArrowColumn]:
    """validate_desc, then the schema: every unsupported column named in one error."""
    found, errors = [], []
    for name, column in zip(unique_names([c.name for c in columns]), columns, strict=True):
        try:
            found.append(arrow_column(name, column))
        except KeyError as error:
            # errs.push(format!("{}: {:?}", col_name, col_type.scalar_type))
            errors.append(f"{column.name}: {error.args[0]}")
    if errors:
        listed = ", ".join(rust_debug_str(e) for e in errors)
        raise MzError(f"Cannot encode the following columns/types: [{listed}]")
    return found


def numeric_value(text: str, scale: int) -> Decimal:
    """append_datum for Decimal128(38, scale), in its order: special values, digits, scale, i128."""
    value = Decimal(text)
    if not value.is_finite():
        raise MzError(f"Cannot represent special numeric value {text} in parquet")
    # DERIVED: Materialize's numerics are reduced (no trailing zeros), and print in plain notation
    value = value.normalize(_EXACT)
    shown = format(value, "f")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if len(digits) > DECIMAL_PRECISION:
        raise MzError(f"Decimal value {shown} out of range for column with precision {DECIMAL_PRECISION}")
    scale_diff = scale + exponent
    if scale_diff < 0:
        raise MzError(f"cannot represent decimal value {shown} in column with scale {scale}")
    unscaled = int("".join(map(str, digits))) * 10**scale_diff * (-1 if sign else 1)
    if not -(2**127) <= unscaled < 2**127:
        raise MzError(f"Decimal value {shown} out of range for parquet")
    return Decimal(unscaled).scaleb(-scale, _EXACT)


def compact_json(text: str) -> str:
    """jsonb as ``to_serde_json().to_string()`` prints it: no blanks between tokens."""
    out, in_string, escaped = [], False, False
    for char in text:
        if in_string:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif char not in " \t\r\n":
            out.append(char)
    return "".join(out)


def parse_array(text: str) -> tuple[list[str | None], int]:
    """PostgreSQL's array text form: the elements in row-major order and the number of dimensions."""
    if text.startswith("["):
        text = text[text.index("=") + 1 :]
    elements: list[str | None] = []
    depth = max_depth = 0
    position = 0
    while position < len(text):
        char = text[position]
        if char == "{":
            depth += 1
            max_depth = max(max_depth, depth)
            position += 1
        elif char == "}":
            depth -= 1
            position += 1
        elif char in ", \t\n":
            position += 1
        elif char == '"':
            value, position = [], position + 1
            while text[position] != '"':
                if text[position] == "\\":
                    position += 1
                value.append(text[position])
                position += 1
            elements.append("".join(value))
            position += 1
        else:
            end = position
            while end < len(text) and text[end] not in ",}":
                end += 1
            raw = text[position:end].strip()
            elements.append(None if raw.upper() == "NULL" else raw)
            position = end
    return elements, (max_depth if elements else 0)


def record_batch(columns: list[ArrowColumn], rows: list[list[Any]]) -> pa.RecordBatch:
    schema = pa.schema([c.field for c in columns])
    arrays = [pa.array([row[i] for row in rows], type=c.field.type) for i, c in enumerate(columns)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
