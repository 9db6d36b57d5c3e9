"""Benchmark: our operator's client mode against the server's limit and Airflow's SqlToS3Operator.

    python3 dev/run.py bench              # the full run (about 10-15 minutes on 2 cores)
    python3 dev/run.py bench --smoke      # a few thousand rows, every mode, well under a minute

It starts a throwaway PostgreSQL server (settings for fast bulk loads) and moto's S3-compatible
server, generates the tables (see ``bench/tables.py``) and measures, each in its own process:

* (a) ``COPY (SELECT * FROM t) TO STDOUT (FORMAT binary)`` read and discarded (psycopg 3),
  and (a-psql) the same through psql, as a C client's reference;
* (b) ``MaterializeCopyToS3Operator`` with the ADBC reader, end to end into the S3 server;
* (b-csv) the same with the CSV fallback reader;
* (c) ``SqlToS3Operator(file_format="parquet")`` into the same S3 server;

on the mixed table (``--rows``, default 5M) and the narrow one (``--narrow-rows``, default 20M),
plus (b) at the ``--scaling`` sizes (default 1M, 5M, 20M). Every export of (b) is checked: the
Parquet footers, the manifest and XCom must hold the table's exact row count, and every file the
parity schema (``bench/checks.py``, ``tests/support/parity.py``); a failed check fails the run.
Results go to ``bench/results/compare.json`` and ``compare.md`` (``compare-smoke.*`` for ``--smoke``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.checks import (  # noqa: E402
    OutputCheckFailed,
    check_operator_output,
    delete_prefix,
    inspect_sql_to_s3_output,
)
from bench.child import SQL_TO_S3_CONN_ID  # noqa: E402
from bench.runner import Measurement, MeasurementFailed, run_measurements  # noqa: E402
from bench.tables import (  # noqa: E402
    BULK_LOAD_SETTINGS,
    MIXED,
    NARROW,
    WARM_UP,
    TableKind,
    create_tables,
    drop_tables,
)
from tests.support.benchmark_plan import (  # noqa: E402
    DEFAULT_MODES,
    DEFAULT_NARROW_MODES,
    MODES,
    REPEATED_MODES,
    SMOKE,
)

BUCKET = "bench"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python3 dev/run.py bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--smoke", action="store_true", help="tiny tables, every mode, 2 runs at a time")
    parser.add_argument("--rows", type=int, help="rows of the mixed table compared across modes (5,000,000)")
    parser.add_argument("--scaling", type=int, nargs="*", help="mixed-table sizes for (b)'s scaling table")
    parser.add_argument("--narrow-rows", type=int, help="rows of the narrow table (20,000,000); 0 skips it")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=DEFAULT_MODES, help="on the mixed table")
    parser.add_argument(
        "--narrow-modes", nargs="*", choices=MODES, default=DEFAULT_NARROW_MODES, help="on the narrow table"
    )
    parser.add_argument("--max-file-size", default="128MB", help="the operator's max_file_size (128MB)")
    parser.add_argument("--jobs", type=int, help="measurements run at a time (1; 2 with --smoke)")
    parser.add_argument(
        "--repeat",
        type=int,
        help=f"runs of {', '.join(REPEATED_MODES)} per table, median reported (3; 2 with --smoke)",
    )
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    defaults = (
        SMOKE
        if args.smoke
        else {
            "rows": 5_000_000,
            "scaling": [1_000_000, 5_000_000, 20_000_000],
            "narrow_rows": 20_000_000,
            "jobs": 1,
            "repeat": 3,
        }
    )
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.scaling = sorted(set(args.scaling))
    return args


def _interrupt_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _query_one(uri: str, sql: str) -> tuple:
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return tuple(row)


def _execute(uri: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(sql)


def _postgres_connection_json(port: int, database: str) -> str:
    """A plain ``postgres`` connection to the server, as a SqlToS3Operator user would have."""
    return json.dumps(
        {"conn_type": "postgres", "host": "127.0.0.1", "port": port, "login": "postgres", "schema": database}
    )


def _measurement(
    kind: TableKind, rows: int, mode: str, args: argparse.Namespace, uri: str, run: int = 1, suffix: str = ""
) -> Measurement:
    name = f"{kind.name}-{rows}-{mode}" + (f"-run{run}" if run > 1 else "") + suffix
    spec = {
        "mode": mode,
        "table": kind.table(rows),
        "rows": rows,
        "bucket": BUCKET,
        "prefix": f"{name}/",
        "max_file_size": args.max_file_size,
        "conninfo": uri,
        "run": run,
    }
    return Measurement(name, spec)


def result_row(measurement: Measurement, kind: str, client: Any) -> dict[str, Any]:
    """One measurement's numbers, with its output checked (strictly for the operator) and removed."""
    spec, result = measurement.spec, measurement.result
    mode, rows = spec["mode"], spec["rows"]
    row: dict[str, Any] = {
        "name": measurement.name,
        "run": spec.get("run", 1),
        "kind": kind,
        "mode": mode,
        "label": report.LABELS[mode],
        "table": spec["table"],
        "rows": rows,
        "operation_seconds": result["operation_seconds"],
        "process_seconds": measurement.wall_seconds,
        "rows_per_second": rows / result["operation_seconds"],
        "peak_rss_mib": result["peak_rss_mib"],
        "ready_rss_mib": result["ready_rss_mib"],
        "files": None,
        "file_bytes": [],
        "output_bytes": None,
    }
    if mode.startswith("raw_copy"):
        row["output_bytes"] = result["wire_bytes"]
    elif mode.startswith("operator_"):
        checked = check_operator_output(client, BUCKET, spec["prefix"], result["xcom"], rows, kind)
        row.update(checked, output_bytes=checked["parquet_bytes"])
        row["operator_duration_seconds"] = result["xcom"]["duration_seconds"]
        row["xcom_rows"] = result["xcom"]["rows"]
    else:
        inspected = inspect_sql_to_s3_output(client, BUCKET, result["key"], rows, kind)
        row.update(inspected, output_bytes=inspected["parquet_bytes"])
    delete_prefix(client, BUCKET, spec["prefix"])
    return row


