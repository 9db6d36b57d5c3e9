"""What the fidelity tests compare in a Parquet file: its leaf columns, statistics and Arrow fields."""

from __future__ import annotations

from typing import Any

import pyarrow as pa


def parquet_layout(parquet: Any) -> dict[str, tuple[str, str, int]]:
    """Each leaf column by its Parquet path (``a.items.list.item``): physical type, logical type,
    maximum definition level (0 for a required top-level column)."""
    columns = (parquet.schema.column(i) for i in range(len(parquet.schema)))
    return {c.path: (c.physical_type, str(c.logical_type), c.max_definition_level) for c in columns}


def has_statistics(parquet: Any) -> bool:
    """Whether any column chunk of any row group carries statistics."""
    metadata = parquet.metadata
    return any(
        metadata.row_group(group).column(column).statistics is not None
        for group in range(metadata.num_row_groups)
        for column in range(metadata.num_columns)
    )


def nullability(parquet: Any) -> dict[str, bool]:
    """Each top-level field's name and whether it is nullable, as a reader of the file sees it."""
    return {field.name: field.nullable for field in parquet.schema_arrow}


def arrow_fields(schema: pa.Schema) -> list[tuple[str, pa.DataType, bool, dict[bytes, bytes]]]:
    """Name, type, nullability and metadata of each top-level field: what two writers must agree on."""
    return [(field.name, field.type, field.nullable, dict(field.metadata or {})) for field in schema]
