"""The server under test: a throw-away instance run by `loket run`, and what its API tells.

`LocalServer` never touches the checkout's ``instance/``: it makes a temporary folder with an
empty config file and its own SQLite database, runs the same CLI an operator runs (``db
upgrade``, ``demo``, a staff user, kiosk pairing codes) with relaxed rate limits, starts
``loket run`` on a free port on 127.0.0.1 and stops it with SIGTERM. It also reads the server
process's CPU time and memory from ``/proc`` and the suspicious lines of its log.

`Target` is where a server is and the credentials to use, whether `LocalServer` made it or the
server was already running.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.kit import BenchError
from bench.kit.http import HttpClient, expect
from bench.kit.proc import proc_cpu_seconds, proc_rss_mb

STAFF_USER = "bench"
STAFF_PASSWORD = "a-long-password-123"  # only ever used for the throw-away local instance
RELAXED_LIMITS = "1000000/minute"


@dataclass
class Target:
    """Where the server is and the credentials the benchmark uses."""

    host: str
    port: int
    staff_user: str
    staff_password: str
    kiosks: list[str]  # pairing codes or ldv_ device tokens
    # HTTPS and wss:// with this CA file (a proxy with a test certificate); None: plain HTTP.
    cafile: str | None = None

    def tls(self) -> ssl.SSLContext | None:
        return None if self.cafile is None else ssl.create_default_context(cafile=self.cafile)

    def client(self, timeout: float = 10.0) -> HttpClient:
        """A keep-alive connection to the target."""
        return HttpClient(self.host, self.port, timeout=timeout, tls=self.tls())

    @property
    def ws_url(self) -> str:
        scheme = "ws" if self.cafile is None else "wss"
        return f"{scheme}://{self.host}:{self.port}/socket.io/?EIO=4&transport=websocket"


def wait_until_answering(
    process: subprocess.Popen[bytes],
    host: str,
    port: int,
    timeout: float,
    what: str,
    tail: Callable[[], str],
) -> None:
    """Poll `GET /api/v1/stops/current` until it answers 200; fail when `process` exits or
    `timeout` seconds pass, with the tail of its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{what} exited with {process.returncode}: {tail()}")
        client = HttpClient(host, port, timeout=2)
        try:
            if client.request("GET", "/api/v1/stops/current").status == 200:
                return
        except (OSError, BenchError):
            pass
        finally:
            client.close()
        time.sleep(0.1)
    raise BenchError(f"{what} did not answer within {timeout} s: {tail()}")


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

    def __init__(
        self,
        *,
        kiosks: int,
        keep: bool,
        setup_timeout: float = 60.0,
        command: list[str] | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """`command` runs the CLI instead of the `loket` script (e.g. a Python that imports a
        checkout's ``kiosk`` from `cwd`); `env` adds to the server's environment."""
        self.kiosks = kiosks
        self.keep = keep
        self.setup_timeout = setup_timeout
        self.command = command if command is not None else [str(find_loket())]
        self.cwd = cwd
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
            **(env or {}),
        }

    def _loket(self, *args: str, stdin: str | None = None) -> str:
        try:
            done = subprocess.run(
                [*self.command, *args],
                env=self.env,
                cwd=self.cwd,
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
            [*self.command, "run", "--host", self.host, "--port", str(self.port)],
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_until_answering(self.process, self.host, self.port, timeout, "`loket run`", self.tail)

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the server process has used so far (Linux /proc)."""
        return None if self.process is None else proc_cpu_seconds(self.process.pid)

    def rss_mb(self) -> float | None:
        """Resident memory of the server process in MB."""
        return None if self.process is None else proc_rss_mb(self.process.pid)

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

    def finish(self) -> dict[str, Any]:
        """Stop the server, print how it stopped and its log's suspicious lines, and remove the
        folder unless it is kept; returns what it found, for the figures."""
        self.stop()
        found = {
            "stopped_on_sigterm": self.stopped_cleanly,
            "log_problems": self.problems(),
            "log": str(self.log_path) if self.keep else None,
        }
        if self.stopped_cleanly is False:
            print("server: did NOT stop within 15 s of SIGTERM (killed)", flush=True)
        elif self.stopped_cleanly:
            print("server: stopped on SIGTERM", flush=True)
        problems = self.problems()
        if problems:
            print(f"server log: {len(problems)} suspicious line(s), first ones:", flush=True)
            for line in problems[:10]:
                print(f"  | {line}", flush=True)
        self.cleanup()
        return found


# -- asking the running server --------------------------------------------------------------------


def kiosk_token(target: Target, code_or_token: str) -> str:
    """A device token as is, or the token that a pairing code is exchanged for."""
    if code_or_token.startswith("ldv_"):
        return code_or_token
    client = target.client()
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
    """A staff bearer token for the target's staff user."""
    client = target.client()
    try:
        body = {"username": target.staff_user, "password": target.staff_password}
        data = expect(client.request("POST", "/api/v1/auth/token", body), 200, "staff login")
    finally:
        client.close()
    return str(data["token"])


def waiting_count(client: HttpClient) -> int:
    """How many tickets wait at the open stop (all products), from the public board."""
    board = expect(client.request("GET", "/api/v1/board"), 200, "reading the board")
    return sum(int(entry["count"]) for entry in board["waiting"])


def ensure_waiting(target: Target, kiosk: str, product: str, needed: int) -> int:
    """Issue tickets until at least `needed` wait at the stop; returns how many wait."""
    client = target.client()
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
    client = target.client()
    try:
        stop = expect(client.request("GET", "/api/v1/stops/current"), 200, "reading the stop")
    finally:
        client.close()
    if not stop["desks"]:
        raise BenchError("the open stop has no desks")
    return int(stop["desks"][0]["id"])
