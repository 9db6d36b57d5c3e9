"""Measure client-mode exports of the mixed-type table: files, sizes, wall time, peak memory.

    .venv/bin/python bench/client_export.py --rows 1000000 5000000 --max-file-size 16MB

Starts its own PostgreSQL and S3-compatible server, generates ``mixed_<rows>`` tables (13 columns:
bigint, int, 2 text, 2 numeric(18,4), double, bool, 2 timestamptz, date, uuid, jsonb; ~10% NULLs
in the nullable columns), runs each export in a fresh process (so peak RSS is that export's own)
and prints a table; results are also written to ``bench/results/client_export.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MIXED_TABLE_SQL = """
DROP TABLE IF EXISTS {table};
CREATE TABLE {table} AS SELECT
    i::bigint AS id,
    (i % 100000)::int AS account,
    'customer-' || (i % 50000) AS name,
    CASE WHEN i % 10 = 0 THEN NULL ELSE md5(i::text) END AS note,
    ((i % 1000000) / 100.0)::numeric(18, 4) AS amount,
    CASE WHEN i % 10 = 1 THEN NULL ELSE (i * 0.0001)::numeric(18, 4) END AS tax,
    CASE WHEN i % 10 = 2 THEN NULL ELSE (i % 7919) / 7.0 END::double precision AS score,
    (i % 2 = 0) AS flag,
    timestamptz '2026-01-01' + i * interval '1 second' AS created_at,
    CASE WHEN i % 10 = 3 THEN NULL ELSE timestamptz '2026-01-01' + i * interval '2 second' END AS updated_at,
    date '2020-01-01' + (i % 3000) AS day,
    md5(i::text)::uuid AS uid,
    CASE WHEN i % 10 = 4 THEN NULL ELSE jsonb_build_object('i', i, 'tag', 'x' || (i % 10)) END AS attrs
FROM generate_series(1, {rows}) AS i;
"""


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_one(table: str, s3_uri: str, max_file_size: str, reader: str) -> dict:
    """Child process: one export through the operator, as Airflow would run it."""
    from tests.conftest import run_operator

    started = time.monotonic()
    stats = run_operator(
        source=table, s3_uri=s3_uri, max_file_size=max_file_size, reader=reader, progress_interval=30.0
    )
    return {"wall_seconds": time.monotonic() - started, "peak_rss_mb": peak_rss_mb(), "stats": stats}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--max-file-size", default="16MB")
    parser.add_argument("--reader", default="adbc", choices=["auto", "adbc", "csv"])
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(*args.child)))
        return 0

    import tests.conftest  # noqa: F401  (sets Airflow's environment before Airflow is imported)
    from dev.servers import connection_environment, running_servers

    results = []
    with running_servers({"max_wal_size": "4GB"}) as (postgres, s3):
        env = {**os.environ, **connection_environment(postgres, s3)}
        s3.client().create_bucket(Bucket="bench")
        for rows in args.rows:
            table = f"mixed_{rows}"
            started = time.monotonic()
            postgres.execute(MIXED_TABLE_SQL.format(table=table, rows=rows))
            postgres.execute(f"VACUUM ANALYZE {table}")
            print(f"generated {table} in {time.monotonic() - started:.1f}s", flush=True)
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    table,
                    f"s3://bench/{table}/",
                    args.max_file_size,
                    args.reader,
                ],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if child.returncode != 0:
                print(child.stdout[-4000:], child.stderr[-4000:])
                return 1
            result = json.loads(child.stdout.strip().splitlines()[-1])
            sizes = [f["bytes"] for f in result["stats"]["files"]]
            results.append(
                {
                    "rows": rows,
                    "files": len(sizes),
                    "min_file_mb": min(sizes[:-1] or sizes) / 1e6,
                    "max_file_mb": max(sizes) / 1e6,
                    "last_file_mb": sizes[-1] / 1e6,
                    "total_mb": sum(sizes) / 1e6,
                    "wall_seconds": result["wall_seconds"],
                    "export_seconds": result["stats"]["duration_seconds"],
                    "rows_per_second": rows / result["stats"]["duration_seconds"],
                    "peak_rss_mb": result["peak_rss_mb"],
                    "file_sizes": sizes,
                }
            )
            postgres.execute(f"DROP TABLE {table}")

    header = (
        f"{'rows':>10} {'files':>5} {'min MB*':>8} {'max MB':>7} {'last MB':>7} {'total MB':>8} "
        f"{'wall s':>7} {'export s':>8} {'rows/s':>9} {'peak RSS MB':>11}"
    )
    print(
        f"\nclient mode, reader={args.reader}, max_file_size={args.max_file_size}, "
        f"{os.cpu_count()} cores, {platform.python_version()}"
    )
    print(header)
    print(
        "(* smallest file except the last; wall s: the task process incl. imports; export s: the operator's"
    )
    print("  duration_seconds, which rows/s is based on; peak RSS: the whole task process)")
    for r in results:
        print(
            f"{r['rows']:>10,} {r['files']:>5} {r['min_file_mb']:>8.2f} {r['max_file_mb']:>7.2f} "
            f"{r['last_file_mb']:>7.2f} {r['total_mb']:>8.1f} {r['wall_seconds']:>7.1f} "
            f"{r['export_seconds']:>8.1f} "
            f"{r['rows_per_second']:>9,.0f} {r['peak_rss_mb']:>11.0f}"
        )
    out = ROOT / "bench" / "results" / "client_export.json"
    out.write_text(
        json.dumps(
            {
                "max_file_size": args.max_file_size,
                "reader": args.reader,
                "date": time.strftime("%Y-%m-%d"),
                "results": results,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
