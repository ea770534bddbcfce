#!/usr/bin/env python3
"""Benchmark a popup-loket server: issuing tickets, and how fast a call reaches the boards.

Two measurements, both printed (and optionally written as JSON with ``--json FILE``):

1. *call->board*: the time from sending a staff ``POST /api/v1/desks/<id>/call-next`` until the
   ``ticket_called`` Socket.IO event has arrived at the first, and at all, of N connected board
   clients, for several N (default 1, 200 and 1000), with ``--call-queue`` tickets waiting;
2. *issue*: the p50/p95 latency of ``POST /api/v1/tickets`` with several concurrent kiosk
   clients, twice: closed loop (each client sends as soon as it has its answer: the server's
   capacity in tickets per second) and paced (each client sends ``--issue-rate`` tickets per
   second on a fixed schedule: latency under a stated load). Run second, because it makes the
   queue long.

Without ``--url`` the script sets up a throw-away instance in a temporary folder (database,
demo stop, a staff user and kiosks), starts ``loket run`` on a free port, measures, and stops
the server with SIGTERM. With ``--url`` it measures a server that is already running.

Clients are written to behave like the real ones: HTTP requests go over keep-alive connections
with ``TCP_NODELAY``, each request in one write (see shared/NOTES.md for why); board clients
speak Engine.IO v4 / Socket.IO v5 over websockets, offering permessage-deflate as browsers do,
spread over a few processes each running one asyncio loop. The default board client is a lean
built-in one (the clients share the CPUs with the server, so their cost counts);
``--ws-client websockets`` uses the ``websockets`` package instead, as a cross-check. Times
come from ``time.monotonic_ns()`` (CLOCK_MONOTONIC, the same clock in every process on Linux).

Every loop is bounded in count and time, and a watchdog (``--max-seconds``) ends the run.

See bench/README.md for how to run it and how to read the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import multiprocessing as mp
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_connections
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

STAFF_USER = "bench"
STAFF_PASSWORD = "a-long-password-123"  # only ever used for the throw-away local instance
BOARD_NAMESPACE = "/board"
EVENT_PREFIX = f"42{BOARD_NAMESPACE},"
WATCHED_EVENTS = ("ticket_called", "ticket_finished")
RELAXED_LIMITS = "1000000/minute"

TARGETS_MS = {  # the figures the project wants on a 2-core machine, clients included
    "issue p95": 10.0,
    "issue p95, paced": 10.0,
    "call->first board p95 (worst N)": 10.0,
    "call->all 200 boards p95": 50.0,
    "call->all 1000 boards p95": 150.0,
}


class BenchError(RuntimeError):
    """The benchmark cannot go on (bad setup, server error, timeout)."""


class Watchdog(BaseException):
    """Raised in the main thread when --max-seconds has passed."""


def ms(ns: int) -> float:
    return ns / 1e6


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100), linear interpolation between closest ranks (as numpy)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def raise_open_file_limit(wanted: int = 8192) -> int:
    """Raise this process's soft RLIMIT_NOFILE towards `wanted` (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


