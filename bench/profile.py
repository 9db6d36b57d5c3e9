"""Where (b)'s client CPU goes on a shape: ``python -m bench.profile numeric:1000000 arrays:800000 ...``.

Starts the benchmark's servers, generates each named shape's table at the given row count, runs
(b) once unprofiled (bytecode compiled, moto warmed up), then once under py-spy (``pip install
py-spy``; sampled at 200 Hz, all threads, only samples on CPU), and prints the export's samples per
thread and the functions of this package or pyarrow that they were in. Samples outside
``execute()`` on the main thread (interpreter start, imports before the export) are left out.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.shapes import SHAPES  # noqa: E402
from bench.tables import BULK_LOAD_SETTINGS  # noqa: E402

OURS = ("airflow_provider_materialize", "site-packages/pyarrow", "botocore", "boto3", "adbc_driver")


def _short(frame: str) -> str:
    return re.sub(r" \(/.*?/(site-packages|airflow_provider_materialize)/", r" (\1/", frame)


def split(collapsed: Path) -> tuple[collections.Counter, collections.Counter]:
    """Samples per thread, and per (thread, innermost frame of this package / pyarrow / boto)."""
    threads: collections.Counter = collections.Counter()
    frames_seen: collections.Counter = collections.Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        thread = re.sub(r"[_-]\d.*$", "", re.sub(r"thread \(\d+\)(: )?", "", frames[0])) or "(unnamed)"
        # The main thread (unnamed in py-spy's first samples) outside execute(): start and imports.
        if thread in ("MainThread", "(unnamed)") and not any("CopyToS3Operator.execute" in f for f in frames):
            continue
        if "_find_and_load" in stack:
            thread += " (imports)"
        threads[thread] += int(count)
        innermost = next((f for f in reversed(frames) if any(mark in f for mark in OURS)), frames[-1])
        frames_seen[(thread, _short(innermost))] += int(count)
    return threads, frames_seen


def main(argv: list[str]) -> int:
    from tests.support.servers import connection_environment, running_servers

    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        sys.exit("py-spy is needed: pip install py-spy")
    shapes = {shape.name: shape for shape in SHAPES}
    work = Path(tempfile.mkdtemp(prefix="mzprov-bench-profile-"))
    with running_servers(BULK_LOAD_SETTINGS) as (postgres, s3):
        import psycopg

        env = {**os.environ, **connection_environment(postgres, s3)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        s3.client().create_bucket(Bucket="bench")
        for argument in argv:
            name, rows = argument.split(":")
            kind = shapes[name].kind
            with psycopg.connect(postgres.uri, autocommit=True) as conn:
                conn.execute(kind.generate_sql(int(rows)))
                conn.execute(f"VACUUM (FREEZE, ANALYZE) {kind.table(int(rows))}")
            for attempt in ("warm", "profiled"):
                spec = {
                    "mode": "operator_adbc",
                    "table": kind.table(int(rows)),
                    "bucket": "bench",
                    "prefix": f"{name}-{attempt}/",
                    "max_file_size": "128MB",
                    "result_path": str(work / f"{name}-{attempt}.json"),
                }
                (work / f"{name}.spec").write_text(json.dumps(spec))
                child = [sys.executable, "-m", "bench.child", str(work / f"{name}.spec")]
                collapsed = work / f"{name}.txt"
                if attempt == "profiled":
                    sampler = [py_spy, "record", "--threads", "--rate", "200", "--format", "raw"]
                    child = [*sampler, "-o", str(collapsed), "--", *child]
                subprocess.run(child, cwd=ROOT, env=env, check=True, capture_output=True)
            result = json.loads((work / f"{name}-profiled.json").read_text())
            threads, frames = split(collapsed)
            total = sum(threads.values())
            print(
                f"== {name}, {int(rows):,} rows: {result['operation_seconds']:.2f} s, "
                f"{result['operation_cpu_seconds']:.2f} CPU s under py-spy; {total} samples in the export"
            )
            for thread, count in threads.most_common():
                print(f"  {count:6d} {count / total:6.1%}  {thread}")
            for (thread, frame), count in frames.most_common(12):
                print(f"      {count:6d} {count / total:6.1%}  {thread[:20]:20s} {frame[:110]}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
