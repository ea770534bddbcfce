#!/usr/bin/env python3
"""Where a request's time goes, per layer: py-spy samples folded into layers, and SQL counted.

Three commands (bench/README.md, "Where the time goes"):

``profile tickets|stop [--seconds 20] [--rate 500]``
    Starts a throw-away `loket run` from this checkout with a file printer (bench/stack.py's
    way), loops one keep-alive client on ``POST /api/v1/tickets`` or
    ``GET /api/v1/stops/current`` while ``py-spy record -r RATE -f raw --nonblocking`` samples
    the server, then folds the samples as ``spy`` does, with the server's CPU per request.

``spy RAW [--requests N --rate 500]``
    Reads a ``py-spy record -f raw`` file (one line per stack: ``frame;frame;… count``) of a
    server under a request loop. Each sample goes to where it was taken (a request's greenlet,
    the print worker's greenlet, gevent's threadpool, the event loop) and to its *owner*: the
    innermost frame that belongs to a layer (auth, schemas, the limiter, Babel, services,
    printing, the emit, Flask…), so that a decorator around the view owns only its own work;
    the SQLAlchemy/SQLite part under each owner is shown beside it. With the number of
    requests made, shares become sampled ms per request.

``sql``
    Builds the app in process (bench/kit/app.py: a throw-away SQLite file, a paired kiosk with a
    file printer) and counts the SQL statements of one ``POST /api/v1/tickets`` and one
    ``GET /api/v1/stops/current`` through Flask's test client, listing them.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout: bench.kit

# Where a sample was taken: the first context whose pattern a frame of the stack matches.
CONTEXTS: list[tuple[str, str]] = [
    ("a request's greenlet", r"WSGIHandler\.handle"),
    ("print worker greenlet (on the event loop)", r"PrintSpool\.run|Printing\.run_worker"),
    ("gevent threadpool (offloaded printer I/O)", r"_WorkerGreenlet"),
    ("event loop (gevent hub), other greenlets", r"."),
]
# Who owns a sample: the innermost frame that matches one of these (the first that matches a
# frame wins), so that a decorator around the view (auth, schemas) owns only its own work.
# Frames are "function (path/file.py:line)", as py-spy prints them.
OWNERS: list[tuple[str, str]] = [
    (
        "printing: spool write, fsync (printer/spool, backends)",
        r"printer/spool\.py|printer/backends/",
    ),
    ("printing: render the slip (printer/, escpos, qrcode, PIL)", r"printer/|escpos/|qrcode/|PIL/"),
    (
        "printing: job and station (kiosk/printing)",
        r"kiosk/printing/|PrintService|services/printing",
    ),
    (
        "auth: Flask-Login, kiosk/auth.py, device/token lookup",
        r"flask_login/|kiosk/auth\.py|device_for_credential|user_for_token",
    ),
    ("limiter (flask-limiter, limits)", r"flask_limiter/|/limits/"),
    ("Babel (locale selection, gettext)", r"flask_babel/|/babel/|kiosk/i18n\.py"),
    ("session (Flask, itsdangerous)", r"flask/sessions\.py|itsdangerous/"),
    ("idempotency (Idempotency-Key)", r"idempoten"),
    ("flask-smorest, webargs, marshmallow", r"flask_smorest/|webargs/|marshmallow/"),
    (
        "Socket.IO emit",
        r"SocketIO\.emit|socketio/(server|base_manager|pubsub|packet)|"
        r"engineio/(socket|server|packet|async_drivers)|display/|SocketIONotifier",
    ),
    ("QueueService and other services (kiosk/services)", r"kiosk/services/"),
    ("payloads (kiosk/payloads.py)", r"kiosk/payloads\.py"),
    ("views (kiosk/views)", r"kiosk/views/"),
    ("database session set-up, teardown (kiosk/database.py)", r"kiosk/database\.py"),
    ("Flask, Werkzeug: request context, routing, response", r"flask/|werkzeug/"),
    (
        "WSGI server (gevent pywsgi), Socket.IO middleware",
        r"gevent/pywsgi|engineio/middleware|flask_socketio/__init__",
    ),
    ("the rest of kiosk/ (factories, hooks)", r"kiosk/"),
]
DATABASE = re.compile(r"sqlalchemy/|sqlite3|\((execute|fetchone|fetchall|commit)\)")
OTHER = "other (stdlib, gevent)"
COMPILED_CONTEXTS = [(name, re.compile(pattern)) for name, pattern in CONTEXTS]
COMPILED_OWNERS = [(name, re.compile(pattern)) for name, pattern in OWNERS]
LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")


def owner_of(frame: str) -> str | None:
    return next((name for name, pattern in COMPILED_OWNERS if pattern.search(frame)), None)


@dataclass
class Folded:
    """Sample counts: all, per context, per (context, owner) and of those in the database."""

    total: int = 0
    contexts: Counter[str] = field(default_factory=Counter)
    owners: Counter[tuple[str, str]] = field(default_factory=Counter)
    database: Counter[tuple[str, str]] = field(default_factory=Counter)
    leaves: Counter[str] = field(default_factory=Counter)


def fold(raw: Path) -> Folded:
    folded = Folded()
    for line in raw.read_text(errors="replace").splitlines():
        match = LINE.match(line.strip())
        if not match:
            continue
        count = int(match["count"])
        frames = match["stack"].split(";")
        context = next(
            name for name, pattern in COMPILED_CONTEXTS if any(map(pattern.search, frames))
        )
        owner, depth = OTHER, -1
        for index in range(len(frames) - 1, -1, -1):
            found = owner_of(frames[index])
            if found:
                owner, depth = found, index
                break
        folded.total += count
        folded.contexts[context] += count
        folded.owners[context, owner] += count
        if any(DATABASE.search(frame) for frame in frames[depth + 1 :]):
            folded.database[context, owner] += count
        folded.leaves[frames[-1]] += count
    return folded


def spy(raw: Path, requests: int | None, rate: int, cpu_ms: float | None = None) -> None:
    """Print the layer table of a py-spy raw file (see the module's docstring).

    A sample is 1/`rate` s of a thread that was not idle: running Python, or in a system call
    py-spy does not count as idle (fsync, disk writes). So the ms per request are *sampled*
    time, on the CPU or waiting for the disk, not CPU time alone.
    """
    folded = fold(raw)
    if not folded.total:
        sys.exit(f"no samples in {raw}")
    print(f"{folded.total} samples in {raw}" + (f", {requests} requests" if requests else ""))
    sampled_ms = folded.total * 1000 / rate / requests if requests else None
    if sampled_ms:
        cpu = f"; server CPU {cpu_ms:.2f} ms/request" if cpu_ms else ""
        print(f"sampled time {sampled_ms:.2f} ms/request{cpu}")
    print("| where | layer (innermost owner of the sample) | share | ms/request | of it SQL |")
    print("| --- | --- | ---: | ---: | ---: |")
    for context, _ in CONTEXTS:
        in_context = folded.contexts[context]
        if not in_context:
            continue
        rows = [(owner, n) for (c, owner), n in folded.owners.items() if c == context]
        for owner, count in sorted(rows, key=lambda item: -item[1]):
            share = count / folded.total
            if share < 0.002:
                continue
            ms = f"{share * sampled_ms:.2f}" if sampled_ms else "—"
            sql_share = folded.database[context, owner] / count
            sql_text = f"{sql_share:.0%}" if sql_share else ""
            print(f"| {context} | {owner} | {share:.1%} | {ms} | {sql_text} |")
        share = in_context / folded.total
        ms = f"{share * sampled_ms:.2f}" if sampled_ms else "—"
        print(f"| **{context}** | **all** | **{share:.1%}** | **{ms}** | |")
    in_sql = sum(folded.database.values()) / folded.total
    print(f"\nin SQLAlchemy or SQLite, all contexts: {in_sql:.1%}")
    print("busiest innermost frames:")
    for frame, count in folded.leaves.most_common(15):
        print(f"  {count / folded.total:6.1%}  {frame}")


def sql() -> None:
    from sqlalchemy import event

    from bench.kit.app import PUBLIC_BASE_URL, bench_app, paired_kiosk

    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        config = {
            "PRINTER_BACKEND": "file",
            "PRINTER_PATH": str(workdir / "slips"),
            "PRINTER_PROFILE": "TM-T88V",
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        }
        (workdir / "slips").mkdir()
        with bench_app(f"sqlite:///{workdir / 'loket.db'}", workdir, config) as app:
            from kiosk.factories import tour_service

            with app.app_context():
                _, token = paired_kiosk(tour_service().create_demo().stop)
            engine = app.extensions["loket.engine"]
            statements: list[str] = []

            @event.listens_for(engine, "before_cursor_execute")
            def note(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
                statements.append(" ".join(statement.split())[:110])

            client = app.test_client()
            headers = {"Authorization": f"Bearer {token}"}
            for label, call in (
                (
                    "POST /api/v1/tickets",
                    lambda: client.post("/api/v1/tickets", json={"product": "A"}, headers=headers),
                ),
                ("GET /api/v1/stops/current", lambda: client.get("/api/v1/stops/current")),
            ):
                for _ in range(3):  # past the first request's caches
                    call()
                statements.clear()
                response = call()
                print(f"\n{label}: HTTP {response.status_code}, {len(statements)} statements")
                for statement in statements:
                    print(f"  {statement}")


def profile(kind: str, seconds: int, rate: int, out: Path | None, gil: bool = False) -> None:
    import shutil
    import subprocess
    import threading
    import time

    from bench.kit.server import LocalServer, kiosk_token
    from bench.kit.sides import BOOT, ROOT

    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    folder = Path(tempfile.mkdtemp(prefix="loket-profile-"))
    env = {
        "PYTHONPATH": str(ROOT),
        "LOKET_PRINTER_BACKEND": "file",
        "LOKET_PRINTER_PATH": str(folder),
        "LOKET_PRINTER_PROFILE": "TM-T88V",
    }
    server = LocalServer(
        kiosks=1, keep=False, command=[sys.executable, "-c", BOOT], cwd=ROOT, env=env
    )
    server.env["LOKET_INSTANCE_PATH"] = str(server.dir / "instance")
    server.env["LOKET_PRINT_SPOOL_DIR"] = str(server.dir / "spool")
    raw = out or folder / f"{kind}.raw"
    try:
        target = server.setup()
        server.start()
        assert server.process is not None
        token = kiosk_token(target, target.kiosks[0])
        method, path, body = (
            ("POST", "/api/v1/tickets", {"product": "A"})
            if kind == "tickets"
            else ("GET", "/api/v1/stops/current", None)
        )
        client = target.client()
        for _ in range(50):  # warm-up
            client.request(method, path, body, token=token if body else None)
        done = [0]
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                client.request(method, path, body, token=token if body else None)
                done[0] += 1

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        time.sleep(1)
        cpu_before, count_before = server.cpu_seconds(), done[0]
        pid, options = str(server.process.pid), ["-r", str(rate), "-f", "raw", "--nonblocking"]
        options += ["--gil"] if gil else []
        subprocess.run(
            [py_spy, "record", "-p", pid, *options, "-d", str(seconds), "-o", str(raw)],
            check=True,
            capture_output=True,
        )
        cpu_after, count_after = server.cpu_seconds(), done[0]
        stop.set()
        thread.join(10)
        client.close()
        requests = count_after - count_before
        cpu_ms = ((cpu_after or 0) - (cpu_before or 0)) * 1000 / max(requests, 1)
        print(f"{kind}: {requests} requests in {seconds} s (one keep-alive client)")
        spy(raw, requests, rate, cpu_ms)
    finally:
        server.finish()
        shutil.rmtree(folder, ignore_errors=True)  # the slips (and the samples, unless --out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    spy_parser = commands.add_parser("spy", help="fold a py-spy raw file into layers")
    spy_parser.add_argument("raw", type=Path)
    spy_parser.add_argument("--requests", type=int)
    spy_parser.add_argument("--rate", type=int, default=500, help="py-spy's -r")
    commands.add_parser("sql", help="count the SQL statements of one request of each kind")
    profile_parser = commands.add_parser("profile", help="py-spy a live server under a loop")
    profile_parser.add_argument("kind", choices=("tickets", "stop"))
    profile_parser.add_argument("--seconds", type=int, default=20)
    profile_parser.add_argument("--rate", type=int, default=500)
    profile_parser.add_argument("--out", type=Path, help="keep the raw samples in this file")
    profile_parser.add_argument(
        "--gil", action="store_true", help="only samples that hold the GIL (Python's CPU)"
    )
    args = parser.parse_args()
    if args.command == "spy":
        spy(args.raw, args.requests, args.rate)
    elif args.command == "profile":
        profile(args.kind, args.seconds, args.rate, args.out, args.gil)
    else:
        sql()


if __name__ == "__main__":
    main()
