"""What the benchmark (``bench/compare.py``) measures, shared with its smoke test.

The benchmark imports these; the smoke test runs it as a subprocess and checks the results
document against them, without importing ``bench/``.
"""

from __future__ import annotations

from typing import Any

# Modes bench/child.py measures in the project's interpreter, and the peers, each run by
# bench/peer_child.py in its own venv. MODES is the order a shape's table reports them in.
CHILD_MODES = ("raw_copy", "raw_copy_psql", "operator_adbc", "operator_adbc_2", "operator_csv", "sql_to_s3")
PEER_MODES = ("duckdb", "dlt")
MODES = (
    "raw_copy",
    "raw_copy_psql",
    "operator_adbc",
    "operator_adbc_2",
    "duckdb",
    "operator_csv",
    "sql_to_s3",
    "dlt",
)

# The shapes (bench/shapes.py), in the order they are measured.
SHAPES = ("events", "wide", "numeric", "arrays", "timestamps", "mixed", "narrow")

# Measured --repeat times on a shape's table, interleaved (a, b, b2, duckdb, a, b, ...), before the other
# modes, and reported by the median run: the machine is shared, and single runs moved (b)/(a) by several
# points. operator_adbc_2 is (b) with read_connections=2 (one snapshot over two connections).
REPEATED_MODES = ("raw_copy", "operator_adbc", "operator_adbc_2", "duckdb")
# Measured once on the shape's table; operator_csv on the mixed table only.
ONCE_MODES = ("raw_copy_psql", "operator_csv")
CSV_SHAPES = ("mixed",)
# Measured once on the shape's smaller table: (c) and dlt are an order of magnitude slower, and (c)
# holds the whole result in memory; (b) runs beside them on the same table for a like-for-like ratio.
SMALL_MODES = ("operator_adbc", "sql_to_s3", "dlt")

# ``--smoke``: tiny tables, every shape and mode once, two measurements at a time, no S3 warm-up.
SMOKE: dict[str, Any] = {
    "rows": 3_000,
    "small_rows": 1_000,
    "scaling": [3_000, 6_000],
    "jobs": 2,
    "repeat": 1,
}
