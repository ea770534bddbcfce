"""Failure drills on the production shape (tests/production.py): nginx with TLS in front of two
`loket run` processes on PostgreSQL, with a Redis of the test's own.

Kill drill: one process is killed (SIGKILL) while four kiosks issue tickets and boards listen
(Socket.IO clients on websocket and polling, and one Chromium board): every acknowledged ticket
survives, no number is given twice, the boards that were on the dead process are back through
nginx on the other within 5 s with a fresh state, and calls keep flowing. Then Redis restarts:
a call made while it is down reaches every board once it is back, and events resume by
themselves.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter
from typing import Any

import pytest
import requests
from sqlalchemy import text

from kiosk.database import make_engine
from tests.live import BoardClient
from tests.production import ProductionSite, closed_within
from tests.production_fixtures import MakeSite

pytestmark = [
    pytest.mark.live,
    pytest.mark.postgres,
    pytest.mark.usefixtures("quick_websocket_close"),
]

KIOSKS = 4
BOARDS = 12
POLLING_BOARDS = 2
# What the issue asks: boards on the dead process back on the other within 5 s.
FAILOVER_WITHIN = 5.0
# A board on the dead process hears its connection close at once; others never do.
CLOSE_SEEN_WITHIN = 1.0


class Kiosks:
    """Kiosks tapping through nginx: each tap keeps its Idempotency-Key until it is answered
    (as static/js/kiosk.js does), so a tap the dead process never answered is tried again on
    the other one and gives one ticket."""

    def __init__(self, site: ProductionSite, count: int) -> None:
        self.site = site
        self.acknowledged: list[str] = []
        self.retries = 0
        self.failures: list[BaseException] = []
        self._stop = threading.Event()
        self._lock = threading.Condition()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(count)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        session = self.site.tls_session()
        try:
            while not self._stop.is_set():
                self._tap(session)
        except BaseException as error:  # reported by stop(), not lost in a thread
            self.failures.append(error)
        finally:
            session.close()

    def _tap(self, session: requests.Session) -> None:
        key = uuid.uuid4().hex
        deadline = time.monotonic() + 20
        while True:
            try:
                response = session.post(
                    f"{self.site.url}/api/v1/tickets",
                    json={"product": "A"},
                    headers={**self.site.headers, "Idempotency-Key": key},
                    timeout=5,
                )
            except requests.RequestException:
                response = None
            if response is not None and response.status_code in (200, 201):
                with self._lock:
                    self.acknowledged.append(response.json()["label"])
                    self._lock.notify_all()
                return
            if response is not None and response.status_code not in (502, 503, 504):
                raise AssertionError(f"tap refused: {response.status_code} {response.text}")
            if time.monotonic() > deadline:
                raise AssertionError("a tap found no process for 20 s")
            self.retries += 1
            # The kiosk waits 1.5 s between tries; here the next try may go at once.

    def wait_for(self, count: int, timeout: float = 20) -> None:
        """Until `count` tickets are acknowledged in all."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.acknowledged) >= count, timeout):
                raise AssertionError(f"only {len(self.acknowledged)} of {count} tickets in time")

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        assert not self.failures, self.failures


def tickets_in_database(site: ProductionSite) -> Counter[str]:
    engine = make_engine(site.database_url)
    try:
        with engine.connect() as conn:
            return Counter(conn.execute(text("SELECT label FROM tickets")).scalars())
    finally:
        engine.dispose()


class Desk:
    """A desk through nginx that finishes its ticket when it calls the next one."""

    def __init__(self, site: ProductionSite) -> None:
        self.site = site
        self.id = site.desk_id()
        self.serving: str | None = None

    def call_next(self) -> dict[str, Any]:
        if self.serving is not None:
            self.site.api("POST", f"/tickets/{self.serving}/finish")
        called = self.site.api("POST", f"/desks/{self.id}/call-next")
        self.serving = called["token"]
        return called


def hear_call(boards: list[BoardClient], label: str, timeout: float) -> None:
    for board in boards:
        board.wait_until("ticket_called", lambda p: p["ticket"]["label"] == label, timeout)


