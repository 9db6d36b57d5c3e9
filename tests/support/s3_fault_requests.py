"""What the S3 fault proxy (``tests.support.s3_fault_proxy``) knows of requests and faults.

The fault kinds and the S3 errors it answers with, the S3 operation a request is, the records of a
request and of an injected fault, the proxy's counters, a ``should_fault`` filter, and the Airflow
AWS connection (with botocore retries) that clients use to go through the proxy.

Standard library only; it imports neither pytest nor the test suite.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from tests.support.servers import S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY

ERROR_500 = "error_500"
SLOW_DOWN_503 = "slow_down_503"
RESET_BEFORE = "reset_before"
RESET_AFTER = "reset_after"
FAULT_KINDS = (ERROR_500, SLOW_DOWN_503, RESET_BEFORE, RESET_AFTER)

_ERROR_RESPONSES = {
    ERROR_500: (
        500,
        "Internal Server Error",
        "InternalError",
        "We encountered an internal error. Please try again.",
    ),
    SLOW_DOWN_503: (503, "Slow Down", "SlowDown", "Please reduce your request rate."),
}
# Not forwarded: they describe the proxy's connections, not the request.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "expect",  # the proxy has already answered "100 Continue" and read the body
}


def s3_operation(method: str, path: str) -> str:
    """The S3 operation a request is, roughly, from its method and query (for the fault log)."""
    parts = urlsplit(path)
    query = parse_qs(parts.query, keep_blank_values=True)
    has_key = parts.path.strip("/").count("/") >= 1
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            return "CompleteMultipartUpload"
        if "delete" in query:
            return "DeleteObjects"
        return "POST"
    if method == "PUT":
        if "partNumber" in query:
            return "UploadPart"
        return "PutObject" if has_key else "CreateBucket"
    if method == "DELETE":
        if "uploadId" in query:
            return "AbortMultipartUpload"
        return "DeleteObject" if has_key else "DeleteBucket"
    if method == "HEAD":
        return "HeadObject" if has_key else "HeadBucket"
    if method == "GET":
        if "uploads" in query:
            return "ListMultipartUploads"
        if "uploadId" in query:
            return "ListParts"
        if not has_key:
            return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
        return "GetObject"
    return method


@dataclass(frozen=True)
class ProxiedRequest:
    """What the fault filter sees of one request."""

    index: int  # arrival order, from 0
    method: str
    path: str  # path and query, as sent
    operation: str  # see s3_operation()
    headers: dict[str, str]


@dataclass(frozen=True)
class InjectedFault:
    index: int
    kind: str
    method: str
    path: str
    operation: str


@dataclass
class _Counters:
    requests: int = 0
    forwarded: int = 0
    answered: int = 0  # forwarded and answered to the client
    upstream_errors: int = 0
    faults: collections.Counter = field(default_factory=collections.Counter)
    operations: collections.Counter = field(default_factory=collections.Counter)
    log: list[InjectedFault] = field(default_factory=list)


def aws_connection_json(endpoint_url: str, max_attempts: int = 10, retry_mode: str = "standard") -> str:
    """An Airflow AWS connection (``AIRFLOW_CONN_...`` JSON form) to ``endpoint_url`` with retries.

    The same shape as ``S3Server.aws_connection_json()``, plus botocore's retry settings in the
    extra's ``config_kwargs`` (the Amazon provider turns them into the client's ``Config``): the
    ``standard`` mode retries 500/503 answers and connection errors.
    """
    return json.dumps(
        {
            "conn_type": "aws",
            "login": S3_ACCESS_KEY,
            "password": S3_SECRET_KEY,
            "extra": {
                "endpoint_url": endpoint_url,
                "region_name": S3_REGION,
                "config_kwargs": {"retries": {"mode": retry_mode, "max_attempts": max_attempts}},
            },
        }
    )


def first_attempt_of(*operations: str) -> Callable[[ProxiedRequest], bool]:
    """A ``should_fault`` filter: the first request of each path and query of these S3 operations.

    A client's retry repeats the path and query, so it goes through: with ``fault_rate=1.0`` and
    ``kinds=(RESET_AFTER,)``, every write of those operations takes effect once unanswered, and
    its retry runs against what the first attempt did.
    """
    seen: set[tuple[str, str]] = set()

    def should_fault(request: ProxiedRequest) -> bool:  # called under the proxy's lock
        if request.operation not in operations or (request.operation, request.path) in seen:
            return False
        seen.add((request.operation, request.path))
        return True

    return should_fault
