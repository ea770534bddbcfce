"""Appointments at a real kiosk: a resident checks in by scanning (the scanner types the code and
Enter on the start screen) or on the keypad, is told when to come back if too early, and books
a time for later when the wait is long. The slips come out of a TCP printer (the ESC/POS fake of
tests/printers.py), and their QR codes are read back from the bytes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import run_axe, save_screenshot
from tests.printers import DLE_EOT_ONLINE, DLE_EOT_PAPER
from tests.test_printer_escpos_reader import read
from tests.test_printing_live import printer_env

pytestmark = pytest.mark.live


def LIVE_ENV(request: pytest.FixtureRequest) -> dict[str, str]:
    return {
        **printer_env(request.getfixturevalue("net_printer").port),
        "LOKET_BOOK_LATER_WAIT_MINUTES": "5",
    }


def qr_of(slip: bytes) -> str:
    """The QR code's payload as the printer is told to draw it (native GS ( k)."""
    job = slip.replace(DLE_EOT_ONLINE, b"").replace(DLE_EOT_PAPER, b"")  # status queries
    (qr,) = read(job, "TM-T88V").qrs
    return qr.data.decode()


def book(live: Any, product: str = "A", *, after: timedelta = timedelta(0)) -> dict[str, Any]:
    """Book the first free time of the product (at least `after` from now) through the API."""
    since = datetime.now(UTC) + after
    slot = next(
        s
        for s in live.api("GET", f"/slots?product={product}&limit=50")
        if datetime.fromisoformat(s["starts_at"].replace("Z", "+00:00")) >= since
    )
    return live.api(
        "POST", "/appointments", expect=201, json={"slot": slot["id"], "product": product}
    )


def test_the_scanner_checks_in_from_the_start_screen(kiosk_page, live, net_printer):
    booked = book(live)
    kiosk_page.keyboard.type(booked["code"])  # a USB scanner types what it reads ...
    kiosk_page.keyboard.press("Enter")  # ... and Enter
    kiosk_page.wait_for_url(re.compile(r"/kiosk/tickets/[^/]+$"))
    expect(kiosk_page.get_by_text("U bent aangemeld voor uw afspraak van")).to_be_visible()
    expect(kiosk_page.locator("#print-notice")).to_contain_text("Uw bon is geprint.")
    slip = net_printer.wait_for_job(booked["token"].encode())
    assert qr_of(slip) == booked["url"].replace("http://loket.test", live.url)
    assert b"Afspraak om" in slip


def test_the_keypad_checks_in_and_is_accessible(kiosk_page, live):
    booked = book(live)
    kiosk_page.get_by_role("link", name=re.compile("Ik heb een afspraak")).click()
    kiosk_page.wait_for_url(re.compile(r"/kiosk/afspraak$"))
    assert run_axe(kiosk_page) == []
    keypad = kiosk_page.get_by_role("group", name="Toetsen om uw code te typen")
    for key in booked["code"].replace("-", ""):
        keypad.get_by_role("button", name=key, exact=True).click()
    expect(kiosk_page.get_by_role("textbox", name="Uw code")).to_have_value(booked["code"])
    save_screenshot(kiosk_page, "kiosk-check-in")
    kiosk_page.get_by_role("button", name="Aanmelden").click()
    kiosk_page.wait_for_url(re.compile(r"/kiosk/tickets/[^/]+$"))
    expect(kiosk_page.locator("#ticket-label")).to_have_text(re.compile(r"^A\d{3}$"))


def test_too_early_says_when_to_come_back(kiosk_page, live):
    booked = book(live, after=timedelta(hours=2))
    kiosk_page.keyboard.type(booked["code"] + "\n")
    expect(kiosk_page.get_by_role("heading", name="U bent te vroeg")).to_be_visible()
    expect(kiosk_page.get_by_text("U kunt zich aanmelden vanaf")).to_be_visible()
    assert run_axe(kiosk_page) == []


def test_a_long_wait_offers_a_time_for_later_with_its_slip(kiosk_page, live, net_printer):
    for _ in range(2):  # 2 x 10 minutes over 2 desks: 10 minutes, over the limit of 5
        live.issue("R")
    kiosk_page.get_by_role("button", name=re.compile("Rijbewijs")).click()
    expect(kiosk_page.get_by_role("heading", name="Het is nu druk")).to_be_visible()
    assert run_axe(kiosk_page) == []
    save_screenshot(kiosk_page, "kiosk-book-later")
    kiosk_page.locator(".slot-button").first.click()
    kiosk_page.wait_for_url(re.compile(r"/kiosk/later/booked/[^/]+$"))
    expect(kiosk_page.get_by_role("heading", name="Uw afspraak is gemaakt")).to_be_visible()
    code = kiosk_page.locator("#booking-code").inner_text()
    assert re.fullmatch(r"[2-9A-Z]{3}-[2-9A-Z]{3}", code)
    expect(kiosk_page.locator("#print-notice")).to_contain_text("Uw bon is geprint.")
    assert run_axe(kiosk_page) == []

    token = kiosk_page.url.rsplit("/", 1)[1]
    slip = net_printer.wait_for_job(code.encode())
    assert qr_of(slip) == f"{live.url}/a/{token}"
    # The QR opens the booked appointment: view it, add it to a calendar, cancel it.
    phone = kiosk_page.context.browser.new_context(
        viewport={"width": 390, "height": 844}, locale="nl-NL"
    )
    try:
        page = phone.new_page()
        page.goto(qr_of(slip))
        expect(page.get_by_text(code)).to_be_visible()
        expect(page.get_by_role("link", name="Zet in uw agenda")).to_be_visible()
        expect(page.get_by_role("button", name="Afspraak afzeggen")).to_be_visible()
    finally:
        phone.close()
