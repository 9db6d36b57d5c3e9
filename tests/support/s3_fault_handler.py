"""The HTTP side of the S3 fault proxy (``tests.support.s3_fault_proxy``): its threading server,
which tracks the client connections so it can end them, and the request handler, which reads each
request, lets the proxy decide its fault, forwards it and answers (or injects the fault).

Standard library only; it imports neither pytest nor the test suite.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from tests.support.s3_fault_requests import _ERROR_RESPONSES, RESET_AFTER, RESET_BEFORE

if TYPE_CHECKING:
    from tests.support.s3_fault_proxy import S3FaultProxy


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
