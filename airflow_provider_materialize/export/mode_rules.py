"""What each export argument accepts, and what differs between the modes, as data.

:data:`MODE_RULES` holds each mode's formats, file size limits and own options; the functions
check single values. :mod:`request` applies them to the operator's arguments.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from airflow_provider_materialize.export.s3_folder import S3Folder
from airflow_provider_materialize.export.sizes import format_size

# Materialize's COPY TO S3 default and limits: ByteSize::mb(256) in src/sql/src/plan/statement/dml.rs,
# MIN/MAX_S3_SINK_FILE_SIZE = ByteSize::mb(16) / ByteSize::gb(4) in src/storage-types/src/sinks.rs;
# both bounds are accepted (plan_copy_to_expr compares with < and >).
DEFAULT_MAX_FILE_SIZE = 256 * 1024**2
MATERIALIZE_MIN_FILE_SIZE = 16 * 1024**2
MATERIALIZE_MAX_FILE_SIZE = 4 * 1024**3
COMPRESSIONS = ("snappy", "zstd", "gzip", "lz4", "none")
READERS = ("auto", "adbc", "csv")
# "materialize": every column carries ARROW:extension:name = materialize.v1.<type>, as native COPY writes;
# "none": plain Arrow types, for readers that refuse unknown extension types (Polars 2.x)
FIELD_METADATA = ("materialize", "none")
MAX_READ_CONNECTIONS = 16  # one backend and one client connection each
CSV_OPTIONS = ("csv_header", "csv_delimiter", "csv_quote")


class ExportMode(enum.Enum):
    """Who writes the files: the worker (client) or Materialize's ``COPY ... TO 's3://...'`` (native)."""

    CLIENT = "client"
    NATIVE = "native"


@dataclass(frozen=True)
class ModeRules:
    """What one mode accepts."""

    formats: tuple[str, ...]
    min_file_size: int
    max_file_size: int | None
    own_options: tuple[str, ...]  # arguments no other mode accepts
    order_by_allowed: bool


MODE_RULES = {
    ExportMode.CLIENT: ModeRules(
        formats=("parquet",),
        min_file_size=1024**2,  # per-file overhead stays negligible
        max_file_size=None,
        own_options=(
            "compression",
            "reader",
            "s3_extra_args",
            "s3_transfer_config",
            "field_metadata",
            "read_connections",
        ),
        order_by_allowed=True,
    ),
    ExportMode.NATIVE: ModeRules(
        formats=("parquet", "csv"),
        min_file_size=MATERIALIZE_MIN_FILE_SIZE,
        max_file_size=MATERIALIZE_MAX_FILE_SIZE,
        own_options=CSV_OPTIONS,
        order_by_allowed=False,
    ),
}
ALL_FORMATS = tuple(dict.fromkeys(f for rules in MODE_RULES.values() for f in rules.formats))
MODE_SWITCH = {
    ExportMode.CLIENT: "leave out aws_connection= for client mode",
    ExportMode.NATIVE: "give aws_connection= for native mode",
}
REFUSED_OPTIONS = {
    ExportMode.NATIVE: "{names} {apply} only to client mode: in native mode Materialize writes the files "
    "itself (snappy Parquet, with its AWS connection; use the bucket's default encryption). "
    "Remove them, or leave out aws_connection= for client mode",
    ExportMode.CLIENT: "{names} {apply} only to format='csv' in native mode; remove them, or give "
    "aws_connection= and format='csv'",
}


def check_read_connections(value: Any) -> int:
    """``read_connections``: a whole number from 1 to :data:`MAX_READ_CONNECTIONS`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_READ_CONNECTIONS:
        raise ValueError(
            f"read_connections must be a whole number from 1 to {MAX_READ_CONNECTIONS}, not {value!r}; "
            "more than 1 pays only when the server has cores to spare"
        )
    return value


def optional_text(name: str, value: Any) -> str | None:
    """A rendered text argument: None or empty mean "not given"."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, but it rendered to {type(value).__name__} {value!r}")
    return value


def check_choice(name: str, value: Any, choices: tuple[str, ...], hint: str = "") -> str:
    """``value`` (case-insensitive) if it is one of ``choices``, in lower case."""
    normalised = value.lower() if isinstance(value, str) else value
    if normalised not in choices:
        raise ValueError(f"{name} {value!r} is not supported{hint}; choose one of {', '.join(choices)}")
    return normalised


# Characters Materialize's COPY TO target cannot carry into an S3 key as written: http::Uri (which
# eval_copy_to_uri parses it with) rejects blanks, <, >, ` and control characters, drops what follows
# ? or #, and keeps % undecoded; non-ASCII is accepted only by newer versions of that crate.
_MATERIALIZE_URI_REFUSED = set(' <>`?#%"{}|\\^')


def check_materialize_uri(folder: S3Folder) -> None:
    """Native mode: refuse characters Materialize's COPY cannot carry into the S3 key as written."""
    path = folder.prefix
    bad = sorted({ch for ch in path if ch in _MATERIALIZE_URI_REFUSED or not " " < ch < "\x7f"})
    if bad:
        raise ValueError(
            f"s3_uri {folder.uri!r} holds {', '.join(repr(ch) for ch in bad)}: Materialize's COPY would "
            "refuse the URI or write other keys than this folder's. Use letters, digits and - _ . = / "
            "in native mode"
        )


def check_file_size(size: int, mode: ExportMode) -> int:
    """``size`` if ``mode`` accepts it as ``max_file_size``."""
    rules = MODE_RULES[mode]
    low, high = rules.min_file_size, rules.max_file_size
    if size < low or (high is not None and size > high):
        bounds = (
            f"at least {format_size(low)}" if high is None else f"{format_size(low)} to {format_size(high)}"
        )
        raise ValueError(
            f"max_file_size is {format_size(size)} ({size:,} bytes), but {mode.value} mode takes {bounds}"
            + (" (Materialize's limits)" if mode is ExportMode.NATIVE else "")
            + "; sizes count in powers of 1024, as Materialize does: 1MB = 1,048,576 bytes"
        )
    return size
