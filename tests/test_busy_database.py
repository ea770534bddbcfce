"""A busy database never freezes the server: another process holds SQLite's write lock for 5 s
while clients read, write and load static files from a real `loket run` (gevent). Static files
and reads keep answering (none waits for the lock: before, one waited the lock's whole time and
more), the board's socket keeps answering, every write is either done or answered 503 `busy`
with Retry-After, and every retry under its key ends in exactly one ticket. Also: the "last
seen" note of a device never fails a request.

The latencies themselves (the target: a static file under 100 ms throughout) are measured by
bench/busy_database.py on a quiet machine; here a bound of a second tells a freeze from the
noise of a busy 2-core test machine."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.live import BoardClient, LiveServer

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("quick_websocket_close")]

HOLD_SECONDS = 5.0
# Far below the lock's 5 s, far above a loaded test machine's scheduling noise.
NO_FREEZE = 1.0
HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
connection.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
print("released", flush=True)
"""


class LockHolder:
    """Another process that holds SQLite's write lock for a while (like a long `loket` command
    or a backup); `held` and `released` are set when it says so."""

    def __init__(self, database: Path, seconds: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(database), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.held = threading.Event()
        self.released = threading.Event()
        self.listener = threading.Thread(target=self._listen, daemon=True)
        self.listener.start()

    def _listen(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip() == "held":
                self.held.set()
            elif line.strip() == "released":
                self.released.set()
        self.released.set()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self.listener.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()


def repeat_until(stop: threading.Event, action: Callable[[], None], pause: float) -> None:
    """Run `action` again and again (paced by `pause`: this generates load, it waits for
    nothing) until `stop` is set."""
    while not stop.is_set():
        action()
        stop.wait(pause)


def test_a_writer_holding_the_lock_for_5_s_freezes_nothing(make_server, make_client):
    server: LiveServer = make_server(env_extra={"LOKET_DATABASE_WRITE_WAIT_SECONDS": "1"})
    server.start()
    headers = server.login()
    database = Path(server.database_url.removeprefix("sqlite:///"))
    static: list[tuple[int, float]] = []
    reads: list[tuple[int, float]] = []
    writes: list[tuple[int, dict[str, Any], dict[str, str]]] = []
    done = threading.Event()
    keys = [f"lock-test-key-{n:03d}" for n in range(6)]
    answered: dict[str, str] = {}

    def timed(session: requests.Session, url: str, into: list[tuple[int, float]]) -> None:
        began = time.perf_counter()
        response = session.get(url, timeout=5)
        into.append((response.status_code, time.perf_counter() - began))

    def writer() -> None:
        session = requests.Session()
        for key in keys:  # one tap each, retried under its key until it is answered
            while key not in answered:
                response = session.post(
                    f"{server.url}/api/v1/tickets",
                    json={"product": "A"},
                    headers={**headers, "Idempotency-Key": key},
                    timeout=10,
                )
                writes.append((response.status_code, response.json(), dict(response.headers)))
                if response.status_code in (200, 201):
                    answered[key] = response.json()["label"]
                else:
                    done.wait(0.3)  # the kiosk's retry pause (Retry-After is 2 s; we hurry)

    holder = LockHolder(database, HOLD_SECONDS)
    try:
        assert holder.held.wait(10), "the holder did not take the lock"
        began = time.monotonic()
        static_session, read_session = requests.Session(), requests.Session()
        loops = [
            threading.Thread(
                target=repeat_until,
                args=(
                    done,
                    lambda: timed(static_session, f"{server.url}/static/css/loket.css", static),
                    0.05,
                ),
            ),
            threading.Thread(
                target=repeat_until,
                args=(
                    done,
                    lambda: timed(read_session, f"{server.url}/api/v1/board", reads),
                    0.1,
                ),
            ),
            threading.Thread(target=writer),
        ]
        for loop in loops:
            loop.start()
        # The board's socket answers while the lock is held: a new board gets its snapshot.
        board: BoardClient = make_client(server.url)
        board.wait_for("board_state", timeout=2)
        assert time.monotonic() - began < HOLD_SECONDS, "the snapshot came after the release"
        assert holder.released.wait(HOLD_SECONDS + 10)
        loops[2].join(timeout=30)
        done.set()
        for loop in loops[:2]:
            loop.join(timeout=10)
    finally:
        done.set()
        holder.close()

    assert static and reads and writes
    assert {status for status, _ in static} == {200}
    assert max(seconds for _, seconds in static) < NO_FREEZE, sorted(s for _, s in static)[-5:]
    assert {status for status, _ in reads} == {200}
    assert max(seconds for _, seconds in reads) < NO_FREEZE, sorted(s for _, s in reads)[-5:]
    statuses = {status for status, _, _ in writes}
    assert statuses <= {200, 201, 503}
    assert 503 in statuses  # the lock was held longer than a write may wait
    for status, body, response_headers in writes:
        if status == 503:
            assert body["error"]["code"] == "busy"
            assert int(response_headers["Retry-After"]) >= 1
    # Every tap got exactly one ticket, whatever it took.
    assert sorted(answered) == keys
    assert sorted(answered.values()) == [f"A{n:03d}" for n in range(1, len(keys) + 1)]
    state = server.api("GET", "/board")
    assert sum(w["count"] for w in state["waiting"]) == len(keys)


def test_a_device_is_served_while_its_last_seen_note_cannot_be_stored(make_server):
    """A paired board's every request notes when it was last seen; with the lock held, the
    note waits and the request is answered anyway."""
    server: LiveServer = make_server(env_extra={"LOKET_DATABASE_WRITE_WAIT_SECONDS": "1"})
    server.start()
    output = server.cli("device", "add", "board", "Scherm 1")
    code = re.search(r"/pair/([A-Z2-9]+)", output)
    assert code, output
    paired = requests.post(
        f"{server.url}/api/v1/devices/pair", json={"code": code.group(1)}, timeout=5
    )
    assert paired.status_code == 200, paired.text
    bearer = {"Authorization": f"Bearer {paired.json()['token']}"}
    database = Path(server.database_url.removeprefix("sqlite:///"))

    holder = LockHolder(database, 3.0)
    try:
        assert holder.held.wait(10)
        began = time.perf_counter()
        response = requests.get(f"{server.url}/api/v1/board", headers=bearer, timeout=5)
        elapsed = time.perf_counter() - began
    finally:
        holder.close()

    assert response.status_code == 200
    assert elapsed < NO_FREEZE
