"""moto's S3-compatible HTTP server, in its own process, for the tests, the demo and the benchmark.

It listens on 127.0.0.1 on a free port and is stopped by its own process id.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from tests.support.server_process import _stop, _wait_for, free_port

S3_ACCESS_KEY = "testing"
S3_SECRET_KEY = "testing"
S3_REGION = "us-east-1"
# moto runs on the cores the export under test uses, so its CPU time counts against the export
# (what each setting below saves is measured in docs/benchmarks.md):
# * it spills every object or part over 5 MB to a temporary file and reads it back when a multipart
#   upload completes, a large share of its CPU time; objects up to 256 MiB stay in memory;
# * glibc handed the freed part buffers back to the system and faulted fresh pages in for the next
#   export, so the first exports into a fresh server cost it far more CPU time than later ones; one
#   arena pair and no trimming let it reuse them.
MOTO_ENVIRONMENT = {
    "MOTO_S3_DEFAULT_KEY_BUFFER_SIZE": str(256 * 1024 * 1024),
    "MALLOC_ARENA_MAX": "2",
    "MALLOC_MMAP_THRESHOLD_": str(32 * 1024 * 1024),
    "MALLOC_TRIM_THRESHOLD_": str(1024 * 1024 * 1024),
}


@dataclass
class S3Server:
    """moto's S3-compatible server (``moto_server``) in its own process."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3Server:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **MOTO_ENVIRONMENT},
        )
        _wait_for(self._is_up, "moto S3 server", 60, self.process)
        return self

    def _is_up(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=2):
                return True
        except Exception:
            return False

    def client(self):
        return s3_client(self.endpoint_url)

    def aws_connection_json(self) -> str:
        """An Airflow AWS connection (``AIRFLOW_CONN_...`` JSON form) pointing at this server."""
        import json

        return json.dumps(
            {
                "conn_type": "aws",
                "login": S3_ACCESS_KEY,
                "password": S3_SECRET_KEY,
                "extra": {"endpoint_url": self.endpoint_url, "region_name": S3_REGION},
            }
        )

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None


def s3_client(endpoint_url: str, config: Any = None) -> Any:
    """A boto3 S3 client with the test credentials, talking to ``endpoint_url``."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
        region_name=S3_REGION,
        config=config,
    )
