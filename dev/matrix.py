#!/usr/bin/env python3
"""The version matrix: the BUILT wheel, installed into a fresh environment per Airflow version, runs the
example DAGs end to end (``python3 dev/run.py matrix``; docs/versions.md).

For each version it creates ``build/matrix/airflow-<version>`` with uv (its download cache makes
later runs fast), installs the wheel with ``apache-airflow==<version>`` and the test tools, checks
that the package is imported from that environment's site-packages, and runs
``tests/integration/test_example_dags.py`` from a copy of ``tests/`` and ``example_dags/`` that
holds no copy of the package. Prints one summary line per version; exits non-zero if any failed.

    python3 dev/matrix.py                      # every supported version
    python3 dev/matrix.py 3.0.6 3.3.2          # only these
    python3 dev/matrix.py --wheel dist/x.whl   # an already built wheel
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
MATRIX_DIR = ROOT / "build" / "matrix"
# Oldest and newest supported, and every version between where a seam in compat.py differs: the
# latest patch of each minor release (docs/versions.md says which seam each one exercises).
AIRFLOW_VERSIONS = ("3.0.6", "3.1.8", "3.2.2", "3.3.2")
# Every version the matrix can run, with the day after its upload to PyPI; the first release of a
# minor version is there to check the range's floor on demand (docs/versions.md).
AIRFLOW_RELEASES = {
    **{"3.0.0": "2025-04-23", "3.0.6": "2025-08-30", "3.1.0": "2025-09-26", "3.1.8": "2026-03-12"},
    **{"3.2.0": "2026-04-08", "3.2.2": "2026-05-30", "3.3.0": "2026-07-07", "3.3.2": "2026-09-18"},
}
# Airflow's own dependencies are pinned the way Airflow's constraints file pins them: to what
# resolved for apache-airflow-core when that version was released (uv's --exclude-newer). Later
# releases break older Airflows: with today's fastapi/cadwyn every task fails on 3.0.6, with today's
# svcs every task fails on 3.2.2 (docs/versions.md). Providers and the provider's own dependencies
# stay free, as they are for users who install a provider into their Airflow.
# 3.1 accepts SQLAlchemy 1.4 and 2; 1.4 makes the Postgres provider choose psycopg2, which is the
# case compat.py's PostgresHook seam exists for, so 3.1 runs with it (3.0 requires 1.4, 3.2+ require 2).
EXTRA_CONSTRAINTS = {"3.1": ("sqlalchemy<2",)}
# What the example-DAG tests need beyond the wheel's own dependencies.
TEST_REQUIREMENTS = ("pytest>=8", "pytest-timeout>=2.3", "moto[server]>=5.0")
TEST_TIMEOUT = 1200  # seconds for one version's tests; a hung Airflow must not hang CI
TEST_MODULES = ("tests/unit/test_compat.py", "tests/integration/test_example_dags.py")
# Prints where the provider and Airflow were imported from, and their versions, as JSON.
PROBE = (
    "import json, importlib.metadata as m, airflow_provider_materialize as p, "
    "airflow_provider_materialize.operators.copy_to_s3; "
    "print(json.dumps({'module': p.__file__, 'airflow': m.version('apache-airflow'), "
    "'provider': m.version('airflow-provider-materialize'), "
    "'postgres': m.version('apache-airflow-providers-postgres'), "
    "'amazon': m.version('apache-airflow-providers-amazon'), 'sqlalchemy': m.version('sqlalchemy')}))"
)


@dataclass
class Outcome:
    airflow: str
    result: str
    seconds: float
    installed: dict[str, str]


def find_uv() -> str:
    """uv next to this interpreter (dev/run.py installs it into .venv), else on PATH."""
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        sys.exit("uv is needed: run through `python3 dev/run.py matrix`, or `pip install uv`")
    return found


def run(*args: object, **kwargs: object) -> subprocess.CompletedProcess:
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.run([str(a) for a in args], **kwargs)  # type: ignore[call-overload]


def build_wheel(uv: str, out_dir: Path) -> Path:
    """Build the provider's wheel once, from the working tree."""
    run(uv, "build", "--quiet", "--wheel", "--out-dir", out_dir, ROOT, check=True)
    (wheel,) = out_dir.glob("airflow_provider_materialize-*.whl")
    return wheel


