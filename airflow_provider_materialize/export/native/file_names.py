"""How Materialize's ``COPY ... TO 's3://...'`` names the objects it writes directly in the folder.

``mz-<sink id>-batch-<NNNN>-<MMMM>.parquet`` (or ``.csv``) for data, and ``mz-<sink id>-INCOMPLETE``
while the COPY runs (``S3KeyManager`` in Materialize's
``src/storage-operators/src/s3_oneshot_sink.rs``).
"""

from __future__ import annotations

import re

DATA_FILE = re.compile(r"^mz-(?P<sink>[A-Za-z0-9]+)-batch-(?P<batch>\d+)-(?P<index>\d+)\.(parquet|csv)$")
IN_PROGRESS_MARKER = re.compile(r"^mz-(?P<sink>[A-Za-z0-9]+)-INCOMPLETE$")


def is_data_file(name: str) -> bool:
    return DATA_FILE.match(name) is not None


def is_in_progress_marker(name: str) -> bool:
    return IN_PROGRESS_MARKER.match(name) is not None


def batch_order(name: str) -> tuple[str, int, int]:
    """Sort key of a data file name: sink, batch, then index within the batch."""
    match = DATA_FILE.match(name)
    if match is None:
        raise ValueError(f"{name!r} is not a Materialize data file name")
    return match.group("sink"), int(match.group("batch")), int(match.group("index"))
