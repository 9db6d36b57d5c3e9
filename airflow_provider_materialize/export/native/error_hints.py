"""Turn Materialize's COPY TO S3 errors into task failures that keep its text and say what to do.

The patterns match the texts Materialize raises (src/storage-types/src/sinks/s3_oneshot_sink.rs
preflight, plan_copy_to_expr in src/sql/src/plan/statement/dml.rs, ArrowBuilder in
src/arrow-util/src/builder.rs, the catalog's errors in src/sql/src/catalog.rs).
"""

from __future__ import annotations

import re

from airflow_provider_materialize.export.s3_folder import S3Folder


class NativeCopyError(RuntimeError):
    """Materialize refused or failed the ``COPY ... TO 's3://...'``."""


class NativeModeUnavailableError(RuntimeError):
    """The connection does not lead to Materialize, so it cannot write to S3 itself."""


def _hints(folder: S3Folder, aws_connection: str) -> list[tuple[re.Pattern[str], str]]:
    raw_prefix = folder.prefix.rstrip("/")
    iam = (
        f"The AWS connection {aws_connection!r} needs s3:ListBucket on arn:aws:s3:::{folder.bucket} "
        f"(for the prefix {raw_prefix}) and s3:PutObject and s3:DeleteObject on "
        f"arn:aws:s3:::{folder.bucket}/{raw_prefix}*. With ASSUME ROLE ARN, the role's trust policy must "
        "also let Materialize assume it; check the connection with "
        f"MaterializeHook().validate_aws_connection({aws_connection!r})."
    )
    return [
        (
            re.compile(r"not empty"),
            f"Materialize checks the raw prefix {raw_prefix!r}, which also matches keys such as "
            f"{raw_prefix}0/... or {raw_prefix}_old/...: delete those objects or choose a folder name that "
            "is not the start of another one.",
        ),
        (re.compile(r"access ?denied|forbidden|not authorized|\b403\b"), iam),
        (
            re.compile(r"assume ?role|\bsts\b|external id|invalid ?client ?token|security token"),
            f"Materialize could not use the AWS connection {aws_connection!r}. {iam}",
        ),
        (
            re.compile(r"permission denied|must be owner|privilege"),
            "The Materialize role of the Airflow connection lacks a privilege: it needs USAGE on the AWS "
            f"connection (GRANT USAGE ON CONNECTION {aws_connection} TO <role>), SELECT on the source, and "
            "USAGE on the cluster.",
        ),
        (
            re.compile(
                r"unknown (catalog item|connection)|connection .* does not exist|is an? \w+ not a connection"
                r"|only aws connection is supported"
            ),
            f"Create the AWS connection first, e.g. MaterializeHook().create_aws_connection("
            f"{aws_connection!r}, role_arn=...), or check its name and schema.",
        ),
        (
            re.compile(r"unknown cluster|cluster .* does not exist"),
            "Check the cluster name (operator argument cluster= or the connection's cluster extra).",
        ),
        (
            re.compile(r"cannot encode|unsupported type|not supported.*type"),
            "Cast or leave out the named columns with query=, e.g. SELECT id, duration::text FROM ... "
            "(in the DAG); from the Trigger form, set source to a view that does so.",
        ),
        (
            re.compile(r"max file size cannot be"),
            "MAX FILE SIZE must be 16MB to 4GB, counted in powers of 1024: set max_file_size accordingly.",
        ),
        (
            re.compile(r"copy (delimiter|quote|escape) must be|delimiter and quote must be different"),
            "csv_delimiter and csv_quote must each be one byte (one ASCII character), and differ.",
        ),
        (
            re.compile(r"copy to target|urls are supported as copy to target|invalid uri character"),
            "Materialize could not use the target URI: keep s3_uri to s3://bucket/folder/ with letters, "
            "digits and - _ . = /.",
        ),
        (
            re.compile(
                r"special numeric|cannot represent decimal|decimal value .* out of range|"
                r"out of range for parquet|numeric.*(precision|scale)"
            ),
            "A numeric value does not fit Parquet's decimal128(38, s): filter or cast it with query=, "
            "e.g. round(amount, 6)::numeric(38, 6) (in the DAG); from the Trigger form, set source to a view "
            "that does so.",
        ),
    ]


def explain_copy_error(message: str, folder: S3Folder, aws_connection: str) -> str:
    """Materialize's ``message`` followed by what to do about it."""
    lowered = message.lower()
    for pattern, hint in _hints(folder, aws_connection):
        if pattern.search(lowered):
            return f"Materialize's COPY to {folder.uri} failed: {message}\nWhat to do: {hint}"
    return (
        f"Materialize's COPY to {folder.uri} failed: {message}\nWhat to do: check the AWS connection with "
        f"MaterializeHook().validate_aws_connection({aws_connection!r}) and the query on its own."
    )
