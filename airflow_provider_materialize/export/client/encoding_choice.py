"""Which Parquet columns get a dictionary: those whose values repeat, judged on a sample.

A dictionary pays where values repeat (labels, country codes, array dimensions, small integers in
arrays) and costs where they hardly do (ids, free text, prices): there the writer builds a
dictionary until its page limit, then falls back to plain encoding with the dictionary already spent.
One page limit for all columns is wrong for one or the other: 64 KiB made repeated labels fall
back to plain, pyarrow's default 1 MiB made unique values carry a large dictionary
(docs/client-pipeline.md, "Dictionary encoding, column by column"). So each leaf column is judged
on a sample of the first row group written to the file, and gets a dictionary where few enough of
the sampled values are distinct.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

SAMPLE_ROWS = 20_000
# The largest share of distinct values among a sample's non-null values that still gets a dictionary.
# Strings and bytes: a repeated value costs an index instead of its bytes. Fixed-width values gain
# less (a few bits per value), and where a tenth or more are distinct, their dictionary outgrows
# the page limit on a full row group and ends up making the file larger than plain encoding.
MAX_DISTINCT_FRACTION_VARIABLE_WIDTH = 0.5
MAX_DISTINCT_FRACTION_FIXED_WIDTH = 0.1
_VARIABLE_WIDTH = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary, pa.types.is_large_binary)


def dictionary_columns(sample: pa.Table) -> list[str]:
    """Parquet paths (``a``, ``s.items.list.item``) of the leaf columns to dictionary-encode."""
    sample = sample.slice(0, SAMPLE_ROWS).combine_chunks()
    chosen = []
    for field, column in zip(sample.schema, sample.columns, strict=True):
        values = column.chunk(0) if column.num_chunks else pa.array([], field.type)
        for path, leaf in _leaves(field.name, values):
            if _repeats(leaf):
                chosen.append(path)
    return chosen


def _leaves(path: str, values: pa.Array) -> Iterator[tuple[str, pa.Array]]:
    """Each leaf's Parquet path and values, named as pyarrow writes with non-compliant nesting."""
    data_type = values.type
    if pa.types.is_struct(data_type):
        for index in range(data_type.num_fields):
            child = data_type.field(index)
            yield from _leaves(f"{path}.{child.name}", values.field(index))
    elif pa.types.is_map(data_type):
        yield from _leaves(f"{path}.key_value.key", values.keys)
        yield from _leaves(f"{path}.key_value.value", values.items)
    elif pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        yield from _leaves(f"{path}.list.item", values.flatten())
    else:
        yield path, values


def _repeats(values: pa.Array) -> bool:
    if pa.types.is_boolean(values.type):
        return False  # booleans are never dictionary-encoded
    present = len(values) - values.null_count
    if present == 0:
        return True
    variable_width = any(check(values.type) for check in _VARIABLE_WIDTH)
    limit = MAX_DISTINCT_FRACTION_VARIABLE_WIDTH if variable_width else MAX_DISTINCT_FRACTION_FIXED_WIDTH
    distinct = pc.count_distinct(values, memory_pool=pa.system_memory_pool()).as_py()
    return bool(distinct <= limit * present)
