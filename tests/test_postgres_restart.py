"""The PostgreSQL restart drill: the database server restarts (with its cluster tools) while a
kiosk keeps tapping on a real `loket run`. During the outage every answer is a clear 503 (never
a 500 or a hang), full service returns within seconds without restarting `loket run` (the pool
checks its connections before use), and every tap ends with exactly one ticket.

Restarting the cluster affects everything on this machine's PostgreSQL, so the test runs only
where CI (or a developer who sets LOKET_TEST_PG_RESTART=1) allows it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import IN_CI
from tests.live import LiveServer

pytestmark = [pytest.mark.live, pytest.mark.postgres]

ALLOWED = IN_CI or os.environ.get("LOKET_TEST_PG_RESTART") == "1"
RECOVERY_SECONDS = 10.0


def cluster() -> tuple[str, str]:
    """The local cluster's version and name, as `pg_lsclusters` lists it."""
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir() if p.is_dir())
    return versions[-1], "main"


def restart_postgres() -> None:
    version, name = cluster()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart", "-m", "fast"],
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.mark.skipif(not ALLOWED, reason="restarts PostgreSQL: set LOKET_TEST_PG_RESTART=1")
@pytest.mark.skipif(shutil.which("pg_ctlcluster") is None, reason="no pg_ctlcluster here")
def test_a_postgres_restart_gives_clear_503s_and_service_returns_by_itself(make_server, pg_url):
    server: LiveServer = make_server("pg", database_url=pg_url)
    server.setup(migrate=False)
    server.start()
    headers = server.login()
    stop = threading.Event()
    answers: list[tuple[float, int, str]] = []  # when, status, error code
    issued: dict[str, str] = {}
    failures: list[str] = []

    def kiosk() -> None:
        session = requests.Session()
        number = 0
        while not stop.is_set():
            number += 1
            key = f"pg-drill-{number:05d}"
            while not stop.is_set() or key not in issued:  # a started tap is always finished
                try:
                    response = session.post(
                        f"{server.url}/api/v1/tickets",
                        json={"product": "A"},
                        headers={**headers, "Idempotency-Key": key},
                        timeout=10,
                    )
                except requests.RequestException as error:  # the server itself must stay up
                    failures.append(f"no answer: {error}")
                    return
                body = response.json()
                code = body.get("error", {}).get("code", "")
                answers.append((time.monotonic(), response.status_code, code))
                if response.status_code in (200, 201):
                    issued[key] = body["label"]
                    break
                if response.status_code != 503:
                    failures.append(f"{response.status_code}: {body}")
                    return
                stop.wait(0.2)  # the kiosk's retry pause
            stop.wait(0.1)

    worker = threading.Thread(target=kiosk)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while len(issued) < 3 and time.monotonic() < deadline and not failures:
            stop.wait(0.05)  # let a few taps through before the restart
        restart_began = time.monotonic()
        restart_postgres()
        restarted = time.monotonic()
        # Wait (bounded) for the first ticket issued after the database came back.
        before = len(issued)
        deadline = restarted + RECOVERY_SECONDS
        while len(issued) <= before and time.monotonic() < deadline and not failures:
            stop.wait(0.05)
        recovered = time.monotonic()
    finally:
        stop.set()
        worker.join(timeout=30)

    assert failures == []
    assert len(issued) > before, "no ticket within 10 s after PostgreSQL came back"
    assert recovered - restarted < RECOVERY_SECONDS
    outage = [(status, code) for at, status, code in answers if at >= restart_began]
    assert {status for status, _ in outage} <= {200, 201, 503}
    assert {code for status, code in outage if status == 503} <= {"busy", "unavailable"}
    # Exactly one ticket per tap: labels are all different and number the taps without gaps.
    labels = sorted(issued.values())
    assert len(set(labels)) == len(labels)
    state = server.api("GET", "/board")
    assert sum(w["count"] for w in state["waiting"]) == len(labels)
