"""CPU seconds of the servers the benchmark starts, read from ``/proc``, to split a run's time.

A server's CPU is its own time, the time of the children it has reaped (``cutime``/``cstime``: a
PostgreSQL backend's, once its connection has ended) and the time of its live children. Read before
and after a measurement, the difference is what the server spent on it: a backend that ends in
between moves from the live children to ``cutime``, so it is counted once.
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _times(pid: int) -> tuple[float, float]:
    """(own, reaped children's) CPU seconds of one process; zeros once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0, 0.0
    # After the command: state is field 3, so utime (14), stime (15), cutime (16), cstime (17).
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return (utime + stime) / TICKS, (cutime + cstime) / TICKS


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid``, its reaped children and its live children (and theirs, recursively)."""
    own, reaped = _times(pid)
    return own + reaped + sum(tree_cpu_seconds(child) for child in _children(pid))
