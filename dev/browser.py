"""The headless-browser test: a real Airflow UI, driven in Chromium, with the provider installed.

Installs Debian's ``chromium`` and ``chromium-driver`` (apt, when root) and the ``browser`` extra
(selenium) when they are missing, then runs ``tests/browser/``: it starts a throwaway PostgreSQL,
moto's S3 server and Airflow's API server, scheduler and DAG processor, all on 127.0.0.1, and
proves the connection form, its Test button, the Trigger form's refusal of a bad size, and a run
with its XCom. Screenshots go to ``.browser-artifacts/`` (or ``MZPROV_BROWSER_ARTIFACTS``).

    python3 dev/run.py browser [pytest arguments]
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("MZPROV_BROWSER_ARTIFACTS") or ROOT / ".browser-artifacts")


def ensure_chromium() -> None:
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit("chromium and chromedriver are needed: apt-get install chromium chromium-driver")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"], check=True, env=env)


def ensure_selenium() -> None:
    if importlib.util.find_spec("selenium") is not None:
        return
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *extra["browser"]], check=True)


def main(pytest_args: list[str]) -> int:
    ensure_chromium()
    ensure_selenium()
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    env = {**os.environ, "MZPROV_BROWSER_TEST": "1", "MZPROV_BROWSER_ARTIFACTS": str(ARTIFACTS)}
    command = [sys.executable, "-m", "pytest", "tests/browser", "-v", "-s", "-p", "no:cacheprovider"]
    code = subprocess.run([*command, *pytest_args], cwd=ROOT, env=env).returncode
    print("\nScreenshots:")
    for shot in sorted(ARTIFACTS.glob("*.png")):
        print(f"  {shot}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
