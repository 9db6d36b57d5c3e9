"""All SQL the provider sends, in one place.

Materialize speaks the PostgreSQL wire protocol but differs in how a consistent read is taken,
how the compute cluster is chosen and how the snapshot timestamp is learnt. Every statement that
depends on which server we talk to is built in this package, so the rest of the code never writes
SQL text itself. Import from the package: ``from airflow_provider_materialize.sql import ...``.

- ``identifiers``: quoting names and literals, parsing ``[database.][schema.]name``
- ``queries``: the user's query text and the statements that read its rows
- ``session``: the server flavour, session setup, snapshot transactions (one or several connections)
- ``catalog``: describing columns, type names, NOT NULL columns
- ``native``: ``COPY ... TO 's3://...'`` and the AWS connection statements
"""

from __future__ import annotations

from airflow_provider_materialize.sql.catalog import (
    describe_elements_sql,
    describe_sql,
    list_element_expression,
    map_value_expression,
    nested_elements_sql,
    not_null_columns_sql,
    type_names_sql,
)
from airflow_provider_materialize.sql.identifiers import (
    parse_qualified_name,
    quote_ident,
    quote_literal,
    quote_qualified_name,
)
from airflow_provider_materialize.sql.native import (
    copy_relation,
    copy_to_s3_sql,
    create_aws_connection_sql,
    create_secret_sql,
    validate_connection_sql,
)
from airflow_provider_materialize.sql.queries import (
    ARRAYS_PER_PACKED_DIMENSIONS,
    DIMENSION_BITS,
    array_dimensions_expression,
    copy_csv_to_stdout_sql,
    has_top_level_order_by,
    normalise_query,
    packed_dimensions_expression,
    source_select,
    text_array_expression,
    text_expression,
    wrap_select,
)
from airflow_provider_materialize.sql.session import (
    CSV_SESSION_SQL,
    DETECT_MATERIALIZE_SQL,
    MATERIALIZE_DEFAULT_DATABASE,
    MATERIALIZE_DEFAULT_PORT,
    MATERIALIZE_DEFAULT_USER,
    POSTGRES_VERSION_SQL,
    READ_ONLY_BEGIN_SQL,
    ROLLBACK_SQL,
    SNAPSHOT_BEGIN_SQL,
    SNAPSHOT_END_SQL,
    SNAPSHOT_TIMESTAMP_SQL,
    ServerFlavor,
    export_snapshot_sql,
    import_snapshot_sql,
    page_range_select,
    set_cluster_sql,
)

__all__ = [
    "ARRAYS_PER_PACKED_DIMENSIONS",
    "CSV_SESSION_SQL",
    "DETECT_MATERIALIZE_SQL",
    "DIMENSION_BITS",
    "MATERIALIZE_DEFAULT_DATABASE",
    "MATERIALIZE_DEFAULT_PORT",
    "MATERIALIZE_DEFAULT_USER",
    "POSTGRES_VERSION_SQL",
    "READ_ONLY_BEGIN_SQL",
    "ROLLBACK_SQL",
    "SNAPSHOT_BEGIN_SQL",
    "SNAPSHOT_END_SQL",
    "SNAPSHOT_TIMESTAMP_SQL",
    "ServerFlavor",
    "array_dimensions_expression",
    "copy_csv_to_stdout_sql",
    "copy_relation",
    "copy_to_s3_sql",
    "create_aws_connection_sql",
    "create_secret_sql",
    "describe_elements_sql",
    "describe_sql",
    "export_snapshot_sql",
    "has_top_level_order_by",
    "import_snapshot_sql",
    "list_element_expression",
    "map_value_expression",
    "nested_elements_sql",
    "normalise_query",
    "not_null_columns_sql",
    "packed_dimensions_expression",
    "page_range_select",
    "parse_qualified_name",
    "quote_ident",
    "quote_literal",
    "quote_qualified_name",
    "set_cluster_sql",
    "source_select",
    "text_array_expression",
    "text_expression",
    "type_names_sql",
    "validate_connection_sql",
    "wrap_select",
]
