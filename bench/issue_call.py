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

The clients, the throw-away server and the figures' records live in bench/kit/ (see its
``__init__``); this script is the two measurements and the command line.

See bench/README.md for how to run it and how to read the figures.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout: bench.kit

from bench.kit import BenchError
from bench.kit.boards import BoardFleet, raise_open_file_limit
from bench.kit.figures import (
    CallFigures,
    IssueFigures,
    code_state,
    print_call,
    print_issue,
    print_load,
    print_targets,
    target_verdicts,
    write_json,
)
from bench.kit.http import expect
from bench.kit.server import (
    LocalServer,
    Target,
    ensure_waiting,
    first_desk,
    kiosk_token,
    staff_token,
    waiting_count,
)
from bench.kit.stats import ms, percentile


class Watchdog(BaseException):
    """Raised in the main thread when --max-seconds has passed."""


# -- 1. issuing tickets ---------------------------------------------------------------------------


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
        client = target.client()
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


# -- 2. call -> board -----------------------------------------------------------------------------


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
    ws_url = target.ws_url
    life = connect_timeout + (warmup + calls) * (2 * event_timeout + pause + 20) + 120
    fleet = BoardFleet(
        ws_url,
        boards,
        cafile=target.cafile,
        processes=min(processes, boards),
        compression=compression,
        client_kind=client_kind,
        connect_timeout=connect_timeout,
        life_seconds=life,
    )
    client = target.client()
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


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, checked; adds `board_counts` and `issue_mode_list`."""
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


def target_from_url(args: argparse.Namespace) -> Target:
    """The --url server and the credentials given for it on the command line."""
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


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Set up or reach the server, run the call->board and issue phases, stop the server."""
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
                call_figures = call_phase(
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
                results["call"].append(call_figures)
                print_call(call_figures)

        for mode in [] if args.skip_issue else args.issue_mode_list:
            paced = mode == "paced"
            status = target.client()
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
            results["server"] = server.finish()
    results["targets"] = target_verdicts(results["issue"], results["issue_paced"], results["call"])
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark under the watchdog and print the figures; the exit status."""
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
    except OSError as error:  # --url pointing at a server that is not there
        print(f"bench: cannot reach the server: {error}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
    load_after = os.getloadavg()
    results["load_average"] = {"before": load_before, "after": load_after}
    print_load(load_before, load_after)
    print_targets(results["targets"])
    if args.json:
        write_json(args.json, results, vars(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
