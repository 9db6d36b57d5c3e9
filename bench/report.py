"""Tables of the results, as aligned text (printed) and as Markdown (for the README), and the JSON.

One result row is a plain dict (see ``compare.result_row``). Rates are computed from the
*operation* time measured inside the child; the process time (interpreter start and imports
included) is shown beside it.
"""

from __future__ import annotations

import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

LABELS = {
    "raw_copy": "(a) raw binary COPY, read + discard",
    "raw_copy_psql": "(a-psql) the same COPY, psql > /dev/null",
    "operator_adbc": "(b) our operator, reader=adbc",
    "operator_csv": "(b-csv) our operator, reader=csv",
    "sql_to_s3": "(c) SqlToS3Operator, parquet",
}
SHORT = {
    "raw_copy": "a",
    "raw_copy_psql": "a-psql",
    "operator_adbc": "b",
    "operator_csv": "b-csv",
    "sql_to_s3": "c",
}

TARGET_RATIO_RAW = 0.70  # (b) rows/s at least 70% of (a)'s on the mixed table
TARGET_RATIO_SQL_TO_S3 = 8.0  # (b) rows/s at least 8x (c)'s
TARGET_PEAK_RSS_MIB = 400.0  # (b) peak RSS with 128 MB files
TARGET_RSS_GROWTH = 0.10  # (b) peak RSS growth from the smallest to the largest scaling size


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
    return (
        f"{machine['cpu_count']} CPUs ({machine['cpu_model'] or machine['machine']}), "
        f"{machine['memory_gib']} GiB RAM, {machine['platform']}, Python {machine['python']}, "
        f"PostgreSQL {machine.get('postgres', '?')}; {packages}"
    )


def _mb(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value / 1e6:,.{digits}f}"


def _render(headers: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" for _ in headers) + "|"]
        lines[1] = "|:---" + lines[1][5:]  # first column left-aligned
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        )
    ]
    for row in rows:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def comparison_table(results: list[dict[str, Any]], markdown: bool) -> str:
    headers = [
        "mode",
        "rows",
        "op s",
        "process s",
        "rows/s",
        "MB/s",
        "MB",
        "files",
        "peak RSS MiB",
        "op s of each run",
    ]
    rows = []
    for r in results:
        runs = r.get("runs_operation_seconds", [r["operation_seconds"]])
        mb_per_s = r["output_bytes"] / r["operation_seconds"] if r["output_bytes"] else None
        wire = " (wire)" if r["mode"] == "raw_copy" and r["output_bytes"] else ""
        rows.append(
            [
                LABELS[r["mode"]],
                f"{r['rows']:,}",
                f"{r['operation_seconds']:.1f}",
                f"{r['process_seconds']:.1f}",
                f"{r['rows_per_second']:,.0f}",
                _mb(mb_per_s) + wire,
                _mb(r["output_bytes"]) + wire,
                "" if r["files"] is None else str(r["files"]),
                f"{r['peak_rss_mib']:.0f}",
                " / ".join(f"{seconds:.1f}" for seconds in runs) if len(runs) > 1 else "",
            ]
        )
    return _render(headers, rows, markdown)


def scaling_table(results: list[dict[str, Any]], markdown: bool) -> str:
    headers = ["rows", "op s", "process s", "rows/s", "files", "min MB*", "max MB", "peak RSS MiB"]
    rows = [
        [
            f"{r['rows']:,}",
            f"{r['operation_seconds']:.1f}",
            f"{r['process_seconds']:.1f}",
            f"{r['rows_per_second']:,.0f}",
            str(r["files"]),
            _mb(min(r["file_bytes"][:-1] or r["file_bytes"]), 2),
            _mb(max(r["file_bytes"]), 2),
            f"{r['peak_rss_mib']:.0f}",
        ]
        for r in results
    ]
    return _render(headers, rows, markdown)


def _by_mode(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["mode"]: r for r in results}


def ratios(results: list[dict[str, Any]]) -> dict[str, float]:
    """Rows/s ratios between the modes of one table: b/a, b/c, b-csv/a, b-csv/c (where measured)."""
    by_mode = _by_mode(results)
    found = {}
    for top in ("operator_adbc", "operator_csv"):
        for bottom in ("raw_copy", "raw_copy_psql", "sql_to_s3"):
            if top in by_mode and bottom in by_mode:
                key = f"{SHORT[top]}/{SHORT[bottom]}"
                found[key] = by_mode[top]["rows_per_second"] / by_mode[bottom]["rows_per_second"]
    return found


def per_round_ratios(results: list[dict[str, Any]], top: str, bottom: str) -> list[float]:
    """``top``/``bottom`` rows/s in each round where both were measured (same row count)."""
    by_mode = _by_mode(results)
    if top not in by_mode or bottom not in by_mode:
        return []
    tops = by_mode[top].get("runs_operation_seconds", [by_mode[top]["operation_seconds"]])
    bottoms = by_mode[bottom].get("runs_operation_seconds", [by_mode[bottom]["operation_seconds"]])
    return [b / t for t, b in zip(tops, bottoms, strict=False)]


