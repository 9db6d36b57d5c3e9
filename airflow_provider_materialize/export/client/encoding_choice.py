"""Which Parquet columns get a dictionary: those whose values repeat, judged on a sample.

A dictionary pays where values repeat (labels, country codes, array dimensions, small integers in
arrays) and costs where they hardly do (ids, free text, prices): there the writer builds a
dictionary until its page limit, then falls back to plain encoding with the dictionary already spent.
One page limit for all columns is wrong for one or the other: 64 KiB made repeated labels fall
back to plain, pyarrow's default 1 MiB made unique values carry a large dictionary
(docs/client-pipeline.md, "Dictionary encoding, column by column"). So each leaf column is judged
on a sample of the first row group a writer writes, and gets a dictionary in every file of that
writer where few enough of the sampled values are distinct.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SAMPLE_ROWS = 20_000
# The largest share of distinct values among a sample's non-null values that still gets a dictionary.
# Strings and bytes: a repeated value costs an index instead of its bytes. Fixed-width values gain
# less (a few bits per value), and where a tenth or more are distinct, their dictionary outgrows
# the page limit on a full row group and ends up making the file larger than plain encoding.
MAX_DISTINCT_FRACTION_VARIABLE_WIDTH = 0.5
MAX_DISTINCT_FRACTION_FIXED_WIDTH = 0.1
SPREAD_VALUES = 2_000
_VARIABLE_WIDTH = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary, pa.types.is_large_binary)


def dictionary_columns(sample: pa.Table) -> list[str]:
    """Parquet paths (``a``, ``s.items.list.item``) of the leaf columns to dictionary-encode."""
    leaves: dict[str, list[pa.Array]] = {}
    for field, column in zip(sample.schema, sample.slice(0, SAMPLE_ROWS).columns, strict=True):
        for chunk in column.chunks or [pa.nulls(0, field.type)]:  # no copy: the batches' own buffers
            for path, leaf in _leaves(field.name, chunk):
                leaves.setdefault(path, []).append(leaf)
    return [path for path, chunks in leaves.items() if _repeats(pa.chunked_array(chunks))]


def _leaves(path: str, values: pa.Array) -> Iterator[tuple[str, pa.Array]]:
    """Each leaf's Parquet path and values, named as pyarrow writes with non-compliant nesting."""
    data_type = values.type
    if pa.types.is_struct(data_type):
        for index in range(data_type.num_fields):
            child = data_type.field(index)
            yield from _leaves(f"{path}.{child.name}", values.field(index))
    elif pa.types.is_map(data_type):
        # keys and items are the whole children, also of a slice: cut them to the slice's entries
        offsets = values.offsets
        start, end = offsets[0].as_py(), offsets[len(offsets) - 1].as_py()
        yield from _leaves(f"{path}.key_value.key", values.keys.slice(start, end - start))
        yield from _leaves(f"{path}.key_value.value", values.items.slice(start, end - start))
    elif pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        yield from _leaves(f"{path}.list.item", values.flatten())
    else:
        yield path, values


def _repeats(values: pa.ChunkedArray) -> bool:
    if pa.types.is_boolean(values.type):
        return False  # booleans are never dictionary-encoded
    # Unique columns (ids, timestamps, free text, JSON) are the common case, and are told apart on
    # a tenth of the sample at scattered positions: no repeat among those, no dictionary. Counting
    # the whole sample's distinct values takes far more memory where values are long (14 MiB for
    # 20,000 JSON documents, at the moment the export holds the most). Any repeat, and the whole
    # sample decides: in a tenth of it, a label column of some thousands of values looks mostly
    # distinct. A sample no larger than the spread is counted once, whole.
    if len(values) > SPREAD_VALUES:
        spread = _spread(values)
        present = _present(spread)
        if present >= len(spread) // 2 and _distinct(spread) == present:
            return False
    variable_width = any(check(values.type) for check in _VARIABLE_WIDTH)
    limit = MAX_DISTINCT_FRACTION_VARIABLE_WIDTH if variable_width else MAX_DISTINCT_FRACTION_FIXED_WIDTH
    return _distinct(values) <= limit * _present(values)


def _spread(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """``SPREAD_VALUES`` of ``values`` at scattered positions (always the same ones).

    Not every n-th value: in a column that cycles through some thousands of values in row order,
    every n-th value is distinct although the column repeats. The positions are 0, 1, 2, ... put
    through splitmix64's mixing steps (no ``numpy.random``: its import alone costs resident memory).
    """
    mixed = np.arange(1, SPREAD_VALUES + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    mixed = (mixed ^ (mixed >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    mixed = (mixed ^ (mixed >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    mixed ^= mixed >> np.uint64(31)
    positions = np.unique(mixed % np.uint64(len(values))).astype(np.int64)  # sorted
    pieces, start = [], 0
    for chunk in values.chunks:
        low, high = np.searchsorted(positions, [start, start + len(chunk)])
        pieces.append(chunk.take(_int64_array(positions[low:high] - start)))
        start += len(chunk)
    return pa.chunked_array(pieces, values.type)


def _int64_array(positions: np.ndarray) -> pa.Array:
    """An Arrow array over a numpy buffer (``pa.array`` of a numpy array imports pandas, 35 MiB)."""
    return pa.Array.from_buffers(pa.int64(), len(positions), [None, pa.py_buffer(positions)])


def _present(values: pa.ChunkedArray) -> int:
    return len(values) - values.null_count


def _distinct(values: pa.ChunkedArray) -> int:
    try:
        return int(pc.count_distinct(values, memory_pool=pa.system_memory_pool()).as_py())
    except pa.ArrowNotImplementedError:  # a type Arrow cannot hash: no dictionary either
        return len(values)