def run_kind(
    kind: TableKind,
    compare_rows: int,
    modes: list[str],
    scaling: list[int],
    args: argparse.Namespace,
    uri: str,
    env: dict[str, str],
    client: Any,
    work_dir: Path,
    warm_up_s3: bool = False,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Generate one kind's tables, measure, check; returns (comparison rows, scaling rows)."""
    tables = create_tables(
        kind, [compare_rows, *scaling], lambda sql: _execute(uri, sql), lambda sql: _query_one(uri, sql)
    )
    # The repeated rounds first, then the other modes: (c)'s memory peak slowed the server's COPY in
    # the rounds that followed it (docs/benchmarks.md).
    comparison = [
        _measurement(kind, compare_rows, mode, args, uri, run)
        for run in range(1, args.repeat + 1)
        for mode in modes
        if mode in REPEATED_MODES
    ] + [_measurement(kind, compare_rows, mode, args, uri) for mode in modes if mode not in REPEATED_MODES]
    extra = [
        _measurement(kind, rows, "operator_adbc", args, uri)
        for rows in scaling
        if rows != compare_rows or "operator_adbc" not in modes
    ]
    runs: list[dict[str, Any]] = []
    try:
        if warm_up_s3:
            # A freshly started moto spends more CPU time on its first exports (docs/benchmarks.md):
            # one unmeasured export lets it grow to its working size.
            warm = _measurement(kind, compare_rows, "operator_adbc", args, uri, suffix="-s3-warm-up")
            print(f"warming up the S3 server: {warm.name}", flush=True)
            run_measurements(
                [warm], work_dir, env, on_finish=lambda m: delete_prefix(client, BUCKET, m.spec["prefix"])
            )
        print(f"measuring {kind.name}: " + ", ".join(m.name for m in comparison + extra), flush=True)
        # Each export is checked and removed as soon as its process ends, before the next starts:
        # kept until the end, they made the S3 server grow through the whole run, and a growing server
        # spends more CPU time, on the cores the measured run uses.
        run_measurements(
            comparison + extra,
            work_dir,
            env,
            jobs=args.jobs,
            on_finish=lambda measurement: runs.append(result_row(measurement, kind.name, client)),
        )
    finally:
        drop_tables(tables.values(), lambda sql: _execute(uri, sql))
    rows_of = {row["name"]: row for row in median_rows(runs)}
    scaled = [rows_of[f"{kind.name}-{rows}-operator_adbc"] for rows in scaling]
    return [rows_of[f"{kind.name}-{compare_rows}-{mode}"] for mode in modes], scaled


def median_rows(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (table, mode): the median run by operation time, with every run's time beside it.

    Peak RSS is the largest of the runs. Runs are kept in round order: the modes of one round ran
    one after another, so their per-round ratios compare like with like (``report.per_round_ratios``).
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in runs:
        groups.setdefault(row["name"].rsplit("-run", 1)[0], []).append(row)
    merged = []
    for name, group in groups.items():
        group.sort(key=lambda row: row["run"])
        ordered = sorted(group, key=lambda row: row["operation_seconds"])
        median = dict(ordered[(len(ordered) - 1) // 2], name=name)
        median["runs_operation_seconds"] = [row["operation_seconds"] for row in group]
        median["runs_peak_rss_mib"] = [row["peak_rss_mib"] for row in group]
        median["peak_rss_mib"] = max(median["runs_peak_rss_mib"])
        merged.append(median)
    return merged


def warm_up(args: argparse.Namespace, uri: str, env: dict[str, str], client: Any, work_dir: Path) -> float:
    """Run every mode once on a tiny table, unmeasured, so the imports are compiled to bytecode."""
    started = time.monotonic()
    tables = create_tables(WARM_UP, [100], lambda sql: _execute(uri, sql), lambda sql: _query_one(uri, sql))
    try:
        run_measurements([_measurement(WARM_UP, 100, "warm_up", args, uri)], work_dir, env)
    finally:
        drop_tables(tables.values(), lambda sql: _execute(uri, sql))
    delete_prefix(client, BUCKET, "warm_up-")
    return time.monotonic() - started


def write_results(document: dict[str, Any], results_dir: Path, stem: str) -> tuple[Path, Path]:
    results_dir.mkdir(parents=True, exist_ok=True)
    json_path, markdown_path = results_dir / f"{stem}.json", results_dir / f"{stem}.md"
    json_path.write_text(json.dumps(document, indent=2) + "\n")
    markdown_path.write_text(report.render_report(document, markdown=True))
    return json_path, markdown_path


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark; returns the results document (also written to the results dir)."""
    from tests.support.servers import connection_environment, running_servers

    started = time.monotonic()
    machine = report.machine_info()
    work_dir = Path(tempfile.mkdtemp(prefix="mzprov-bench-"))
    comparison: list[dict[str, Any]] = []
    scaling: list[dict[str, Any]] = []
    with running_servers(BULK_LOAD_SETTINGS) as (postgres, s3):
        uri = postgres.uri
        env = {
            # Bytecode caching on (PYTHONDONTWRITEBYTECODE off): the warm-up compiles the imports once,
            # as a package installer would have, and the measured processes load them from the cache.
            **{name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"},
            **connection_environment(postgres, s3),
            f"AIRFLOW_CONN_{SQL_TO_S3_CONN_ID.upper()}": _postgres_connection_json(
                postgres.port, postgres.database
            ),
        }
        client = s3.client()
        client.create_bucket(Bucket=BUCKET)
        machine["postgres"] = _query_one(uri, "SHOW server_version")[0]
        warm_up_seconds = warm_up(args, uri, env, client, work_dir)
        mixed, scaling = run_kind(
            MIXED, args.rows, args.modes, args.scaling, args, uri, env, client, work_dir, warm_up_s3=True
        )
        comparison += mixed
        if args.narrow_rows and args.narrow_modes:
            narrow, _ = run_kind(
                NARROW, args.narrow_rows, args.narrow_modes, [], args, uri, env, client, work_dir
            )
            comparison += narrow
    shutil.rmtree(work_dir, ignore_errors=True)
    machine["load_average_at_end"] = list(os.getloadavg())
    results = comparison + [r for r in scaling if r not in comparison]
    return {
        "date": report.now(),
        "machine": machine,
        "settings": {
            "smoke": args.smoke,
            "jobs": args.jobs,
            "repeat": args.repeat,
            "modes": list(args.modes),
            "narrow_modes": list(args.narrow_modes) if args.narrow_rows else [],
            "repeated_modes": list(REPEATED_MODES),
            "max_file_size": args.max_file_size,
            "mixed_rows": args.rows,
            "narrow_rows": args.narrow_rows,
            "scaling_rows": args.scaling,
            "rates_based_on": "operation_seconds (timed inside the measuring process)",
        },
        "comparison": comparison,
        "scaling": scaling,
        "results": results,
        "ratios": {
            kind: report.ratios([r for r in comparison if r["kind"] == kind]) for kind in ("mixed", "narrow")
        },
        "warm_up_seconds": warm_up_seconds,
        "total_seconds": time.monotonic() - started,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _interrupt_on_sigterm)  # so the servers still stop
    try:
        document = run(args)
    except (MeasurementFailed, OutputCheckFailed) as failure:
        print(f"\nBENCHMARK FAILED: {failure}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    json_path, markdown_path = write_results(
        document, args.results_dir, "compare-smoke" if args.smoke else "compare"
    )
    print("\n" + report.render_report(document, markdown=False))
    print(
        f"results: {json_path.relative_to(ROOT) if json_path.is_relative_to(ROOT) else json_path}, "
        f"{markdown_path.name} beside it"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
