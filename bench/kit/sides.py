"""The servers of a side-by-side run (bench/stack.py) and how requests are timed on them.

`BareServer` runs bench/bare_app.py in a process of its own; a popup-loket is a `LocalServer`
started with `BOOT` (the checkout's ``kiosk``, wherever the venv's editable install points).
`Side` is one server under test with its credentials; `timed_requests` and `in_turns` time
requests on sides taken in turns, so that noise on a shared machine hits each alike.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.kit.http import expect
from bench.kit.proc import proc_cpu_seconds, proc_rss_mb
from bench.kit.server import (
    LocalServer,
    Target,
    ensure_waiting,
    first_desk,
    free_port,
    kiosk_token,
    staff_token,
    wait_until_answering,
)

ROOT = Path(__file__).resolve().parents[2]  # the checkout

# `loket …` from this checkout: says where `kiosk` came from (in the server's log), then runs the
# console entry point, which monkey-patches for `run` before importing anything else.
BOOT = (
    "import sys, importlib.util as u; "
    "print('kiosk from', u.find_spec('kiosk').origin, file=sys.stderr, flush=True); "
    "from kiosk.entry import main; main()"
)


class BareServer:
    """bench/bare_app.py in a process of its own, on a free port and a throw-away database."""

    def __init__(self, folder: Path) -> None:
        self.host, self.port = "127.0.0.1", free_port()
        self.log_path = folder / "bare.log"
        app = ROOT / "bench" / "bare_app.py"
        argv = [sys.executable, str(app), "--port", str(self.port), "--db", str(folder / "bare.db")]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.target = Target(self.host, self.port, "-", "-", ["-"])
        wait_until_answering(
            self.process,
            self.host,
            self.port,
            30,
            "the bare stack",
            lambda: self.log_path.read_text()[-2000:],
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@dataclass
class Side:
    """One server under test and how to talk to it."""

    name: str
    target: Target
    pid: int
    kiosk: str  # a kiosk's bearer token ("-" for the bare stack, which checks none)
    staff: str
    desk: int
    fill_queue: Callable[[int], None]  # make sure at least N tickets wait

    def rss(self) -> float | None:
        return proc_rss_mb(self.pid)

    def cpu(self) -> float | None:
        return proc_cpu_seconds(self.pid)


def timed_requests(
    side: Side,
    method: str,
    path: str,
    count: int,
    status: int,
    body: Any = None,
    *,
    interval: float = 0.0,
) -> list[float]:
    """`count` requests on one keep-alive connection, one after another, or each `interval`
    seconds after the previous one started (a kiosk tapped at that pace); latencies in ms."""
    client = side.target.client()
    token = side.kiosk if body is not None else None
    try:
        latencies = []
        due = time.monotonic()
        for _ in range(count):
            if interval:
                time.sleep(max(0.0, due - time.monotonic()))
                due += interval
            response = client.request(method, path, body, token=token)
            expect(response, status, f"{side.name}: {method} {path}")
            latencies.append(response.latency_ms)
        return latencies
    finally:
        client.close()


def in_turns(
    sides: list[Side], blocks: int, run: Callable[[Side], list[float]]
) -> tuple[dict[str, list[float]], dict[str, float | None]]:
    """`run` for each side, `blocks` times, the order turning each block; the latencies and
    each server's CPU ms per request (less sensitive to a busy machine than latencies are)."""
    samples: dict[str, list[float]] = {side.name: [] for side in sides}
    cpu: dict[str, float | None] = {side.name: 0.0 for side in sides}
    for block in range(blocks):
        turn = block % len(sides)
        for side in sides[turn:] + sides[:turn]:
            before = side.cpu()
            samples[side.name] += run(side)
            after = side.cpu()
            used = cpu[side.name]
            cpu[side.name] = None if None in (before, after, used) else used + after - before
    for name, used in cpu.items():
        cpu[name] = None if used is None else used * 1000 / max(len(samples[name]), 1)
    return samples, cpu


def project_side(name: str, server: LocalServer, product: str) -> Side:
    target = server.setup()
    server.start()
    assert server.process is not None
    token = kiosk_token(target, target.kiosks[0])
    return Side(
        name,
        target,
        server.process.pid,
        token,
        staff_token(target),
        first_desk(target),
        lambda n: ensure_waiting(target, token, product, n) and None,
    )


def bare_side(server: BareServer) -> Side:
    def fill(n: int) -> None:
        timed_requests(side, "POST", "/api/v1/tickets", n, 201, {"product": "A"})

    side = Side("bare", server.target, server.process.pid, "-", "-", 1, fill)
    return side


def warm_up(side: Side, queue: int) -> None:
    """Every path once or more, so that lazy imports and caches are done before RSS idle."""
    side.fill_queue(queue)
    client = side.target.client()
    try:
        for _ in range(20):
            expect(client.request("GET", "/api/v1/stops/current"), 200, "warm-up read")
        for _ in range(3):
            call = f"/api/v1/desks/{side.desk}/call-next"
            ticket = expect(client.request("POST", call, token=side.staff), 200, "warm-up call")
            finish = f"/api/v1/tickets/{ticket['token']}/finish"
            expect(client.request("POST", finish, token=side.staff), 200, "warm-up finish")
    finally:
        client.close()
