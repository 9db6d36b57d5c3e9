"""The rounds of S3 faults that test_faults.py puts an export through, and their settings: random
faults of every kind, lost answers to every write's first attempt, and an outage that outlasts the
retries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.support.s3_fault_proxy import FAULT_KINDS, RESET_AFTER, ProxiedRequest, first_attempt_of

# S3's smallest part: files of 12 MB go up as multipart uploads of three parts
MULTIPART = {"multipart_threshold": 5 * 1024 * 1024, "multipart_chunksize": 5 * 1024 * 1024}

FAULT_RATE = 0.15
FAULT_ROWS = 200_000  # about 10 MB of Parquet
SINGLE_PUTS = {"max_file_size": "1MB"}
MULTIPART_FILES = {"max_file_size": "6MB", "s3_transfer_config": MULTIPART}
# Every write an export makes, for the round that loses the answer to each one's first attempt.
WRITES = (
    "PutObject",
    "CreateMultipartUpload",
    "UploadPart",
    "CompleteMultipartUpload",
    "DeleteObject",
    "DeleteObjects",
)
TRIES = 3  # tries 1 and 2 through the faults, try 3 (only if both failed) on a healthy S3


def outage_after_data_files(files: int) -> Callable[[ProxiedRequest], bool]:
    """A ``should_fault`` filter: every write of a data file after the first ``files`` ones."""
    keys: list[str] = []

    def should_fault(request: ProxiedRequest) -> bool:
        key = request.path.split("?", 1)[0]
        if (
            request.operation not in ("PutObject", "CreateMultipartUpload", "UploadPart")
            or "/part-" not in key
        ):
            return False
        if key not in keys:
            keys.append(key)
        return keys.index(key) >= files

    return should_fault


@dataclass
class FaultRound:
    name: str
    seed: int
    sizes: dict[str, Any]
    rate: float = FAULT_RATE
    kinds: tuple[str, ...] = FAULT_KINDS
    should_fault: Callable[[], Callable[[ProxiedRequest], bool] | None] = lambda: None
    max_attempts: int = 10  # botocore's retries of one request (the connection's config_kwargs)


FAULT_ROUNDS = [
    # random faults of all four kinds, on single-PUT files and on multipart uploads in turn;
    # botocore retries nearly all of them away
    FaultRound("random", 11, SINGLE_PUTS),
    FaultRound("random", 12, MULTIPART_FILES),
    FaultRound("random", 13, SINGLE_PUTS),
    FaultRound("random", 14, MULTIPART_FILES),
    FaultRound("random", 15, SINGLE_PUTS),
    # the hard case, deliberately: every write takes effect but the answer to its first attempt is
    # lost, so the client's retry meets its own write (a conditional PUT finds its own _INCOMPLETE
    # or manifest, a conditional DELETE finds the marker gone)
    FaultRound("lost answers", 16, MULTIPART_FILES, 1.0, (RESET_AFTER,), lambda: first_attempt_of(*WRITES)),
    # an outage that outlasts the retries: the third data file cannot be written; tries 1 and 2
    # must fail without a manifest, and try 3, on a healthy S3, must replace what they left
    FaultRound(
        "outage", 17, SINGLE_PUTS, 1.0, FAULT_KINDS, lambda: outage_after_data_files(2), max_attempts=2
    ),
]
