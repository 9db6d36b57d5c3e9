"""Fixtures of the browser test: the test servers, a real Airflow, and headless Chromium.

The browser test takes minutes and needs Chromium, so the default test run leaves it out: it is
collected only when ``MZPROV_BROWSER_TEST=1`` (``python3 dev/run.py browser`` sets it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.airflow_stack import BUCKET, AirflowStack
from tests.support.sample_data import SAMPLE_SQL
from tests.support.servers import PostgresServer, S3Server

if TYPE_CHECKING:
    from tests.browser.page import Page

if os.environ.get("MZPROV_BROWSER_TEST") != "1":
    collect_ignore_glob = ["test_*.py"]

ARTIFACTS = Path(
    os.environ.get("MZPROV_BROWSER_ARTIFACTS") or Path(__file__).resolve().parents[2] / ".browser-artifacts"
)


@pytest.fixture(scope="session")
def airflow_stack(servers: tuple[PostgresServer, S3Server]) -> Iterator[AirflowStack]:
    postgres, s3 = servers
    postgres.execute(SAMPLE_SQL)
    s3.client().create_bucket(Bucket=BUCKET)
    stack = AirflowStack(postgres=postgres, s3=s3)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def page(airflow_stack: AirflowStack) -> Iterator[Page]:
    from tests.browser.page import Page  # selenium: only when the browser test runs

    browser = Page(base_url=airflow_stack.url, artifacts=ARTIFACTS)
    try:
        yield browser
    finally:
        browser.close()
