"""The figures a report derives from result rows: which row is which, ratios, CPU per million rows."""

from __future__ import annotations

from typing import Any

LABELS = {
    "raw_copy": "(a) raw binary COPY, read + discard",
    "raw_copy_psql": "(a-psql) the same COPY, psql > /dev/null",
    "operator_adbc": "(b) our operator, reader=adbc",
    "operator_adbc_2": "(b2) the same, read_connections=2",
    "operator_csv": "(b-csv) our operator, reader=csv",
    "sql_to_s3": "(c) SqlToS3Operator, parquet",
    "duckdb": "DuckDB ATTACH postgres + COPY TO s3",
    "dlt": "dlt sql_table, pyarrow -> filesystem",
}

SHORT = {
    "raw_copy": "(a)",
    "raw_copy_psql": "(a-psql)",
    "operator_adbc": "(b)",
    "operator_adbc_2": "(b2)",
    "operator_csv": "(b-csv)",
    "sql_to_s3": "(c)",
    "duckdb": "DuckDB",
    "dlt": "dlt",
}


def rows_of(document: dict[str, Any], shape: str) -> list[dict[str, Any]]:
    return [r for r in document["comparison"] if r["kind"] == shape]


def find(rows: list[dict[str, Any]], mode: str, small: bool = False) -> dict[str, Any] | None:
    """The row of ``mode`` on the shape's table (or, with ``small``, on its smaller table)."""
    sizes = sorted({r["rows"] for r in rows})
    wanted = sizes[0] if small else sizes[-1]
    return next((r for r in rows if r["mode"] == mode and r["rows"] == wanted), None)


def ratio(top: dict[str, Any] | None, bottom: dict[str, Any] | None) -> float | None:
    if top is None or bottom is None or "failed" in top or "failed" in bottom:
        return None
    return top["rows_per_second"] / bottom["rows_per_second"]


def cpu_per_million(row: dict[str, Any] | None) -> float | None:
    return None if row is None or "failed" in row else row["operation_cpu_seconds"] / row["rows"] * 1e6


def per_round_ratios(rows: list[dict[str, Any]], top: str, bottom: str) -> list[float]:
    """``top``/``bottom`` rows/s in each round where both were measured on the shape's table."""
    high, low = find(rows, top), find(rows, bottom)
    if high is None or low is None:
        return []
    tops = high.get("runs_operation_seconds", [high["operation_seconds"]])
    bottoms = low.get("runs_operation_seconds", [low["operation_seconds"]])
    return [b / t for t, b in zip(tops, bottoms, strict=False)]


def shape_ratios(rows: list[dict[str, Any]]) -> dict[str, float]:
    """(b)'s rows/s against each other mode, like for like (same table); and the peers' against (a)."""
    found = {}
    b, b_small = find(rows, "operator_adbc"), find(rows, "operator_adbc", small=True)
    for key, top, bottom in (
        ("b/a", b, find(rows, "raw_copy")),
        ("b/a-psql", b, find(rows, "raw_copy_psql")),
        ("b/duckdb", b, find(rows, "duckdb")),
        ("b2/a", find(rows, "operator_adbc_2"), find(rows, "raw_copy")),
        ("b2/duckdb", find(rows, "operator_adbc_2"), find(rows, "duckdb")),
        ("b/dlt", b_small, find(rows, "dlt", small=True)),
        ("b/c", b_small, find(rows, "sql_to_s3", small=True)),
        ("b-csv/a", find(rows, "operator_csv"), find(rows, "raw_copy")),
        ("duckdb/a", find(rows, "duckdb"), find(rows, "raw_copy")),
    ):
        if (value := ratio(top, bottom)) is not None:
            found[key] = value
    return found


def rss_growth(scaling: list[dict[str, Any]]) -> float | None:
    """Peak RSS growth of (b) from the smallest to the largest scaling size, as a fraction."""
    if len(scaling) < 2:
        return None
    return scaling[-1]["peak_rss_mib"] / scaling[0]["peak_rss_mib"] - 1


def with_raw_copy(b: dict[str, Any], a: dict[str, Any] | None) -> dict[str, Any]:
    """(b)'s scaling row with (a)'s time on the same table and (b)'s rows/s as a fraction of (a)'s."""
    if a is None or "failed" in a:
        return b
    return {**b, "raw_copy_seconds": a["operation_seconds"], "of_raw_copy": ratio(b, a)}
