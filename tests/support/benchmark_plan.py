"""What the benchmark (``bench/compare.py``) measures, shared with its smoke test.

The benchmark imports these; the smoke test runs it as a subprocess and checks the results
document against them, without importing ``bench/``.
"""

from __future__ import annotations

# Every mode bench/child.py can measure, in the order the mixed table's comparison reports them.
MODES = ("raw_copy", "raw_copy_psql", "operator_adbc", "operator_csv", "sql_to_s3")
DEFAULT_MODES = list(MODES)
# The narrow table's default modes: all but (b-csv), operator_csv.
DEFAULT_NARROW_MODES = ["raw_copy", "raw_copy_psql", "operator_adbc", "sql_to_s3"]

# ``--smoke``: tiny tables, every mode, two measurements at a time, each repeated mode run twice.
SMOKE = {"rows": 5_000, "scaling": [2_000, 5_000, 10_000], "narrow_rows": 10_000, "jobs": 2, "repeat": 2}

# Measured --repeat times, interleaved (a, a-psql, b, a, a-psql, b, ...) before the other modes, and
# reported by the median run: the machine is shared, and single runs moved (b)/(a) by several points.
REPEATED_MODES = ("raw_copy", "raw_copy_psql", "operator_adbc")
