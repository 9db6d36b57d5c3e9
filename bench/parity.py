"""The parity schema of any benchmark table, from the server's catalog and the Materialize model.

The expected Arrow schema of an export is what Materialize's native ``COPY TO S3`` would write
for the same columns. ``tests/support/materialize_standin/arrow_schema.py`` models that writer,
citing Materialize's source, independently of the operator's own type plan; this module describes
a table's columns as PostgreSQL reports them and hands them to that model. For the mixed and
narrow tables, the result must also equal the hand-written ``tests/support/parity.py`` schemas.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from tests.support.materialize_standin.arrow_schema import PgColumn, desc_to_schema
from tests.support.parity import PARITY_SCHEMAS, schema_differences

_COLUMNS = """
SELECT a.attname::text, t.typname::text, a.atttypmod, NOT a.attnotnull, e.typname::text
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


def expected_schema(connection: Any, table: str, kind: str) -> pa.Schema:
    """The parity schema of ``table`` (a psycopg connection reads the catalog)."""
    columns = []
    for name, typname, typmod, nullable, element in connection.execute(_COLUMNS, [table]).fetchall():
        inner = PgColumn(name, element, typmod, True) if element else None
        columns.append(PgColumn(name, typname, typmod, nullable, inner))
    schema = pa.schema([column.field for column in desc_to_schema(columns)])
    if kind in PARITY_SCHEMAS and (differences := schema_differences(schema, PARITY_SCHEMAS[kind])):
        raise AssertionError(f"the Materialize model and tests/support/parity.py differ: {differences}")
    return schema
