"""Run the example DAGs in-process with ``dag.test()`` and read back what they produced.

Used by the demo and by the example-DAG tests. Needs Airflow's environment set first
(``tests.support.servers.airflow_environment``).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"


def migrate_airflow_db() -> None:
    """Create the throwaway Airflow's metadata database (``dag.test()`` needs it)."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)


def load_example_dag(module_name: str) -> Any:
    """The ``dag`` object of ``example_dags/<module_name>.py``."""
    return load_dag(EXAMPLE_DAGS / f"{module_name}.py", module_name)


def load_dag(path: Path, dag_id: str) -> Any:
    """The DAG ``dag_id`` that the DAG file at ``path`` defines at module level."""
    from airflow.sdk import DAG

    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dags = {value.dag_id: value for value in vars(module).values() if isinstance(value, DAG)}
    if dag_id not in dags:
        raise LookupError(f"{path} defines no DAG {dag_id!r} at module level; it has {sorted(dags)}")
    return dags[dag_id]


def dag_run_results(dag_run: Any) -> dict[str, Any]:
    """``{"xcom": {task_id: return value}, "states": {task_id: state}}`` of a finished run."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(
            XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id, key="return_value")
        ).all()
        states = {ti.task_id: ti.state for ti in dag_run.get_task_instances(session=session)}
        return {"xcom": {row.task_id: row.value for row in rows}, "states": states}
