"""What one shape's part of a run measures, and each measurement's numbers once its child has exited.

Per shape: the repeated rounds on its table, (a), (b) and DuckDB interleaved; (a-psql) once (and
(b-csv) on the mixed table); then, on the shape's smaller table, (b), (c) and dlt once each; for the
mixed shape, (a) and (b) at the scaling sizes. Each export is checked and removed from S3 as soon as its
child ends (``result_row``), before the next child starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench.checks import check_operator_output, delete_prefix, inspect_peer_output
from bench.figures import LABELS
from bench.runner import Measurement
from tests.support.benchmark_plan import (
    CSV_SHAPES,
    ONCE_MODES,
    PEER_MODES,
    REPEATED_MODES,
    SMALL_MODES,
)

BUCKET = "bench"


@dataclass
class Context:
    """What every measurement of a run shares: the servers' addresses, the peers' interpreters."""

    uri: str
    libpq_dsn: str
    sqlalchemy_url: str
    s3: dict[str, str]
    max_file_size: str
    peer_pythons: dict[str, Path]
    server_pids: dict[str, int]  # their process trees' CPU time is read around each measurement


def measurement(
    context: Context, kind: str, table: str, rows: int, mode: str, run: int = 1, suffix: str = ""
) -> Measurement:
    name = f"{table}-{mode}" + (f"-run{run}" if run > 1 else "") + suffix
    spec: dict[str, Any] = {
        "mode": mode,
        "kind": kind,
        "table": table,
        "rows": rows,
        "bucket": BUCKET,
        "prefix": f"{name}/",
        "max_file_size": context.max_file_size,
        "conninfo": context.uri,
        "run": run,
    }
    if mode not in PEER_MODES:
        return Measurement(name, spec, may_fail=mode == "sql_to_s3")
    spec.update(s3=context.s3, libpq_dsn=context.libpq_dsn, sqlalchemy_url=context.sqlalchemy_url)
    command = (str(context.peer_pythons[mode]), str(Path(__file__).with_name("peer_child.py")))
    return Measurement(name, spec, command=command, may_fail=True)


def shape_measurements(
    context: Context,
    kind: str,
    tables: dict[int, str],
    rows: int,
    small_rows: int,
    repeat: int,
    scaling: list[int],
) -> list[Measurement]:
    """The measurements of one shape, in the order they run."""
    planned = [
        measurement(context, kind, tables[rows], rows, mode, run)
        for run in range(1, repeat + 1)
        for mode in REPEATED_MODES
    ]
    planned += [
        measurement(context, kind, tables[rows], rows, mode)
        for mode in ONCE_MODES
        if mode != "operator_csv" or kind in CSV_SHAPES
    ]
    planned += [measurement(context, kind, tables[small_rows], small_rows, mode) for mode in SMALL_MODES]
    # The scaling sizes: (a) beside (b), so each size has its own ratio to the raw COPY.
    planned += [
        measurement(context, kind, tables[size], size, mode)
        for size in scaling
        for mode in ("raw_copy", "operator_adbc")
        if size != rows and (mode == "raw_copy" or size != small_rows)
    ]
    return planned


def result_row(m: Measurement, client: Any, expected: pa.Schema) -> dict[str, Any]:
    """One measurement's numbers, with its output checked (strictly for the operator) and removed."""
    spec, result = m.spec, m.result
    mode, rows = spec["mode"], spec["rows"]
    identity: dict[str, Any] = {
        "name": m.name,
        "run": spec["run"],
        "kind": spec["kind"],
        "mode": mode,
        "label": LABELS[mode],
        "table": spec["table"],
        "rows": rows,
    }
    if "failed" in result:
        delete_prefix(client, BUCKET, spec["prefix"])
        return {**identity, "failed": result["failed"]}
    seconds = result["operation_seconds"]
    row: dict[str, Any] = {
        **identity,
        "operation_seconds": seconds,
        "process_seconds": m.wall_seconds,
        "rows_per_second": rows / seconds,
        "operation_cpu_seconds": result["operation_cpu_seconds"],
        "process_cpu_seconds": m.cpu_seconds,
        "server_cpu_seconds": m.server_cpu_seconds,
        "peak_rss_mib": result["peak_rss_mib"],
        "ready_rss_mib": result["ready_rss_mib"],
        "files": None,
        "file_bytes": [],
        "output_bytes": None,
    }
    prefix = result.get("prefix", spec["prefix"])
    if mode.startswith("raw_copy"):
        row["output_bytes"] = result["wire_bytes"]
    elif mode.startswith("operator_"):
        checked = check_operator_output(client, BUCKET, prefix, result["xcom"], rows, expected)
        row.update(checked, output_bytes=checked["parquet_bytes"])
        row["operator_duration_seconds"] = result["xcom"]["duration_seconds"]
        row["import_seconds"] = result.get("import_seconds")
        row["first_batch_seconds"] = result["first_batch_seconds"]
        row["last_batch_seconds"] = result["last_batch_seconds"]
        row["xcom_rows"] = result["xcom"]["rows"]
    else:
        inspected = inspect_peer_output(client, BUCKET, prefix, rows, expected)
        row.update(inspected, output_bytes=inspected["parquet_bytes"])
    delete_prefix(client, BUCKET, spec["prefix"])
    return row


def median_rows(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (table, mode): the median run by operation time, with every run's time beside it.

    Peak RSS is the largest of the runs. Runs are kept in round order: the modes of one round ran
    one after another, so their per-round ratios compare like with like (``figures.per_round_ratios``).
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in runs:
        groups.setdefault(row["name"].rsplit("-run", 1)[0], []).append(row)
    merged = []
    for name, group in groups.items():
        if any("failed" in row for row in group):
            merged.append(dict(next(row for row in group if "failed" in row), name=name))
            continue
        group.sort(key=lambda row: row["run"])
        ordered = sorted(group, key=lambda row: row["operation_seconds"])
        median = dict(ordered[(len(ordered) - 1) // 2], name=name)
        median["runs_operation_seconds"] = [row["operation_seconds"] for row in group]
        median["runs_peak_rss_mib"] = [row["peak_rss_mib"] for row in group]
        median["peak_rss_mib"] = max(median["runs_peak_rss_mib"])
        merged.append(median)
    return merged
