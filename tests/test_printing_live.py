"""A kiosk's slip on a real TCP printer through a real `loket run` (gevent, the print worker in
the server process): printed, then paper out, the fault on the API and the desks' socket room,
and a reprint once paper is back. The printer is tests/printers.py's ESC/POS fake on 127.0.0.1."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from tests.printers import PAPER_OK, PAPER_OUT

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("quick_websocket_close")]


def printer_env(port: int) -> dict[str, str]:
    return {
        "LOKET_PRINTER_BACKEND": "network",
        "LOKET_PRINTER_HOST": "127.0.0.1",
        "LOKET_PRINTER_PORT": str(port),
        "LOKET_PRINTER_PROFILE": "TM-T88V",
        "LOKET_PRINTER_TIMEOUT": "2",
        "LOKET_PRINT_MAX_ATTEMPTS": "2",
        "LOKET_PRINT_RETRY_SECONDS": "[0.2]",
        "LOKET_PRINT_POLL_SECONDS": "0.5",
    }


def pair_kiosk(server: Any, stop_id: int) -> dict[str, str]:
    out = server.cli("device", "add", "kiosk", "Kiosk hal", "--stop", str(stop_id))
    code = re.search(r"/pair/(\S+)", out).group(1)
    response = requests.post(f"{server.url}/api/v1/devices/pair", json={"code": code}, timeout=5)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def wait_for_jobs(server: Any, board: Any, stop_id: int, done: Any) -> list[dict[str, Any]]:
    """Follow the stop's printer_changed events until the job list satisfies `done`."""
    for _ in range(50):
        jobs = server.api("GET", f"/stops/{stop_id}/print-jobs")
        if done(jobs):
            return jobs
        board.wait_for("printer_changed")
    raise AssertionError(f"print jobs never got there: {jobs}")


def test_slip_prints_paper_runs_out_staff_see_it_and_reprint(
    make_server, make_client, fake_printer
):
    server = make_server(env_extra=printer_env(fake_printer.port))
    server.start()
    server.login()
    stop_id = server.current_stop()["id"]
    kiosk = pair_kiosk(server, stop_id)
    # What a desk page listens to (staff: the stop's staff room hears printer_changed).
    board = make_client(server.url, auth={"stop": stop_id}, headers=server.headers)
    board.wait_for("board_state")

    # The worker asks the printer how it is; the desks hear of it. Its first answer may come
    # before this client joined the room, so the API is read first and each event re-reads it.
    def kiosk_printer() -> dict[str, Any] | None:
        (device,) = [d for d in server.api("GET", "/devices") if d["name"] == "Kiosk hal"]
        return device["printer"]

    wait_for_jobs(server, board, stop_id, lambda _j: (kiosk_printer() or {}).get("state"))
    assert kiosk_printer()["state"] == "paper_ok"

    first = server.api("POST", "/tickets", expect=201, json={"product": "A"}, headers=kiosk)
    assert first["print_status"] == "queued"
    slip = fake_printer.wait_for_job(first["token"].encode())
    assert first["status_url"].encode() in slip and first["label"].encode() in slip
    jobs = wait_for_jobs(server, board, stop_id, lambda j: j and j[0]["status"] == "printed")
    assert jobs[0]["ticket"]["label"] == first["label"]

    # Paper out: the slip is refused, retried, then staff see it; the ticket stays issued.
    fake_printer.paper = PAPER_OUT
    second = server.api("POST", "/tickets", expect=201, json={"product": "A"}, headers=kiosk)
    wait_for_jobs(server, board, stop_id, lambda j: j[0]["status"] == "failed")
    (fault,) = server.api("GET", f"/stops/{stop_id}/print-jobs?faults=true")
    assert fault["ticket"]["label"] == second["label"] and "paper" in fault["error"]
    assert fault["attempts"] == 2
    assert server.api("GET", f"/tickets/{second['token']}")["status"] == "waiting"
    wait_for_jobs(
        server,
        board,
        stop_id,
        lambda _j: (
            server.api("GET", f"/stops/{stop_id}/devices")[0]["printer"]["state"] == "paper_out"
        ),
    )

    # Paper back: staff reprint, and the fault list is empty again.
    fake_printer.paper = PAPER_OK
    server.api("POST", "/print-jobs", expect=202, json={"ticket": second["token"]})
    fake_printer.wait_for_job(second["token"].encode())
    wait_for_jobs(server, board, stop_id, lambda j: j[0]["status"] == "printed")
    assert server.api("GET", f"/stops/{stop_id}/print-jobs?faults=true") == []
