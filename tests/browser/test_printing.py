"""The slip as residents and staff see it, with a real `loket run` and a TCP printer (the
ESC/POS fake of tests/printers.py): "being printed" turns "printed" live; paper out turns the
kiosk's message into a plain fault; the desk shows the printer state and the failed slip, and
its reprint button prints it once paper is back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import run_axe, save_screenshot
from tests.printers import PAPER_OK, PAPER_OUT, FakeNetworkPrinter
from tests.test_printing_live import printer_env

pytestmark = pytest.mark.live


def LIVE_ENV(request: pytest.FixtureRequest) -> dict[str, str]:
    return printer_env(request.getfixturevalue("net_printer").port)


@pytest.fixture(autouse=True)
def paper_back(net_printer: FakeNetworkPrinter) -> Iterator[None]:
    net_printer.paper = PAPER_OK
    yield
    net_printer.paper = PAPER_OK


def token_of(page: Any) -> str:
    page.wait_for_url(re.compile(r"/kiosk/tickets/[^/]+$"))
    return page.url.rsplit("/", 1)[1]


def test_being_printed_turns_printed_and_the_slip_carries_the_qr(kiosk_page, net_printer):
    kiosk_page.get_by_role("button", name=re.compile("Rijbewijs")).click()
    notice = kiosk_page.locator("#print-notice")
    expect(notice).to_contain_text("Uw bon is geprint.")
    slip = net_printer.wait_for_job(token_of(kiosk_page).encode())
    assert b"/t/" + token_of(kiosk_page).encode() in slip


def test_paper_out_is_told_to_the_resident_and_staff_reprint(
    kiosk_page, new_page, live, net_printer, request
):
    kiosk_name = f"Kiosk {request.node.name}"[:80]
    desk = new_page(viewport={"width": 1366, "height": 900})
    desk.goto(f"{live.url}/login")
    desk.get_by_label("Gebruikersnaam").fill("live-staff")
    desk.get_by_label("Wachtwoord").fill("live-test-password-123")
    desk.get_by_role("button", name="Inloggen").click()
    desk.goto(f"{live.url}/desk/{live.desk_id()}")

    net_printer.paper = PAPER_OUT
    kiosk_page.get_by_role("button", name=re.compile("Rijbewijs")).click()
    label = kiosk_page.locator("#ticket-label").inner_text()
    notice = kiosk_page.locator("#print-notice")
    expect(notice).to_contain_text("Uw bon kan nu niet geprint worden.")
    expect(notice).to_contain_text("Het papier van de printer is op. Maak een foto van de QR-code")
    expect(kiosk_page.locator("img.qr")).to_be_visible()
    assert run_axe(kiosk_page) == []
    save_screenshot(kiosk_page, "kiosk-printer-fault")

    # The desk: the kiosk's printer state and the slip that did not come out.
    printer = desk.locator(".device", has_text=kiosk_name).locator(".device__printer")
    expect(printer).to_have_text("Printer: papier is op")
    fault = desk.locator(".print-item", has_text=label)
    expect(fault).to_contain_text("Niet geprint")
    # In plain words, with what to do; the driver's own (English) words only behind them.
    expect(fault.locator('[data-field="fault"]')).to_have_text(
        "Het papier is op. Leg een nieuwe rol in en print de bon opnieuw."
    )
    detail = fault.locator('[data-field="error"]')
    expect(detail).to_be_hidden()
    expect(detail).to_contain_text("out of paper")
    expect(fault.locator('[data-field="fault"]')).to_have_attribute(
        "title", re.compile("out of paper")
    )
    assert run_axe(desk) == []
    save_screenshot(desk, "desk-print-fault")
    fault.get_by_text("Technische details").click()
    expect(detail).to_be_visible()

    net_printer.paper = PAPER_OK
    fault.get_by_role("button", name="Opnieuw printen").click()
    expect(desk.locator("#desk-feedback")).to_have_text(
        f"De bon van {label} wordt opnieuw geprint."
    )
    net_printer.wait_for_job(token_of(kiosk_page).encode())
    expect(desk.locator("#prints-empty")).to_be_visible()
    expect(printer).to_have_text("Printer klaar, papier goed")
    # The kiosk's screen hears of the reprint too.
    expect(notice).to_contain_text("Uw bon is geprint.")


def test_reprint_any_ticket_of_today_by_its_number(kiosk_page, desk_page, live, net_printer):
    kiosk_page.get_by_role("button", name=re.compile("Rijbewijs")).click()
    label = kiosk_page.locator("#ticket-label").inner_text()
    net_printer.wait_for_job(token_of(kiosk_page).encode())
    before = len(net_printer.connections)

    desk_page.goto(f"{live.url}/desk/{live.desk_id()}")
    desk_page.get_by_label("Bon opnieuw printen voor nummer").fill(label.lower())
    desk_page.get_by_role("button", name="Printen", exact=True).click()
    expect(desk_page.locator("#desk-feedback")).to_have_text(
        f"De bon van {label} wordt opnieuw geprint."
    )
    net_printer.wait_for_job(token_of(kiosk_page).encode(), after=before)  # printed again

    desk_page.get_by_label("Bon opnieuw printen voor nummer").fill("Z999")
    desk_page.get_by_role("button", name="Printen", exact=True).click()
    expect(desk_page.locator("#desk-error")).to_contain_text("niet uitgegeven")