def rss_growth(scaling: list[dict[str, Any]]) -> float | None:
    """Peak RSS growth of (b) from the smallest to the largest scaling size, as a fraction."""
    if len(scaling) < 2:
        return None
    return scaling[-1]["peak_rss_mib"] / scaling[0]["peak_rss_mib"] - 1


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def target_lines(document: dict[str, Any]) -> list[str]:
    """The issue's targets, with the measured value and whether it is met (reported, never asserted)."""
    lines = []
    mixed_ratios = document["ratios"].get("mixed", {})
    if "b/a" in mixed_ratios:
        value = mixed_ratios["b/a"]
        mixed = [r for r in document["comparison"] if r["kind"] == "mixed"]
        rounds = per_round_ratios(mixed, "operator_adbc", "raw_copy")
        each = f"; per round: {', '.join(f'{ratio:.0%}' for ratio in rounds)}" if len(rounds) > 1 else ""
        lines.append(
            f"(b)/(a) rows/s, mixed table: {value:.1%} of the medians{each} "
            f"(target >= 70%: {_met(value >= TARGET_RATIO_RAW)})"
        )
    if "b/c" in mixed_ratios:
        value = mixed_ratios["b/c"]
        lines.append(
            f"(b)/(c) rows/s, mixed table: {value:.1f}x "
            f"(target >= 8x: {_met(value >= TARGET_RATIO_SQL_TO_S3)})"
        )
    adbc = [r for r in document["results"] if r["mode"] == "operator_adbc"]
    if adbc:
        peak = max(r["peak_rss_mib"] for r in adbc)
        lines.append(
            f"(b) largest peak RSS, max_file_size={document['settings']['max_file_size']}: {peak:.0f} MiB "
            f"(target < 400: {_met(peak < TARGET_PEAK_RSS_MIB)})"
        )
    sql_to_s3 = [r for r in document["results"] if r["mode"] == "sql_to_s3"]
    if sql_to_s3:
        described = ", ".join(
            f"{r['rows']:,} {r['kind']} rows: {r['peak_rss_mib']:,.0f} MiB" for r in sql_to_s3
        )
        lines.append(f"(c) peak RSS for comparison: {described}")
    growth = rss_growth(document["scaling"])
    if growth is not None:
        first, last = document["scaling"][0]["rows"], document["scaling"][-1]["rows"]
        lines.append(
            f"(b) peak RSS growth {first:,} -> {last:,} rows: {growth:+.1%} "
            f"(target < 10%: {_met(growth < TARGET_RSS_GROWTH)})"
        )
    return lines


def output_lines(document: dict[str, Any]) -> list[str]:
    """What the output checks found: strict for the operator, informational for SqlToS3Operator."""
    lines = []
    checked = [r for r in document["results"] if r["mode"].startswith("operator_")]
    if checked:
        lines.append(
            f"(b), (b-csv): all {sum(r['files'] for r in checked)} Parquet files of {len(checked)} exports "
            "have the parity schema (Arrow types and materialize.v1.* extension names), and the row counts "
            "in the footers, the manifest and XCom equal the table's exactly."
        )
    for r in document["results"]:
        if r["mode"] == "sql_to_s3":
            unlike = "; ".join(r["types_unlike_parity"]) or "none"
            lines.append(
                f"(c), {r['kind']} table: {r['footer_rows']:,} rows in {r['files']} file, no type metadata; "
                f"types unlike parity: {unlike}."
            )
    return lines


NOTES = [
    "op s: the operation alone, timed inside the measuring process (connect to last byte for (a); "
    "operator execute() start to return for (b) and (c)); rows/s and MB/s are based on it.",
    "process s: the whole measuring process, including interpreter start and imports.",
    "(a), (a-psql) and (b) run several times, interleaved (a, a-psql, b, a, a-psql, b, ...), before the "
    "other modes; their row "
    "shows the median run, every run's op s, and the largest peak RSS of the runs.",
    "MB/s and MB: Parquet written to S3, except for (a), where it is the COPY data read from the wire.",
    "peak RSS: VmHWM of the measuring process (imports included), read at its end; for (a-psql), psql's.",
    "(a-psql) runs the same COPY through a C client; it shows how close (a)'s Python reader gets to the "
    "server's limit. The targets' ratios use (a).",
    "S3: moto's server on the same cores. One unmeasured (b) export of the mixed table runs first, and "
    "each export is checked and removed as soon as its run ends, before the next run starts.",
]


def render_report(document: dict[str, Any], markdown: bool) -> str:
    """The whole report: heading, comparison tables, scaling table, ratios, targets, notes."""
    settings = document["settings"]
    title = "#### " if markdown else ""
    parts = [
        f"{'**' if markdown else ''}{document['date']}{'**' if markdown else ''}, "
        f"{machine_line(document['machine'])}. Total run {document['total_seconds'] / 60:.1f} min, "
        f"max_file_size={settings['max_file_size']}"
        + (", SMOKE RUN (tiny tables, timings meaningless)" if settings["smoke"] else "")
        + (f", {settings['jobs']} measurements at a time" if settings["jobs"] > 1 else "")
        + ".",
    ]
    for kind, heading in (
        ("mixed", "Mixed table (13 columns)"),
        ("narrow", "Narrow table (bigint + double)"),
    ):
        section = [r for r in document["comparison"] if r["kind"] == kind]
        if not section:
            continue
        parts.append(f"{title}{heading}, {section[0]['rows']:,} rows")
        parts.append(comparison_table(section, markdown))
        found = document["ratios"].get(kind, {})
        if found:
            parts.append(
                "rows/s ratios: "
                + ", ".join(f"({k.split('/')[0]})/({k.split('/')[1]}) = {v:.2f}" for k, v in found.items())
            )
    if document["scaling"]:
        parts.append(f"{title}Scaling of (b) on the mixed table")
        parts.append(scaling_table(document["scaling"], markdown))
        parts.append("(* smallest file except the last)")
    bullet = "- " if markdown else "  "
    for heading, lines in (("Targets", target_lines(document)), ("Output checks", output_lines(document))):
        parts.append(f"{title}{heading}")
        parts.append("\n".join(bullet + line for line in lines))
    parts.append("\n".join(bullet + note for note in NOTES))
    return "\n\n".join(parts) + "\n"


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M %Z")
