"""A busy database: what a static file, a read and a kiosk's write cost while another process
holds SQLite's write lock.

    .venv/bin/python bench/busy_database.py [--hold 5] [--wait 3] [--json F]

Starts a throw-away `loket run` (gevent, like production), then measures for `--hold` seconds
without a lock (the baseline), and for `--hold` seconds while another process holds SQLite's
write lock (``BEGIN IMMEDIATE``, like a long `loket` command or a backup):

- ``GET /static/css/loket.css`` every 50 ms (the target: under 100 ms throughout);
- ``GET /api/v1/board`` every 100 ms (a read: WAL readers never wait for a writer);
- ``POST /api/v1/tickets`` by a kiosk, each tap under its own Idempotency-Key, retried after
  300 ms on 503 until it is answered: how long a tap took, and how many 503s it met.

The server waits `--wait` seconds (LOKET_DATABASE_WRITE_WAIT_SECONDS) for the lock before it
answers 503 `busy`; it never blocks its event loop meanwhile. Clients use the kit's raw
keep-alive HTTP client (one write a request, as browsers do).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout: bench.kit

from bench.kit import BenchError
from bench.kit.http import HttpClient
from bench.kit.server import LocalServer, kiosk_token
from bench.kit.stats import summary

HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
connection.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hold", type=float, default=5.0, help="seconds the lock is held")
    parser.add_argument("--wait", type=float, default=3.0, help="the server's write wait (s)")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


def load(server: LocalServer, token: str, seconds: float, label: str) -> dict[str, Any]:
    """Static files, reads and kiosk taps at once for `seconds`; their figures."""
    stop = threading.Event()
    static: list[float] = []
    reads: list[float] = []
    taps: list[float] = []
    busy: list[int] = []
    statuses: set[int] = set()

    def every(pause: float, path: str, into: list[float]) -> None:
        client = HttpClient(server.host, server.port)
        try:
            while not stop.is_set():
                response = client.request("GET", path)
                statuses.add(response.status)
                into.append(response.latency_ms / 1000)
                stop.wait(pause)
        finally:
            client.close()

    def kiosk() -> None:
        client = HttpClient(server.host, server.port)
        number = 0
        try:
            while not stop.is_set():
                number += 1
                key = {"Idempotency-Key": f"bench-{label}-{number:05d}"}
                began, refused = time.perf_counter(), 0
                while True:
                    response = client.request(
                        "POST", "/api/v1/tickets", {"product": "A"}, token=token, headers=key
                    )
                    statuses.add(response.status)
                    if response.status in (200, 201):
                        break
                    if response.status != 503:
                        raise BenchError(f"a tap got {response.status}: {response.body[:200]!r}")
                    refused += 1
                    time.sleep(0.3)
                taps.append(time.perf_counter() - began)
                busy.append(refused)
                stop.wait(0.2)
        finally:
            client.close()

    threads = [
        threading.Thread(target=every, args=(0.05, "/static/css/loket.css", static)),
        threading.Thread(target=every, args=(0.1, "/api/v1/board", reads)),
        threading.Thread(target=kiosk),
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)  # the measured window
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    return {
        "static_ms": summary(static),
        "read_ms": summary(reads),
        "tap_ms": summary(taps),
        "503_per_tap_max": max(busy, default=0),
        "statuses": sorted(statuses),
    }


def show(label: str, figures: dict[str, Any]) -> None:
    def line(name: str, s: dict[str, float]) -> str:
        return (
            f"{name} n={s.get('n', 0):.0f} p50 {s.get('p50_ms', 0):.1f} ms, "
            f"p95 {s.get('p95_ms', 0):.1f} ms, max {s.get('max_ms', 0):.1f} ms"
        )

    print(f"{label}:")
    print("  " + line("static file", figures["static_ms"]))
    print("  " + line("read (board)", figures["read_ms"]))
    print("  " + line("kiosk tap until answered", figures["tap_ms"]))
    print(f"  503 busy per tap: max {figures['503_per_tap_max']}; statuses {figures['statuses']}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = LocalServer(kiosks=1, keep=False)
    server.env["LOKET_DATABASE_WRITE_WAIT_SECONDS"] = str(args.wait)
    results: dict[str, Any] = {"hold_seconds": args.hold, "write_wait_seconds": args.wait}
    try:
        target = server.setup()
        server.start()
        token = kiosk_token(target, target.kiosks[0])
        results["no_lock"] = load(server, token, args.hold, "free")
        show("no lock", results["no_lock"])
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(server.dir / "loket.db"), str(args.hold + 0.5)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None
        if holder.stdout.readline().strip() != "held":
            raise BenchError("the lock holder did not start")
        results["lock_held"] = load(server, token, args.hold, "held")
        holder.wait(timeout=30)
        holder.stdout.close()
        show(f"another process holds the write lock ({args.hold:g} s)", results["lock_held"])
        worst = results["lock_held"]["static_ms"].get("max_ms", 0)
        print(
            f"target: a static file under 100 ms throughout: {'met' if worst < 100 else 'MISSED'}"
        )
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    finally:
        server.stop()
        server.cleanup()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
