"""Run measurements as child processes (``python -m bench.child``), one after another by default.

Each child gets a fresh interpreter, so its peak RSS is its own. Its output goes to a log file
(shown on failure); its result comes back as JSON through a file. The parent adds the child's
wall time and CPU time (user + system, all its threads and reaped children, from ``wait4``), from
start to exit, which include the interpreter's start and the imports; and, through ``probe``, what
the servers spent while the child ran (meaningful when one child runs at a time).
"""

from __future__ import annotations

import json
import os
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
    # The child's command line before the spec's path: bench/child.py in this interpreter by default.
    command: tuple[str, ...] = (sys.executable, "-m", "bench.child")
    # A peer or (c) that fails on a shape is a finding, not a broken benchmark: its error is recorded.
    may_fail: bool = False
    result: dict[str, Any] = field(default_factory=dict)
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    server_cpu_seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class _Running:
    measurement: Measurement
    process: subprocess.Popen
    started: float
    log_path: Path
    probed: dict[str, float]


def _start(
    measurement: Measurement, work_dir: Path, env: dict[str, str], probe: Callable[[], dict[str, float]]
) -> _Running:
    spec_path = work_dir / f"{measurement.name}.spec.json"
    measurement.spec["result_path"] = str(work_dir / f"{measurement.name}.result.json")
    spec_path.write_text(json.dumps(measurement.spec))
    log_path = work_dir / f"{measurement.name}.log"
    probed = probe()
    with open(log_path, "wb") as log:
        started = time.monotonic()
        process = subprocess.Popen(
            [*measurement.command, str(spec_path)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return _Running(measurement, process, started, log_path, probed)


def _exited(running: _Running) -> bool:
    """Reap the child if it has exited, keeping its resource usage (``Popen.poll`` would drop it)."""
    if running.process.returncode is not None:
        return True
    pid, status, usage = os.wait4(running.process.pid, os.WNOHANG)
    if pid == 0:
        return False
    running.measurement.wall_seconds = time.monotonic() - running.started
    running.measurement.cpu_seconds = usage.ru_utime + usage.ru_stime
    running.process.returncode = os.waitstatus_to_exitcode(status)
    return True


def _finish(running: _Running, probe: Callable[[], dict[str, float]]) -> None:
    measurement = running.measurement
    time.sleep(0.1)  # the server's side of the connection ends just after the child
    measurement.server_cpu_seconds = {
        name: seconds - running.probed.get(name, 0.0) for name, seconds in probe().items()
    }
    if running.process.returncode != 0 and measurement.may_fail:
        lines = running.log_path.read_text(errors="replace").strip().splitlines()
        measurement.result = {"failed": lines[-1] if lines else f"exit code {running.process.returncode}"}
        print(f"  {measurement.name}: FAILED ({measurement.result['failed'][:200]})", flush=True)
        return
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
    probe: Callable[[], dict[str, float]] = dict,
) -> None:
    """Run every measurement as a child, at most ``jobs`` at a time; kill them all on any error.

    ``on_finish`` gets each measurement as soon as its child has exited successfully, before the
    next child starts (with ``jobs=1``). ``probe`` returns the servers' CPU seconds so far.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    pending = list(measurements)
    running: list[_Running] = []
    try:
        while pending or running:
            while pending and len(running) < jobs:
                running.append(_start(pending.pop(0), work_dir, env, probe))
            for child in list(running):
                if _exited(child):
                    running.remove(child)
                    _finish(child, probe)
                    if on_finish is not None:
                        on_finish(child.measurement)
                elif time.monotonic() - child.started > timeout:
                    raise MeasurementFailed(f"{child.measurement.name} ran longer than {timeout:.0f}s")
            time.sleep(0.01)
    finally:
        for child in running:
            if child.process.returncode is None:
                child.process.kill()
                child.process.wait()
