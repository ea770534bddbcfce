"""What printing costs a kiosk's request, and how soon the slip reaches the printer.

    .venv/bin/python bench/print_path.py [--tickets 200] [--json figures.json]

1. **In the request** (in-process, SQLite file in WAL mode, the spool on this disk): the time
   `Printing.submit` adds to a kiosk's ticket after its commit (the print-job row, the slip's
   texts), and the work that follows the response (rendering the slip, writing it durably into
   the spool with fsync). Per QR mode.
2. **Ticket → printer** (a real `loket run` with its print worker, a network printer on
   127.0.0.1 that accepts ESC/POS like port 9100 and answers status queries): from the kiosk's
   `201 Created` to the last byte of the slip at the printer, one ticket at a time.
3. **A slip's work, stage by stage** (in-process, file printer into a folder, native QR): the
   server's CPU (``time.process_time``, the kernel's share of fsync included) and wall time of
   each stage a slip goes through after its ticket's commit: its texts (in the request), render
   and durable spool write (after the response), the printer write with the move to printed/,
   and recording the outcome on the job's row with its events (the print worker, on the event
   loop). The CPU is what one process spends per slip, beside the kiosk's next request.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout: kiosk, bench.kit

from bench.kit.app import PUBLIC_BASE_URL, bench_app, paired_kiosk, parse_options, write_figures
from bench.kit.stats import summary

# -- 1. in the request ---------------------------------------------------------------------------


def in_request(tickets: int, qr_mode: str, workdir: Path) -> dict[str, Any]:
    """What `Printing.submit` adds to a kiosk's ticket, and the work after its response, for
    `tickets` tickets in one QR mode."""
    from kiosk.factories import queue_service, tour_service

    database = workdir / f"loket-{qr_mode}.db"
    slips = workdir / f"slips-{qr_mode}"
    slips.mkdir()
    config = {
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "PRINTER_BACKEND": "file",
        "PRINTER_PATH": str(slips),
        "PRINTER_PROFILE": "TM-T88V",
        "PRINTER_QR_MODE": qr_mode,
        "PRINT_SPOOL_DIR": str(workdir / f"spool-{qr_mode}"),
    }
    samples, after = [], []
    with bench_app(f"sqlite:///{database}", workdir, config) as app, app.app_context():
        stop = tour_service().create_demo().stop
        device, _credential = paired_kiosk(stop)
        printing = app.extensions["loket.printing"]
        queue = queue_service()
        product = stop.products[0].code
        for _ in range(tickets):
            with app.test_request_context():
                ticket, position, *_ = queue.issue_ticket_with_position(stop, product)
                began = time.perf_counter()
                job = printing.submit(ticket, device, position=position)
                samples.append(time.perf_counter() - began)
                assert job is not None and job.status.value == "queued", job
                response = app.process_response(app.response_class())
            began = time.perf_counter()
            response.close()  # as the WSGI server does once it sent it: the work after it
            after.append(time.perf_counter() - began)
        station = printing.station(printing.config_for(device))
        pending = station.spool.pending()
        assert len(pending) == tickets, f"{len(pending)} of {tickets} slips reached the spool"
        size = len(pending[0].data)
    return {**summary(samples), "after_response": summary(after), "slip_bytes": size}


# -- 2. ticket -> printer -------------------------------------------------------------------------


class PrinterSink:
    """A network receipt printer on 127.0.0.1: answers DLE EOT, records when each job ended."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.jobs: list[tuple[float, bytes]] = []
        self.arrived = threading.Condition()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            conn, _ = self.server.accept()
            with conn:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                received = bytearray()
                while chunk := conn.recv(65536):
                    received += chunk
                    if chunk.endswith(b"\x10\x04\x01"):
                        conn.sendall(b"\x16")  # online
                    elif chunk.endswith(b"\x10\x04\x04"):
                        conn.sendall(b"\x12")  # paper ok
                with self.arrived:
                    self.jobs.append((time.perf_counter(), bytes(received)))
                    self.arrived.notify_all()

    def wait_for(self, fragment: bytes, timeout: float = 10) -> float:
        with self.arrived:
            found = self.arrived.wait_for(
                lambda: next((t for t, data in self.jobs if fragment in data), None), timeout
            )
        if found is None:
            raise RuntimeError(f"the slip with {fragment!r} never reached the printer")
        return found


