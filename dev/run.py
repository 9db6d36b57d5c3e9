#!/usr/bin/env python3
"""The project's entry points; needs only python3.

    python3 dev/run.py demo    # snapshot a sample view to a local S3 server through the example DAG
    python3 dev/run.py test    # ruff, mypy and the whole test suite (what CI runs)
    python3 dev/run.py bench   # the benchmark (bench/compare.py; --smoke for a quick one, --help)
    python3 dev/run.py matrix  # the built wheel on every supported Airflow version (docs/versions.md)
    python3 dev/run.py browser # Airflow's UI in headless Chromium (docs/browser-test.md; a few minutes)

Each creates ``.venv`` and installs the project with its test dependencies on first use (again
whenever pyproject.toml changes), and makes sure PostgreSQL server binaries are present.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"


def run(*args: object, **kwargs: object) -> subprocess.CompletedProcess:
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.run([str(a) for a in args], cwd=ROOT, **kwargs)  # type: ignore[call-overload]


def ensure_environment() -> None:
    """Create .venv and install the project into it, once per version of pyproject.toml."""
    stamp = VENV / f".installed-{hashlib.sha256((ROOT / 'pyproject.toml').read_bytes()).hexdigest()[:16]}"
    if stamp.exists():
        return
    if not PYTHON.exists():
        print(f"Creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip", "uv", check=True)
    installed = run(VENV / "bin" / "uv", "pip", "install", "--python", PYTHON, "-e", ".[test]")
    if installed.returncode != 0:  # uv unavailable or failing: plain pip does the same, slower
        run(PYTHON, "-m", "pip", "install", "-e", ".[test]", check=True)
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()


def ensure_postgres() -> None:
    """The tests and the demo start their own PostgreSQL: install the server if it is missing."""
    if os.environ.get("PG_BIN") or shutil.which("initdb") or glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        run("apt-get", "update", "-qq", check=True)
        run(
            "apt-get",
            "install",
            "-y",
            "-qq",
            "postgresql",
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        return
    sys.exit(
        "PostgreSQL server binaries are needed: install them (e.g. apt-get install postgresql) "
        "or point PG_BIN at the directory holding initdb and postgres"
    )


def test(pytest_args: list[str]) -> int:
    checks = [
        (PYTHON, "-m", "ruff", "check", "."),
        (PYTHON, "-m", "ruff", "format", "--check", "."),
        (PYTHON, "-m", "mypy"),
    ]
    for check in checks:
        if run(*check).returncode != 0:
            return 1
    code = run(PYTHON, "-m", "pytest", *pytest_args).returncode
    if code == 5:
        print("pytest collected no tests: treating that as a failure", flush=True)
        return 1
    return code


def main() -> int:
    command, *rest = sys.argv[1:] or ["help"]
    if command not in ("demo", "test", "bench", "browser", "matrix"):
        print(__doc__)
        return 2
    ensure_environment()
    ensure_postgres()
    if command == "demo":
        return run(PYTHON, ROOT / "dev" / "demo.py").returncode
    if command == "bench":
        return run(PYTHON, "-m", "bench.compare", *rest).returncode
    if command == "browser":
        return run(PYTHON, ROOT / "dev" / "browser.py", *rest).returncode
    if command == "matrix":
        return run(PYTHON, ROOT / "dev" / "matrix.py", *rest).returncode
    return test(rest)


if __name__ == "__main__":
    sys.exit(main())
