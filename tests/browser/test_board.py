"""The display board in a real browser: calls show at once, are spoken one after the other,
and the board finds its way back after the server restarts.

Speech is the server's (`/speech`, static/js/speech.js); here each phrase is answered with 300 ms
of silence, and the board's own log (`window.loketBoard.log`, counted on <body data-announced>)
says what was announced when, so the order and the queueing can be checked. Nothing sleeps:
every wait is for a condition on the page (tests/browser/test_board_announcements.py has more).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import pairing_url, run_axe, save_screenshot, silent_wav
from tests.live import LiveServer

LOST = "Verbinding verbroken — opnieuw verbinden…"
RESTORED = "Verbinding hersteld"


def spoken(label: str, desk: str) -> str:
    """What the board says for a call: "Nummer A12, balie 2"."""
    match = re.fullmatch(r"([A-Z]+)0*(\d+)", label)
    assert match, label
    return f"Nummer {match.group(1)}{int(match.group(2))}, {desk[0].lower()}{desk[1:]}"


def wait_live(page: Any) -> None:
    """The board's socket is connected (and so in its stop's room)."""
    expect(page.locator("#board-connection")).to_have_attribute(
        "data-state", re.compile("connected|reconnected")
    )


def current_label(page: Any) -> Any:
    return page.locator("#board-current .board-call__label")


def current_desk(page: Any) -> Any:
    return page.locator("#board-current .board-call__desk")


def waiting_count(page: Any, prefix: str) -> Any:
    row = page.locator(".board-waiting__item").filter(
        has=page.locator(".board-prefix", has_text=re.compile(f"^{prefix}$"))
    )
    return row.locator('[data-field="count"]')


class Tickets:
    """Issues and calls tickets on a live server, and clears them away after the test."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.tokens: list[str] = []

    def issue(self, product: str = "A") -> dict[str, Any]:
        ticket = self.server.issue(product)
        self.tokens.append(ticket["token"])
        return ticket

    def call(self, desk: str = "Balie 1", product: str = "A") -> dict[str, Any]:
        """A new ticket, called to this desk (nothing else waits for it)."""
        self.issue(product)
        return self.server.call_next(self.server.desk_id(desk))

    def step(self, ticket: dict[str, Any], action: str) -> dict[str, Any]:
        return self.server.api("POST", f"/tickets/{ticket['token']}/{action}")

    def clear(self) -> None:
        for token in self.tokens:
            status = self.server.api("GET", f"/tickets/{token}")["status"]
            if status in ("waiting", "called"):
                self.server.api("POST", f"/tickets/{token}/cancel")
            elif status == "serving":
                self.server.api("POST", f"/tickets/{token}/finish")
        self.tokens.clear()


@pytest.fixture
def tickets(live: LiveServer) -> Iterator[Tickets]:
    made = Tickets(live)
    yield made
    made.clear()


@pytest.fixture
def board(board_page: Any) -> Any:
    """The paired board with its speech answered by short WAVs, live on the socket."""
    board_page.route(
        re.compile(r"/speech\?"),
        lambda route: route.fulfill(status=200, content_type="audio/wav", body=silent_wav(0.3)),
    )
    board_page.reload()
    wait_live(board_page)
    return board_page


def speech(page: Any, ended: int) -> list[dict[str, Any]]:
    """What was said, as ("start"|"end", text) entries, once `ended` announcements finished."""
    expect(page.locator("body")).to_have_attribute("data-announced", str(ended), timeout=20_000)
    log = page.evaluate("window.loketBoard.log")
    events = []
    for entry in log:
        text = entry["texts"][0]["text"]
        events.append({"at": "start", "text": text, "time": entry["startedAt"]})
        events.append({"at": "end", "text": text, "time": entry["endedAt"]})
    times = [event["time"] for event in events]
    # One at a time: each starts after the one before has ended.
    for event in events:
        event["overlap"] = times != sorted(times)
    return events


# -- calls ------------------------------------------------------------------------------------


def test_a_call_shows_on_the_board_within_a_second(board, tickets):
    called = tickets.call("Balie 2")

    expect(current_label(board)).to_have_text(called["label"], timeout=1000)
    expect(current_desk(board)).to_have_text("Balie 2", timeout=1000)
    expect(board.locator("#board-current")).to_have_class(re.compile(r"\bis-new\b"))
    expect(board.locator("#board-announcer p").last).to_have_text(
        f"Nummer {called['label']}, ga naar Balie 2."
    )
    expect(board.locator("#board-empty")).to_be_hidden()


def test_waiting_counts_follow_every_event(board, tickets):
    before = int(waiting_count(board, "R").inner_text())

    ticket = tickets.issue("R")
    expect(waiting_count(board, "R")).to_have_text(str(before + 1), timeout=1000)

    tickets.step(ticket, "cancel")
    expect(waiting_count(board, "R")).to_have_text(str(before), timeout=1000)


def test_two_quick_calls_are_spoken_one_after_the_other(board, tickets):
    first = tickets.call("Balie 1")
    second = tickets.call("Balie 2")

    expect(current_label(board)).to_have_text(second["label"], timeout=1000)
    log = speech(board, ended=2)
    texts = [spoken(first["label"], "Balie 1"), spoken(second["label"], "Balie 2")]
    assert [(s["at"], s["text"]) for s in log] == [
        ("start", texts[0]),
        ("end", texts[0]),
        ("start", texts[1]),
        ("end", texts[1]),
    ]
    assert not any(s.get("overlap") for s in log)
    assert texts[0].startswith("Nummer A") and ", balie 1" in texts[0]


