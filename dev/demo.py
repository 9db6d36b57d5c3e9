"""Demo: snapshot a sample view through the example DAG into a local S3-compatible server.

Starts a throwaway PostgreSQL (standing in for Materialize) and moto's S3 server on 127.0.0.1,
runs the ``materialize_nightly_snapshot`` example DAG with Airflow's ``dag.test()``, prints the
XCom statistics and the files written, and stops both servers.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: sys.path starts with dev/, not the repository
    sys.path.insert(0, str(ROOT))
from tests.support.dag_runs import dag_run_results, load_example_dag, migrate_airflow_db  # noqa: E402
from tests.support.sample_data import SAMPLE_SQL  # noqa: E402
from tests.support.servers import airflow_environment, connection_environment, running_servers  # noqa: E402

os.environ.update(airflow_environment(ROOT))  # before Airflow is imported

BUCKET = "demo-data-lake"


def main() -> int:
    with running_servers() as (postgres, s3):
        print(f"PostgreSQL (Materialize stand-in) on 127.0.0.1:{postgres.port}, S3 at {s3.endpoint_url}")
        postgres.execute(SAMPLE_SQL)
        s3.client().create_bucket(Bucket=BUCKET)
        os.environ.update(connection_environment(postgres, s3))
        migrate_airflow_db()
        dag_run = load_example_dag("materialize_nightly_snapshot").test(
            logical_date=None,  # like a manual run from the UI
            run_conf={
                "bucket": BUCKET,
                "source": "public.orders_summary",
                "prefix": "materialize/orders_summary",
            },
        )

        stats = dag_run_results(dag_run)["xcom"].get("snapshot_to_s3")
        print("\n=== DAG run", dag_run.run_id, "finished:", dag_run.state)
        print("=== XCom statistics of snapshot_to_s3:")
        print(json.dumps(stats, indent=2))
        print(f"=== Objects in s3://{BUCKET}/:")
        for obj in s3.client().list_objects_v2(Bucket=BUCKET).get("Contents", []):
            print(f"  {obj['Size']:>10,} bytes  s3://{BUCKET}/{obj['Key']}")
        return 0 if dag_run.state == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
