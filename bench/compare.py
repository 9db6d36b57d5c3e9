"""Benchmark: client mode on seven table shapes, against the wire's limit, DuckDB, dlt and SqlToS3Operator.

    python3 dev/run.py bench              # the full run (under 20 minutes on 2 cores)
    python3 dev/run.py bench --smoke      # tiny tables, every shape and mode, a minute or two

It starts a throwaway PostgreSQL server (settings for fast bulk loads) and moto's S3-compatible
server, creates the peers' venvs (``bench/peers.py``, cached), generates each shape's tables
(``bench/shapes.py``) and measures, each in its own process against the same servers:

* (a) ``COPY (SELECT * FROM t) TO STDOUT (FORMAT binary)`` read and discarded (psycopg 3), and
  (a-psql) the same through psql;
* (b) ``MaterializeCopyToS3Operator``, client mode with the ADBC reader, into the S3 server
  ((b-csv), the CSV fallback reader, on the mixed table);
* DuckDB 1.5 (``ATTACH ... (TYPE postgres)``, ``COPY ... TO 's3://...'``) and dlt (``sql_table``,
  pyarrow backend, filesystem destination), each in its own venv;
* (c) ``SqlToS3Operator(file_format="parquet")``;

and (b) on the mixed table at the ``--scaling`` sizes, for memory. Every export of (b) is checked:
the Parquet footers, the manifest and XCom must hold the table's exact row count, and every file
the parity schema (``bench/checks.py``, ``bench/parity.py``); a failed check fails the run. The
peers' and (c)'s row counts and types are recorded. Results go to ``bench/results/compare.json``
and ``compare.md`` (``compare-smoke.*`` for ``--smoke``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import figures, report, report_text  # noqa: E402
from bench.checks import OutputCheckFailed, delete_prefix  # noqa: E402
from bench.child import SQL_TO_S3_CONN_ID  # noqa: E402
from bench.cpu import tree_cpu_seconds  # noqa: E402
from bench.peers import PEERS, ensure_peer_venv, peer_versions  # noqa: E402
from bench.plan import BUCKET, Context, measurement, median_rows, result_row, shape_measurements  # noqa: E402
from bench.runner import MeasurementFailed, run_measurements  # noqa: E402
from bench.shapes import SHAPES, Shape  # noqa: E402
from bench.tables import BULK_LOAD_SETTINGS, WARM_UP, create_tables, drop_tables  # noqa: E402
from tests.support.benchmark_plan import CHILD_MODES, REPEATED_MODES, SMOKE  # noqa: E402

# (b)'s memory series on the mixed table; 5M is the mixed shape's own table (its median run).
FULL_SCALING = [1_000_000, 5_000_000, 20_000_000]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python3 dev/run.py bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--smoke", action="store_true", help="tiny tables, every shape and mode, 2 at a time")
    parser.add_argument("--shapes", nargs="+", choices=[s.name for s in SHAPES], help="the shapes to measure")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every shape's row counts (1.0)")
    parser.add_argument("--scaling", type=int, nargs="*", help="mixed-table sizes of (b)'s memory series")
    parser.add_argument("--max-file-size", default="128MB", help="the operator's max_file_size (128MB)")
    parser.add_argument("--jobs", type=int, help="measurements run at a time (1; 2 with --smoke)")
    parser.add_argument(
        "--repeat", type=int, help=f"runs of {', '.join(REPEATED_MODES)} per shape, median reported (3)"
    )
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    defaults = SMOKE if args.smoke else {"scaling": FULL_SCALING, "jobs": 1, "repeat": 3}
    for name in ("scaling", "jobs", "repeat"):
        if getattr(args, name) is None:
            setattr(args, name, defaults[name])
    args.scaling = sorted(set(args.scaling))
    args.shapes = args.shapes or [s.name for s in SHAPES]
    return args


def sizes(shape: Shape, args: argparse.Namespace) -> tuple[int, int]:
    """(rows, small_rows) of a shape in this run."""
    if args.smoke:
        return SMOKE["rows"], SMOKE["small_rows"]
    return max(1000, int(shape.rows * args.scale)), max(1000, int(shape.small_rows * args.scale))


def _interrupt_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _connect(uri: str) -> Any:
    import psycopg

    return psycopg.connect(uri, autocommit=True)


def _query_one(uri: str, sql: str) -> tuple:
    with _connect(uri) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return tuple(row)


def _execute(uri: str, sql: str) -> None:
    with _connect(uri) as conn:
        conn.execute(sql)


def _git_commit() -> str:
    found = subprocess.run(
        ["git", "log", "-1", "--format=%h %cI"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", "airflow_provider_materialize"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return (found.stdout.strip() or "unknown") + (" + uncommitted changes" if dirty.stdout.strip() else "")


def run_shape(
    shape: Shape,
    args: argparse.Namespace,
    context: Context,
    env: dict[str, str],
    client: Any,
    work_dir: Path,
    warm_up_s3: bool,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Generate one shape's tables, measure, check; returns (comparison rows, scaling rows)."""
    from bench.parity import expected_schema

    rows, small_rows = sizes(shape, args)
    scaling = args.scaling if shape.name == "mixed" else []
    uri = context.uri
    generated = create_tables(
        shape.kind,
        [rows, small_rows, *scaling],
        lambda sql: _execute(uri, sql),
        lambda sql: _query_one(uri, sql),
    )
    tables = {size: table.name for size, table in generated.items()}
    with _connect(uri) as conn:
        expected = expected_schema(conn, tables[rows], shape.name)
    planned = shape_measurements(context, shape.name, tables, rows, small_rows, args.repeat, scaling)
    runs: list[dict[str, Any]] = []

    def probe() -> dict[str, float]:
        return {name: tree_cpu_seconds(pid) for name, pid in context.server_pids.items()}

    try:
        if warm_up_s3:
            # A freshly started moto spends more CPU time on its first exports (docs/benchmarks.md).
            warm = measurement(context, shape.name, tables[rows], rows, "operator_adbc", suffix="-s3-warm-up")
            print(f"warming up the S3 server: {warm.name}", flush=True)
            run_measurements(
                [warm], work_dir, env, on_finish=lambda m: delete_prefix(client, BUCKET, m.spec["prefix"])
            )
        print(f"measuring {shape.name}: {len(planned)} runs", flush=True)
        run_measurements(
            planned,
            work_dir,
            env,
            jobs=args.jobs,
            on_finish=lambda m: runs.append(result_row(m, client, expected)),
            probe=probe,
        )
    finally:
        drop_tables(generated.values(), lambda sql: _execute(uri, sql))
    merged = median_rows(runs)
    by_name = {row["name"]: row for row in merged}
    scaled = [
        figures.with_raw_copy(by_name[f"{tables[n]}-operator_adbc"], by_name.get(f"{tables[n]}-raw_copy"))
        for n in scaling
    ]
    comparison = [row for row in merged if row["rows"] in (rows, small_rows)]
    order = {mode: index for index, mode in enumerate(figures.LABELS)}
    comparison.sort(key=lambda row: (-row["rows"], order[row["mode"]]))
    return comparison, scaled