def ticket_to_printer(tickets: int, workdir: Path) -> dict[str, Any]:
    import requests

    from tests.live import LiveServer

    sink = PrinterSink()
    server = LiveServer(
        workdir / "live",
        env_extra={
            "LOKET_PRINTER_BACKEND": "network",
            "LOKET_PRINTER_HOST": "127.0.0.1",
            "LOKET_PRINTER_PORT": str(sink.port),
            "LOKET_PRINTER_PROFILE": "TM-T88V",
        },
    )
    server.setup()
    server.start()
    try:
        stop_id = server.login() and server.current_stop()["id"]
        out = server.cli("device", "add", "kiosk", "Bench kiosk", "--stop", str(stop_id))
        code = re.search(r"/pair/(\S+)", out).group(1)
        session = requests.Session()
        token = session.post(f"{server.url}/api/v1/devices/pair", json={"code": code}).json()
        session.headers["Authorization"] = f"Bearer {token['token']}"
        samples = []
        for _ in range(tickets):
            response = session.post(f"{server.url}/api/v1/tickets", json={"product": "A"})
            created = time.perf_counter()
            assert response.status_code == 201, response.text
            arrived = sink.wait_for(response.json()["token"].encode())
            samples.append(max(arrived - created, 0.0))
    finally:
        server.stop()
    return summary(samples)


# -- 3. a slip's work, stage by stage -------------------------------------------------------------

STAGES = ("texts", "render", "spool write", "printer write", "record")


def slip_stages(tickets: int, workdir: Path) -> dict[str, Any]:
    """CPU and wall time per stage of a slip (see the module's docstring), `tickets` slips."""
    from kiosk.factories import print_service, queue_service, tour_service
    from kiosk.models import PrintKind, PrintStatus
    from kiosk.printing.slips import ticket_slip

    config = {
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "PRINTER_BACKEND": "file",
        "PRINTER_PATH": str(workdir / "slips-stages"),
        "PRINTER_PROFILE": "TM-T88V",
        "PRINT_SPOOL_DIR": str(workdir / "spool-stages"),
    }
    (workdir / "slips-stages").mkdir()
    cpu: dict[str, float] = dict.fromkeys(STAGES, 0.0)
    wall: dict[str, list[float]] = {stage: [] for stage in STAGES}

    def stage(name: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        began, began_cpu = time.perf_counter(), time.process_time()
        result = call(*args, **kwargs)
        wall[name].append(time.perf_counter() - began)
        cpu[name] += time.process_time() - began_cpu
        return result

    database = workdir / "loket-stages.db"
    with bench_app(f"sqlite:///{database}", workdir, config) as app, app.app_context():
        stop = tour_service().create_demo().stop
        device, _credential = paired_kiosk(stop)
        printing = app.extensions["loket.printing"]
        station = printing.station(printing.config_for(device))
        station.spool.on_result = None  # recorded below, as its own stage
        queue, product = queue_service(), stop.products[0].code
        for _ in range(tickets):
            ticket, position, *_ = queue.issue_ticket_with_position(stop, product)
            job = print_service().create_job(kind=PrintKind.TICKET, ticket=ticket, device=device)
            slip = stage("texts", ticket_slip, ticket, language="nl", position=position)
            data = stage("render", station.printer.render, slip)
            stage("spool write", station.spool.add_once, data, tag=str(job.id))
            results = stage("printer write", station.spool.process_once, station.printer)
            assert [result.ok for result in results] == [True], results
            stage("record", print_service().record, job.id, PrintStatus.PRINTED, attempts=1)
    figures: dict[str, Any] = {
        name: {"cpu_ms": round(cpu[name] * 1000 / tickets, 3), **summary(wall[name])}
        for name in STAGES
    }
    figures["all"] = {"cpu_ms": round(sum(cpu.values()) * 1000 / tickets, 3)}
    return figures


def main() -> None:
    args = parse_options(__doc__, tickets=200)
    os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", tempfile.gettempdir())
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="loket-print-bench-") as tmp:
        workdir = Path(tmp)
        for mode in ("native", "image"):
            figures[f"submit_{mode}"] = in_request(args.tickets, mode, workdir)
            print(f"submit in the request, {mode} QR: {figures[f'submit_{mode}']}", flush=True)
        figures["ticket_to_printer"] = ticket_to_printer(min(args.tickets, 100), workdir)
        print(f"201 Created -> slip at the printer: {figures['ticket_to_printer']}", flush=True)
        figures["slip_stages"] = slip_stages(max(args.tickets, 500), workdir)
        print("a slip's work per stage (CPU per slip; wall p50 / p95):", flush=True)
        for name, figure in figures["slip_stages"].items():
            times = f"; {figure['p50_ms']:.2f} / {figure['p95_ms']:.2f} ms" if "n" in figure else ""
            print(f"  {name:14s} {figure['cpu_ms']:.3f} ms{times}", flush=True)
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()
