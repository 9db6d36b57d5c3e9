"""One peer measurement, run by a peer's own interpreter: ``<peer venv>/bin/python bench/peer_child.py SPEC``.

It imports only the standard library and the peer (DuckDB or dlt), never the project: each peer
lives in its own venv (``bench/peers.py``), because dlt's dependencies downgrade botocore below
what the Amazon provider needs. The spec and the result are JSON files, as for ``bench/child.py``.

* ``duckdb``: ``ATTACH '<dsn>' AS pg (TYPE postgres, READ_ONLY)``, then
  ``COPY (SELECT * FROM pg.public.<table>) TO 's3://...' (FORMAT parquet)``, with the postgres and
  httpfs extensions loaded by path from their PyPI wheels (a runtime download cannot work here) and
  an S3 secret pointing at the test server. DuckDB's own defaults otherwise (threads = cores).
* ``dlt``: ``sql_table(..., backend="pyarrow")`` into the ``filesystem`` destination on the test
  S3 server, ``loader_file_format="parquet"``, with ``reflection_level="full_with_precision"`` so
  that declared numeric precision and scale are kept where dlt can keep them.

The operation is timed from before connecting to the end of the export. CPU seconds are this
process's user + system time (all threads) over the same span; peak RSS is ``VmHWM`` at the end.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def memory_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def export_duckdb(spec: dict[str, Any]) -> dict[str, Any]:
    import duckdb
    import duckdb_extension_httpfs
    import duckdb_extension_postgres

    def extension_file(package: Any, name: str, loaded_as: str) -> str:
        found = sorted(Path(package.__file__).parent.glob(f"extensions/*/{name}.duckdb_extension"))
        if not found:
            raise RuntimeError(f"no {name}.duckdb_extension inside {package.__name__}")
        if name == loaded_as:
            return str(found[-1])
        # DuckDB derives the entry point's name from the file's name, and the postgres extension's
        # entry point is still named after its old name, postgres_scanner.
        link = Path(tempfile.mkdtemp(prefix="mzprov-bench-duckdb-")) / f"{loaded_as}.duckdb_extension"
        link.symlink_to(found[-1])
        return str(link)

    s3 = spec["s3"]
    connection = duckdb.connect(config={"autoinstall_known_extensions": False})
    for package, name, loaded_as in (
        (duckdb_extension_postgres, "postgres", "postgres_scanner"),
        (duckdb_extension_httpfs, "httpfs", "httpfs"),
    ):
        connection.execute(f"LOAD {_sql_literal(extension_file(package, name, loaded_as))}")
    connection.execute(
        "CREATE SECRET bench_s3 (TYPE s3, KEY_ID {}, SECRET {}, REGION {}, ENDPOINT {}, "
        "URL_STYLE 'path', USE_SSL false)".format(
            *map(_sql_literal, (s3["access_key"], s3["secret_key"], s3["region"], s3["endpoint"]))
        )
    )
    target = f"s3://{spec['bucket']}/{spec['prefix']}data.parquet"
    started, cpu_started = time.monotonic(), cpu_seconds()
    connection.execute(f"ATTACH {_sql_literal(spec['libpq_dsn'])} AS pg (TYPE postgres, READ_ONLY)")
    connection.execute(
        f"COPY (SELECT * FROM pg.public.{spec['table']}) TO {_sql_literal(target)} (FORMAT parquet)"
    )
    seconds, cpu = time.monotonic() - started, cpu_seconds() - cpu_started
    connection.close()
    return {"operation_seconds": seconds, "operation_cpu_seconds": cpu, "prefix": spec["prefix"]}


def export_dlt(spec: dict[str, Any]) -> dict[str, Any]:
    s3 = spec["s3"]
    work = tempfile.mkdtemp(prefix="mzprov-bench-dlt-")
    os.environ.update(
        {
            "RUNTIME__DLTHUB_TELEMETRY": "false",  # no network but the test servers
            "DLT_DATA_DIR": work,
            "DESTINATION__FILESYSTEM__BUCKET_URL": f"s3://{spec['bucket']}/{spec['prefix'].rstrip('/')}",
            "DESTINATION__FILESYSTEM__CREDENTIALS__AWS_ACCESS_KEY_ID": s3["access_key"],
            "DESTINATION__FILESYSTEM__CREDENTIALS__AWS_SECRET_ACCESS_KEY": s3["secret_key"],
            "DESTINATION__FILESYSTEM__CREDENTIALS__REGION_NAME": s3["region"],
            "DESTINATION__FILESYSTEM__CREDENTIALS__ENDPOINT_URL": f"http://{s3['endpoint']}",
        }
    )
    import dlt
    from dlt.sources.sql_database import sql_table

    started, cpu_started = time.monotonic(), cpu_seconds()
    source = sql_table(
        credentials=spec["sqlalchemy_url"],
        table=spec["table"],
        backend="pyarrow",
        reflection_level="full_with_precision",
    )
    pipeline = dlt.pipeline(
        pipeline_name="bench", destination="filesystem", dataset_name="data", pipelines_dir=work
    )
    info = pipeline.run(source, loader_file_format="parquet")
    info.raise_on_failed_jobs()
    seconds, cpu = time.monotonic() - started, cpu_seconds() - cpu_started
    return {
        "operation_seconds": seconds,
        "operation_cpu_seconds": cpu,
        "prefix": f"{spec['prefix']}data/{spec['table']}/",
    }


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    ready_rss = memory_mib("VmRSS")
    if spec["mode"] == "duckdb":
        result = export_duckdb(spec)
    elif spec["mode"] == "dlt":
        result = export_dlt(spec)
    else:
        raise ValueError(f"unknown peer mode {spec['mode']!r}")
    result.update(ready_rss_mib=ready_rss, peak_rss_mib=memory_mib("VmHWM"))
    Path(spec["result_path"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
