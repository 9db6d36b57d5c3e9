"""The results as aligned text (printed) and Markdown (``bench/results/compare.md``); targets and notes.

One result row is a plain dict (``bench/plan.result_row``). Rates come from the *operation* time
measured inside the child; CPU per million rows from the child's own CPU time over the operation.
"""

from __future__ import annotations

from typing import Any

from bench.figures import cpu_per_million, find, per_round_ratios, rows_of, rss_growth
from bench.report_tables import render_table, scaling_table, shape_table, summary_table, time_table
from bench.report_text import NOTES, import_note, machine_line, output_lines

TARGET_RATIO_RAW = 0.85  # (b) rows/s at least 85% of (a)'s on every shape
TARGET_PEAK_RSS_MIB = 300.0  # (b) peak RSS with 128 MB files, imports included
TARGET_RSS_GROWTH = 0.10  # (b) peak RSS growth from the smallest to the largest scaling size


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def target_lines(document: dict[str, Any]) -> list[str]:
    """The issue's targets, per shape, with the measured value and whether it is met (never asserted)."""
    lines = []
    for shape in document["settings"]["shapes"]:
        rows = rows_of(document, shape)
        found = document["ratios"].get(shape, {})
        parts = []
        if "b/a" in found:
            rounds = ", ".join(
                f"{value:.0%}" for value in per_round_ratios(rows, "operator_adbc", "raw_copy")
            )
            met = _met(found["b/a"] >= TARGET_RATIO_RAW)
            parts.append(f"(b)/(a) {found['b/a']:.0%} (rounds {rounds}; >= 85%: {met})")
        if "b2/a" in found:
            parts.append(f"(b2)/(a) {found['b2/a']:.0%}, (b2)/duckdb {found.get('b2/duckdb', 0):.2f}x")
        for peer in ("duckdb", "dlt"):
            if f"b/{peer}" in found:
                parts.append(f"(b)/{peer} {found[f'b/{peer}']:.2f}x ({_met(found[f'b/{peer}'] > 1)})")
        ours, theirs = cpu_per_million(find(rows, "operator_adbc")), cpu_per_million(find(rows, "duckdb"))
        if ours is not None and theirs is not None:
            parts.append(f"CPU/M rows (b) {ours:.2f} s vs DuckDB {theirs:.2f} s ({_met(ours < theirs)})")
        lines.append(f"{shape}: " + "; ".join(parts))
    adbc = [r for r in document["results"] if r["mode"] == "operator_adbc" and "failed" not in r]
    if adbc:
        peak = max(adbc, key=lambda r: r["peak_rss_mib"])
        lines.append(
            f"(b) largest peak RSS, max_file_size={document['settings']['max_file_size']}: "
            f"{peak['peak_rss_mib']:.0f} MiB ({peak['table']}) "
            f"(< 300: {_met(peak['peak_rss_mib'] < TARGET_PEAK_RSS_MIB)})"
        )
    growth = rss_growth(document["scaling"])
    if growth is not None:
        first, last = document["scaling"][0]["rows"], document["scaling"][-1]["rows"]
        lines.append(
            f"(b) peak RSS growth {first:,} -> {last:,} mixed rows: {growth:+.1%} "
            f"(< 10%: {_met(growth < TARGET_RSS_GROWTH)})"
        )
    return lines


def render_report(document: dict[str, Any], markdown: bool) -> str:
    """The whole report: heading, summary, one table per shape, scaling, targets, checks, notes."""
    settings = document["settings"]
    title = "#### " if markdown else ""
    bold = "**" if markdown else ""
    parts = [
        f"{bold}{document['date']}{bold}, code {document.get('commit', '?')}; "
        f"{machine_line(document['machine'])}. "
        f"Total run {document['total_seconds'] / 60:.1f} min, max_file_size={settings['max_file_size']}"
        + (", SMOKE RUN (tiny tables, timings meaningless)" if settings["smoke"] else "")
        + (f", {settings['jobs']} measurements at a time" if settings["jobs"] > 1 else "")
        + ".",
        f"{title}Summary",
        render_table(*summary_table(document), markdown),
        f"{title}Where (b)'s time went (its median run on each shape's table)",
        render_table(*time_table(document), markdown),
    ]
    for shape in settings["shapes"]:
        rows = rows_of(document, shape)
        if not rows:
            continue
        parts.append(f"{title}{document['descriptions'][shape]}")
        parts.append(render_table(*shape_table(rows), markdown))
    if document["scaling"]:
        parts.append(f"{title}Scaling of (b) on the mixed table")
        parts.append(render_table(*scaling_table(document["scaling"]), markdown))
        parts.append("(* smallest file except the last)")
    bullet = "- " if markdown else "  "
    for heading, lines in (("Targets", target_lines(document)), ("Output checks", output_lines(document))):
        parts.append(f"{title}{heading}")
        parts.append("\n".join(bullet + line for line in lines))
    parts.append(f"{title}Notes")
    notes = [*NOTES, *filter(None, [import_note(document)])]
    parts.append("\n".join(bullet + note for note in notes))
    return "\n\n".join(parts) + "\n"
