"""Run one export in a child process, so that a test can ``kill -9`` it in the middle of its stream.

The parent (a test) starts :class:`ExportProcess`, waits until a condition holds (say, two data
objects or an open multipart upload in the folder, polled with boto3), then kills it with
``SIGKILL`` and reaps it -- or lets it finish and reads its outcome.

The child is ``python -m tests.support.export_process SPEC OUTCOME`` with the repository as its
working directory and the parent's environment (the ``AIRFLOW_CONN_*`` connections included). It
calls :func:`tests.support.operator_run.prepare_environment` and
:func:`~tests.support.operator_run.run_operator` with the spec's operator arguments, try number,
run id and task id, and writes the outcome as JSON: ``{"status": "success", "xcom": {...}}`` or
``{"status": "failed", "error_type": ..., "error": ..., "traceback": ...}``. A killed child
writes nothing. Neither side imports pytest.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]  # the repository
_LOG_TAIL = 4000


class ExportProcessError(RuntimeError):
    """The child did not do what the test waited for (exited early, timed out, left no outcome)."""


class ExportProcess:
    """One export in a child process.

    :param operator_kwargs: ``MaterializeCopyToS3Operator`` arguments (JSON-serialisable).
    :param try_number: The task try the child runs as.
    :param run_id: The DAG run's id.
    :param task_id: The task's id.
    :param env: Extra environment variables for the child, on top of the parent's.
    """

    def __init__(
        self,
        operator_kwargs: dict[str, Any],
        *,
        try_number: int = 1,
        run_id: str = "manual__test",
        task_id: str = "export",
        env: dict[str, str] | None = None,
    ) -> None:
        self.spec = {
            "kwargs": operator_kwargs,
            "try_number": try_number,
            "run_id": run_id,
            "task_id": task_id,
        }
        self.extra_env = dict(env or {})
        self.process: subprocess.Popen | None = None
        self.killed = False
        self._directory: Path | None = None
        self._log: Any = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> ExportProcess:
        if self.process is not None:
            raise RuntimeError("already started")
        self._directory = Path(tempfile.mkdtemp(prefix="mzprov-export-child-"))
        (self._directory / "spec.json").write_text(json.dumps(self.spec))
        child_tmp = self._directory / "tmp"  # the child's AIRFLOW_HOME and temporary files go here
        child_tmp.mkdir()
        env = {**os.environ, **self.extra_env, "TMPDIR": str(child_tmp)}
        self._log = open(self._directory / "child.log", "wb")  # noqa: SIM115 -- closed in close()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.export_process",
                str(self._directory / "spec.json"),
                str(self.outcome_path),
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal reaches the test, not the child
        )
        return self

    def close(self) -> None:
        """Kill the child if it still runs and remove its files."""
        if self.process is not None and self.process.poll() is None:
            self.kill()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def __enter__(self) -> ExportProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- control -----------------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        assert self.process is not None, "start() first"
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def outcome_path(self) -> Path:
        assert self._directory is not None, "start() first"
        return self._directory / "outcome.json"

    def wait_until(
        self, condition: Callable[[], Any], *, timeout: float = 60, interval: float = 0.02, what: str = ""
    ) -> Any:
        """Poll ``condition`` until it returns something truthy (returned); fail if the child ends first."""
        deadline = time.monotonic() + timeout
        description = what or getattr(condition, "__name__", "the condition")
        while True:
            value = condition()
            if value:
                return value
            if not self.running:
                raise ExportProcessError(
                    f"the export ended (exit code {self.returncode}) before {description}; "
                    f"outcome: {self.outcome()}\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise ExportProcessError(
                    f"{description} did not happen within {timeout:.0f}s\n{self.log_tail()}"
                )
            time.sleep(interval)

    def kill(self) -> None:
        """``kill -9`` the child and reap it."""
        assert self.process is not None, "start() first"
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.killed = True
        self.process.wait(30)

    def wait(self, timeout: float = 60) -> dict[str, Any]:
        """Wait for the child to finish; its outcome (fails if it hangs or leaves none)."""
        assert self.process is not None, "start() first"
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ExportProcessError(
                f"the export did not finish within {timeout:.0f}s (killed)\n{self.log_tail()}"
            ) from None
        outcome = self.outcome()
        if outcome is None:
            raise ExportProcessError(
                f"the export exited with code {self.returncode} and wrote no outcome\n{self.log_tail()}"
            )
        return outcome

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def outcome(self) -> dict[str, Any] | None:
        """What the child wrote: ``None`` while it runs, or if it was killed before the end."""
        if self._directory is None or not self.outcome_path.exists():
            return None
        return json.loads(self.outcome_path.read_text())

    def log_tail(self, size: int = _LOG_TAIL) -> str:
        """The end of the child's output (stdout and stderr), for error messages."""
        if self._directory is None:
            return ""
        if self._log is not None:
            self._log.flush()
        text = (self._directory / "child.log").read_bytes()[-size:].decode(errors="replace")
        return f"--- end of the export's output ---\n{text}"


# -- conditions to wait for, polled with a boto3 client straight to the S3 server ------------------


def data_objects(client: Any, bucket: str, prefix: str) -> list[str]:
    """The folder's data objects: every key but the contract's ``_``-files (marker, manifest)."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    return sorted(key for key in keys if not key[len(prefix) :].startswith("_"))


def open_uploads(client: Any, bucket: str, prefix: str, with_parts: bool = False) -> list[dict[str, Any]]:
    """Unfinished multipart uploads under ``prefix``; ``with_parts``: only those with a part uploaded."""
    uploads = client.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])
    if with_parts:
        uploads = [
            upload
            for upload in uploads
            if client.list_parts(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]).get("Parts")
        ]
    return uploads


# -- the child ---------------------------------------------------------------------------------------


def _write_atomically(path: Path, document: dict[str, Any]) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(document, default=str))
    partial.replace(path)


def main(argv: list[str]) -> int:
    spec_path, outcome_path = Path(argv[0]), Path(argv[1])
    spec = json.loads(spec_path.read_text())
    from tests.support.operator_run import prepare_environment, run_operator

    prepare_environment()
    try:
        xcom = run_operator(
            try_number=spec["try_number"], task_id=spec["task_id"], run_id=spec["run_id"], **spec["kwargs"]
        )
    except BaseException as error:
        _write_atomically(
            outcome_path,
            {
                "status": "failed",
                "error_type": f"{type(error).__module__}.{type(error).__qualname__}",
                "error": str(error),
                "traceback": traceback.format_exc(),
            },
        )
        return 1
    _write_atomically(outcome_path, {"status": "success", "xcom": xcom})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
