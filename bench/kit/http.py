"""A tiny HTTP/1.1 client for the JSON API, written to behave like a browser on the wire.

Python's ``http.client`` writes a request's headers and body in two writes, which can add ~40 ms
of delayed-ACK wait (see shared/NOTES.md); `HttpClient` writes each request in one ``sendall``
over a keep-alive connection with ``TCP_NODELAY``, and notes when it sent the request and when
the last byte of the answer arrived.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any

from bench.kit import BenchError
from bench.kit.stats import ms


@dataclass
class Response:
    """One HTTP response with the monotonic times of sending the request and of its last byte."""

    status: int
    headers: dict[str, str]
    body: bytes
    sent_ns: int
    done_ns: int

    @property
    def latency_ms(self) -> float:
        return ms(self.done_ns - self.sent_ns)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def error_code(self) -> str | None:
        """The ``error.code`` of a JSON error body, if there is one."""
        try:
            data = self.json()
        except ValueError:
            return None
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            code = data["error"].get("code")
            return str(code) if code is not None else None
        return None


class HttpClient:
    """A tiny HTTP/1.1 client for JSON APIs: one keep-alive connection, TCP_NODELAY, and every
    request (headers and body) sent in a single write, the way a browser does it."""

    def __init__(
        self, host: str, port: int, *, timeout: float = 10.0, tls: ssl.SSLContext | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.tls = tls  # HTTPS (e.g. through nginx) when given
        self.sock: socket.socket | None = None
        self.buffer = bytearray()

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
        self.sock = None
        self.buffer.clear()

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        sock.settimeout(self.timeout)
        self.sock = sock
        self.buffer.clear()
        return sock

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send one request and read its whole response; raises OSError/BenchError on failure.

        `headers`: extra request headers (e.g. ``Idempotency-Key``)."""
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Accept: application/json",
            "Connection: keep-alive",
            f"Content-Length: {len(payload)}",
        ]
        if body is not None:
            lines.append("Content-Type: application/json")
        if token:
            lines.append(f"Authorization: Bearer {token}")
        lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
        sock = self.sock or self._connect()
        try:
            sent_ns = time.monotonic_ns()
            sock.sendall(data)
            status, headers, content = self._read_response(head_only=method == "HEAD")
        except (OSError, BenchError):
            self.close()
            raise
        done_ns = time.monotonic_ns()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, content, sent_ns, done_ns)

    def _fill(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise BenchError("the server closed the connection")
        self.buffer += chunk

    def _take_until(self, marker: bytes) -> bytes:
        while (end := self.buffer.find(marker)) < 0:
            if len(self.buffer) > 1 << 20:
                raise BenchError("response header too large")
            self._fill()
        data = bytes(self.buffer[:end])
        del self.buffer[: end + len(marker)]
        return data

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def _read_response(self, *, head_only: bool) -> tuple[int, dict[str, str], bytes]:
        head = self._take_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        parts = head[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise BenchError(f"bad status line {head[0]!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if head_only or status in (204, 304) or 100 <= status < 200:
            return status, headers, b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = bytearray()
            while True:
                size = int(self._take_until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    self._take_until(b"\r\n")  # (no trailers expected) the final empty line
                    return status, headers, bytes(body)
                body += self._take(size)
                self._take(2)
        if "content-length" in headers:
            return status, headers, self._take(int(headers["content-length"]))
        headers["connection"] = "close"  # body runs until the server closes
        with contextlib.suppress(BenchError):
            while True:
                self._fill()
        data = bytes(self.buffer)
        self.buffer.clear()
        return status, headers, data


def expect(response: Response, status: int, what: str) -> Any:
    """The response's JSON if its status is `status`, else a BenchError naming `what`."""
    if response.status != status:
        raise BenchError(
            f"{what}: HTTP {response.status} (wanted {status}): {response.body[:300]!r}"
        )
    return response.json()
