"""Run measurements as child processes (``python -m bench.child``), one after another by default.

Each child gets a fresh interpreter, so its peak RSS is its own. Its output goes to a log file
(shown on failure); its result comes back as JSON through a file. The parent adds the child's
wall time, from start to exit, which includes the interpreter's start and the imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class MeasurementFailed(RuntimeError):
    pass


@dataclass
class Measurement:
    """One child run: what to measure (``spec``) and, once it has run, what it reported."""

    name: str
    spec: dict[str, Any]
    result: dict[str, Any] = field(default_factory=dict)
    wall_seconds: float = 0.0


@dataclass
class _Running:
    measurement: Measurement
    process: subprocess.Popen
    started: float
    log_path: Path


def _start(measurement: Measurement, work_dir: Path, env: dict[str, str]) -> _Running:
    spec_path = work_dir / f"{measurement.name}.spec.json"
    measurement.spec["result_path"] = str(work_dir / f"{measurement.name}.result.json")
    spec_path.write_text(json.dumps(measurement.spec))
    log_path = work_dir / f"{measurement.name}.log"
    with open(log_path, "wb") as log:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.child", str(spec_path)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return _Running(measurement, process, started, log_path)


def _finish(running: _Running) -> None:
    measurement = running.measurement
    measurement.wall_seconds = time.monotonic() - running.started
    if running.process.returncode != 0:
        tail = running.log_path.read_text(errors="replace")[-6000:]
        raise MeasurementFailed(
            f"{measurement.name} exited with code {running.process.returncode}; "
            f"log {running.log_path}:\n{tail}"
        )
    result = measurement.result = json.loads(Path(measurement.spec["result_path"]).read_text())
    if "operation_seconds" in result:
        print(
            f"  {measurement.name}: {result['operation_seconds']:.2f}s operation, "
            f"{measurement.wall_seconds:.2f}s process, peak RSS {result['peak_rss_mib']:.0f} MiB",
            flush=True,
        )
    else:
        print(f"  {measurement.name}: {measurement.wall_seconds:.2f}s", flush=True)


def run_measurements(
    measurements: list[Measurement],
    work_dir: Path,
    env: dict[str, str],
    jobs: int = 1,
    timeout: float = 3600,
    on_finish: Callable[[Measurement], None] | None = None,
) -> None:
    """Run every measurement as a child, at most ``jobs`` at a time; kill them all on any error.

    ``on_finish`` gets each measurement as soon as its child has exited successfully, before the
    next child starts (with ``jobs=1``).
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    pending = list(measurements)
    running: list[_Running] = []
    try:
        while pending or running:
            while pending and len(running) < jobs:
                running.append(_start(pending.pop(0), work_dir, env))
            for child in list(running):
                if child.process.poll() is not None:
                    running.remove(child)
                    _finish(child)
                    if on_finish is not None:
                        on_finish(child.measurement)
                elif time.monotonic() - child.started > timeout:
                    raise MeasurementFailed(f"{child.measurement.name} ran longer than {timeout:.0f}s")
            time.sleep(0.01)
    finally:
        for child in running:
            if child.process.poll() is None:
                child.process.kill()
                child.process.wait()
