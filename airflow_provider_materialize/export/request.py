"""One validated export request, built from the operator's arguments after Airflow rendered them.

Every rule about the arguments is applied here; what each argument accepts, and what differs
between the modes as data (:data:`~airflow_provider_materialize.export.mode_rules.MODE_RULES`), is
in :mod:`mode_rules`. :func:`build_request` applies all rules once the templated arguments are
rendered (in ``execute``); :func:`check_untemplated_arguments` applies, when the DAG is parsed,
only the rules whose inputs are never rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow_provider_materialize.export.mode_rules import (
    ALL_FORMATS,
    COMPRESSIONS,
    CSV_OPTIONS,
    DEFAULT_MAX_FILE_SIZE,
    FIELD_METADATA,
    MODE_RULES,
    MODE_SWITCH,
    READERS,
    REFUSED_OPTIONS,
    ExportMode,
    check_choice,
    check_file_size,
    check_materialize_uri,
    check_read_connections,
    optional_text,
)
from airflow_provider_materialize.export.ownership import RunIdentity
from airflow_provider_materialize.export.s3_folder import S3Folder
from airflow_provider_materialize.export.sizes import parse_size
from airflow_provider_materialize.sql import (
    copy_relation,
    has_top_level_order_by,
    quote_qualified_name,
    source_select,
)


@dataclass(frozen=True)
class ExportArguments:
    """The operator's arguments as given (templated ones rendered once the task runs)."""

    source: Any = None
    query: Any = None
    s3_uri: Any = None
    aws_connection: Any = None
    cluster: Any = None
    max_file_size: Any = DEFAULT_MAX_FILE_SIZE
    file_format: Any = "parquet"
    compression: Any = "snappy"
    overwrite: Any = False
    csv_header: Any = None
    csv_delimiter: Any = None
    csv_quote: Any = None
    s3_extra_args: Any = None
    s3_transfer_config: Any = None
    reader: Any = "auto"
    progress_interval: Any = 30.0
    field_metadata: Any = "materialize"
    read_connections: Any = 1

    def given_options(self) -> list[str]:
        """Names of the mode-specific options set to anything but their default."""
        defaults = ExportArguments()
        mode_options = {name for rules in MODE_RULES.values() for name in rules.own_options}
        return [
            name
            for name in sorted(mode_options)
            if getattr(self, name) not in (None, {}, getattr(defaults, name))
        ]


@dataclass(frozen=True)
class ExportRequest:
    """Everything one export needs to know, validated."""

    mode: ExportMode
    select: str  # the SELECT that defines the snapshot
    source_relation: str | None  # the quoted object name, when source= names one
    folder: S3Folder
    identity: RunIdentity
    max_file_size: int
    file_format: str = "parquet"
    cluster: str | None = None
    overwrite: bool = False
    progress_interval_seconds: float = 30.0
    compression: str = "snappy"
    reader: str = "auto"
    s3_extra_args: dict[str, Any] = field(default_factory=dict)
    s3_transfer_config: dict[str, Any] = field(default_factory=dict)
    aws_connection: str | None = None
    csv_options: dict[str, str | bool] = field(default_factory=dict)
    field_metadata: str = "materialize"
    read_connections: int = 1

    @property
    def copy_relation(self) -> str:
        """The same rows as COPY reads them: the quoted object name, or the query in parentheses."""
        return copy_relation(self.source_relation, self.select)


def check_untemplated_arguments(arguments: ExportArguments) -> None:
    """The checks that can run when the DAG is parsed: arguments Airflow never renders.

    The mode is only known here when ``aws_connection`` is None (client mode); otherwise the
    mode-specific rules wait for :func:`build_request`.
    """
    if arguments.source is None and arguments.query is None:
        source_select(None, None)  # neither given: no rendering can change that
    mode = ExportMode.CLIENT if arguments.aws_connection is None else None
    _check_options(arguments, mode)


