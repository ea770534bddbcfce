"""Real `loket run` processes and real Socket.IO clients, for tests/test_live.py.

`LiveServer` prepares an instance in a temporary folder (its own SQLite file unless a database URL
is given), runs the same CLI an operator runs, starts `loket run` on a free port and stops it with
SIGTERM. `BoardClient` is a python-socketio client on /board that keeps what it hears, so a test
waits for an event with a deadline instead of sleeping.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import socketio

from display.namespace import NAMESPACE as BOARD_NAMESPACE

LOKET = Path(sys.executable).with_name("loket")
STAFF_USER = "live-staff"
STAFF_PASSWORD = "live-test-password-123"
RELAXED = "100000/minute"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
# Migrated databases with the demo and the staff user, per set of extra settings (see setup).
_PREPARED: dict[tuple[tuple[str, str], ...], tuple[float, Path]] = {}
PREPARED_MAX_AGE = 600.0


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerError(AssertionError):
    """The server did not start or stop as expected; carries the tail of its log."""


@dataclass
class LiveServer:
    """One `loket run` process with its instance folder, database and a staff bearer token."""

    workdir: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    database_url: str | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not LOKET.exists():
            raise ServerError(f"{LOKET} is missing: install the project into this venv")
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.workdir / 'loket.db'}"
        # An empty config file keeps a developer's instance/config.py out of the test.
        config = self.workdir / "config.py"
        config.touch()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
        env.update(
            LOKET_CONFIG=str(config),
            LOKET_DATABASE_URL=self.database_url,
            LOKET_SECRET_KEY="live-test-secret",
            LOKET_RATELIMIT_PUBLIC=RELAXED,
            LOKET_RATELIMIT_AUTH=RELAXED,
            LOKET_RATELIMIT_PAIR=RELAXED,
            LOKET_RATELIMIT_BOOK=RELAXED,
            LOKET_MFA_ROLES="[]",  # a module that tests the second step sets its own
            PYTHONUNBUFFERED="1",
        )
        env.update(self.env_extra)
        self.env = env

    # -- setup ----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"server-{self.port}.log"

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run a `loket` command against this instance; its output, or an error with it."""
        result = subprocess.run(
            [str(LOKET), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.workdir,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise ServerError(
                f"loket {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def setup(self, *, migrate: bool = True) -> None:
        """What an operator does once: migrate, create the demo stop, add a staff user.

        Three CLI processes take ~11 s, so on SQLite the result is made once per set of
        settings and copied for the next server that asks within a few minutes (the demo stop
        is open from an hour ago for nine hours, its times stay valid)."""
        database = self._sqlite_file()
        key = tuple(sorted(self.env_extra.items()))
        prepared = _PREPARED.get(key)
        if migrate and database is not None and prepared is not None:
            made, template = prepared
            if time.monotonic() - made < PREPARED_MAX_AGE:
                shutil.copyfile(template, database)
                return
        if migrate:
            self.cli("db", "upgrade")
        self.cli("demo")
        self.cli("user", "add", STAFF_USER, "--role", "staff", stdin=STAFF_PASSWORD + "\n")
        if migrate and database is not None:
            # One file again (the WAL checkpointed), then kept for the next server.
            with sqlite3.connect(database) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            template = Path(tempfile.mkdtemp(prefix="loket-prepared-")) / "loket.db"
            shutil.copyfile(database, template)
            _PREPARED[key] = (time.monotonic(), template)

    def _sqlite_file(self) -> Path | None:
        prefix = "sqlite:///"
        url = self.database_url or ""
        return Path(url[len(prefix) :]) if url.startswith(prefix) else None

    # -- process --------------------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start `loket run` and return once it answers HTTP."""
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start `loket run` without waiting (start several, then `wait_ready` each)."""
        assert self.process is None, "already running"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(LOKET), "run", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Poll the API until it answers, with a deadline; fail at once if the process dies."""
        assert self.process is not None, "not launched"
        deadline = time.monotonic() + timeout
        while True:
            try:
                response = requests.get(f"{self.url}/api/v1/stops/current", timeout=1)
            except requests.ConnectionError:
                pass
            else:
                if response.status_code in (200, 404):
                    return
            if time.monotonic() > deadline:
                self.kill()
                raise ServerError(f"no answer on {self.url} within {timeout} s\n{self.log()}")
            # The poll interval doubles as a check that the process is still alive.
            try:
                code = self.process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            self.process = None
            raise ServerError(f"loket run exited with {code} while starting\n{self.log()}")

    def stop(self, timeout: float = STOP_TIMEOUT) -> tuple[int, float]:
        """SIGTERM, then wait: the exit code and the seconds it took. Kills and fails if late."""
        assert self.process is not None, "not running"
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ServerError(
                f"loket run ignored SIGTERM for {timeout} s and was killed\n{self.log()}"
            ) from None
        self.process = None
        return code, time.monotonic() - began

    def kill(self) -> None:
        """Last resort for finalizers: make sure no process outlives the test."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
            self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # -- HTTP -----------------------------------------------------------------------------------

    def login(self) -> dict[str, str]:
        """A staff bearer token for the user `setup` made (valid on every process of the db)."""
        response = requests.post(
            f"{self.url}/api/v1/auth/token",
            json={"username": STAFF_USER, "password": STAFF_PASSWORD},
            timeout=5,
        )
        assert response.status_code == 200, response.text
        self.headers = {"Authorization": f"Bearer {response.json()['token']}"}
        return self.headers

    def api(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        kw.setdefault("headers", self.headers)
        response = requests.request(method, f"{self.url}/api/v1{path}", timeout=5, **kw)
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response.json()

    def current_stop(self) -> dict[str, Any]:
        return self.api("GET", "/stops/current")

    def desk_id(self, name: str = "Balie 1") -> int:
        return next(d["id"] for d in self.current_stop()["desks"] if d["name"] == name)

    def issue(self, product: str = "A") -> dict[str, Any]:
        return self.api("POST", "/tickets", expect=201, json={"product": product})

    def call_next(self, desk_id: int) -> dict[str, Any]:
        return self.api("POST", f"/desks/{desk_id}/call-next")


class BoardClient:
    """A python-socketio client on /board that keeps every event it hears.

    `connect`, `disconnect` and `connect_error` are kept too, as ("connect", None),
    ("disconnect", reason) and ("connect_error", {"message": ..., "data": ...}), so a test waits
    for a reconnection like for any other event. The order of a connect and the events the server
    sends from its connect handler is not fixed (the server emits the snapshot before it
    acknowledges the connection), so `wait_for` takes the first event of that name and leaves the
    others for later; `drain` forgets what came before an action.
    """

    def __init__(
        self,
        *,
        auth: dict[str, Any] | None = None,
        transports: list[str] | None = None,
        http_session: requests.Session | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.auth = auth
        # E.g. a staff bearer token: a desk's connection (a board's has none).
        self.headers = headers or {}
        # Websocket only by default; ["polling"] for the transport a proxy must keep sticky.
        self.transports = transports or ["websocket"]
        self._events: list[tuple[str, Any]] = []
        # When each event name was last heard (time.monotonic()), for measuring.
        self.heard_at: dict[str, float] = {}
        self._arrived = threading.Condition()
        self.sio = socketio.Client(
            http_session=http_session,  # e.g. one that trusts a test certificate
            reconnection=True,
            reconnection_delay=0.1,
            reconnection_delay_max=0.5,
            randomization_factor=0,
        )
        self.sio.on("connect", self._on_connect, namespace=BOARD_NAMESPACE)
        self.sio.on("disconnect", self._on_disconnect, namespace=BOARD_NAMESPACE)
        self.sio.on("connect_error", self._on_connect_error, namespace=BOARD_NAMESPACE)
        self.sio.on("*", self._on_any, namespace=BOARD_NAMESPACE)

    def _keep(self, event: str, payload: Any) -> None:
        with self._arrived:
            self.heard_at[event] = time.monotonic()
            self._events.append((event, payload))
            self._arrived.notify_all()

    def _on_connect(self) -> None:
        self._keep("connect", None)

    def _on_disconnect(self, reason: Any = None) -> None:
        self._keep("disconnect", reason)

    def _on_connect_error(self, data: Any = None) -> None:
        self._keep("connect_error", data)

    def _on_any(self, event: str, *args: Any) -> None:
        self._keep(event, args[0] if args else None)

    def connect(self, url: str, timeout: float = 10) -> None:
        self.sio.connect(
            url,
            namespaces=[BOARD_NAMESPACE],
            transports=self.transports,
            auth=self.auth,
            headers=self.headers,
            wait_timeout=timeout,
        )

    def wait_for(self, name: str, timeout: float = 10) -> Any:
        """The payload of the first `name` event not taken yet; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for i, (event, payload) in enumerate(self._events):
                    if event == name:
                        del self._events[i]
                        return payload
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    heard = [event for event, _ in self._events]
                    raise AssertionError(f"no {name!r} within {timeout} s (heard: {heard})")
                self._arrived.wait(remaining)

    def wait_until(self, name: str, predicate: Callable[[Any], bool], timeout: float = 10) -> Any:
        """The payload of the first `name` event that satisfies `predicate`; earlier `name`
        events that do not are taken and dropped."""
        deadline = time.monotonic() + timeout
        while True:
            payload = self.wait_for(name, max(deadline - time.monotonic(), 0.001))
            if predicate(payload):
                return payload

    def drain(self) -> list[str]:
        """Forget (and return the names of) every event not taken yet."""
        with self._arrived:
            names = [event for event, _ in self._events]
            self._events.clear()
            return names

    def close(self) -> None:
        # shutdown() disconnects, and also ends the reconnection loop of a client between attempts.
        self.sio.shutdown()
