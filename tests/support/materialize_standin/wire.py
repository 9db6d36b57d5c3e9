"""PostgreSQL wire protocol v3: framing, and the messages the stand-in reads, rewrites or writes.

Message layouts are PostgreSQL's ("Frontend/Backend Protocol", section "Message Formats"), which
Materialize speaks too (src/pgwire/src/codec.rs, message.rs).
"""

from __future__ import annotations

import contextlib
import socket
import struct
from dataclasses import dataclass, field

PROTOCOL_V3 = 196608
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
_READ_CHUNK = 1 << 16
_WRITE_FLUSH_AT = 1 << 18


class ConnectionClosed(Exception):
    """The peer closed its end of the socket."""


class Channel:
    """One socket carrying protocol messages, with buffered reads and writes."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._in = bytearray()
        self._pos = 0
        self._out = bytearray()

    def _take(self, size: int) -> bytes:
        while len(self._in) - self._pos < size:
            if self._pos:
                del self._in[: self._pos]
                self._pos = 0
            chunk = self.sock.recv(_READ_CHUNK)
            if not chunk:
                raise ConnectionClosed
            self._in += chunk
        data = bytes(self._in[self._pos : self._pos + size])
        self._pos += size
        return data

    def recv_startup(self) -> bytes:
        """An untyped startup-phase packet (StartupMessage, SSLRequest, CancelRequest), length removed."""
        length = int.from_bytes(self._take(4), "big")
        return self._take(length - 4)

    def recv(self) -> tuple[bytes, bytes]:
        head = self._take(5)
        return head[:1], self._take(int.from_bytes(head[1:], "big") - 4)

    def send(self, tag: bytes, body: bytes = b"") -> None:
        self._out += tag + (len(body) + 4).to_bytes(4, "big") + body
        if len(self._out) >= _WRITE_FLUSH_AT:
            self.flush()

    def send_raw(self, data: bytes) -> None:
        self._out += data

    def flush(self) -> None:
        if self._out:
            self.sock.sendall(self._out)
            self._out.clear()

    def close(self) -> None:
        for action in (lambda: self.sock.shutdown(socket.SHUT_RDWR), self.sock.close):
            with contextlib.suppress(OSError):
                action()


def cstring(text: str) -> bytes:
    return text.encode() + b"\0"


def split_cstring(body: bytes, start: int) -> tuple[str, int]:
    end = body.index(b"\0", start)
    return body[start:end].decode(), end + 1


def startup_parameters(packet: bytes) -> dict[str, str]:
    parts = packet[4:].split(b"\0")
    return {parts[i].decode(): parts[i + 1].decode() for i in range(0, len(parts) - 2, 2) if parts[i]}


def notice_fields(severity: str, code: str, message: str, hint: str | None = None) -> bytes:
    """Body of an ErrorResponse or NoticeResponse."""
    fields = [(b"S", severity), (b"V", severity), (b"C", code), (b"M", message)]
    if hint:
        fields.append((b"H", hint))
    return b"".join(key + cstring(value) for key, value in fields) + b"\0"


def read_fields(body: bytes) -> dict[str, str]:
    fields, position = {}, 0
    while body[position : position + 1] not in (b"\0", b""):
        key = chr(body[position])
        fields[key], position = split_cstring(body, position + 1)
    return fields


@dataclass
class Column:
    """One field of a RowDescription."""

    name: bytes
    table_oid: int
    attnum: int
    type_oid: int
    typlen: int
    typmod: int
    format: int


def parse_row_description(body: bytes) -> list[Column]:
    count, position, columns = int.from_bytes(body[:2], "big"), 2, []
    for _ in range(count):
        end = body.index(b"\0", position)
        name = body[position:end]
        values = struct.unpack_from("!IhIhih", body, end + 1)
        columns.append(Column(name, *values))
        position = end + 19
    return columns


def build_row_description(columns: list[Column]) -> bytes:
    parts = [len(columns).to_bytes(2, "big")]
    for c in columns:
        parts.append(c.name + b"\0")
        parts.append(struct.pack("!IhIhih", c.table_oid, c.attnum, c.type_oid, c.typlen, c.typmod, c.format))
    return b"".join(parts)


def parse_data_row(body: bytes) -> list[bytes | None]:
    count, position = int.from_bytes(body[:2], "big"), 2
    values: list[bytes | None] = []
    for _ in range(count):
        size = int.from_bytes(body[position : position + 4], "big", signed=True)
        position += 4
        if size < 0:
            values.append(None)
        else:
            values.append(body[position : position + size])
            position += size
    return values


def build_data_row(values: list[bytes | None]) -> bytes:
    parts = [len(values).to_bytes(2, "big")]
    for value in values:
        parts.append((-1).to_bytes(4, "big", signed=True) if value is None else len(value).to_bytes(4, "big"))
        parts.append(value or b"")
    return b"".join(parts)


@dataclass
class Bind:
    portal: str
    statement: str
    result_formats: list[int] = field(default_factory=list)

    def result_format(self, index: int) -> int:
        if not self.result_formats:
            return 0
        return self.result_formats[0] if len(self.result_formats) == 1 else self.result_formats[index]


def parse_bind(body: bytes) -> Bind:
    portal, position = split_cstring(body, 0)
    statement, position = split_cstring(body, position)
    count = int.from_bytes(body[position : position + 2], "big")
    position += 2 + 2 * count
    params = int.from_bytes(body[position : position + 2], "big")
    position += 2
    for _ in range(params):
        size = int.from_bytes(body[position : position + 4], "big", signed=True)
        position += 4 + max(size, 0)
    count = int.from_bytes(body[position : position + 2], "big")
    formats = list(struct.unpack_from(f"!{count}h", body, position + 2))
    return Bind(portal, statement, formats)


def parse_message(body: bytes) -> tuple[str, str, bytes]:
    """Parse: (statement name, query text, the parameter type part as sent)."""
    name, position = split_cstring(body, 0)
    query, position = split_cstring(body, position)
    return name, query, body[position:]


def build_parse(name: str, query: str, rest: bytes = b"\0\0") -> bytes:
    return cstring(name) + cstring(query) + rest


def ready_status(body: bytes) -> str:
    return body.decode()