@pytest.fixture
def chromium_board(browser: Any) -> Any:
    contexts = []

    def _open(url: str) -> Any:
        context = browser.new_context(
            viewport={"width": 1920, "height": 1080}, locale="nl-NL", ignore_https_errors=True
        )
        contexts.append(context)
        page = context.new_page()
        page.goto(url)
        page.wait_for_url(re.compile(r"/board$"))
        return page

    yield _open
    for context in contexts:
        context.close()


def test_kill_drill_then_redis_restart(make_site: MakeSite, chromium_board: Any) -> None:
    from playwright.sync_api import expect

    site = make_site(count=2)
    boards = [site.board() for _ in range(BOARDS)]
    boards += [site.board(transports=["polling"]) for _ in range(POLLING_BOARDS)]
    for board in boards:
        board.wait_for("board_state")
    wall = chromium_board(f"{site.url}/pair/{site.pairing_code('board', 'Scherm productie')}")
    expect(wall.locator("body")).to_have_attribute("data-live", "connected")

    # Calls flow through nginx to every board, the one in Chromium too.
    kiosks = Kiosks(site, KIOSKS)
    kiosks.start()
    kiosks.wait_for(12)
    desk = Desk(site)
    first = desk.call_next()
    hear_call(boards, first["label"], timeout=5)
    expect(wall.locator("#board-current [data-field=label]").first).to_have_text(first["label"])

    # Kill -9 one process while the kiosks tap.
    before_kill = len(kiosks.acknowledged)
    for board in boards:
        board.drain()
    killed = site.kill(0)

    moved = closed_within(boards, CLOSE_SEEN_WITHIN)
    stayed = [board for board in boards if board not in moved]
    assert moved, "no board was on the killed process (the keys spread them over both)"
    back = []
    for board in moved:
        board.wait_for(
            "board_state", timeout=max(killed + FAILOVER_WITHIN - time.monotonic(), 0.001)
        )
        back.append(board.heard_at["board_state"] - killed)
    assert max(back) <= FAILOVER_WITHIN
    for board in stayed:
        assert "disconnect" not in board.drain()

    # The kiosks go on, on the other process.
    kiosks.wait_for(before_kill + 20)
    kiosks.stop()

    # Every acknowledged ticket is there, and no number was given twice.
    stored = tickets_in_database(site)
    acknowledged = Counter(kiosks.acknowledged)
    assert max(acknowledged.values()) == 1, [k for k, n in acknowledged.items() if n > 1]
    assert max(stored.values()) == 1
    assert set(acknowledged) <= set(stored)

    # Calls keep flowing, to the Chromium board too (back by itself if it was on the dead one).
    expect(wall.locator("body")).to_have_attribute(
        "data-live", re.compile("connected|reconnected"), timeout=FAILOVER_WITHIN * 1000
    )
    second = desk.call_next()
    hear_call(boards, second["label"], timeout=5)
    expect(wall.locator("#board-current [data-field=label]").first).to_have_text(second["label"])

    # Redis restarts: the API answers meanwhile (rate limits count in each process's memory),
    # a call made meanwhile reaches the boards of the process that made it at once and the
    # others' as soon as their process listens again (display/queue.py: "resync", then a
    # fresh snapshot), and events flow again by themselves.
    for board in boards:
        board.drain()
    site.redis.stop()
    assert site.api("GET", "/stops/current")["id"]
    during = site.api(
        "POST",
        "/tickets",
        expect=201,
        json={"product": "A"},
        headers={**site.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    missed = desk.call_next()
    site.redis.start()
    restarted = time.monotonic()
    for board in boards:
        board.wait_for("resync", timeout=15)
    resumed = max(board.heard_at["resync"] for board in boards) - restarted
    expect(wall.locator("#board-current [data-field=label]").first).to_have_text(
        missed["label"], timeout=15_000
    )
    call = desk.call_next()
    hear_call(boards, call["label"], timeout=5)
    expect(wall.locator("#board-current [data-field=label]").first).to_have_text(call["label"])
    assert during["label"] in tickets_in_database(site)

    for board in boards:
        board.close()
    print(
        f"\nkill drill: {len(moved)} of {len(boards)} boards moved, back after "
        f"{min(back):.2f}-{max(back):.2f} s; {len(kiosks.acknowledged)} tickets acknowledged "
        f"({kiosks.retries} retried taps); all boards resynced {resumed:.2f} s after Redis' restart"
    )
