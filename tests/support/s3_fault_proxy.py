"""An HTTP proxy in front of the S3-compatible test server that injects faults, for the safety tests.

boto3 talks to :class:`S3FaultProxy` as if it were S3; the proxy forwards every request (method,
path, query, headers, body) to the upstream server unchanged, the ``Host`` header included, so
SigV4 signatures stay valid. On a configurable, seeded fraction of the requests it injects one of:

* ``error_500``: answers ``500 InternalError`` (S3's XML error body) without forwarding;
* ``slow_down_503``: answers ``503 SlowDown`` without forwarding;
* ``reset_before``: resets the connection without forwarding (the request never happened);
* ``reset_after``: forwards the request, so it takes effect upstream, then resets the connection
  instead of answering: the client never learns that it succeeded. botocore then retries a request
  that already happened -- the hard case for non-idempotent calls (a conditional ``PUT`` with
  ``If-None-Match: *``, ``CreateMultipartUpload``, ``CompleteMultipartUpload``).

Optionally every request is delayed by ``latency`` seconds. The proxy counts requests and the faults
it injected, by kind, and logs each fault with the S3 operation it hit. ``fault_rate``, ``kinds``
and ``latency`` may be changed while it runs (``proxy.fault_rate = 0`` turns faults off).

Decisions are reproducible: request number *n* (in arrival order) gets the same decision for the
same seed, so a single-threaded client sees the same faults on every run. A multi-threaded client
(boto3's transfers) may send its requests in a different order from run to run.

Standard library only; it imports neither pytest nor the test suite. Usage::

    with S3FaultProxy(upstream=s3_server.endpoint_url, fault_rate=0.12, seed=7) as proxy:
        os.environ["AIRFLOW_CONN_AWS_FAULTY"] = proxy.aws_connection_json()
        ...  # run_operator(..., aws_conn_id="aws_faulty")
        print(proxy.stats)
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import json
import random
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.servers import S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, s3_client

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


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, proxy: S3FaultProxy) -> None:
        self.proxy = proxy
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """End idle keep-alive connections so that their handler threads finish."""
        with self.connections_lock:
            connections = list(self.open_connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3 expects from S3
    timeout = 120  # an idle client connection ends after this many seconds
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms ACK delays
    server: _ProxyServer

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        self._proxy()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_GET

    def _proxy(self) -> None:
        proxy = self.server.proxy
        try:
            body = self._read_body()
        except (OSError, ValueError):
            self.close_connection = True
            return
        kind = proxy._decide(self.command, self.path, dict(self.headers.items()))
        if proxy.latency > 0:
            time.sleep(proxy.latency)
        if kind == RESET_BEFORE:
            self._reset()
            return
        if kind in _ERROR_RESPONSES:
            self._send_error(kind)
            return
        try:
            status, reason, headers, payload = proxy._forward(self.command, self.path, self.headers, body)
        except OSError as error:
            proxy._count_upstream_error()
            self._send_plain(502, "Bad Gateway", f"upstream S3 server failed: {error}".encode())
            return
        if kind == RESET_AFTER:
            self._reset()
            return
        proxy._count_answered()
        self.send_response_only(status, reason)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and payload:
            self.wfile.write(payload)

    def _read_body(self) -> bytes:
        """The request body as sent: chunked bodies stay chunked (raw), with their trailers."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raw = bytearray()
            while True:
                size_line = self.rfile.readline(65537)
                if not size_line:
                    raise ValueError("chunked body ended early")
                raw += size_line
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while True:  # trailers, up to the empty line
                        line = self.rfile.readline(65537)
                        if not line:
                            raise ValueError("chunked body ended early")
                        raw += line
                        if line in (b"\r\n", b"\n"):
                            return bytes(raw)
                chunk = self.rfile.read(size + 2)  # the data and its CRLF
                if len(chunk) != size + 2:
                    raise ValueError("chunked body ended early")
                raw += chunk
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            raise ValueError("body ended early")
        return body

    def _send_error(self, kind: str) -> None:
        status, reason, code, message = _ERROR_RESPONSES[kind]
        request_id = uuid.uuid4().hex[:16].upper()
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            f"<Resource>{self.path.split('?', 1)[0]}</Resource><RequestId>{request_id}</RequestId></Error>"
        ).encode()
        self.send_response_only(status, reason)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amz-request-id", request_id)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_plain(self, status: int, reason: str, body: bytes) -> None:
        self.send_response_only(status, reason)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _reset(self) -> None:
        """Close the client's connection with a TCP reset (RST) instead of an answer."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # The socket really closes (and resets) once the handler's file objects are closed too.
            self.connection.close()
        except OSError:
            pass


class S3FaultProxy:
    """A fault-injecting HTTP proxy on 127.0.0.1 in front of ``upstream`` (the S3 test server).

    :param upstream: The S3 server's endpoint URL, ``http://host:port``.
    :param fault_rate: The fraction of requests that get a fault, 0..1; may be changed at any time.
    :param seed: Seeds the fault decisions (see the module's notes on reproducibility).
    :param kinds: The faults to choose from, uniformly (a subset of ``FAULT_KINDS``).
    :param latency: Seconds added to every request.
    :param should_fault: If given, only requests for which it returns True may get a fault
        (e.g. ``lambda r: r.operation == "PutObject"``); the others are always forwarded.
    """

    def __init__(
        self,
        upstream: str,
        *,
        fault_rate: float = 0.0,
        seed: int = 0,
        kinds: Iterable[str] = FAULT_KINDS,
        latency: float = 0.0,
        should_fault: Callable[[ProxiedRequest], bool] | None = None,
    ) -> None:
        target = urlsplit(upstream)
        if target.scheme != "http" or not target.hostname or not target.port:
            raise ValueError(f"upstream must be http://host:port, not {upstream!r}")
        self.upstream = upstream
        self._upstream_address = (target.hostname, target.port)
        self.fault_rate = fault_rate
        self.kinds = tuple(kinds)
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"kinds must be a non-empty subset of {FAULT_KINDS}, not {self.kinds}")
        self.seed = seed
        self.latency = latency
        self.should_fault = should_fault
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._counters = _Counters()
        self._server: _ProxyServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> S3FaultProxy:
        if self._server is not None:
            raise RuntimeError("the proxy is already running")
        self._server = _ProxyServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="s3-fault-proxy",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.drop_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> S3FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the proxy is not running")
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def aws_connection_json(self, max_attempts: int = 10, retry_mode: str = "standard") -> str:
        """An Airflow AWS connection through this proxy, with botocore retries (see module function)."""
        return aws_connection_json(self.endpoint_url, max_attempts=max_attempts, retry_mode=retry_mode)

    def client(self, total_max_attempts: int = 11, retry_mode: str = "standard") -> Any:
        """A boto3 S3 client that talks to S3 through this proxy; ``total_max_attempts=1``: no retries.

        (botocore's ``max_attempts``, as in the connection's extra, counts the retries only.)
        """
        import botocore.config

        retries = {"mode": retry_mode, "total_max_attempts": total_max_attempts}
        return s3_client(self.endpoint_url, botocore.config.Config(retries=retries))

    # -- statistics --------------------------------------------------------------------------------

    @property
    def stats(self) -> dict[str, Any]:
        """A snapshot: ``requests``, ``forwarded``, ``answered``, ``faults`` (by kind, every kind listed),
        ``faults_total``, ``upstream_errors`` and ``operations`` (requests by S3 operation)."""
        with self._lock:
            counters = self._counters
            return {
                "requests": counters.requests,
                "forwarded": counters.forwarded,
                "answered": counters.answered,
                "faults": {kind: counters.faults.get(kind, 0) for kind in FAULT_KINDS},
                "faults_total": sum(counters.faults.values()),
                "upstream_errors": counters.upstream_errors,
                "operations": dict(counters.operations),
            }

    @property
    def fault_log(self) -> list[InjectedFault]:
        """Every fault injected so far, in order."""
        with self._lock:
            return list(self._counters.log)

    def reset_stats(self) -> None:
        with self._lock:
            self._counters = _Counters()

    # -- used by the handler threads ---------------------------------------------------------------

    def _decide(self, method: str, path: str, headers: dict[str, str]) -> str | None:
        """Count the request and pick its fault, if any."""
        with self._lock:
            # Two draws per request whatever the settings, so request n's decision depends only on
            # the seed and n (and the settings in force), not on what was decided before.
            draw, pick = self._random.random(), self._random.randrange(12_000)  # divisible by 1..4
            request = ProxiedRequest(
                index=self._counters.requests,
                method=method,
                path=path,
                operation=s3_operation(method, path),
                headers=headers,
            )
            self._counters.requests += 1
            self._counters.operations[request.operation] += 1
            kind: str | None = None
            if draw < self.fault_rate and (self.should_fault is None or self.should_fault(request)):
                kind = self.kinds[pick % len(self.kinds)]
                self._counters.faults[kind] += 1
                self._counters.log.append(InjectedFault(request.index, kind, method, path, request.operation))
            if kind not in _ERROR_RESPONSES and kind != RESET_BEFORE:
                self._counters.forwarded += 1
            return kind

    def _count_answered(self) -> None:
        with self._lock:
            self._counters.answered += 1

    def _count_upstream_error(self) -> None:
        with self._lock:
            self._counters.upstream_errors += 1

    def _forward(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        """Send the request upstream on a connection of its own; return its complete answer."""
        connection = http.client.HTTPConnection(*self._upstream_address, timeout=120)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    connection.putheader(name, value)  # Host included: the signature covers it
            connection.putheader("Connection", "close")
            connection.endheaders(body or None)
            response = connection.getresponse()
            payload = response.read()
            dropped = _HOP_BY_HOP | {"transfer-encoding", "content-length"}  # set again below
            answer_headers = [
                (name, value) for name, value in response.getheaders() if name.lower() not in dropped
            ]
            if method == "HEAD":
                length = response.getheader("Content-Length")
                if length is not None:
                    answer_headers.append(("Content-Length", length))
            elif response.status not in (204, 304) and not 100 <= response.status < 200:
                answer_headers.append(("Content-Length", str(len(payload))))
            return response.status, response.reason, answer_headers, payload
        finally:
            connection.close()
