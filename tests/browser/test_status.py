"""A resident's phone on the ticket status page (the QR target), live."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import run_axe, save_screenshot

PHONE = {"width": 390, "height": 844}
# Records vibrations: headless Chromium has no motor, the page must still ask for one.
RECORD_VIBRATE = """
window.__vibrations = [];
navigator.vibrate = (pattern) => { window.__vibrations.push(pattern); return true; };
"""


def _serve_until(live, desk_id, label):
    """Call (and finish) tickets at a desk until `label` is the called one."""
    while (called := live.call_next(desk_id))["label"] != label:
        live.api("POST", f"/tickets/{called['token']}/finish")
    return called


def test_status_page_moves_up_and_calls_the_resident_to_the_desk(live, new_page):
    first = live.issue("H")
    mine = live.issue("H")
    phone = new_page(viewport=PHONE)
    phone.add_init_script(RECORD_VIBRATE)
    phone.goto(f"{live.url}/t/{mine['token']}")
    expect(phone.locator(".status-card__label")).to_have_text(mine["label"])
    ahead = re.compile(r"Er (is|zijn) \d+ (persoon|mensen) voor u")
    expect(phone.get_by_text(ahead)).to_be_visible()
    save_screenshot(phone, "status-waiting")

    desk = live.desk_id("Balie 1")
    _serve_until(live, desk, first["label"])
    expect(phone.get_by_text("U bent de volgende.")).to_be_visible()

    live.api("POST", f"/tickets/{first['token']}/finish")
    live.call_next(desk)
    expect(phone.get_by_role("alert")).to_have_text(re.compile("ga naar Balie 1"))
    assert phone.evaluate("window.__vibrations.length") == 1
    assert phone.title().startswith("Aan de beurt!")

    live.api("POST", f"/tickets/{mine['token']}/finish")
    expect(phone.get_by_text("U bent geholpen. Bedankt voor uw bezoek.")).to_be_visible()


def test_status_page_in_english_for_an_english_phone(live, new_page):
    ticket = live.issue("R")
    phone = new_page(viewport=PHONE, locale="en-GB")
    phone.goto(f"{live.url}/t/{ticket['token']}")
    expect(phone.get_by_text("Your number", exact=True)).to_be_visible()
    phone.get_by_role("link", name="Nederlands").click()
    expect(phone.get_by_text("Uw nummer").first).to_be_visible()


def test_unknown_ticket_gets_a_friendly_page(live, new_page):
    phone = new_page(viewport=PHONE)
    response = phone.goto(f"{live.url}/t/not-a-real-token")
    assert response.status == 404
    expect(phone.get_by_role("heading", name="Nummer niet gevonden")).to_be_visible()


def test_status_page_has_no_wcag_violations(live, new_page):
    ticket = live.issue("A")
    phone = new_page(viewport=PHONE)
    phone.goto(f"{live.url}/t/{ticket['token']}")
    expect(phone.locator(".status-card__label")).to_have_text(ticket["label"])
    assert run_axe(phone) == []