def warm_up(context: Context, env: dict[str, str], client: Any, work_dir: Path) -> float:
    """Every mode once on a tiny table, unmeasured, so that imports are compiled to bytecode once."""
    started = time.monotonic()
    uri = context.uri
    tables = create_tables(WARM_UP, [100], lambda sql: _execute(uri, sql), lambda sql: _query_one(uri, sql))
    table = tables[100].name
    try:
        warm = [measurement(context, "warm_up", table, 100, "warm_up")]
        warm += [measurement(context, "warm_up", table, 100, peer) for peer in PEERS]
        run_measurements(warm, work_dir, env, jobs=2)
    finally:
        drop_tables(tables.values(), lambda sql: _execute(uri, sql))
    delete_prefix(client, BUCKET, "warm_up_")
    return time.monotonic() - started


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark; returns the results document (also written to the results dir)."""
    from tests.support.servers import (
        S3_ACCESS_KEY,
        S3_REGION,
        S3_SECRET_KEY,
        connection_environment,
        running_servers,
    )

    started = time.monotonic()
    machine = report_text.machine_info()
    commit = _git_commit()
    peer_pythons = {peer: ensure_peer_venv(peer) for peer in PEERS}
    machine["peers"] = {peer: peer_versions(python, peer) for peer, python in peer_pythons.items()}
    work_dir = Path(tempfile.mkdtemp(prefix="mzprov-bench-"))
    comparison: list[dict[str, Any]] = []
    scaling: list[dict[str, Any]] = []
    with running_servers(BULK_LOAD_SETTINGS) as (postgres, s3):
        assert postgres.process is not None and s3.process is not None
        context = Context(
            uri=postgres.uri,
            libpq_dsn=f"host=127.0.0.1 port={postgres.port} user=postgres dbname={postgres.database}",
            sqlalchemy_url=f"postgresql+psycopg2://postgres@127.0.0.1:{postgres.port}/{postgres.database}",
            s3={
                "access_key": S3_ACCESS_KEY,
                "secret_key": S3_SECRET_KEY,
                "region": S3_REGION,
                "endpoint": f"127.0.0.1:{s3.port}",
            },
            max_file_size=args.max_file_size,
            peer_pythons=peer_pythons,
            server_pids={"postgres": postgres.process.pid, "s3": s3.process.pid},
        )
        env = {
            # Bytecode caching on: the warm-up compiles the imports once, as an installer would have.
            **{name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"},
            **connection_environment(postgres, s3),
            f"AIRFLOW_CONN_{SQL_TO_S3_CONN_ID.upper()}": json.dumps(
                {
                    "conn_type": "postgres",
                    "host": "127.0.0.1",
                    "port": postgres.port,
                    "login": "postgres",
                    "schema": postgres.database,
                }
            ),
        }
        client = s3.client()
        client.create_bucket(Bucket=BUCKET)
        machine["postgres"] = _query_one(context.uri, "SHOW server_version")[0]
        warm_up_seconds = warm_up(context, env, client, work_dir)
        descriptions = {}
        for index, shape in enumerate(s for s in SHAPES if s.name in args.shapes):
            found, scaled = run_shape(
                shape, args, context, env, client, work_dir, warm_up_s3=index == 0 and not args.smoke
            )
            comparison += found
            scaling += scaled
            descriptions[shape.name] = f"{shape.description}: {found[0]['rows']:,} rows" + (
                f" ((c), dlt and the (b) beside them: {found[-1]['rows']:,})"
                if found[-1]["rows"] != found[0]["rows"]
                else ""
            )
    shutil.rmtree(work_dir, ignore_errors=True)
    machine["load_average_at_end"] = list(os.getloadavg())
    shapes = [shape for shape in args.shapes if any(r["kind"] == shape for r in comparison)]
    return {
        "date": report_text.now(),
        "commit": commit,
        "machine": machine,
        "settings": {
            "smoke": args.smoke,
            "jobs": args.jobs,
            "repeat": args.repeat,
            "scale": args.scale,
            "shapes": shapes,
            "modes": list(figures.LABELS),
            "child_modes": list(CHILD_MODES),
            "repeated_modes": list(REPEATED_MODES),
            "max_file_size": args.max_file_size,
            "scaling_rows": args.scaling,
            "rates_based_on": "operation_seconds (timed inside the measuring process)",
        },
        "descriptions": descriptions,
        "comparison": comparison,
        "scaling": scaling,
        "results": comparison + [r for r in scaling if r not in comparison],
        "ratios": {
            shape: figures.shape_ratios([r for r in comparison if r["kind"] == shape]) for shape in shapes
        },
        "warm_up_seconds": warm_up_seconds,
        "total_seconds": time.monotonic() - started,
    }


def write_results(document: dict[str, Any], results_dir: Path, stem: str) -> tuple[Path, Path]:
    results_dir.mkdir(parents=True, exist_ok=True)
    json_path, markdown_path = results_dir / f"{stem}.json", results_dir / f"{stem}.md"
    json_path.write_text(json.dumps(document, indent=2) + "\n")
    markdown_path.write_text(report.render_report(document, markdown=True))
    return json_path, markdown_path


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
    stem = "compare-smoke" if args.smoke else "compare"
    json_path, markdown_path = write_results(document, args.results_dir, stem)
    print("\n" + report.render_report(document, markdown=False))
    shown = json_path.relative_to(ROOT) if json_path.is_relative_to(ROOT) else json_path
    print(f"results: {shown}, {markdown_path.name} beside it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
