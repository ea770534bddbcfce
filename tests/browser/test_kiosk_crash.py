"""kill -9 during a stream of kiosk taps, in a real browser against a real `loket run` with a TCP
ESC/POS printer: after the restart every number the kiosk showed exists, none exists twice,
every slip prints exactly once, and the kiosk is back on its start screen by itself.

The crash comes right after a tap was sent: whether the server had committed that ticket, had
answered, or had not even read the request is left to chance, as in real life. The kiosk's
retry under the tap's key makes it one ticket either way, and the print worker's recovery
prints a slip whose job was committed but never reached the spool.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.live import LiveServer
from tests.test_printing_live import printer_env

pytestmark = pytest.mark.live

IDLE_SECONDS = 6
TAPS = 6
CRASH_AFTER = 3  # the fourth tap is the one the server dies under
TICKET_URL = re.compile(r"/kiosk/tickets/([^/?#]+)$")


def LIVE_ENV(request: pytest.FixtureRequest) -> dict[str, str]:
    return {
        **printer_env(request.getfixturevalue("net_printer").port),
        "LOKET_KIOSK_IDLE_SECONDS": str(IDLE_SECONDS),
        "LOKET_KIOSK_IDLE_WARNING_SECONDS": "2",
    }


def tap(page: Any) -> None:
    page.get_by_role("button", name=re.compile("Rijbewijs")).click(no_wait_after=True)


def confirmed_token(page: Any, timeout: float = 30_000) -> str:
    """The token of the confirmation the kiosk lands on (its address follows the screen)."""
    page.wait_for_url(TICKET_URL, timeout=timeout)
    match = TICKET_URL.search(page.url)
    assert match is not None
    expect(page.locator("#ticket-label")).to_be_visible()
    return match.group(1)


def waiting_tokens(live: LiveServer) -> list[str]:
    """Every waiting ticket's token, from a desk's state (Balie 1 serves every product)."""
    desk = live.desk_id("Balie 1")
    return [ticket["token"] for ticket in live.api("GET", f"/desks/{desk}")["queue"]]


def test_kill_9_during_a_stream_of_taps_loses_and_doubles_nothing(kiosk_page, live, net_printer):
    seen: list[str] = []
    kiosk_page.on("framenavigated", lambda frame: seen.append(frame.url))
    home = kiosk_page.get_by_role("heading", name="Waarvoor komt u?")
    shown: list[str] = []

    for number in range(TAPS):
        expect(home).to_be_visible()
        tap(kiosk_page)
        if number == CRASH_AFTER:
            live.kill()  # SIGKILL: no goodbye, whatever was in flight
            live.start()
        shown.append(confirmed_token(kiosk_page))
        kiosk_page.get_by_role("link", name="Klaar").click()

    # Back on the start screen by itself, after the last confirmation's idle time too.
    tap(kiosk_page)
    shown.append(confirmed_token(kiosk_page))
    expect(home).to_be_visible(timeout=(IDLE_SECONDS + 10) * 1000)

    # Every number the kiosk showed exists, once; no ticket the kiosk did not show.
    assert len(set(shown)) == len(shown) == TAPS + 1
    assert sorted(waiting_tokens(live)) == sorted(shown)
    # Every slip printed exactly once (the one cut off by the crash by the worker's recovery).
    for token in shown:
        net_printer.wait_for_job(f"/t/{token}".encode(), timeout=30)
    printed = net_printer.jobs()
    assert {token: sum(f"/t/{token}".encode() in job for job in printed) for token in shown} == {
        token: 1 for token in shown
    }
    assert [url for url in seen if url.startswith("chrome-error://")] == []
