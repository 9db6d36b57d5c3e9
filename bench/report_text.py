"""The report's words: what it was measured on, what the output checks found, how to read the tables."""

from __future__ import annotations

import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.figures import SHORT


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu_model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    memory_gib = None
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024**2, 1)
    versions: dict[str, str | None] = {}
    for package in (
        "apache-airflow",
        "apache-airflow-providers-amazon",
        "pyarrow",
        "adbc-driver-postgresql",
        "psycopg",
        "pandas",
        "moto",
    ):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu_model,
        "cpu_count": os.cpu_count(),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "packages": versions,
        "load_average_at_start": list(os.getloadavg()),
    }


def machine_line(machine: dict[str, Any]) -> str:
    packages = ", ".join(f"{name} {version}" for name, version in machine["packages"].items() if version)
    peers = "; ".join(
        f"{peer}'s venv: " + ", ".join(f"{name} {version}" for name, version in versions.items())
        for peer, versions in machine.get("peers", {}).items()
    )
    return (
        f"{machine['cpu_count']} CPUs ({machine['cpu_model'] or machine['machine']}), "
        f"{machine['memory_gib']} GiB RAM, {machine['platform']}, Python {machine['python']}, "
        f"PostgreSQL {machine.get('postgres', '?')}; {packages}" + (f"; {peers}" if peers else "")
    )


def output_lines(document: dict[str, Any]) -> list[str]:
    """What the output checks found: strict for the operator, recorded for (c) and the peers."""
    lines = []
    checked = [r for r in document["results"] if r["mode"].startswith("operator_")]
    if checked:
        lines.append(
            f"(b), (b-csv): all {sum(r['files'] for r in checked)} Parquet files of {len(checked)} exports "
            "have the parity schema (Arrow types and materialize.v1.* extension names), and the row counts "
            "in the footers, the manifest and XCom equal the table's exactly."
        )
    for r in document["results"]:
        if r["mode"] in ("sql_to_s3", "duckdb", "dlt") and "failed" in r:
            lines.append(f"{SHORT[r['mode']]}, {r['kind']}: FAILED: {r['failed'][:300]}")
        elif r["mode"] in ("sql_to_s3", "duckdb", "dlt"):
            losses = "; ".join(r["type_losses"]) or "none"
            count = (
                "" if r["footer_rows"] == r["rows"] else f" ({r['footer_rows']:,} rows, not {r['rows']:,})"
            )
            lines.append(f"{SHORT[r['mode']]}, {r['kind']}{count}: changed types: {losses}.")
    return lines


NOTES = [
    "op s: the operation alone, timed inside the measuring process: connect to last byte for (a); "
    "execute() start to return for (b) and (c); ATTACH to the end of COPY for DuckDB; sql_table() and "
    "pipeline.run() for dlt. rows/s is based on it. Each mode's libraries are imported before its clock "
    "starts: duckdb and its extensions, dlt, and for (b) what execute() imports on first use (pyarrow, "
    "numpy, the ADBC driver; their time is the note below).",
    "of (a): rows/s against (a)'s on the same table. (b) is x faster: (b)'s rows/s over this mode's, "
    "on the same table ((c), dlt and the (b) beside them read the shape's smaller table; * in the summary).",
    "exporter CPU: user + system seconds of the measuring process (all its threads and reaped children) "
    "over the operation. PostgreSQL and S3 server CPU: what those servers' process trees spent from the "
    "measuring process's start to its end (connections and catalog queries included).",
    "(a), (b), (b2) and DuckDB run several times, interleaved (a, b, b2, DuckDB, a, ...), before the "
    "other modes; their row shows the median run, every run's op s, and the largest peak RSS of the runs.",
    "Where (b)'s time went: (b)'s phases timed inside its process from execute()'s start; after the "
    "read's end come the batches still queued, the last row group and parts, S3 completing the file, "
    "and the output contract's closing requests, which nothing overlaps. 2-core floor: (b)'s CPU and "
    "the servers' during it, halved; the time it would take if every stage overlapped perfectly on "
    "the two cores.",
    "MB: Parquet written to S3, except for (a), where it is the COPY data read from the wire.",
    "peak RSS: VmHWM of the measuring process (imports included), read at its end; for (a-psql), psql's.",
    "S3: moto's server on the same cores. One unmeasured (b) export runs first, and each export is checked "
    "and removed as soon as its run ends, before the next run starts.",
    "DuckDB and dlt run in their own venvs (bench/peers.py), with their defaults except where "
    "bench/peer_child.py says otherwise.",
]


def import_note(document: dict[str, Any]) -> str | None:
    """The seconds (b)'s processes spent on the imports done before the clock started."""
    seconds = sorted(
        row["import_seconds"] for row in document["results"] if row.get("import_seconds") is not None
    )
    if not seconds:
        return None
    return (
        f"(b)'s imports before the clock: median {seconds[len(seconds) // 2]:.2f} s per process "
        f"({seconds[0]:.2f}-{seconds[-1]:.2f} s over {len(seconds)} processes), not in op s."
    )


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M %Z")
