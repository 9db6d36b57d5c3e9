"""One measurement, run in a fresh interpreter: ``python -m bench.child SPEC.json``.

The spec names the mode, the table and where to write; the result (JSON) goes to the spec's
``result_path``. The operation is timed inside this process, from its start (connect, or the
operator's ``execute``) to its end (last byte read, or ``execute`` returning). Peak RSS is this
process's high-water mark (``VmHWM``), read at the very end, so it includes the imports (for
``raw_copy_psql``: psql's own peak).

Modes:

* ``raw_copy``: ``COPY (SELECT * FROM t) TO STDOUT (FORMAT binary)`` through psycopg 3, read and
  discarded: the server's single-stream limit. It reads with libpq's ``PQgetCopyData`` through
  psycopg's low-level ``pq`` layer, one call per row: ``Copy.read()`` costs about a microsecond of
  Python per row, which made this mode client-bound on narrow rows.
* ``raw_copy_psql``: the same statement through ``psql`` into /dev/null: a C client, to show how
  close the Python reader of ``raw_copy`` gets to the server's limit.
* ``operator_adbc`` / ``operator_csv``: ``MaterializeCopyToS3Operator`` with ``reader="adbc"``
  (the fast reader) or ``reader="csv"`` (the fallback), built before the clock and run through
  ``tests.support.operator_run.execute_operator``; ``operator_adbc_2`` the ADBC reader with
  ``read_connections=2``.
* ``sql_to_s3``: Airflow's ``SqlToS3Operator`` with ``file_format="parquet"``, also built before the
  clock.
* ``warm_up``: every mode above on a tiny table, in one process, not measured: it runs before the
  measurements so that the modules they import are compiled to bytecode once, and no measured
  process pays for that.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.benchmark_plan import CHILD_MODES  # noqa: E402

# The `postgres`-type connection SqlToS3Operator reads with (set by the parent in the environment).
SQL_TO_S3_CONN_ID = "bench_postgres"


def memory_mb(field: str) -> float:
    """A ``VmHWM`` / ``VmRSS`` value of this process from /proc/self/status, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all threads) and of the children it has reaped."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def copy_statement(table: str) -> str:
    return f"COPY (SELECT * FROM {table}) TO STDOUT (FORMAT binary)"


def raw_copy(spec: dict[str, Any]) -> dict[str, Any]:
    import psycopg
    from psycopg import pq

    ready_rss = memory_mb("VmRSS")
    started, cpu_started = time.monotonic(), cpu_seconds()
    wire_bytes = 0
    with psycopg.connect(spec["conninfo"]) as conn:
        pgconn = conn.pgconn
        pgconn.send_query(copy_statement(spec["table"]).encode())
        result = pgconn.get_result()
        if result is None or result.status != pq.ExecStatus.COPY_OUT:
            raise RuntimeError(f"COPY did not start: {pgconn.get_error_message()}")
        while True:
            nbytes, _ = pgconn.get_copy_data(0)  # blocking; one CopyData message (a row) per call
            if nbytes < 0:  # -1: the COPY is over (psycopg raises on -2, an error)
                break
            wire_bytes += nbytes
        while (result := pgconn.get_result()) is not None:
            if result.status != pq.ExecStatus.COMMAND_OK:
                raise RuntimeError(f"COPY failed: {result.get_error_message()}")
    seconds = time.monotonic() - started
    return {
        "operation_seconds": seconds,
        "operation_cpu_seconds": cpu_seconds() - cpu_started,
        "wire_bytes": wire_bytes,
        "ready_rss_mib": ready_rss,
    }


def psql_path() -> str:
    """``psql`` beside the PostgreSQL server binaries (the symlinks resolved), else on PATH."""
    from tests.support.servers import find_postgres_bin

    for directory in (find_postgres_bin(), find_postgres_bin().joinpath("initdb").resolve().parent):
        if (directory / "psql").exists():
            return str(directory / "psql")
    found = shutil.which("psql")
    if found is None:
        raise RuntimeError("psql was not found beside the PostgreSQL server binaries nor on PATH")
    return found


def raw_copy_psql(spec: dict[str, Any]) -> dict[str, Any]:
    import resource
    import subprocess

    command = [
        psql_path(),
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        copy_statement(spec["table"]),
        spec["conninfo"],
    ]
    started, cpu_started = time.monotonic(), cpu_seconds()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    seconds = time.monotonic() - started
    psql_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    return {
        "operation_seconds": seconds,
        "operation_cpu_seconds": cpu_seconds() - cpu_started,
        "wire_bytes": None,
        "ready_rss_mib": 0.0,
        "psql_peak_rss_mib": psql_peak,
    }