def build_request(arguments: ExportArguments, identity: RunIdentity) -> ExportRequest:
    """Apply every rule to the rendered arguments; raise ``ValueError`` naming the fix."""
    source = optional_text("source", arguments.source)
    query = optional_text("query", arguments.query)
    aws_connection = optional_text("aws_connection", arguments.aws_connection)
    if aws_connection is not None:
        quote_qualified_name(aws_connection, "aws_connection")  # a Materialize object name
    mode = ExportMode.NATIVE if aws_connection else ExportMode.CLIENT
    rules = MODE_RULES[mode]
    file_format, compression, csv_options = _check_options(arguments, mode)
    select = source_select(source, query)
    folder = S3Folder.parse(arguments.s3_uri)
    if mode is ExportMode.NATIVE:
        check_materialize_uri(folder)
    if query is not None and not rules.order_by_allowed and has_top_level_order_by(query):
        raise ValueError(
            "Materialize's COPY TO S3 does not accept ORDER BY: remove it from query= "
            "(files are written in parallel, so no order would survive anyway)"
        )
    return ExportRequest(
        mode=mode,
        select=select,
        source_relation=quote_qualified_name(source) if source is not None else None,
        folder=folder,
        identity=identity,
        max_file_size=check_file_size(parse_size(arguments.max_file_size), mode),
        file_format=file_format,
        cluster=optional_text("cluster", arguments.cluster),
        overwrite=bool(arguments.overwrite),
        progress_interval_seconds=float(arguments.progress_interval),
        compression=compression,
        reader=check_choice("reader", arguments.reader, READERS),
        s3_extra_args=dict(arguments.s3_extra_args or {}),
        s3_transfer_config=dict(arguments.s3_transfer_config or {}),
        aws_connection=aws_connection,
        csv_options=csv_options,
        field_metadata=check_choice("field_metadata", arguments.field_metadata, FIELD_METADATA),
        read_connections=check_read_connections(arguments.read_connections),
    )


def _check_options(
    arguments: ExportArguments, mode: ExportMode | None
) -> tuple[str, str, dict[str, str | bool]]:
    """The format, compression and CSV options; with ``mode`` None, only mode-independent rules."""
    check_choice("reader", arguments.reader, READERS)
    check_choice("field_metadata", arguments.field_metadata, FIELD_METADATA)
    check_read_connections(arguments.read_connections)
    compression = check_choice("compression", arguments.compression or "none", COMPRESSIONS)
    if mode is None:
        file_format = check_choice("format", arguments.file_format, ALL_FORMATS)
    else:
        rules = MODE_RULES[mode]
        other = [m for m in MODE_RULES if m is not mode and arguments.file_format in MODE_RULES[m].formats]
        hint = f" in {mode.value} mode"
        if other:
            hint += (
                f" ({arguments.file_format} is available in {other[0].value} mode: {MODE_SWITCH[other[0]]})"
            )
        file_format = check_choice("format", arguments.file_format, rules.formats, hint)
        refused = [name for name in arguments.given_options() if name not in rules.own_options]
        if refused:
            raise ValueError(REFUSED_OPTIONS[mode].format(names=", ".join(refused), apply=_apply(refused)))
    return file_format, compression, _csv_options(arguments, file_format)


def _csv_options(arguments: ExportArguments, file_format: str) -> dict[str, str | bool]:
    """The CSV options as COPY option names; refused for Parquet."""
    given = [name for name in CSV_OPTIONS if getattr(arguments, name) is not None]
    if file_format != "csv":
        if given:
            raise ValueError(
                f"{', '.join(given)} {_apply(given)} only to format='csv'; remove them or set format='csv'"
            )
        return {}
    options: dict[str, str | bool] = {}
    if arguments.csv_header is not None:
        options["HEADER"] = bool(arguments.csv_header)
    for name, option in (("csv_delimiter", "DELIMITER"), ("csv_quote", "QUOTE")):
        value = getattr(arguments, name)
        if value is None:
            continue
        # Materialize: "COPY delimiter must be a single one-byte character" (extract_byte_param_value
        # in src/sql/src/plan/statement/dml.rs) -- one byte, so 'é' is refused too.
        if not isinstance(value, str) or len(value.encode()) != 1 or value in "\r\n":
            raise ValueError(
                f"{name} must be a single one-byte character other than a line break, got {value!r}"
            )
        options[option] = value
    if arguments.csv_delimiter is not None and arguments.csv_delimiter == arguments.csv_quote:
        raise ValueError("csv_delimiter and csv_quote must be different characters")
    return options


def _apply(names: list[str]) -> str:
    return "applies" if len(names) == 1 else "apply"
