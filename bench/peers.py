"""The peers' own venvs: DuckDB and dlt, each with pinned versions, created with uv under ``.bench-venvs/``.

A peer never shares the project's environment: dlt's S3 filesystem (s3fs, aiobotocore) pins a
botocore older than the Amazon provider's, and a DuckDB extension must be exactly its DuckDB's
version. Each venv's directory is named after a hash of its requirements and the interpreter, so a
changed pin makes a new one and an unchanged one is reused (its creation is a one-off cost, logged
but not measured). uv is the one that ``dev/run.py`` installs beside the project's interpreter.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENVS = ROOT / ".bench-venvs"

# DuckDB 1.5's extensions come from their PyPI wheels; a runtime download cannot work here.
PEER_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "duckdb": ("duckdb==1.5.5", "duckdb-extension-postgres==1.5.5", "duckdb-extension-httpfs==1.5.5"),
    "dlt": (
        "dlt[parquet,filesystem,s3,sql_database]==1.31.0",
        "pyarrow==26.0.1",
        "sqlalchemy==2.1.9",
        "psycopg2-binary==2.9.13",
        "s3fs==2026.9.0",
    ),
}
PEERS = tuple(PEER_REQUIREMENTS)


def _uv() -> str:
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.exists() else shutil.which("uv")
    if found is None:
        raise RuntimeError("uv is needed to create the peers' venvs: pip install uv (dev/run.py does)")
    return found


def venv_dir(peer: str) -> Path:
    key = "\n".join((sys.version, *PEER_REQUIREMENTS[peer]))
    return VENVS / f"{peer}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def ensure_peer_venv(peer: str) -> Path:
    """The peer's interpreter, in its venv; created (or re-created when incomplete) on first use."""
    directory = venv_dir(peer)
    python, done = directory / "bin" / "python", directory / ".complete"
    if done.exists():
        return python
    started = time.monotonic()
    shutil.rmtree(directory, ignore_errors=True)
    uv = _uv()
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(directory)], check=True)
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(python), *PEER_REQUIREMENTS[peer]], check=True
    )
    done.touch()
    for stale in VENVS.glob(f"{peer}-*"):
        if stale != directory:
            shutil.rmtree(stale, ignore_errors=True)
    print(f"{peer}'s venv created in {time.monotonic() - started:.1f}s: {directory}", flush=True)
    return python


def peer_versions(python: Path, peer: str) -> dict[str, str]:
    """The versions the peer's venv actually holds (``uv pip freeze``), for the results."""
    frozen = subprocess.run(
        [_uv(), "pip", "freeze", "--python", str(python)], check=True, capture_output=True, text=True
    ).stdout
    wanted = {"duckdb": ("duckdb",), "dlt": ("dlt", "pyarrow", "s3fs", "sqlalchemy", "botocore")}[peer]
    versions = {}
    for line in frozen.splitlines():
        name, _, version = line.partition("==")
        if name.lower() in wanted or name.lower().startswith("duckdb-extension"):
            versions[name.lower()] = version
    return versions
