#!/usr/bin/env python3
"""Benchmark the production shape: nginx with TLS (deploy/nginx/popup-loket.conf) in front of
several `loket run` processes on PostgreSQL and Redis, as tests/production.py starts it.

Three figures, each through nginx:

1. tickets per second with 2 and with 4 processes, 4 kiosk clients on keep-alive HTTPS
   connections (closed loop: each sends its next tap when it has its answer);
2. call -> all N boards (default 1,000) p95, the boards on wss:// spread over the processes by
   their routing key, as pages are;
3. failover: one process killed (SIGKILL) while boards listen; the time until every board that
   was on it has its fresh state from another process, through nginx.

Needs PostgreSQL (LOKET_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test:
a database of its own is made and dropped), Debian's nginx and redis-server (a Redis of its own
on a free port). Run: `.venv/bin/python bench/production.py` (see bench/README.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.issue_call import call_phase, issue_phase  # noqa: E402
from bench.kit import BenchError  # noqa: E402
from bench.kit.boards import raise_open_file_limit  # noqa: E402
from bench.kit.figures import print_call, print_issue  # noqa: E402
from bench.kit.server import Target, ensure_waiting, first_desk, kiosk_token, staff_token  # noqa: E402
from kiosk.config import DEFAULTS  # noqa: E402
from tests.databases import scratch_database  # noqa: E402
from tests.live import STAFF_PASSWORD, STAFF_USER  # noqa: E402
from tests.production import ProductionSite, closed_within  # noqa: E402

PG_URL = os.environ.get("LOKET_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
RELAXED = "1000000/minute"


@contextmanager
def production_site(processes: int) -> Iterator[ProductionSite]:
    """nginx + `processes` servers + Redis on a fresh database, limits out of the way."""
    relaxed = {
        f"LOKET_{key}": RELAXED
        for key in DEFAULTS
        if key.startswith("RATELIMIT_") and key != "RATELIMIT_STORAGE_URI"
    }
    with (
        scratch_database(PG_URL, "loket_bench") as url,
        tempfile.TemporaryDirectory(prefix="loket-bench-prod-") as folder,
    ):
        site = ProductionSite(Path(folder), url, count=processes, extra_env=relaxed)
        try:
            site.servers[0].cli("db", "upgrade")
            site.start()
            yield site
        finally:
            site.stop()


def target_of(site: ProductionSite, kiosks: int) -> Target:
    return Target(
        "127.0.0.1",
        site.nginx.https_port,
        STAFF_USER,
        STAFF_PASSWORD,
        [site.pairing_code("kiosk", f"Bench kiosk {i + 1}") for i in range(kiosks)],
        cafile=str(site.nginx.cert),
    )


def tickets_per_second(processes: int, args: argparse.Namespace) -> dict[str, Any]:
    with production_site(processes) as site:
        target = target_of(site, args.kiosks)
        tokens = [kiosk_token(target, code) for code in target.kiosks]
        figures = issue_phase(
            target,
            tokens,
            clients=args.kiosks,
            total=args.tickets,
            max_seconds=args.issue_seconds,
            warmup=5,
            product="A",
            server_cpu=lambda: None,
        )
    print(f"\n== {processes} processes behind nginx")
    print_issue(figures)
    return {"processes": processes, "per_second": figures.per_second, "p95_ms": figures.p95_ms}


def call_to_boards(args: argparse.Namespace) -> dict[str, Any]:
    with production_site(args.processes) as site:
        target = target_of(site, 1)
        kiosk = kiosk_token(target, target.kiosks[0])
        staff = staff_token(target)
        desk = first_desk(target)
        ensure_waiting(target, kiosk, "A", args.calls + 3 + 10)
        figures = call_phase(
            target,
            staff,
            desk,
            args.boards,
            calls=args.calls,
            warmup=3,
            processes=args.board_processes,
            compression="deflate",
            client_kind="raw",
            connect_timeout=120,
            event_timeout=10,
            pause=0.05,
            server_cpu=lambda: None,
            server_rss=lambda: None,
        )
    print(f"\n== call -> {args.boards} boards, {args.processes} processes behind nginx")
    print_call(figures)
    return {"boards": args.boards, "all_p95_ms": figures.all_p95_ms}


def failover(args: argparse.Namespace) -> dict[str, Any]:
    """Kill one of two processes under listening boards; until each of its boards is back."""
    with production_site(2) as site:
        boards = [site.board() for _ in range(args.failover_boards)]
        for board in boards:
            board.wait_for("board_state")
        killed = site.kill(0)
        back: list[float] = []
        moved = closed_within(boards, 1.0)
        for board in moved:
            board.wait_for("board_state", timeout=10)
            back.append(board.heard_at["board_state"] - killed)
        for board in boards:
            board.close()
    if not back:
        raise BenchError("no board was on the killed process")
    back.sort()
    print(
        f"\n== failover: {len(moved)} of {len(boards)} boards on the killed process, each back "
        f"with a fresh state after {back[0]:.2f}-{back[-1]:.2f} s (median "
        f"{back[len(back) // 2]:.2f} s)"
    )
    return {"moved": len(moved), "max_seconds": round(back[-1], 3)}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--kiosks", type=int, default=4)
    parser.add_argument("--tickets", type=int, default=2000, help="per process count")
    parser.add_argument("--issue-seconds", type=float, default=20)
    parser.add_argument("--process-counts", default="2,4")
    parser.add_argument("--boards", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2, help="for the boards")
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--board-processes", type=int, default=4)
    parser.add_argument("--failover-boards", type=int, default=40)
    parser.add_argument("--skip", default="", help="comma-separated: issue,boards,failover")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    raise_open_file_limit(args.boards + 1024)
    print(f"popup-loket production bench through nginx; {os.cpu_count()} CPUs", flush=True)
    results: dict[str, Any] = {}
    try:
        if "issue" not in skip:
            counts = [int(n) for n in args.process_counts.split(",")]
            results["issue"] = [tickets_per_second(n, args) for n in counts]
        if "boards" not in skip:
            results["boards"] = call_to_boards(args)
        if "failover" not in skip:
            results["failover"] = failover(args)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    print("\n== summary")
    for row in results.get("issue", []):
        print(
            f"tickets/s, {row['processes']} processes: {row['per_second']:.1f} "
            f"(p95 {row['p95_ms']:.1f} ms)"
        )
    if "boards" in results:
        boards = results["boards"]
        print(f"call -> all {boards['boards']} boards p95: {boards['all_p95_ms']:.1f} ms")
    if "failover" in results:
        print(f"failover: {results['failover']['max_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
