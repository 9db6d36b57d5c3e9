"""Run ``MaterializeCopyToS3Operator.execute`` without a scheduler, as the tests and the benchmark do.

This module imports neither pytest nor the test suite: the benchmark measures the peak memory of
the process that runs the operator, and pytest alone would add to it (measured in docs/benchmarks.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.servers import airflow_environment

ROOT = Path(__file__).resolve().parents[2]  # the repository
TEST_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def prepare_environment() -> None:
    """A throwaway Airflow home and test AWS credentials; call it before Airflow is imported."""
    os.environ.update(airflow_environment(ROOT))
    os.environ.update(TEST_AWS_ENVIRONMENT)


@dataclass
class FakeTaskInstance:
    """The parts of Airflow's runtime task instance the operator reads (identity, XCom push)."""

    dag_id: str = "test_dag"
    run_id: str = "manual__test"
    task_id: str = "export"
    try_number: int = 1
    map_index: int = -1
    pushed: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def build_operator(task_id: str = "export", **kwargs: Any) -> Any:
    """The operator built from ``kwargs``, as parsing a DAG file builds it."""
    from airflow_provider_materialize.operators.copy_to_s3 import MaterializeCopyToS3Operator

    kwargs.setdefault("progress_interval", 0.0)
    return MaterializeCopyToS3Operator(task_id=task_id, **kwargs)


def execute_operator(operator: Any, try_number: int = 1, run_id: str = "manual__test") -> dict[str, Any]:
    """Run a built operator's ``execute`` as try ``try_number`` of ``run_id``."""
    ti = FakeTaskInstance(task_id=operator.task_id, try_number=try_number, run_id=run_id)
    return operator.execute({"ti": ti})


def run_operator(
    try_number: int = 1, task_id: str = "export", run_id: str = "manual__test", **kwargs: Any
) -> dict[str, Any]:
    """Build the operator from ``kwargs`` and run its ``execute`` as try ``try_number`` of ``run_id``."""
    return execute_operator(build_operator(task_id, **kwargs), try_number, run_id)