# -- HTTP ---------------------------------------------------------------------------------------


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

    def __init__(self, host: str, port: int, *, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
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
        sock.settimeout(self.timeout)
        self.sock = sock
        self.buffer.clear()
        return sock

    def request(
        self, method: str, path: str, body: Any = None, *, token: str | None = None
    ) -> Response:
        """Send one request and read its whole response; raises OSError/BenchError on failure."""
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


# -- the server under test ------------------------------------------------------------------------


@dataclass
class Target:
    """Where the server is and the credentials the benchmark uses."""

    host: str
    port: int
    staff_user: str
    staff_password: str
    kiosks: list[str]  # pairing codes or ldv_ device tokens


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def find_loket() -> Path:
    """The `loket` console script next to this Python (the project's venv), else on PATH."""
    candidate = Path(sys.executable).parent / "loket"
    if candidate.exists():
        return candidate
    found = shutil.which("loket")
    if found:
        return Path(found)
    raise BenchError("cannot find the `loket` command; run this with the project's venv Python")


class LocalServer:
    """A throw-away popup-loket instance in a temporary folder, served by `loket run`."""

    def __init__(self, *, kiosks: int, keep: bool, setup_timeout: float = 60.0) -> None:
        self.kiosks = kiosks
        self.keep = keep
        self.setup_timeout = setup_timeout
        self.loket = find_loket()
        self.dir = Path(tempfile.mkdtemp(prefix="loket-bench-"))
        self.host = "127.0.0.1"
        self.port = free_port(self.host)
        self.log_path = self.dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.stopped_cleanly: bool | None = None
        config = self.dir / "config.py"  # keeps the checkout's instance/config.py out of it
        config.write_text("# popup-loket benchmark instance\n")
        self.env = {
            **os.environ,
            "LOKET_CONFIG": str(config),
            "LOKET_DATABASE_URL": f"sqlite:///{self.dir / 'loket.db'}",
            "LOKET_SECRET_KEY": os.urandom(32).hex(),
            "LOKET_PORT": str(self.port),
            "LOKET_RATELIMIT_PUBLIC": RELAXED_LIMITS,
            "LOKET_RATELIMIT_AUTH": RELAXED_LIMITS,
            "LOKET_RATELIMIT_PAIR": RELAXED_LIMITS,
        }

    def _loket(self, *args: str, stdin: str | None = None) -> str:
        try:
            done = subprocess.run(
                [str(self.loket), *args],
                env=self.env,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=self.setup_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise BenchError(
                f"`loket {' '.join(args)}` took over {self.setup_timeout} s"
            ) from error
        if done.returncode != 0:
            raise BenchError(f"`loket {' '.join(args)}` failed: {done.stderr or done.stdout}")
        return done.stdout

    def setup(self) -> Target:
        """Schema, demo stop, staff user and one kiosk pairing code per kiosk client."""
        self._loket("db", "upgrade")
        self._loket("demo")
        self._loket("user", "add", STAFF_USER, "--role", "staff", stdin=STAFF_PASSWORD + "\n")
        codes = []
        for number in range(1, self.kiosks + 1):
            out = self._loket("device", "add", "kiosk", f"Bench kiosk {number}")
            match = re.search(r"/pair/([A-Za-z0-9_-]+)\s*$", out.strip())
            if not match:
                raise BenchError(f"no pairing code in `loket device add` output: {out!r}")
            codes.append(match.group(1))
        return Target(self.host, self.port, STAFF_USER, STAFF_PASSWORD, codes)

    def start(self, timeout: float = 30.0) -> None:
        """Start `loket run` and wait until it answers HTTP."""
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [str(self.loket), "run", "--host", self.host, "--port", str(self.port)],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(
                    f"`loket run` exited with {self.process.returncode}: {self.tail()}"
                )
            client = HttpClient(self.host, self.port, timeout=2)
            try:
                if client.request("GET", "/api/v1/stops/current").status == 200:
                    return
            except (OSError, BenchError):
                pass
            finally:
                client.close()
            time.sleep(0.1)
        raise BenchError(f"`loket run` did not answer within {timeout} s: {self.tail()}")

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the server process has used so far (Linux /proc)."""
        if self.process is None:
            return None
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float | None:
        """Resident memory of the server process in MB."""
        if self.process is None:
            return None
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then wait; SIGKILL only if it does not stop (and say so)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
            self.stopped_cleanly = True
        except subprocess.TimeoutExpired:
            self.stopped_cleanly = False
            self.process.kill()
            self.process.wait(5)

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def problems(self, limit: int = 40) -> list[str]:
        """Log lines that look like errors (tracebacks, exceptions, warnings)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        pattern = re.compile(r"Traceback|Error|Exception|WARNING|CRITICAL|Timeout", re.IGNORECASE)
        return [line for line in text.splitlines() if pattern.search(line)][:limit]

    def cleanup(self) -> None:
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def target_from_url(args: argparse.Namespace) -> Target:
    parts = urlsplit(args.url)
    if parts.scheme != "http" or not parts.hostname:
        raise BenchError("--url must look like http://127.0.0.1:5000")
    if not args.staff_user or not args.staff_password:
        raise BenchError("--url needs --staff-user and --staff-password (or LOKET_BENCH_PASSWORD)")
    if not args.kiosk:
        raise BenchError("--url needs at least one --kiosk CODE_OR_TOKEN")
    return Target(
        parts.hostname, parts.port or 80, args.staff_user, args.staff_password, list(args.kiosk)
    )


def kiosk_token(target: Target, code_or_token: str) -> str:
    """A device token as is, or the token that a pairing code is exchanged for."""
    if code_or_token.startswith("ldv_"):
        return code_or_token
    client = HttpClient(target.host, target.port)
    try:
        data = expect(
            client.request("POST", "/api/v1/devices/pair", {"code": code_or_token}),
            200,
            f"pairing kiosk code {code_or_token}",
        )
    finally:
        client.close()
    return str(data["token"])


def staff_token(target: Target) -> str:
    client = HttpClient(target.host, target.port)
    try:
        body = {"username": target.staff_user, "password": target.staff_password}
        data = expect(client.request("POST", "/api/v1/auth/token", body), 200, "staff login")
    finally:
        client.close()
    return str(data["token"])


# -- 1. issuing tickets ---------------------------------------------------------------------------


@dataclass
class IssueFigures:
    tickets: int
    clients: int
    rate_per_client: float | None  # None: closed loop (as fast as answered)
    seconds: float
    per_second: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    first_tenth_p50_ms: float | None  # the earliest 10% of tickets (short queue) ...
    last_tenth_p50_ms: float | None  # ... and the last 10% (the queue is `tickets` longer)
    errors: dict[str, int]
    server_cpu_ms_per_ticket: float | None = None
    waiting_before: int | None = None  # tickets waiting at the stop when the phase began
    # (seconds since the start, latency in ms) of every measured ticket, in completion order
    samples: list[tuple[float, float]] = field(default_factory=list, repr=False)


def issue_phase(
    target: Target,
    tokens: list[str],
    *,
    clients: int,
    total: int,
    max_seconds: float,
    warmup: int,
    product: str,
    server_cpu: Callable[[], float | None],
    rate: float | None = None,
) -> IssueFigures:
    """`clients` threads, each with its own keep-alive connection, issue `total` tickets.

    Without `rate` each client sends its next request as soon as the previous one is answered
    (closed loop: the server's capacity, with a queue of up to `clients` requests). With `rate`
    each client sends `rate` requests per second on a fixed schedule (open loop), and latency
    counts from the scheduled moment, so that a slow server cannot hide its backlog.
    """
    lock = threading.Lock()
    remaining = total
    samples: list[list[tuple[int, float]]] = [[] for _ in range(clients)]  # (done_ns, ms)
    errors: dict[str, int] = {}
    begin = [0]  # monotonic ns, set when every client is ready

    def set_begin() -> None:
        begin[0] = time.monotonic_ns()

    start = threading.Barrier(clients + 1, action=set_begin, timeout=60)
    stop_at = [0.0]

    def note_error(kind: str) -> None:
        with lock:
            errors[kind] = errors.get(kind, 0) + 1

    def kiosk(index: int) -> None:
        nonlocal remaining
        client = HttpClient(target.host, target.port)
        token = tokens[index % len(tokens)]
        body = {"product": product}
        try:
            for _ in range(warmup):  # unmeasured: connection set-up, first-request caches
                expect(client.request("POST", "/api/v1/tickets", body, token=token), 201, "issue")
            start.wait()
            sent = 0
            while time.monotonic() < stop_at[0]:
                with lock:
                    if remaining <= 0:
                        break
                    remaining -= 1
                scheduled_ns = None
                if rate:
                    scheduled_ns = begin[0] + int((sent + index / clients) * 1e9 / rate)
                    delay = (scheduled_ns - time.monotonic_ns()) / 1e9
                    if delay > 0:
                        time.sleep(delay)
                response = client.request("POST", "/api/v1/tickets", body, token=token)
                sent += 1
                if response.status == 201:
                    origin = min(response.sent_ns, scheduled_ns or response.sent_ns)
                    samples[index].append((response.done_ns, ms(response.done_ns - origin)))
                else:
                    note_error(f"HTTP {response.status} {response.error_code() or ''}".strip())
        except threading.BrokenBarrierError:
            note_error("start barrier broken")
        except (OSError, BenchError) as error:
            note_error(f"{type(error).__name__}: {error}")
            start.abort()
        finally:
            client.close()

    threads = [threading.Thread(target=kiosk, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + 60 + max_seconds  # set again once every client is ready
    try:
        start.wait()
    except threading.BrokenBarrierError as error:
        raise BenchError(f"kiosk clients failed before the start: {errors}") from error
    begin_ns = begin[0]
    stop_at[0] = time.monotonic() + max_seconds
    cpu_before = server_cpu()
    for thread in threads:
        thread.join(max_seconds + 30)
    cpu_after = server_cpu()
    in_order = sorted(sample for per_client in samples for sample in per_client)
    all_latencies = [latency for _, latency in in_order]
    tenth = max(len(all_latencies) // 10, 1)
    end_ns = in_order[-1][0] if in_order else begin_ns + 1
    seconds = (end_ns - begin_ns) / 1e9
    cpu_per_ticket = None
    if cpu_before is not None and cpu_after is not None and all_latencies:
        cpu_per_ticket = (cpu_after - cpu_before) * 1000 / len(all_latencies)
    return IssueFigures(
        tickets=len(all_latencies),
        clients=clients,
        rate_per_client=rate,
        seconds=round(seconds, 3),
        per_second=round(len(all_latencies) / seconds, 1),
        p50_ms=percentile(all_latencies, 50),
        p95_ms=percentile(all_latencies, 95),
        p99_ms=percentile(all_latencies, 99),
        max_ms=max(all_latencies, default=None),
        first_tenth_p50_ms=percentile(all_latencies[:tenth], 50),
        last_tenth_p50_ms=percentile(all_latencies[-tenth:], 50),
        errors=errors,
        server_cpu_ms_per_ticket=cpu_per_ticket,
        samples=[(round((done - begin_ns) / 1e9, 4), round(ms_, 3)) for done, ms_ in in_order],
    )


# -- 2. board clients (run in worker processes) ---------------------------------------------------


def board_process(conn: Connection, ws_url: str, count: int, options: dict[str, Any]) -> None:
    """Entry point of one worker process: `count` board clients in one asyncio loop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when to stop
    raise_open_file_limit(count + 256)
    try:
        asyncio.run(BoardWorker(conn, ws_url, count, **options).run())
    finally:
        with contextlib.suppress(OSError):
            conn.close()


WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class RawBoardClient(asyncio.Protocol):
    """One board client, written for low client-side cost: a minimal RFC 6455 websocket client
    (permessage-deflate as browsers offer it) carrying Engine.IO v4 and Socket.IO v5, with
    every message handled in the protocol callback (no task, no queue per message).

    The arrival time is taken as soon as the bytes are handed over by the event loop.
    """

    def __init__(self, worker: BoardWorker, host: str, port: int, path: str) -> None:
        loop = asyncio.get_running_loop()
        self.worker = worker
        self.request = self._handshake_request(host, port, path, worker.compression is not None)
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.inflater: Any = None  # a zlib decompressor once permessage-deflate is agreed
        self.fresh_inflater_each_message = False
        self.fragments: list[bytes] = []
        self.fragments_compressed = False
        self.ready: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()

    def _handshake_request(self, host: str, port: int, path: str, deflate: bool) -> bytes:
        self.key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {self.key}",
            "Sec-WebSocket-Version: 13",
        ]
        if deflate:
            lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    # -- asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        for future in (self.ready, self.closed):
            if not future.done():
                future.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        self.buffer += data
        try:
            if not self.upgraded and not self._upgrade():
                return
            while self._frame(now):
                pass
        except (BenchError, ValueError, zlib.error) as error:
            self._fail(f"{type(error).__name__}: {str(error)[:120]}")

    # -- websocket

    def _upgrade(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        del self.buffer[: end + 4]
        if " 101 " not in head[0] + " ":
            raise BenchError(f"websocket upgrade refused: {head[0]}")
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        accept = hashlib.sha1((self.key + WS_GUID).encode()).digest()
        if headers.get("sec-websocket-accept") != base64.b64encode(accept).decode():
            raise BenchError("bad Sec-WebSocket-Accept")
        extensions = headers.get("sec-websocket-extensions", "")
        if "permessage-deflate" in extensions:
            self.inflater = zlib.decompressobj(-15)
            self.fresh_inflater_each_message = "server_no_context_takeover" in extensions
        self.upgraded = True
        return True

    def _frame(self, now: int) -> bool:
        """Take one whole frame off the buffer and act on it; False if none is complete."""
        buffer = self.buffer
        if len(buffer) < 2:
            return False
        first, second = buffer[0], buffer[1]
        length, offset = second & 0x7F, 2
        if length == 126:
            if len(buffer) < 4:
                return False
            length, offset = int.from_bytes(buffer[2:4], "big"), 4
        elif length == 127:
            if len(buffer) < 10:
                return False
            length, offset = int.from_bytes(buffer[2:10], "big"), 10
        if second & 0x80:
            raise BenchError("the server masked a frame")
        if len(buffer) < offset + length:
            return False
        payload = bytes(buffer[offset : offset + length])
        del buffer[: offset + length]
        opcode, final = first & 0x0F, bool(first & 0x80)
        if opcode == OP_PING:
            self._send_frame(OP_PONG, payload)
        elif opcode == OP_CLOSE:
            self._send_frame(OP_CLOSE, payload[:2])
            self._close_transport()
        elif opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
            if opcode != OP_CONTINUATION:
                self.fragments = []
                self.fragments_compressed = bool(first & 0x40)
            self.fragments.append(payload)
            if final:
                self._message(b"".join(self.fragments), now)
                self.fragments = []
        return True

    def _message(self, data: bytes, now: int) -> None:
        if self.fragments_compressed:
            if self.inflater is None:
                raise BenchError("compressed frame without permessage-deflate")
            if self.fresh_inflater_each_message:
                self.inflater = zlib.decompressobj(-15)
            data = self.inflater.decompress(data + b"\x00\x00\xff\xff")
        self._engineio(data.decode("utf-8"), now)

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        """A masked client frame (RFC 6455 5.3); our payloads are small."""
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        size = len(payload)
        if size < 126:
            head = bytes((0x80 | opcode, 0x80 | size))
        else:
            head = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
        self.transport.write(head + mask + masked)

    def send_text(self, text: str) -> None:
        self._send_frame(OP_TEXT, text.encode())

    def _close_transport(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def close(self) -> None:
        """Close politely: a websocket close frame, then the connection."""
        self._send_frame(OP_CLOSE, (1000).to_bytes(2, "big"))
        self._close_transport()

    def _fail(self, reason: str) -> None:
        self.worker.error(reason)
        if not self.ready.done():
            self.ready.set_exception(BenchError(reason))
        self._close_transport()

    # -- Engine.IO / Socket.IO

    def _engineio(self, text: str, now: int) -> None:
        if text.startswith(EVENT_PREFIX):
            if text.startswith(f'{EVENT_PREFIX}["board_state"'):
                if not self.ready.done():
                    self.ready.set_result(None)
            else:
                self.worker.on_event(text, now)
        elif text == "2":  # Engine.IO ping: answer at once
            self.send_text("3")
        elif text.startswith("0"):  # Engine.IO open: join the namespace
            self.send_text(f"40{BOARD_NAMESPACE},")
        elif text.startswith(f"44{BOARD_NAMESPACE},"):
            self._fail(f"namespace refused: {text[:200]}")
        elif text == "1":  # Engine.IO close
            self._close_transport()


class BoardWorker:
    """Board clients speaking Engine.IO v4 / Socket.IO v5 over raw websockets.

    Each client connects to ``/socket.io/?EIO=4&transport=websocket``, joins the ``/board``
    namespace and waits for ``board_state``. For each watched event (``ticket_called``,
    ``ticket_finished``) the worker notes the monotonic arrival time at each client, keyed by
    ticket label, and reports first and last arrival to the main process once every client of
    this worker has it (or when asked to flush).

    Messages to the main process: ``("ready", ready, failed, seconds, errors)``,
    ``("done", key, first_ns, last_ns, count, alive)``, ``("partial", …same…)`` and
    ``("closed", errors, cpu_seconds)`` (CPU time used between "ready" and "close").
    Commands from it: ``("flush", key)`` and ``("close",)``.
    """

    def __init__(
        self,
        conn: Connection,
        ws_url: str,
        count: int,
        *,
        compression: str | None,
        client_kind: str,
        connect_concurrency: int,
        connect_timeout: float,
        life_seconds: float,
    ) -> None:
        self.conn = conn
        self.ws_url = ws_url
        self.count = count
        self.compression = compression
        self.client_kind = client_kind
        parts = urlsplit(ws_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.path = f"{parts.path}?{parts.query}" if parts.query else parts.path
        self.raw_clients: list[RawBoardClient] = []
        self.connect_gate = asyncio.Semaphore(connect_concurrency)
        self.connect_timeout = connect_timeout
        self.life_seconds = life_seconds
        self.sockets: list[Any] = []
        self.ready = 0
        self.failed = 0
        self.alive = 0
        self.closing = False
        self.errors: dict[str, int] = {}
        self.arrivals: dict[tuple[str, str], list[int]] = {}  # key -> [first, last, count]
        self.reported: set[tuple[str, str]] = set()
        self.settled = asyncio.Event()
        self.commands: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def _send(self, *message: Any) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(message)

    def _on_command(self) -> None:
        try:
            while self.conn.poll():
                self.commands.put_nowait(self.conn.recv())
        except (EOFError, OSError):
            self.commands.put_nowait(("close",))  # the main process is gone

    def _check_settled(self) -> None:
        if self.ready + self.failed >= self.count:
            self.settled.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(self.conn.fileno(), self._on_command)
        began = time.monotonic()
        client = self._raw_client if self.client_kind == "raw" else self._websockets_client
        tasks = [asyncio.create_task(client()) for _ in range(self.count)]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.settled.wait(), self.connect_timeout)
        self._send(
            "ready", self.ready, self.count - self.ready, time.monotonic() - began, self.errors
        )
        deadline = began + self.life_seconds
        cpu_ready = time.process_time()
        while True:
            try:
                command = await asyncio.wait_for(
                    self.commands.get(), max(deadline - time.monotonic(), 0.01)
                )
            except TimeoutError:
                self.error("worker lifetime exceeded")
                break
            if command[0] == "close":
                break
            if command[0] == "flush":
                key = tuple(command[1])
                first, last, got = self.arrivals.get(key, [0, 0, 0])
                self._send("partial", key, first, last, got, self.alive)
        cpu_used = time.process_time() - cpu_ready
        loop.remove_reader(self.conn.fileno())
        self.closing = True
        for raw in self.raw_clients:
            raw.close()
        closers = [ws.close() for ws in self.sockets] + [raw.closed for raw in self.raw_clients]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*closers, return_exceptions=True), 15)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._send("closed", self.errors, cpu_used)

    async def _raw_client(self) -> None:
        """One RawBoardClient: connect, wait for board_state, then live until closed."""
        is_ready = False
        try:
            async with self.connect_gate:  # bounds concurrent handshakes (and DB work on connect)
                loop = asyncio.get_running_loop()
                _, raw = await asyncio.wait_for(
                    loop.create_connection(
                        lambda: RawBoardClient(self, self.host, self.port, self.path),
                        self.host,
                        self.port,
                    ),
                    self.connect_timeout,
                )
                self.raw_clients.append(raw)
                await asyncio.wait_for(asyncio.shield(raw.ready), self.connect_timeout)
                if raw.closed.done():
                    raise BenchError("connection closed before board_state")
                is_ready = True
            self.ready += 1
            self.alive += 1
            self._check_settled()
            await raw.closed
            if not self.closing:
                self.error("connection lost")
        except asyncio.CancelledError:
            raise
        except Exception as error:  # one client failing must not stop the others
            self.error(f"{type(error).__name__}: {str(error)[:120]}")
        finally:
            if is_ready:
                self.alive -= 1
            else:
                self.failed += 1
                self._check_settled()

    async def _websockets_client(self) -> None:
        """The same board client built on the `websockets` package (--ws-client websockets)."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        is_ready = False
        try:
            async with self.connect_gate:  # bounds concurrent handshakes (and DB work on connect)
                ws = await connect(
                    self.ws_url,
                    compression=self.compression,
                    proxy=None,
                    ping_interval=None,  # Engine.IO pings on its own
                    open_timeout=self.connect_timeout,
                    close_timeout=5,
                    max_size=1 << 22,
                    max_queue=1024,
                )
                self.sockets.append(ws)
                opening = await asyncio.wait_for(ws.recv(), self.connect_timeout)
                if not isinstance(opening, str) or not opening.startswith("0"):
                    raise BenchError(f"unexpected Engine.IO open packet {opening!r:.80}")
                await ws.send(f"40{BOARD_NAMESPACE},")
                while not is_ready:
                    message = await asyncio.wait_for(ws.recv(), self.connect_timeout)
                    if message == "2":
                        await ws.send("3")
                    elif isinstance(message, str) and message.startswith(f"44{BOARD_NAMESPACE},"):
                        raise BenchError(f"namespace refused: {message:.200}")
                    elif isinstance(message, str) and message.startswith(
                        f'{EVENT_PREFIX}["board_state"'
                    ):
                        is_ready = True
            self.ready += 1
            self.alive += 1
            self._check_settled()
            async for message in ws:
                now = time.monotonic_ns()
                if message == "2":
                    await ws.send("3")
                elif isinstance(message, str) and message.startswith(EVENT_PREFIX):
                    self.on_event(message, now)
        except ConnectionClosed:
            if not self.closing:
                self.error("connection closed by the server")
        except asyncio.CancelledError:
            raise
        except Exception as error:  # one client failing must not stop the others
            self.error(f"{type(error).__name__}: {str(error)[:120]}")
        finally:
            if is_ready:
                self.alive -= 1
            else:
                self.failed += 1
                self._check_settled()

    def on_event(self, message: str, now: int) -> None:
        body = message[len(EVENT_PREFIX) :]
        name = next((e for e in WATCHED_EVENTS if body.startswith(f'["{e}"')), None)
        if name is None:
            return  # ticket_issued, ticket_updated, ...: not measured, not parsed
        try:
            label = str(json.loads(body)[1]["ticket"]["label"])
        except (ValueError, LookupError, TypeError):
            self.error(f"unreadable {name} payload")
            return
        key = (name, label)
        entry = self.arrivals.setdefault(key, [now, now, 0])
        entry[1] = now
        entry[2] += 1
        if entry[2] >= self.alive and key not in self.reported:
            self.reported.add(key)
            self._send("done", key, entry[0], entry[1], entry[2], self.alive)


# -- 2. board clients (main-process side) ---------------------------------------------------------


@dataclass
class Arrival:
    """When one event reached the boards: first and last arrival, and how many got it."""

    first_ns: int | None
    last_ns: int | None
    received: int
    expected: int

    @property
    def complete(self) -> bool:
        return self.received >= self.expected


class BoardFleet:
    """N board clients spread over worker processes, driven from the main process."""

    def __init__(
        self,
        ws_url: str,
        clients: int,
        *,
        processes: int,
        compression: str | None,
        client_kind: str,
        connect_timeout: float,
        life_seconds: float,
    ) -> None:
        self.clients = clients
        self.connect_timeout = connect_timeout
        shares = [
            clients // processes + (1 if i < clients % processes else 0) for i in range(processes)
        ]
        shares = [share for share in shares if share > 0]
        context = mp.get_context("spawn")
        self.conns: list[Connection] = []
        self.processes: list[Any] = []
        options = {
            "compression": compression,
            "client_kind": client_kind,
            "connect_concurrency": 32,
            "connect_timeout": connect_timeout,
            "life_seconds": life_seconds,
        }
        for share in shares:
            mine, theirs = context.Pipe()
            process = context.Process(
                target=board_process, args=(theirs, ws_url, share, options), daemon=True
            )
            process.start()
            theirs.close()
            self.conns.append(mine)
            self.processes.append(process)
        self.reports: dict[tuple[str, str], dict[int, tuple[Any, ...]]] = {}
        self.forgotten: set[tuple[str, str]] = set()
        self.dead: set[int] = set()  # workers whose pipe is closed
        self.finished: set[int] = set()  # workers that said "closed"
        self.errors: dict[str, int] = {}
        self.ready = 0
        self.connect_seconds = 0.0
        self.client_cpu_seconds = 0.0  # all workers, from "ready" to "close"

    def _merge_errors(self, errors: dict[str, int]) -> None:
        for kind, n in errors.items():
            self.errors[kind] = self.errors.get(kind, 0) + n

    def _live(self) -> set[int]:
        return set(range(len(self.conns))) - self.dead

    def _receive(self, timeout: float) -> list[tuple[int, tuple[Any, ...]]]:
        """Messages from the workers that arrive within `timeout` seconds (maybe none)."""
        live = [self.conns[i] for i in sorted(self._live())]
        if not live:
            time.sleep(min(max(timeout, 0), 0.1))
            return []
        by_fileno = {conn.fileno(): index for index, conn in enumerate(self.conns) if conn in live}
        messages: list[tuple[int, tuple[Any, ...]]] = []
        for ready in wait_connections(live, max(timeout, 0)):
            assert isinstance(ready, Connection)
            index = by_fileno[ready.fileno()]
            try:
                messages.append((index, ready.recv()))
            except (EOFError, OSError):
                self.dead.add(index)
                if index not in self.finished:
                    self._merge_errors({"board worker process ended early": 1})
        return messages

    def wait_ready(self) -> int:
        """Wait until every worker has connected its clients (or given up); returns how many."""
        pending = set(range(len(self.conns)))
        deadline = time.monotonic() + self.connect_timeout + 30  # + process start-up
        while pending - self.dead and time.monotonic() < deadline:
            for index, message in self._receive(deadline - time.monotonic()):
                if message[0] == "ready":
                    pending.discard(index)
                    self.ready += message[1]
                    self.connect_seconds = max(self.connect_seconds, message[3])
                    self._merge_errors(message[4])
                else:
                    self._store(index, message)
        return self.ready

    def _store(self, index: int, message: tuple[Any, ...]) -> None:
        if message[0] in ("done", "partial"):
            key = (str(message[1][0]), str(message[1][1]))
            if key not in self.forgotten:
                self.reports.setdefault(key, {}).setdefault(index, message)
        elif message[0] == "closed":
            self.finished.add(index)
            self._merge_errors(message[1])
            self.client_cpu_seconds += message[2]

    def wait_event(self, key: tuple[str, str], timeout: float) -> Arrival:
        """First and last arrival of `key` over all clients; flushes partial counts on timeout."""
        workers = self._live()
        deadline = time.monotonic() + timeout
        while set(self.reports.get(key, {})) < workers and time.monotonic() < deadline:
            for index, message in self._receive(max(deadline - time.monotonic(), 0)):
                self._store(index, message)
        missing = workers - set(self.reports.get(key, {}))
        if missing:
            for index in missing:
                with contextlib.suppress(OSError, ValueError):
                    self.conns[index].send(("flush", key))
            flush_deadline = time.monotonic() + 5
            while (
                set(self.reports.get(key, {})) < workers & self._live()
                and time.monotonic() < flush_deadline
            ):
                for index, message in self._receive(max(flush_deadline - time.monotonic(), 0)):
                    self._store(index, message)
        reports = list(self.reports.pop(key, {}).values())
        self.forgotten.add(key)
        firsts = [r[2] for r in reports if r[4] > 0]
        lasts = [r[3] for r in reports if r[4] > 0]
        return Arrival(
            first_ns=min(firsts, default=None),
            last_ns=max(lasts, default=None),
            received=sum(r[4] for r in reports),
            expected=self.clients,
        )

    def close(self) -> None:
        """Disconnect every client and end the worker processes (bounded in time)."""
        for index in self._live():
            with contextlib.suppress(OSError, ValueError):
                self.conns[index].send(("close",))
        closing = self._live()
        deadline = time.monotonic() + 30
        while closing - self.dead and time.monotonic() < deadline:
            for index, message in self._receive(max(deadline - time.monotonic(), 0)):
                self._store(index, message)
            closing -= self.finished
            closing = {i for i in closing if self.processes[i].is_alive()}
        for process in self.processes:
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join(5)
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.close()


@dataclass
class CallFigures:
    boards: int
    connected: int
    connect_seconds: float
    calls: int
    incomplete: int
    first_p50_ms: float | None
    first_p95_ms: float | None
    all_p50_ms: float | None
    all_p95_ms: float | None
    all_max_ms: float | None
    http_p50_ms: float | None
    http_p95_ms: float | None
    waiting: int | None = None  # tickets waiting when the rounds began
    server_cpu_ms_per_call: float | None = None  # call-next, until every board has the event
    server_cpu_ms_per_finish: float | None = None
    server_rss_mb: float | None = None
    clients_cpu_ms_per_round: float | None = None  # all board processes, call-next + finish
    errors: dict[str, int] = field(default_factory=dict)
    # per measured call: call-next HTTP, first board, all boards (None if incomplete), in ms
    samples: list[tuple[float, float | None, float | None]] = field(
        default_factory=list, repr=False
    )


def waiting_count(client: HttpClient) -> int:
    """How many tickets wait at the open stop (all products), from the public board."""
    board = expect(client.request("GET", "/api/v1/board"), 200, "reading the board")
    return sum(int(entry["count"]) for entry in board["waiting"])


def ensure_waiting(target: Target, kiosk: str, product: str, needed: int) -> int:
    """Issue tickets until at least `needed` wait at the stop; returns how many wait."""
    client = HttpClient(target.host, target.port)
    try:
        waiting = waiting_count(client)
        for _ in range(max(needed - waiting, 0)):
            body = {"product": product}
            expect(client.request("POST", "/api/v1/tickets", body, token=kiosk), 201, "issue")
            waiting += 1
    finally:
        client.close()
    return waiting


def first_desk(target: Target) -> int:
    """The id of the open stop's first desk."""
    client = HttpClient(target.host, target.port)
    try:
        stop = expect(client.request("GET", "/api/v1/stops/current"), 200, "reading the stop")
    finally:
        client.close()
    if not stop["desks"]:
        raise BenchError("the open stop has no desks")
    return int(stop["desks"][0]["id"])


def call_phase(
    target: Target,
    staff: str,
    desk_id: int,
    boards: int,
    *,
    calls: int,
    warmup: int,
    processes: int,
    compression: str | None,
    client_kind: str,
    connect_timeout: float,
    event_timeout: float,
    pause: float,
    server_cpu: Callable[[], float | None],
    server_rss: Callable[[], float | None],
) -> CallFigures:
    """Connect `boards` clients, then time `warmup + calls` call-next/finish rounds."""
    ws_url = f"ws://{target.host}:{target.port}/socket.io/?EIO=4&transport=websocket"
    life = connect_timeout + (warmup + calls) * (2 * event_timeout + pause + 20) + 120
    fleet = BoardFleet(
        ws_url,
        boards,
        processes=min(processes, boards),
        compression=compression,
        client_kind=client_kind,
        connect_timeout=connect_timeout,
        life_seconds=life,
    )
    client = HttpClient(target.host, target.port)
    firsts: list[float] = []
    alls: list[float] = []
    https: list[float] = []
    incomplete = 0
    samples: list[tuple[float, float | None, float | None]] = []
    cpu_call: list[float] = []
    cpu_finish: list[float] = []
    try:
        connected = fleet.wait_ready()
        if connected < boards:
            raise BenchError(
                f"only {connected} of {boards} board clients connected: {fleet.errors}"
            )
        time.sleep(0.5)  # let the connect burst settle before measuring
        waiting = waiting_count(client)
        for round_number in range(warmup + calls):
            cpu_before = server_cpu()
            path = f"/api/v1/desks/{desk_id}/call-next"
            response = client.request("POST", path, token=staff)
            if response.status == 409 and response.error_code() == "desk_busy":
                raise BenchError(
                    f"desk {desk_id} already has a called ticket: finish it first (or use --desk)"
                )
            ticket = expect(response, 200, "call-next")
            label, token = str(ticket["label"]), str(ticket["token"])
            called = fleet.wait_event(("ticket_called", label), event_timeout)
            cpu_called = server_cpu()
            expect(
                client.request("POST", f"/api/v1/tickets/{token}/finish", token=staff),
                200,
                "finish",
            )
            fleet.wait_event(("ticket_finished", label), event_timeout)  # quiet before the next
            cpu_after = server_cpu()
            time.sleep(pause)
            if round_number < warmup:
                continue
            if cpu_before is not None and cpu_called is not None and cpu_after is not None:
                cpu_call.append((cpu_called - cpu_before) * 1000)
                cpu_finish.append((cpu_after - cpu_called) * 1000)
            https.append(response.latency_ms)
            first = all_ = None
            if called.first_ns is not None:
                first = ms(called.first_ns - response.sent_ns)
                firsts.append(first)
            if called.complete and called.last_ns is not None:
                all_ = ms(called.last_ns - response.sent_ns)
                alls.append(all_)
            else:
                incomplete += 1
            samples.append((response.latency_ms, first, all_))
        rss = server_rss()
    finally:
        client.close()
        fleet.close()
    rounds = warmup + calls
    return CallFigures(
        boards=boards,
        connected=connected,
        connect_seconds=round(fleet.connect_seconds, 2),
        calls=len(https),
        incomplete=incomplete,
        first_p50_ms=percentile(firsts, 50),
        first_p95_ms=percentile(firsts, 95),
        all_p50_ms=percentile(alls, 50),
        all_p95_ms=percentile(alls, 95),
        all_max_ms=max(alls, default=None),
        http_p50_ms=percentile(https, 50),
        http_p95_ms=percentile(https, 95),
        waiting=waiting,
        server_cpu_ms_per_call=sum(cpu_call) / len(cpu_call) if cpu_call else None,
        server_cpu_ms_per_finish=sum(cpu_finish) / len(cpu_finish) if cpu_finish else None,
        server_rss_mb=rss,
        clients_cpu_ms_per_round=fleet.client_cpu_seconds * 1000 / rounds,
        errors=fleet.errors,
        samples=samples,
    )


# -- reporting ------------------------------------------------------------------------------------


def issue_label(figures: IssueFigures) -> str:
    rate = figures.rate_per_client
    if rate is None:
        return f"issue, closed loop ({figures.clients} clients, each sends when answered)"
    return (
        f"issue, paced ({figures.clients} clients x {rate:g}/s = "
        f"{figures.clients * rate:g} tickets/s offered)"
    )


def print_issue(figures: IssueFigures) -> None:
    print(
        f"{issue_label(figures)}: {figures.tickets} tickets, "
        f"{figures.per_second:.1f} tickets/s, p50 {fmt(figures.p50_ms)}, "
        f"p95 {fmt(figures.p95_ms)} (p99 {fmt(figures.p99_ms)}, max {fmt(figures.max_ms)}, "
        f"errors {sum(figures.errors.values())})",
        flush=True,
    )
    extra = [
        f"p50 of the first 10% {fmt(figures.first_tenth_p50_ms)}, "
        f"of the last 10% {fmt(figures.last_tenth_p50_ms)}"
    ]
    if figures.server_cpu_ms_per_ticket is not None:
        extra.append(f"server CPU {figures.server_cpu_ms_per_ticket:.1f} ms per ticket")
    if figures.waiting_before is not None:
        extra.append(f"{figures.waiting_before} waiting before")
    print("  " + ", ".join(extra), flush=True)
    for kind, n in figures.errors.items():
        print(f"  error x{n}: {kind}", flush=True)


def print_call(figures: CallFigures) -> None:
    print(
        f"call->board N={figures.boards}: first p50 {fmt(figures.first_p50_ms)} "
        f"p95 {fmt(figures.first_p95_ms)}; all p50 {fmt(figures.all_p50_ms)} "
        f"p95 {fmt(figures.all_p95_ms)} (max {fmt(figures.all_max_ms)}); "
        f"{figures.calls} calls, {figures.incomplete} incomplete",
        flush=True,
    )
    extra = [
        f"call-next HTTP p50 {fmt(figures.http_p50_ms)} p95 {fmt(figures.http_p95_ms)}",
        f"connect {figures.connect_seconds:.1f} s",
    ]
    if figures.server_cpu_ms_per_call is not None and figures.server_cpu_ms_per_finish is not None:
        extra.append(
            f"server CPU {figures.server_cpu_ms_per_call:.1f} ms per call-next "
            f"(+{figures.server_cpu_ms_per_finish:.1f} ms per finish)"
        )
    if figures.clients_cpu_ms_per_round is not None:
        extra.append(f"board clients CPU {figures.clients_cpu_ms_per_round:.1f} ms per round")
    if figures.server_rss_mb is not None:
        extra.append(f"server RSS {figures.server_rss_mb:.0f} MB")
    if figures.waiting is not None:
        extra.append(f"{figures.waiting} waiting")
    print("  " + ", ".join(extra), flush=True)
    for kind, n in figures.errors.items():
        print(f"  board error x{n}: {kind}", flush=True)


def target_verdicts(
    issue: IssueFigures | None, paced: IssueFigures | None, calls: list[CallFigures]
) -> list[dict[str, Any]]:
    measured: dict[str, float | None] = {}
    if issue is not None:
        measured["issue p95"] = issue.p95_ms
    if paced is not None:
        measured["issue p95, paced"] = paced.p95_ms
    firsts = [c.first_p95_ms for c in calls if c.first_p95_ms is not None]
    if firsts:
        measured["call->first board p95 (worst N)"] = max(firsts)
    for figures in calls:
        name = f"call->all {figures.boards} boards p95"
        if name in TARGETS_MS:
            measured[name] = None if figures.incomplete else figures.all_p95_ms
    verdicts = []
    for name, value in measured.items():
        limit = TARGETS_MS[name]
        met = value is not None and value <= limit
        verdicts.append({"target": name, "limit_ms": limit, "measured_ms": value, "met": met})
    return verdicts


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure ticket issuing and call->board latency of a popup-loket server.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    where = parser.add_argument_group("server")
    where.add_argument("--url", help="measure this running server instead of starting one")
    where.add_argument(
        "--start-server",
        action="store_true",
        help="set up a temporary instance and run `loket run` (the default without --url)",
    )
    where.add_argument("--staff-user", help="with --url: a staff account")
    where.add_argument(
        "--staff-password",
        default=os.environ.get("LOKET_BENCH_PASSWORD"),
        help="with --url: its password (default: $LOKET_BENCH_PASSWORD)",
    )
    where.add_argument(
        "--kiosk",
        action="append",
        metavar="CODE_OR_TOKEN",
        help="with --url: a kiosk pairing code or ldv_ device token (repeat; reused round-robin)",
    )
    where.add_argument("--desk", type=int, help="desk id to call to (default: the stop's first)")
    where.add_argument("--product", default="A", help="product code or prefix to issue")
    where.add_argument(
        "--keep-tmp", action="store_true", help="keep the temporary instance folder and log"
    )
    issue = parser.add_argument_group("issuing")
    issue.add_argument("--kiosk-clients", type=int, default=4)
    issue.add_argument(
        "--tickets", type=int, default=2000, help="closed loop: measured tickets in total"
    )
    issue.add_argument(
        "--issue-seconds", type=float, default=60, help="closed loop: upper bound on the phase"
    )
    issue.add_argument("--issue-warmup", type=int, default=5, help="unmeasured tickets per client")
    issue.add_argument(
        "--issue-modes",
        default="closed,paced",
        help="which issue phases to run, in this order: closed (as fast as answered), paced",
    )
    issue.add_argument(
        "--issue-rate",
        type=float,
        default=10.0,
        help="paced phase: tickets per second per client, on a fixed schedule",
    )
    issue.add_argument(
        "--paced-seconds",
        type=float,
        default=15.0,
        help="paced phase: how long (tickets = clients x rate x seconds)",
    )
    issue.add_argument("--skip-issue", action="store_true")
    board = parser.add_argument_group("call->board")
    board.add_argument("--boards", default="1,200,1000", help="comma-separated board counts")
    board.add_argument("--calls", type=int, default=30, help="measured calls per board count")
    board.add_argument("--call-warmup", type=int, default=3, help="unmeasured calls first")
    board.add_argument(
        "--call-queue",
        type=int,
        default=50,
        help="tickets kept waiting during the calls (more are issued if fewer wait)",
    )
    board.add_argument("--board-processes", type=int, default=4)
    board.add_argument(
        "--ws-compression",
        choices=("deflate", "none"),
        default="deflate",
        help="offer permessage-deflate like browsers do, or not",
    )
    board.add_argument(
        "--ws-client",
        choices=("raw", "websockets"),
        default="raw",
        help="board client: a lean built-in websocket client, or the `websockets` package",
    )
    board.add_argument("--connect-timeout", type=float, default=90)
    board.add_argument("--event-timeout", type=float, default=10)
    board.add_argument("--pause", type=float, default=0.05, help="seconds between calls")
    board.add_argument("--skip-boards", action="store_true")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    parser.add_argument("--max-seconds", type=float, default=900, help="watchdog for the run")
    args = parser.parse_args(argv)
    try:
        args.board_counts = [int(n) for n in args.boards.split(",") if n.strip()]
    except ValueError:
        parser.error("--boards takes numbers like 1,200,1000")
    for name in ("kiosk_clients", "board_processes"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    args.issue_mode_list = [m.strip() for m in args.issue_modes.split(",") if m.strip()]
    if any(m not in ("closed", "paced") for m in args.issue_mode_list):
        parser.error("--issue-modes takes closed, paced or both (closed,paced)")
    if args.issue_rate <= 0 or args.paced_seconds <= 0:
        parser.error("--issue-rate and --paced-seconds must be positive")
    if args.call_queue < 0 or args.call_warmup < 0 or args.issue_warmup < 0:
        parser.error("--call-queue and warm-ups must not be negative")
    if any(n < 1 for n in args.board_counts) or args.calls < 1 or args.tickets < 1:
        parser.error("counts must be at least 1")
    return args


def code_state() -> dict[str, Any]:
    """The checkout's commit and whether it has uncommitted changes (read-only git calls)."""
    root = Path(__file__).resolve().parent.parent
    state: dict[str, Any] = {"commit": None, "uncommitted_changes": None}
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        status = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(root), "status", "--porcelain"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return state
    state["commit"] = head.stdout.strip()
    state["uncommitted_changes"] = bool(status.stdout.strip())
    return state


def run(args: argparse.Namespace) -> dict[str, Any]:
    server: LocalServer | None = None
    results: dict[str, Any] = {
        "issue": None,  # closed loop
        "issue_paced": None,
        "call": [],
        "targets": [],
        "code": code_state(),
    }
    code = results["code"]
    if code["commit"]:
        dirty = " with uncommitted changes" if code["uncommitted_changes"] else ""
        print(f"code: {code['commit']}{dirty}", flush=True)
    try:
        if args.url:
            target = target_from_url(args)
            print(f"server: {args.url} (already running)", flush=True)
        else:
            server = LocalServer(kiosks=args.kiosk_clients, keep=args.keep_tmp)
            print(f"server: setting up a temporary instance in {server.dir}", flush=True)
            target = server.setup()
            server.start()
            pid = server.process.pid if server.process else "?"
            print(
                f"server: loket run (pid {pid}) on http://{target.host}:{target.port}", flush=True
            )
        cpu = server.cpu_seconds if server else (lambda: None)
        rss = server.rss_mb if server else (lambda: None)
        tokens = [kiosk_token(target, kiosk) for kiosk in target.kiosks]
        staff = staff_token(target)

        # Calls first, on a queue of realistic length (--call-queue); then the issue phases,
        # which grow the queue by --tickets and more (latency is reported early and late).
        if not args.skip_boards:
            desk_id = args.desk if args.desk is not None else first_desk(target)
            rounds = args.calls + args.call_warmup
            for boards in args.board_counts:
                ensure_waiting(target, tokens[0], args.product, args.call_queue + rounds)
                figures = call_phase(
                    target,
                    staff,
                    desk_id,
                    boards,
                    calls=args.calls,
                    warmup=args.call_warmup,
                    processes=args.board_processes,
                    compression=None if args.ws_compression == "none" else "deflate",
                    client_kind=args.ws_client,
                    connect_timeout=args.connect_timeout,
                    event_timeout=args.event_timeout,
                    pause=args.pause,
                    server_cpu=cpu,
                    server_rss=rss,
                )
                results["call"].append(figures)
                print_call(figures)

        for mode in [] if args.skip_issue else args.issue_mode_list:
            paced = mode == "paced"
            status = HttpClient(target.host, target.port)
            try:
                waiting = waiting_count(status)
            finally:
                status.close()
            figures = issue_phase(
                target,
                tokens,
                clients=args.kiosk_clients,
                total=(
                    round(args.kiosk_clients * args.issue_rate * args.paced_seconds)
                    if paced
                    else args.tickets
                ),
                max_seconds=args.paced_seconds + 30 if paced else args.issue_seconds,
                warmup=args.issue_warmup,
                product=args.product,
                server_cpu=cpu,
                rate=args.issue_rate if paced else None,
            )
            figures.waiting_before = waiting
            results["issue_paced" if paced else "issue"] = figures
            print_issue(figures)
    finally:
        if server is not None:
            server.stop()
            results["server"] = {
                "stopped_on_sigterm": server.stopped_cleanly,
                "log_problems": server.problems(),
                "log": str(server.log_path) if args.keep_tmp else None,
            }
            if server.stopped_cleanly is False:
                print("server: did NOT stop within 15 s of SIGTERM (killed)", flush=True)
            elif server.stopped_cleanly:
                print("server: stopped on SIGTERM", flush=True)
            problems = server.problems()
            if problems:
                print(f"server log: {len(problems)} suspicious line(s), first ones:", flush=True)
                for line in problems[:10]:
                    print(f"  | {line}", flush=True)
            server.cleanup()
    results["targets"] = target_verdicts(results["issue"], results["issue_paced"], results["call"])
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.ws_client == "websockets" and not args.skip_boards:
        try:
            import websockets  # noqa: F401  (checked early: the board workers need it)
        except ImportError:
            print("--ws-client websockets needs: pip install websockets==17.4", file=sys.stderr)
            return 2
    raise_open_file_limit(max(args.board_counts, default=0) + 1024)

    def on_alarm(_signum: int, _frame: Any) -> None:
        raise Watchdog()

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(max(int(args.max_seconds), 1))
    descriptions = {
        "closed": f"{args.tickets} tickets closed loop",
        "paced": f"{args.issue_rate:g}/s each for {args.paced_seconds:g} s paced",
    }
    modes = ", then ".join(descriptions[m] for m in args.issue_mode_list) or "skipped"
    if args.skip_issue:
        modes = "skipped"
    print(
        f"popup-loket bench: {args.kiosk_clients} kiosk clients, issue {modes}; "
        f"boards {args.board_counts} x {args.calls} calls (+{args.call_warmup} warm-up), "
        f"{args.ws_client} websocket clients, compression {args.ws_compression}; "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )
    load_before = os.getloadavg()
    try:
        results = run(args)
    except Watchdog:
        print(f"bench: stopped by the watchdog after {args.max_seconds:.0f} s", file=sys.stderr)
        return 3
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
    load_after = os.getloadavg()
    results["load_average"] = {"before": load_before, "after": load_after}
    print(
        f"load average (1/5/15 min): before {load_before[0]:.2f}/{load_before[1]:.2f}/"
        f"{load_before[2]:.2f}, after {load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f}",
        flush=True,
    )
    if max(load_before[0], load_after[0]) > (os.cpu_count() or 1) + 1:
        print(
            "  note: other work kept the CPUs busy; latencies include waiting for a CPU",
            flush=True,
        )
    print("targets:", flush=True)
    for verdict in results["targets"]:
        state = "met" if verdict["met"] else "MISSED"
        print(
            f"  {verdict['target']} <= {verdict['limit_ms']:.0f} ms: "
            f"{fmt(verdict['measured_ms'])} {state}",
            flush=True,
        )
    if args.json:
        serialisable = {
            **results,
            "issue": asdict(results["issue"]) if results["issue"] else None,
            "issue_paced": asdict(results["issue_paced"]) if results["issue_paced"] else None,
            "call": [asdict(figures) for figures in results["call"]],
            "options": {k: v for k, v in vars(args).items() if k != "staff_password"},
        }
        args.json.write_text(json.dumps(serialisable, indent=2, default=str) + "\n")
        print(f"figures written to {args.json}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
