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

The fault kinds, the request and fault records and the connection helpers live in
``s3_fault_requests``, the HTTP server and its request handler in ``s3_fault_handler``; every name
importers use is importable from here.
"""

from __future__ import annotations

import http.client
import random
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from tests.support.s3_fault_handler import _ProxyServer
from tests.support.s3_fault_requests import (
    _ERROR_RESPONSES,
    _HOP_BY_HOP,
    ERROR_500,
    FAULT_KINDS,
    RESET_AFTER,
    RESET_BEFORE,
    SLOW_DOWN_503,
    InjectedFault,
    ProxiedRequest,
    _Counters,
    aws_connection_json,
    first_attempt_of,
    s3_operation,
)
from tests.support.servers import s3_client

__all__ = [
    "ERROR_500",
    "FAULT_KINDS",
    "RESET_AFTER",
    "RESET_BEFORE",
    "SLOW_DOWN_503",
    "InjectedFault",
    "ProxiedRequest",
    "S3FaultProxy",
    "aws_connection_json",
    "first_attempt_of",
    "s3_operation",
]


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