def copy_tests(target: Path) -> Path:
    """The tests and example DAGs, without the package: the wheel's copy must be the one imported."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "tests", target / "tests", ignore=ignore)
    shutil.copytree(ROOT / "example_dags", target / "example_dags", ignore=ignore)
    (target / "pytest.ini").write_text(
        "[pytest]\naddopts = -ra --strict-markers -p no:cacheprovider\ntimeout = 300\n"
        "filterwarnings = ignore::DeprecationWarning\nmarkers =\n"
        "    integration: needs the test servers\n    materialize: needs a real Materialize\n"
    )
    return target


def check_airflow_version(airflow: str, uv: str, wheel: Path, tests: Path, floors: bool = False) -> Outcome:
    """Fresh environment with ``apache-airflow==airflow`` and the wheel; run the example DAGs.

    :param floors: Install each dependency at the lowest version pyproject.toml allows.
    """
    started = time.monotonic()
    label = f"{airflow} floors" if floors else airflow
    venv = MATRIX_DIR / f"airflow-{airflow}{'-floors' if floors else ''}"
    python = venv / "bin" / "python"
    installed: dict[str, str] = {}

    def done(result: str) -> Outcome:
        return Outcome(label, result, time.monotonic() - started, installed)

    if run(uv, "venv", "--quiet", "--clear", "--python", sys.executable, venv).returncode != 0:
        return done("venv failed")
    constraints = airflow_constraints(uv, airflow, venv / "constraints.txt")
    if floors:
        with constraints.open("a") as pins:
            pins.write("".join(f"{pin}\n" for pin in dependency_floors()))
    install = (uv, "pip", "install", "--quiet", "--python", python, "-c", constraints)
    if run(*install, wheel, f"apache-airflow=={airflow}", *TEST_REQUIREMENTS).returncode != 0:
        return done("install failed")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["AIRFLOW_HOME"] = str(tests / "airflow-home")  # the probe's; the tests make their own
    probe = run(python, "-c", PROBE, cwd=tests, env=env, capture_output=True, text=True)
    if probe.returncode != 0:
        print(probe.stderr, flush=True)
        return done("import failed")
    installed = json.loads(probe.stdout.strip().splitlines()[-1])  # Airflow may print first
    print(f"provider imported from {installed['module']}", flush=True)
    if not Path(installed["module"]).resolve().is_relative_to(venv.resolve()):
        return done("imported from outside the environment")
    log = venv.parent / f"{venv.name}.log"
    with log.open("w") as output:
        code = run_tests(python, tests, env, output)
    lines = log.read_text().splitlines()
    print("\n".join(lines[-(1 if code == 0 else 60) :]), f"(whole output: {log})", flush=True)
    return done("passed" if code == 0 else "timed out" if code is None else f"tests failed ({code})")


def run_tests(python: Path, tests: Path, env: dict[str, str], output: IO[str]) -> int | None:
    """pytest's exit code, or None when it outlived TEST_TIMEOUT (then it is stopped)."""
    print(f"+ {python} -m pytest -q {' '.join(TEST_MODULES)}", flush=True)
    command = [str(python), "-m", "pytest", "-q", *TEST_MODULES]
    process = subprocess.Popen(
        command, cwd=tests, env=env, stdout=output, stderr=output, start_new_session=True
    )
    try:
        return process.wait(timeout=TEST_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.terminate()  # the tests' conftest stops its PostgreSQL and S3 servers on SIGTERM
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        return None


def dependency_floors() -> list[str]:
    """``name==floor`` for each of the project's dependencies with a ``>=`` floor (Airflow's aside)."""
    pins = []
    for requirement in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        floor = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^]]*\])?>=([0-9.]+)(,<[0-9.]+)?", requirement)
        if floor and floor[1] != "apache-airflow":
            pins.append(f"{floor[1]}=={floor[3]}")
    return pins


def airflow_constraints(uv: str, airflow: str, target: Path) -> Path:
    """What apache-airflow-core ``airflow`` resolved to when it was released, as a constraints file."""
    compile_ = ("pip", "compile", "-", "--quiet", "--no-header", "--no-annotate", "--python", sys.executable)
    extra = EXTRA_CONSTRAINTS.get(airflow.rsplit(".", 1)[0], ())
    requirements = "\n".join((f"apache-airflow-core=={airflow}", *extra))
    resolved = run(
        uv,
        *compile_,
        "--exclude-newer",
        AIRFLOW_RELEASES[airflow],
        input=requirements,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pins = {
        name: version
        for name, _, version in (line.partition("==") for line in resolved.splitlines())
        if version and not name.startswith("apache-airflow-providers-")  # providers stay free
    }
    target.write_text("".join(f"{name}=={version}\n" for name, version in pins.items()))
    shown = ("sqlalchemy", "fastapi", "starlette", "cadwyn", "pydantic", "svcs")
    print(f"constraints ({len(pins)} pins): " + ", ".join(f"{n}=={pins[n]}" for n in shown if n in pins))
    return target


def print_summary(outcomes: list[Outcome], total: float) -> None:
    columns = ("airflow", "provider", "postgres", "amazon", "sqlalchemy")
    print(f"\n{'Airflow':<9} {'installed ' + '/'.join(columns[1:]):<44} {'result':<28} seconds")
    for outcome in outcomes:
        versions = "/".join(outcome.installed.get(name, "?") for name in columns[1:])
        print(f"{outcome.airflow:<9} {versions:<44} {outcome.result:<28} {outcome.seconds:7.0f}")
    print(f"total {total:.0f} s", flush=True)


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("versions", nargs="*", help=f"of {', '.join(AIRFLOW_RELEASES)}")
    parser.add_argument("--wheel", type=Path, help="an already built wheel (default: build one)")
    parser.add_argument(
        "--floors", action="store_true", help="also run the oldest version with every dependency at its floor"
    )
    args = parser.parse_args()
    args.versions = args.versions or list(AIRFLOW_VERSIONS)
    if unknown := set(args.versions) - set(AIRFLOW_RELEASES):
        parser.error(f"unknown versions {sorted(unknown)}: choose from {', '.join(AIRFLOW_RELEASES)}")
    started = time.monotonic()
    uv = find_uv()
    MATRIX_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mzprov-matrix-") as scratch:
        wheel = args.wheel.resolve() if args.wheel else build_wheel(uv, Path(scratch) / "dist")
        tests = copy_tests(Path(scratch) / "run")
        outcomes = [check_airflow_version(version, uv, wheel, tests) for version in args.versions]
        if args.floors:
            oldest = min(args.versions, key=version_key)
            outcomes.append(check_airflow_version(oldest, uv, wheel, tests, floors=True))
    print_summary(outcomes, time.monotonic() - started)
    return 0 if all(outcome.result == "passed" for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
