"""The figures of bench/issue_call.py: what each phase records, how it is printed and judged.

`IssueFigures` (one issue phase) and `CallFigures` (one board count of the call->board phase)
are plain records, written as JSON with ``--json``; ``print_*`` print them as one headline and
one line of detail each. `TARGETS_MS` are the figures the project wants; `target_verdicts`
judges a run against them. `code_state` and `print_load` say what was measured and how busy the
machine was, because latencies on a shared machine move with whatever else runs.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.kit.stats import fmt

TARGETS_MS = {  # the figures the project wants on a 2-core machine, clients included
    "issue p95": 10.0,
    "issue p95, paced": 10.0,
    "call->first board p95 (worst N)": 10.0,
    "call->all 200 boards p95": 50.0,
    "call->all 1000 boards p95": 150.0,
}


@dataclass
class IssueFigures:
    """One issue phase: closed loop (`rate_per_client` None) or paced."""

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


@dataclass
class CallFigures:
    """call->board for one number of boards: `calls` measured call-next/finish rounds."""

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


# -- printed --------------------------------------------------------------------------------------


def issue_label(figures: IssueFigures) -> str:
    """The phase's name as printed: closed loop or paced, with its clients and rate."""
    rate = figures.rate_per_client
    if rate is None:
        return f"issue, closed loop ({figures.clients} clients, each sends when answered)"
    return (
        f"issue, paced ({figures.clients} clients x {rate:g}/s = "
        f"{figures.clients * rate:g} tickets/s offered)"
    )


def print_issue(figures: IssueFigures) -> None:
    """One issue phase: tickets/s and latencies, then the early/late p50 and server CPU."""
    headline = (
        f"{issue_label(figures)}: {figures.tickets} tickets, "
        f"{figures.per_second:.1f} tickets/s, p50 {fmt(figures.p50_ms)}, "
        f"p95 {fmt(figures.p95_ms)} (p99 {fmt(figures.p99_ms)}, max {fmt(figures.max_ms)}, "
        f"errors {sum(figures.errors.values())})"
    )
    extra = [
        f"p50 of the first 10% {fmt(figures.first_tenth_p50_ms)}, "
        f"of the last 10% {fmt(figures.last_tenth_p50_ms)}"
    ]
    if figures.server_cpu_ms_per_ticket is not None:
        extra.append(f"server CPU {figures.server_cpu_ms_per_ticket:.1f} ms per ticket")
    if figures.waiting_before is not None:
        extra.append(f"{figures.waiting_before} waiting before")
    print_lines(headline, extra, figures.errors, "error")


def print_call(figures: CallFigures) -> None:
    """One board count: first/all board latencies, then HTTP, CPU, memory and queue."""
    headline = (
        f"call->board N={figures.boards}: first p50 {fmt(figures.first_p50_ms)} "
        f"p95 {fmt(figures.first_p95_ms)}; all p50 {fmt(figures.all_p50_ms)} "
        f"p95 {fmt(figures.all_p95_ms)} (max {fmt(figures.all_max_ms)}); "
        f"{figures.calls} calls, {figures.incomplete} incomplete"
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
    print_lines(headline, extra, figures.errors, "board error")


def print_lines(headline: str, details: list[str], errors: dict[str, int], kind: str) -> None:
    """A headline, its details on one indented line, then one line per kind of error."""
    print(headline, flush=True)
    print("  " + ", ".join(details), flush=True)
    for error, n in errors.items():
        print(f"  {kind} x{n}: {error}", flush=True)


# -- judged ---------------------------------------------------------------------------------------


def target_verdicts(
    issue: IssueFigures | None, paced: IssueFigures | None, calls: list[CallFigures]
) -> list[dict[str, Any]]:
    """Each target that this run measured, its limit, the figure and whether it was met."""
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


def print_targets(verdicts: list[dict[str, Any]]) -> None:
    """Each target with its limit, the measured figure and whether it was met."""
    print("targets:", flush=True)
    for verdict in verdicts:
        state = "met" if verdict["met"] else "MISSED"
        print(
            f"  {verdict['target']} <= {verdict['limit_ms']:.0f} ms: "
            f"{fmt(verdict['measured_ms'])} {state}",
            flush=True,
        )


# -- what was measured, and on how busy a machine -------------------------------------------------


def code_state() -> dict[str, Any]:
    """The checkout's commit and whether it has uncommitted changes (read-only git calls)."""
    root = Path(__file__).resolve().parents[2]
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


def print_load(before: tuple[float, float, float], after: tuple[float, float, float]) -> None:
    """The load average before and after the run, and a note when other work kept the CPUs
    busy (latencies then include waiting for a CPU)."""
    print(
        f"load average (1/5/15 min): before {before[0]:.2f}/{before[1]:.2f}/"
        f"{before[2]:.2f}, after {after[0]:.2f}/{after[1]:.2f}/{after[2]:.2f}",
        flush=True,
    )
    if max(before[0], after[0]) > (os.cpu_count() or 1) + 1:
        print(
            "  note: other work kept the CPUs busy; latencies include waiting for a CPU",
            flush=True,
        )


def write_json(path: Path, results: dict[str, Any], options: dict[str, Any]) -> None:
    """The run's results and options (never the staff password) as JSON."""
    serialisable = {
        **results,
        "issue": asdict(results["issue"]) if results["issue"] else None,
        "issue_paced": asdict(results["issue_paced"]) if results["issue_paced"] else None,
        "call": [asdict(figures) for figures in results["call"]],
        "options": {k: v for k, v in options.items() if k != "staff_password"},
    }
    path.write_text(json.dumps(serialisable, indent=2, default=str) + "\n")
    print(f"figures written to {path}", flush=True)