def _airflow_environment() -> None:
    """Airflow's throwaway environment, as in the test suite (set before Airflow is imported)."""
    from tests.support.operator_run import prepare_environment

    prepare_environment()


def operator(spec: dict[str, Any], reader: str, read_connections: int = 1) -> dict[str, Any]:
    _airflow_environment()
    from tests.support.operator_run import build_operator, execute_operator

    # Built before the clock starts, as parsing the DAG file builds it before the task runs; its
    # first build loads Airflow's asset URI handlers for the folder's outlet (docs/benchmarks.md).
    task = build_operator(
        source=spec["table"],
        s3_uri=f"s3://{spec['bucket']}/{spec['prefix']}",
        max_file_size=spec["max_file_size"],
        reader=reader,
        progress_interval=30.0,
        read_connections=read_connections,
    )
    # What execute() imports on first use (pyarrow, numpy, the ADBC driver), imported before the
    # clock starts, as the peers' children import DuckDB and load its extensions, or import dlt,
    # before theirs; the seconds it takes are reported beside the operation's.
    imports_started = time.monotonic()
    import adbc_driver_postgresql  # noqa: F401

    import airflow_provider_materialize.export.client.writer  # noqa: F401

    import_seconds = time.monotonic() - imports_started
    ready_rss = memory_mb("VmRSS")
    started, cpu_started = time.monotonic(), cpu_seconds()
    stats = execute_operator(task)
    ended = time.monotonic()
    # The writer the operator ran: when its read handed over the first batch, and when it ended
    timing = task._writer.read_timing
    return {
        "operation_seconds": ended - started,
        "operation_cpu_seconds": cpu_seconds() - cpu_started,
        "xcom": stats,
        "ready_rss_mib": ready_rss,
        "import_seconds": import_seconds,
        "first_batch_seconds": timing.first_batch_at - started,
        "last_batch_seconds": timing.last_batch_at - started,
    }


def sql_to_s3(spec: dict[str, Any]) -> dict[str, Any]:
    _airflow_environment()
    from airflow.providers.amazon.aws.transfers.sql_to_s3 import SqlToS3Operator

    task = SqlToS3Operator(
        task_id="sql_to_s3",
        query=f"SELECT * FROM {spec['table']}",
        s3_bucket=spec["bucket"],
        s3_key=f"{spec['prefix']}data.parquet",
        sql_conn_id=SQL_TO_S3_CONN_ID,
        aws_conn_id="aws_default",
        file_format="parquet",
        replace=True,
    )  # built before the clock, as (b) is
    ready_rss = memory_mb("VmRSS")
    started, cpu_started = time.monotonic(), cpu_seconds()
    task.execute({})  # type: ignore[arg-type]
    return {
        "operation_seconds": time.monotonic() - started,
        "operation_cpu_seconds": cpu_seconds() - cpu_started,
        "key": f"{spec['prefix']}data.parquet",
        "ready_rss_mib": ready_rss,
    }


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    mode = spec["mode"]
    if mode == "warm_up":
        return {
            each: measure({**spec, "mode": each, "prefix": f"{spec['prefix']}{each}/"})
            for each in CHILD_MODES
        }
    if mode == "raw_copy":
        result = raw_copy(spec)
    elif mode == "raw_copy_psql":
        result = raw_copy_psql(spec)
    elif mode in ("operator_adbc", "operator_csv"):
        result = operator(spec, reader=mode.removeprefix("operator_"))
    elif mode == "operator_adbc_2":
        result = operator(spec, reader="adbc", read_connections=2)
    elif mode == "sql_to_s3":
        result = sql_to_s3(spec)
    else:
        raise ValueError(f"unknown mode {mode!r}; one of {', '.join(CHILD_MODES)}")
    result["peak_rss_mib"] = result.pop("psql_peak_rss_mib", None) or memory_mb("VmHWM")
    return result


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    try:
        result = measure(spec)
    finally:
        # prepare_environment() gave this process its own Airflow home: remove it.
        home = os.environ.get("AIRFLOW_HOME", "")
        if Path(home).name.startswith("mzprov-airflow-home-") and Path(home).parent == Path(
            tempfile.gettempdir()
        ):
            with contextlib.suppress(OSError):
                shutil.rmtree(home)
    Path(spec["result_path"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
