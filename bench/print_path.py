"""What printing costs a kiosk's request, and how soon the slip reaches the printer.

    .venv/bin/python bench/print_path.py [--tickets 200] [--json figures.json]

1. **In the request** (in-process, SQLite file in WAL mode, the spool on this disk): the time
   `Printing.submit` adds to a kiosk's ticket after its commit: the print-job row, rendering the
   slip, and writing it durably (fsync) into the spool. Per QR mode.
2. **Ticket → printer** (a real `loket run` with its print worker, a network printer on
   127.0.0.1 that accepts ESC/POS like port 9100 and answers status queries): from the kiosk's
   `201 Created` to the last byte of the slip at the printer, one ticket at a time.
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
    """What `Printing.submit` adds to a kiosk's ticket, for `tickets` tickets in one QR mode."""
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
    samples = []
    with bench_app(f"sqlite:///{database}", workdir, config) as app, app.test_request_context():
        stop = tour_service().create_demo().stop
        device, _credential = paired_kiosk(stop)
        printing = app.extensions["loket.printing"]
        queue = queue_service()
        product = stop.products[0].code
        for _ in range(tickets):
            ticket, position, *_ = queue.issue_ticket_with_position(stop, product)
            began = time.perf_counter()
            job = printing.submit(ticket, device, position=position)
            samples.append(time.perf_counter() - began)
            assert job is not None and job.status.value == "queued", job
        station = printing.station(printing.config_for(device))
        size = len(station.spool.pending()[0].data)
    return {**summary(samples), "slip_bytes": size}


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
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()
