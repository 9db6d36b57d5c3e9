"""Native mode's statements: Materialize writes the files itself (``COPY ... TO 's3://...'``).

Also the AWS connection and secret statements the development tools use to set that up.
"""

from __future__ import annotations

from airflow_provider_materialize.sql.identifiers import quote_literal, quote_qualified_name


def copy_to_s3_sql(
    relation: str,
    target_uri: str,
    aws_connection: str,
    file_format: str,
    max_file_size: int,
    csv_options: dict[str, str | bool] | None = None,
) -> str:
    """The one ``COPY ... TO 's3://...'`` statement of a native export.

    ``relation`` is a quoted object name or a parenthesised query; ``target_uri`` becomes a string
    literal and ``aws_connection`` a quoted (optionally qualified) name, so none of them can change
    the statement. ``csv_options`` maps HEADER, DELIMITER or QUOTE to their values.
    """
    options = [
        f"AWS CONNECTION = {quote_qualified_name(aws_connection, 'aws_connection')}",
        f"FORMAT = {quote_literal(file_format)}",
        f"MAX FILE SIZE = {int(max_file_size)}",
    ]
    for name, value in (csv_options or {}).items():
        if name not in ("HEADER", "DELIMITER", "QUOTE"):
            raise ValueError(f"unknown CSV option {name!r}")
        rendered = ("true" if value else "false") if isinstance(value, bool) else quote_literal(value)
        options.append(f"{name} = {rendered}")
    return f"COPY {relation} TO {quote_literal(target_uri)} WITH ({', '.join(options)})"


def copy_relation(source_relation: str | None, select: str) -> str:
    """What COPY reads: the object's quoted name when there is one, else the SELECT in parentheses."""
    return source_relation if source_relation is not None else f"({select})"


def create_aws_connection_sql(name: str, options: dict[str, str], secret_options: dict[str, str]) -> str:
    """``CREATE CONNECTION ... TO AWS`` with literal ``options`` and SECRET-valued ``secret_options``.

    Option names are fixed words chosen by the caller (e.g. ``ASSUME ROLE ARN``, ``REGION``).
    """
    rendered = [f"{option} = {quote_literal(value)}" for option, value in options.items()]
    rendered += [
        f"{option} = SECRET {quote_qualified_name(secret)}" for option, secret in secret_options.items()
    ]
    return f"CREATE CONNECTION IF NOT EXISTS {quote_qualified_name(name)} TO AWS ({', '.join(rendered)})"


def create_secret_sql(name: str, value: str) -> list[str]:
    """Statements that create the secret ``name`` or replace its value."""
    return [
        f"CREATE SECRET IF NOT EXISTS {quote_qualified_name(name)} AS {quote_literal(value)}",
        f"ALTER SECRET {quote_qualified_name(name)} AS {quote_literal(value)}",
    ]


def validate_connection_sql(name: str) -> str:
    return f"VALIDATE CONNECTION {quote_qualified_name(name)}"
