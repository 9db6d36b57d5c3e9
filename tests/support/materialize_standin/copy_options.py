"""``COPY <object | (query)> TO <expr> WITH (...)``: the statement, its options and the planner's checks.

Order and texts follow src/sql/src/plan/statement/dml.rs (``plan_copy`` then
``plan_copy_to_expr``) and the option extraction of ``generate_extracted_config!``
(src/sql/src/normalize.rs) with the value conversions of src/sql/src/plan/with_options.rs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

from tests.support.materialize_standin.copy_statement import OPTION_KINDS, CopyStatement, Option
from tests.support.materialize_standin.errors import FEATURE_NOT_SUPPORTED, MzError, rust_debug_str
from tests.support.materialize_standin.sqltext import tokenize, top_level

# src/repr/src/bytes.rs, BytesUnit::value (powers of 1024)
UNITS = {"B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
_SMALLER = {"kB": "B", "MB": "kB", "GB": "MB", "TB": "GB"}
# src/storage-types/src/sinks.rs: MIN/MAX_S3_SINK_FILE_SIZE; default: dml.rs, ByteSize::mb(256)
MIN_FILE_SIZE, MAX_FILE_SIZE, DEFAULT_FILE_SIZE = 16 * 1024**2, 4 * 1024**3, 256 * 1024**2


def parse_byte_size(value: str) -> int:
    """src/repr/src/bytes.rs, ``impl FromStr for ByteSize`` (unit first, then the number)."""
    number = ""
    for char in value:
        if not (char.isdigit() or char == "."):
            break
        number += char
    suffix = value.lstrip("0123456789. \t\n\r\f\v")
    if suffix == "":
        unit = "B"
    elif suffix in UNITS:
        unit = suffix
    else:
        raise ValueError(
            f"couldn't parse {rust_debug_str(suffix)} into a known SI unit, invalid BytesUnit: {suffix}. "
            "Valid units are B, kB, MB, GB, and TB. Valid units are B, kB, MB, GB, and TB"
        )
    if number.isdigit() and int(number) < 2**64:
        size = int(number)
    else:
        try:
            parsed = float(number) if number not in ("", ".") else None
        except ValueError:
            parsed = None
        if parsed is None:
            reason = "cannot parse float from empty string" if number == "" else "invalid float literal"
            raise ValueError(f"couldn't parse {number} as a number, {reason}")
        if parsed == math.trunc(parsed):
            size = min(int(parsed), 2**64 - 1)
        else:  # rounded half away from zero into the next lower unit
            size = math.floor(parsed * (1 if unit == "B" else 1024) + 0.5)
            unit = _SMALLER.get(unit, "B")
    if size * UNITS[unit] >= 2**64:
        raise ValueError("bytes value exceeds u64 range")
    return size * UNITS[unit]


def format_byte_size(size: int) -> str:
    """src/repr/src/bytes.rs, ``ByteSize::format_string``: the largest unit dividing exactly."""
    if size == 0:
        return "0"
    for unit in ("TB", "GB", "MB", "kB"):
        if size % UNITS[unit] == 0:
            return f"{size // UNITS[unit]}{unit}"
    return f"{size}B"


def _convert(kind: str, value: tuple[str, str] | None) -> object:
    # src/sql/src/plan/with_options.rs: TryFromValue / ImpliedValue for String, bool, ByteSize.
    # An identifier value becomes Value::String (its folded text) -- the generic WithOptionValue impl.
    if kind == "string":
        if value is None:
            raise ValueError("must provide a string value")
        if value[0] in ("string", "ident") or (value[0] == "name" and "." not in value[1]):
            return value[1]
        raise ValueError("cannot use value as string")
    if kind == "bool":
        if value is None:
            return True
        if value[0] == "bool":
            return value[1] == "true"
        raise ValueError("cannot use value as boolean")
    if kind == "bytes":
        if value is not None and (
            value[0] in ("number", "string") or (value[0] == "name" and "." not in value[1])
        ):
            try:
                return parse_byte_size(value[1])
            except ValueError as error:
                raise ValueError(f"invalid bytes value: {error}") from error
        raise ValueError("cannot use value as bytes")
    if kind == "object":
        if value is not None and value[0] == "name":
            return value[1]
        raise ValueError("cannot use value as object (stand-in; Materialize's text UNCONFIRMED)")
    return value[1] if value else None


def extract_options(options: list[Option]) -> dict[str, object]:
    """generate_extracted_config!: each option once ("{} specified more than once"), values converted
    ("invalid {}: {}"), in statement order."""
    extracted: dict[str, object] = {}
    for option in options:
        if option.name in extracted:
            raise MzError(f"{option.name} specified more than once")
        try:
            extracted[option.name] = _convert(OPTION_KINDS[option.name], option.value)
        except ValueError as error:
            raise MzError(f"invalid {option.name}: {error}") from error
    return extracted


def has_top_level_order_by(query: str) -> bool:
    tokens = [t for _, t in top_level(tokenize(query))]
    return any(a.is_word("order") and b.is_word("by") for a, b in pairwise(tokens))


def _one_byte(value: object, name: str) -> int | None:
    # dml.rs, extract_byte_param_value: Some(v) if v.len() == 1 (bytes, not characters)
    if value is None:
        return None
    encoded = str(value).encode()
    if len(encoded) != 1:
        raise MzError(f"COPY {name} must be a single one-byte character")
    return encoded[0]


@dataclass
class CopyPlan:
    format: str  # "parquet" or "csv"
    connection: str
    max_file_size: int
    delimiter: int = ord(",")
    quote: int = ord('"')
    escape: int = ord('"')
    header: bool = False
    null: str = ""


def plan_copy_to(
    statement: CopyStatement,
    extracted: dict[str, object],
    connection_kind: Callable[[str], str],
    validate_desc: Callable[[], None],
    target_type: Callable[[], str],
) -> CopyPlan:
    """plan_copy's checks for TO <expr>, then plan_copy_to_expr's, in their order (dml.rs)."""
    given = extracted.get("FORMAT")
    if given is not None and str(given).lower() not in ("text", "csv", "binary", "parquet"):
        raise MzError(f"unknown FORMAT: {given}")
    if given is None:
        raise MzError("COPY TO <expr> requires a FORMAT option")
    file_format = str(given).lower()
    if statement.name is not None and statement.columns:
        raise MzError(
            "specifying columns for COPY <table_name> TO commands not yet supported; "
            "use COPY (SELECT...) TO ... instead"
        )
    if statement.query is not None and has_top_level_order_by(statement.query):
        raise MzError("ORDER BY is not supported in SELECT query for COPY statements")
    connection = extracted.get("AWS CONNECTION")
    if connection is None:
        raise MzError("AWS CONNECTION is required for COPY ... TO <expr>")
    if connection_kind(str(connection)) != "aws":
        raise MzError("only AWS CONNECTION is supported for COPY ... TO <expr>")
    max_file_size = extracted.get("MAX FILE SIZE", DEFAULT_FILE_SIZE)
    assert isinstance(max_file_size, int)
    plan = CopyPlan(file_format, str(connection), max_file_size)
    if file_format == "csv":
        quote = _one_byte(extracted.get("QUOTE"), "quote")
        escape = _one_byte(extracted.get("ESCAPE"), "escape")
        delimiter = _one_byte(extracted.get("DELIMITER"), "delimiter")
        # src/pgcopy/src/copy.rs, CopyCsvFormatParams::try_new: defaults ',' '"', escape = quote
        plan.delimiter = ord(",") if delimiter is None else delimiter
        plan.quote = ord('"') if quote is None else quote
        plan.escape = plan.quote if escape is None else escape
        if plan.delimiter == plan.quote:
            raise MzError("COPY delimiter and quote must be different")
        plan.header = bool(extracted.get("HEADER", False))
        plan.null = str(extracted.get("NULL") or "")
    elif file_format == "parquet":
        validate_desc()
    else:  # bail_unsupported!("FORMAT BINARY") / ("FORMAT TEXT"): "<feature> not yet supported"
        raise MzError(f"FORMAT {file_format.upper()} not yet supported", FEATURE_NOT_SUPPORTED)
    found = target_type()
    if found not in ("text", "unknown"):
        raise MzError(f"COPY TO target must have type text, not type {found}")
    if plan.max_file_size < MIN_FILE_SIZE:
        raise MzError(f"MAX FILE SIZE cannot be less than {format_byte_size(MIN_FILE_SIZE)}")
    if plan.max_file_size > MAX_FILE_SIZE:
        raise MzError(f"MAX FILE SIZE cannot be greater than {format_byte_size(MAX_FILE_SIZE)}")
    return plan
