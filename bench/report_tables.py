"""The report's tables: headers and cells, rendered as aligned text or Markdown."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bench.figures import LABELS, cpu_per_million, find, ratio, rows_of

Table = tuple[list[str], list[list[str]]]


def render_table(headers: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|:---|" + "|".join("---:" for _ in headers[1:]) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), *(line(row) for row in rows)])


def _mb(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value / 1e6:,.{digits}f}"


def _x(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def _per_million(row: dict[str, Any], seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / row['rows'] * 1e6:.2f}"


def _peak(row: dict[str, Any] | None) -> str:
    if row is None:
        return ""
    return "failed" if "failed" in row else f"{row['peak_rss_mib']:.0f}"


def _each_shape(document: dict[str, Any]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Each shape of the run, in the run's order, with its result rows."""
    for shape in document["settings"]["shapes"]:
        yield shape, rows_of(document, shape)


def shape_table(rows: list[dict[str, Any]]) -> Table:
    """Every mode of one shape: rates, ratios like for like, CPU per million rows, memory, output."""
    headers = [
        "mode",
        "rows",
        "op s",
        "rows/s",
        "of (a)",
        "(b) is x faster",
        "exporter CPU s/M rows",
        "PostgreSQL CPU s/M rows",
        "S3 server CPU s/M rows",
        "peak RSS MiB",
        "MB",
        "files",
        "op s of each run",
    ]
    raw = find(rows, "raw_copy")
    table = []
    for r in rows:
        if "failed" in r:
            failed = f"failed: {r['failed'][:120]}".replace("|", "/")
            table.append([LABELS[r["mode"]], f"{r['rows']:,}", "", failed, *([""] * (len(headers) - 4))])
            continue
        b = find(rows, "operator_adbc", small=r["rows"] != raw["rows"] if raw else False)
        runs = r.get("runs_operation_seconds", [r["operation_seconds"]])
        server = r.get("server_cpu_seconds", {})
        wire = " (wire)" if r["mode"] == "raw_copy" else ""
        table.append(
            [
                LABELS[r["mode"]],
                f"{r['rows']:,}",
                f"{r['operation_seconds']:.2f}",
                f"{r['rows_per_second']:,.0f}",
                _pct(ratio(r, raw)) if raw is not None and r["rows"] == raw["rows"] else "",
                "" if r["mode"] == "operator_adbc" else _x(ratio(b, r)),
                _per_million(r, r["operation_cpu_seconds"]),
                _per_million(r, server.get("postgres")),
                _per_million(r, server.get("s3")),
                f"{r['peak_rss_mib']:.0f}",
                _mb(r["output_bytes"]) + (wire if r["output_bytes"] else ""),
                "" if r["files"] is None else str(r["files"]),
                " / ".join(f"{seconds:.2f}" for seconds in runs) if len(runs) > 1 else "",
            ]
        )
    return headers, table


def summary_table(document: dict[str, Any]) -> Table:
    """One line per shape: (b)'s rate and its ratios to (a) and the peers, CPU and memory side by side."""
    headers = [
        "shape",
        "rows",
        "(b) rows/s",
        "(b)/(a)",
        "(b)/DuckDB",
        "(b2)/(a)",
        "(b2)/DuckDB",
        "(b)/dlt*",
        "(b)/(c)*",
        "CPU s/M rows: (b) / DuckDB / dlt*",
        "peak RSS MiB: (b) / DuckDB / dlt*",
    ]
    table = []
    for shape, rows in _each_shape(document):
        b, duckdb, dlt = find(rows, "operator_adbc"), find(rows, "duckdb"), find(rows, "dlt", small=True)
        if b is None:
            continue
        found = document["ratios"].get(shape, {})
        cpu = [cpu_per_million(row) for row in (b, duckdb, dlt)]
        table.append(
            [
                shape,
                f"{b['rows']:,}",
                f"{b['rows_per_second']:,.0f}",
                _pct(found.get("b/a")),
                _x(found.get("b/duckdb")),
                _pct(found.get("b2/a")),
                _x(found.get("b2/duckdb")),
                _x(found.get("b/dlt")),
                _x(found.get("b/c"), 1),
                " / ".join("-" if value is None else f"{value:.2f}" for value in cpu),
                " / ".join(_peak(row) for row in (b, duckdb, dlt)),
            ]
        )
    return headers, table


def time_table(document: dict[str, Any]) -> Table:
    """Per shape, (b)'s median run in phases beside (a), and the two-core floor its CPU sets.

    The read's phases are timed inside (b)'s process, from ``execute()``'s start: the first batch
    handed over, and the read's end (its last batch read and its transaction ended). After it come
    the encoding of the batches still queued, the last row group and parts, S3 completing the file
    and the output contract's closing requests, none of which overlap the read.
    """
    headers = [
        "shape",
        "rows",
        "(a) s",
        "(b) s",
        "(b): first batch at s",
        "last batch read at s",
        "after it s",
        "(a) / (b)'s time to its last batch",
        "(b)/(a)",
        "(b) CPU s/M rows: exporter / PostgreSQL / S3",
        "2-core floor s",
        "best (b)/(a) that CPU allows",
    ]
    table = []
    for shape, rows in _each_shape(document):
        a, b = find(rows, "raw_copy"), find(rows, "operator_adbc")
        if a is None or b is None or "failed" in a or "failed" in b or "last_batch_seconds" not in b:
            continue
        server = b["server_cpu_seconds"]
        cpu = [b["operation_cpu_seconds"], server.get("postgres", 0.0), server.get("s3", 0.0)]
        floor = sum(cpu) / 2
        table.append(
            [
                shape,
                f"{b['rows']:,}",
                f"{a['operation_seconds']:.2f}",
                f"{b['operation_seconds']:.2f}",
                f"{b['first_batch_seconds']:.2f}",
                f"{b['last_batch_seconds']:.2f}",
                f"{b['operation_seconds'] - b['last_batch_seconds']:.2f}",
                _pct(a["operation_seconds"] / b["last_batch_seconds"]),
                _pct(ratio(b, a)),
                " / ".join(_per_million(b, seconds) for seconds in cpu),
                f"{floor:.2f}",
                _pct(min(1.0, a["operation_seconds"] / floor)),
            ]
        )
    return headers, table


def scaling_table(results: list[dict[str, Any]]) -> Table:
    headers = [
        "rows",
        "op s",
        "(a) op s",
        "of (a)",
        "rows/s",
        "files",
        "min MB*",
        "max MB",
        "peak RSS MiB",
        "exporter CPU s/M rows",
    ]
    rows = [
        [
            f"{r['rows']:,}",
            f"{r['operation_seconds']:.1f}",
            f"{r['raw_copy_seconds']:.1f}" if "raw_copy_seconds" in r else "",
            _pct(r.get("of_raw_copy")),
            f"{r['rows_per_second']:,.0f}",
            str(r["files"]),
            _mb(min(r["file_bytes"][:-1] or r["file_bytes"]), 2),
            _mb(max(r["file_bytes"]), 2),
            f"{r['peak_rss_mib']:.0f}",
            _per_million(r, r["operation_cpu_seconds"]),
        ]
        for r in results
    ]
    return headers, rows