def test_a_recall_moves_the_call_to_the_top_and_announces_it_again(board, tickets):
    first = tickets.call("Balie 1")
    second = tickets.call("Balie 2")
    expect(current_label(board)).to_have_text(second["label"], timeout=1000)
    speech(board, ended=2)

    tickets.step(first, "recall")

    expect(current_label(board)).to_have_text(first["label"], timeout=1000)
    expect(board.locator("#board-previous [data-field='label']")).to_have_text([second["label"]])
    expect(board.locator("#board-announcer p").last).to_have_text(
        f"Nummer {first['label']}, ga naar Balie 1."
    )
    assert [s["text"] for s in speech(board, ended=3) if s["at"] == "start"] == [
        spoken(first["label"], "Balie 1"),
        spoken(second["label"], "Balie 2"),
        spoken(first["label"], "Balie 1"),
    ]


def test_finished_calls_leave_the_board_and_started_ones_stay(board, tickets):
    first = tickets.call("Balie 1")
    second = tickets.call("Balie 2")
    expect(current_label(board)).to_have_text(second["label"], timeout=1000)

    tickets.step(first, "start")
    tickets.step(second, "no-show")

    expect(current_label(board)).to_have_text(first["label"], timeout=1000)
    expect(board.locator("#board-previous li")).to_have_count(0)

    tickets.step(first, "finish")
    expect(board.locator("#board-current .board-call")).to_have_count(0)
    expect(board.locator("#board-empty")).to_be_visible()


def test_closing_the_stop_shows_on_the_board_at_once(board, live):
    stop_id = live.current_stop()["id"]
    notice = board.locator("#board-notice")
    expect(notice).to_be_hidden()

    live.api("POST", f"/stops/{stop_id}/close")
    try:
        expect(notice).to_be_visible(timeout=1000)
        expect(notice).to_contain_text("Het loket is gesloten")
        expect(notice).to_contain_text("Heeft u al een nummer? Dan helpen wij u nog.")
    finally:
        live.api("POST", f"/stops/{stop_id}/open")
    expect(notice).to_be_hidden(timeout=1000)


def test_board_has_no_wcag_violations_and_a_screenshot(board, tickets):
    # The highlight of the newest call without its blinking, as a TV with reduced motion shows it.
    board.emulate_media(reduced_motion="reduce")
    for product in "AAHHHRR":
        tickets.issue(product)
    first = tickets.server.call_next(tickets.server.desk_id("Balie 1"))
    latest = tickets.server.call_next(tickets.server.desk_id("Balie 2"))
    tickets.step(first, "start")
    expect(current_label(board)).to_have_text(latest["label"], timeout=1000)
    expect(board.locator("#board-previous [data-field='label']")).to_have_text([first["label"]])
    expect(waiting_count(board, "H")).to_have_text(re.compile(r"[1-9]\d*"))

    assert run_axe(board) == []
    save_screenshot(board, "board")


# -- the server goes away and comes back ------------------------------------------------------


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server of this test's own, to stop and start again (same port, same database)."""
    server = LiveServer(tmp_path / "restart")
    server.setup()
    server.start()
    server.login()
    yield server
    server.kill()


def test_board_recovers_after_a_server_restart(own_server, new_page):
    server = own_server
    page = new_page(viewport={"width": 1920, "height": 1080})
    page.goto(pairing_url(server, "board", "Scherm herstart"))
    page.wait_for_url(re.compile(r"/board$"))
    wait_live(page)
    before = Tickets(server).call("Balie 1")
    expect(current_label(page)).to_have_text(before["label"], timeout=1000)

    server.stop()

    connection = page.locator("#board-connection")
    expect(connection).to_have_text(LOST)
    expect(connection).to_be_visible()
    # What is still on screen may be old: dimmed, and said in words.
    expect(page.locator("body")).to_have_class(re.compile(r"\bis-stale\b"))
    expect(page.get_by_text("misschien niet meer actueel")).to_be_visible()

    server.launch()
    server.wait_ready()

    # The client tries again with a growing pause (at most 5 s).
    expect(connection).to_have_text(RESTORED, timeout=15_000)
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bis-stale\b"))
    expect(page.get_by_text("misschien niet meer actueel")).to_be_hidden()
    expect(current_label(page)).to_have_text(before["label"])

    Tickets(server).step(before, "finish")
    after = Tickets(server).call("Balie 2", product="H")
    expect(current_label(page)).to_have_text(after["label"], timeout=1000)
    expect(current_desk(page)).to_have_text("Balie 2")
    expect(connection).to_be_hidden()


def test_board_shows_a_closed_stop_after_a_restart_and_a_calm_page_without_one(
    own_server, new_page
):
    server = own_server
    page = new_page(viewport={"width": 1080, "height": 1920})
    page.goto(pairing_url(server, "board", "Scherm staand"))
    page.wait_for_url(re.compile(r"/board$"))
    wait_live(page)
    waiting = Tickets(server).issue("A")
    desk = server.desk_id("Balie 1")
    expect(page.locator("#board-notice")).to_be_hidden()

    # Closing time while the server is away (the CLI runs without it).
    server.stop()
    server.cli("stop", "close")
    server.launch()
    server.wait_ready()

    expect(page.get_by_text("Het loket is gesloten")).to_be_visible(timeout=15_000)
    # People already waiting are still served.
    called = server.call_next(desk)
    assert called["label"] == waiting["label"]
    expect(current_label(page)).to_have_text(called["label"], timeout=1000)

    screen = new_page(viewport={"width": 1920, "height": 1080})
    screen.goto(f"{server.url}/board")
    expect(screen.get_by_role("heading", name="Er is nu geen loket open")).to_be_visible()
    assert run_axe(screen) == []
    save_screenshot(screen, "board-no-stop")
