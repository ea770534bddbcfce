#!/usr/bin/env python3
"""popup-loket side by side with the bare stack, in one run on the same machine (issue #17).

The bare stack (bench/bare_app.py: Flask + Flask-SocketIO on gevent + SQLite and nothing of
ours) is what our dependencies can do; popup-loket runs as `loket run` with a file printer
(``LOKET_PRINTER_BACKEND=file``, TM-T88V), so that every kiosk ticket is really printed. A
second popup-loket without a printer gives the ticket figure with printing off, for reference.
All three are served from this checkout (its ``kiosk`` first on ``PYTHONPATH``), on 127.0.0.1.

Measured on each, alternating between the servers so that noise on a shared machine hits both
alike:

1. server RSS idle (after start-up and a warm-up, before any board connects);
2. call -> all N boards, p95, for each N in ``--boards`` (200, 1000): `call_phase` of
   bench/issue_call.py, the servers taking turns per N; RSS with the boards connected, and
   from it the memory per connection;
3. a kiosk's ``POST /api/v1/tickets``: one kiosk client on a keep-alive connection, one request
   at a time (the latency of a single tap, not a queue behind other kiosks), p50/p95 and the
   server's CPU per ticket, in ``--blocks`` blocks per server taken in turn;
4. ``GET /api/v1/stops/current``, p50 and CPU per read, the same way.

One table (figure | bare | popup-loket | ratio | target | met?), ``--json FILE`` for the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout: bench.kit

from bench.issue_call import call_phase
from bench.kit import BenchError
from bench.kit.boards import raise_open_file_limit
from bench.kit.figures import code_state
from bench.kit.server import LocalServer
from bench.kit.sides import (
    BOOT,
    ROOT,
    BareServer,
    Side,
    bare_side,
    in_turns,
    project_side,
    timed_requests,
    warm_up,
)
from bench.kit.stats import percentile

PRINTER = {"LOKET_PRINTER_BACKEND": "file", "LOKET_PRINTER_PROFILE": "TM-T88V"}


# -- the measurements -----------------------------------------------------------------------------


def start(args: argparse.Namespace, folder: Path, servers: list[Any]) -> list[Side]:
    """The bare stack, popup-loket with the file printer and without; appended to `servers`
    as they start, so that the caller stops whatever started."""
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    printer = {**PRINTER, "LOKET_PRINTER_PATH": str(folder / "slips")}
    (folder / "slips").mkdir()
    servers.append(BareServer(folder))
    for extra in (printer, {}):
        server = LocalServer(
            kiosks=1,
            keep=args.keep_tmp,
            command=[sys.executable, "-c", BOOT],
            cwd=ROOT,
            env={**env, **extra},
        )
        # Never the checkout's instance/ (nor its print spool, which a running server may share).
        server.env["LOKET_INSTANCE_PATH"] = str(server.dir / "instance")
        server.env["LOKET_PRINT_SPOOL_DIR"] = str(server.dir / "spool")
        servers.append(server)
    sides = [
        bare_side(servers[0]),
        project_side("popup-loket", servers[1], args.product),
        project_side("popup-loket, no printer", servers[2], args.product),
    ]
    origin = re.search(r"kiosk from (\S+)", servers[1].log_path.read_text())
    print(f"popup-loket: kiosk from {origin.group(1) if origin else '?'}", flush=True)
    print(f"bare stack: {ROOT / 'bench' / 'bare_app.py'}", flush=True)
    return sides


def calls_in_turns(args: argparse.Namespace, sides: list[Side]) -> dict[int, dict[str, Any]]:
    """call -> all N boards on each side, for each N; who goes first turns with N."""
    rounds = args.calls + args.call_warmup
    calls: dict[int, dict[str, Any]] = {}
    for number, boards in enumerate(args.board_counts):
        calls[boards] = {}
        for side in sides if number % 2 == 0 else sides[::-1]:
            side.fill_queue(args.call_queue + rounds)
            figures = call_phase(
                side.target,
                side.staff,
                side.desk,
                boards,
                calls=args.calls,
                warmup=args.call_warmup,
                processes=args.board_processes,
                compression="deflate",  # offered as browsers do; both servers decline it
                client_kind="raw",
                connect_timeout=60,
                event_timeout=10,
                pause=0.05,
                server_cpu=side.cpu,
                server_rss=side.rss,
            )
            calls[boards][side.name] = figures
            print(
                f"call -> all {boards} boards, {side.name}: p50 {figures.all_p50_ms:.1f} ms,"
                f" p95 {figures.all_p95_ms:.1f} ms, RSS {figures.server_rss_mb:.0f} MB",
                flush=True,
            )
    return calls


def measure(args: argparse.Namespace, folder: Path, servers: list[Any]) -> dict[str, Any]:
    """Start the servers and take every figure (the caller stops the servers)."""
    bare, project, no_printer = start(args, folder, servers)
    for side in (project, bare, no_printer):
        warm_up(side, args.call_queue + args.calls + args.call_warmup)
    time.sleep(1)
    idle = {side.name: side.rss() for side in (bare, project, no_printer)}
    print(
        f"RSS idle: bare {idle['bare']:.0f} MB, popup-loket {idle[project.name]:.0f} MB,"
        f" without a printer {idle[no_printer.name]:.0f} MB"
    )
    calls = calls_in_turns(args, [project, bare])
    body = {"product": args.product}
    for side in (bare, project, no_printer):  # unmeasured: the connection, first caches
        timed_requests(side, "POST", "/api/v1/tickets", 20, 201, body)
    per_block = max(args.tickets // args.blocks, 1)
    issue, issue_cpu = in_turns(
        [bare, project, no_printer],
        args.blocks,
        lambda side: timed_requests(side, "POST", "/api/v1/tickets", per_block, 201, body),
    )
    per_block = max(args.paced_tickets // args.blocks, 1)
    paced, _ = in_turns(
        [bare, project, no_printer],
        args.blocks,
        lambda side: timed_requests(
            side, "POST", "/api/v1/tickets", per_block, 201, body, interval=args.tap_interval
        ),
    )
    per_block = max(args.reads // args.blocks, 1)
    reads, reads_cpu = in_turns(
        [bare, project],
        args.blocks,
        lambda side: timed_requests(side, "GET", "/api/v1/stops/current", per_block, 200),
    )
    slips = sum(1 for path in (folder / "slips").rglob("*") if path.is_file())
    print(f"slips printed: {slips} file(s)", flush=True)
    return {
        "idle": idle,
        "calls": calls,
        "issue": issue,
        "issue_cpu": issue_cpu,
        "paced": paced,
        "reads": reads,
        "reads_cpu": reads_cpu,
        "slip_files": slips,
        "tap_interval": args.tap_interval,
    }


# -- the table ------------------------------------------------------------------------------------


def judge(value: float | None, limit: float | None) -> bool | None:
    return None if value is None or limit is None else value <= limit


def table(m: dict[str, Any], board_counts: list[int]) -> list[dict[str, Any]]:
    """The rows: (figure, bare, popup-loket, unit, target, limit for popup-loket)."""
    p, project, unprinted = percentile, "popup-loket", "popup-loket, no printer"
    issue, reads, idle, paced = m["issue"], m["reads"], m["idle"], m["paced"]
    every = f"{m['tap_interval'] * 1000:.0f} ms"
    most = max(board_counts)
    full = {name: m["calls"][most][name].server_rss_mb for name in ("bare", project)}
    per_board = {
        name: (full[name] - idle[name]) * 1024 * 1024 / most if full[name] and idle[name] else None
        for name in full
    }
    Spec = tuple[str, float | None, float | None, str, str, float | None]

    def latency(
        figure: str,
        samples: dict[str, list[float]],
        side: str,
        q: float,
        target: str = "—",
        limit: float | None = None,
    ) -> Spec:
        return (figure, p(samples["bare"], q), p(samples[side], q), "ms", target, limit)

    def cpu(figure: str, per_request: dict[str, float | None], side: str) -> Spec:
        return (figure, per_request["bare"], per_request[side], "ms", "—", None)

    tap = f"one tap every {every}"
    specs: list[Spec] = [
        latency(
            "kiosk POST /api/v1/tickets, keep-alive, p95 (file printer on)",
            issue,
            project,
            95,
            "≤ 2.5 ms",
            2.5,
        ),
        latency("  the same with no printer (reference)", issue, unprinted, 95),
        latency(
            f"  {tap} (a kiosk's pace, far above a stop's), p95, printer on",
            paced,
            project,
            95,
            "≤ 2.5 ms",
            2.5,
        ),
        latency(f"  {tap}, p95, no printer (reference)", paced, unprinted, 95),
        cpu("  server CPU per ticket (printer on)", m["issue_cpu"], project),
        cpu("  server CPU per ticket (no printer)", m["issue_cpu"], unprinted),
        latency("GET /api/v1/stops/current, p50", reads, project, 50, "≤ 1.0 ms", 1.0),
        cpu("  server CPU per stop read", m["reads_cpu"], project),
    ]
    for boards in board_counts:
        bare_p95 = m["calls"][boards]["bare"].all_p95_ms
        specs.append(
            (
                f"call → all {boards:,} boards, p95",
                bare_p95,
                m["calls"][boards][project].all_p95_ms,
                "ms",
                "≤ 1.3 × bare",
                1.3 * bare_p95 if bare_p95 else None,
            )
        )
    specs += [
        ("server RSS idle", idle["bare"], idle[project], "MB", "≤ 80 MB", 80),
        ("  the same with no printer (reference)", idle["bare"], idle[unprinted], "MB", "—", None),
        (f"server RSS with {most:,} boards", full["bare"], full[project], "MB", "≤ 150 MB", 150),
        ("memory per board connection", per_board["bare"], per_board[project], "B", "—", None),
    ]
    return [
        {
            "figure": figure,
            "bare": bare,
            "project": ours,
            "unit": unit,
            "ratio": ours / bare if bare and ours is not None else None,
            "target": target,
            "met": judge(ours, limit),
        }
        for figure, bare, ours, unit, target, limit in specs
    ]


def print_table(rows: list[dict[str, Any]]) -> None:
    def show(value: float | None, unit: str) -> str:
        if value is None:
            return "—"
        return f"{value:,.0f} {unit}" if unit in ("B", "MB") else f"{value:.2f} {unit}"

    lines = [("Figure", "bare", "popup-loket", "ratio", "target", "met?")]
    for r in rows:
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}×"
        met = "—" if r["met"] is None else ("yes" if r["met"] else "NO")
        bare, ours = show(r["bare"], r["unit"]), show(r["project"], r["unit"])
        lines.append((r["figure"], bare, ours, ratio, r["target"], met))
    widths = [max(len(line[i]) for line in lines) for i in range(6)]
    for number, line in enumerate(lines):
        cells = " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        print(f"| {cells} |")
        if number == 0:
            print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    sys.stdout.flush()


# -- main -----------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boards", default="200,1000", help="board counts, comma-separated")
    parser.add_argument("--calls", type=int, default=30, help="measured call rounds per N")
    parser.add_argument("--call-warmup", type=int, default=3)
    parser.add_argument("--call-queue", type=int, default=50, help="tickets waiting at calls")
    parser.add_argument("--board-processes", type=int, default=4)
    parser.add_argument("--tickets", type=int, default=1000, help="tickets per server")
    parser.add_argument(
        "--paced-tickets", type=int, default=300, help="tickets per server at --tap-interval"
    )
    parser.add_argument(
        "--tap-interval", type=float, default=0.05, help="seconds between paced taps"
    )
    parser.add_argument("--reads", type=int, default=1000, help="stop reads per server")
    parser.add_argument("--blocks", type=int, default=5, help="turns per server")
    parser.add_argument("--product", default="A")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the servers' folders")
    args = parser.parse_args()
    args.board_counts = [int(n) for n in args.boards.split(",") if n.strip()]
    return args


def main() -> int:
    args = parse_args()
    load = os.getloadavg()
    print(
        f"stack bench: bare stack vs popup-loket; boards {args.board_counts}, "
        f"{args.calls} calls each; {args.tickets} tickets and {args.reads} reads per server, "
        f"1 kiosk client, {args.blocks} turns; load {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}",
        flush=True,
    )
    began = time.monotonic()
    raise_open_file_limit()
    folder = Path(tempfile.mkdtemp(prefix="loket-stack-"))
    servers: list[Any] = []
    try:
        figures = measure(args, folder, servers)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        for server in reversed(servers):
            if isinstance(server, LocalServer):
                server.finish()
            else:
                server.stop()
        if not args.keep_tmp:
            shutil.rmtree(folder, ignore_errors=True)
    rows = table(figures, args.board_counts)
    print()
    print_table(rows)
    for phase, label in (("issue", "back to back"), ("paced", "paced")):
        for name, samples in figures[phase].items():
            print(
                f"tickets {label}, {name}: p50 {percentile(samples, 50):.2f} ms, "
                f"p95 {percentile(samples, 95):.2f} ms, max {max(samples):.1f} ms "
                f"({len(samples)})"
            )
    after, code = os.getloadavg(), code_state()
    print(
        f"load after {after[0]:.2f}/{after[1]:.2f}/{after[2]:.2f}; "
        f"{time.monotonic() - began:.0f} s; code {code}"
    )
    if args.json:
        calls = {
            boards: {name: {**asdict(f), "samples": None} for name, f in by_side.items()}
            for boards, by_side in figures["calls"].items()
        }
        results = {**figures, "calls": calls, "table": rows, "code": code, "load": [load, after]}
        options = {k: v for k, v in vars(args).items() if k != "json"}
        args.json.write_text(json.dumps({**results, "options": options}, indent=1, default=str))
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
