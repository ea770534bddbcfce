"""The kiosk in a real browser: a tap gives a number, the QR page follows it live."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import run_axe, save_screenshot

# A short idle time, so the test can see the kiosk go back to the start by itself.
IDLE_SECONDS = 5
LIVE_ENV = {"LOKET_KIOSK_IDLE_SECONDS": str(IDLE_SECONDS), "LOKET_KIOSK_IDLE_WARNING_SECONDS": "2"}


def test_tap_shows_number_and_status_page_follows_the_call(kiosk_page, new_page, live):
    kiosk = kiosk_page
    expect(kiosk.get_by_role("heading", name="Waarvoor komt u?")).to_be_visible()
    save_screenshot(kiosk, "kiosk-home")
    kiosk.get_by_role("button", name=re.compile("Rijbewijs")).click()
    kiosk.wait_for_url(re.compile(r"/kiosk/tickets/"))
    label = kiosk.locator("#ticket-label").inner_text()
    assert re.fullmatch(r"R\d{3}", label)
    expect(kiosk.get_by_role("img", name=re.compile(label))).to_be_visible()
    save_screenshot(kiosk, "kiosk-confirmation")

    token = kiosk.url.rsplit("/", 1)[1]
    phone = new_page(viewport={"width": 390, "height": 844})
    phone.goto(f"{live.url}/t/{token}")
    expect(phone.get_by_text(label).first).to_be_visible()

    desk = live.desk_id("Balie 2")
    while (called := live.call_next(desk))["label"] != label:
        # Earlier tests may have left tickets waiting: serve them first.
        live.api("POST", f"/tickets/{called['token']}/finish")
    expect(phone.get_by_text("ga naar Balie 2")).to_be_visible()
    save_screenshot(phone, "status-called")


def test_double_tap_gives_one_ticket(kiosk_page, live):
    before = live.api("GET", "/board")["waiting"]
    button = kiosk_page.get_by_role("button", name=re.compile("ophalen"))
    button.dblclick()
    kiosk_page.wait_for_url(re.compile(r"/kiosk/tickets/"))
    after = live.api("GET", "/board")["waiting"]
    count = {w["product"]["prefix"]: w["count"] for w in before}
    count_after = {w["product"]["prefix"]: w["count"] for w in after}
    assert count_after["H"] == count["H"] + 1


def test_kiosk_pages_have_no_wcag_violations(kiosk_page):
    assert run_axe(kiosk_page) == []
    kiosk_page.get_by_role("link", name="Niet gevonden wat u zoekt?").click()
    assert run_axe(kiosk_page) == []


def test_language_switch_and_idle_return_to_dutch(kiosk_page):
    kiosk_page.get_by_role("link", name="English").click()
    expect(kiosk_page.get_by_role("heading", name="What have you come for?")).to_be_visible()
    expect(kiosk_page.get_by_role("button", name=re.compile("Driving licence"))).to_be_visible()
    # Nobody touches the screen: it returns to the Dutch start by itself.
    expect(kiosk_page.get_by_role("heading", name="Waarvoor komt u?")).to_be_visible(
        timeout=(IDLE_SECONDS + 3) * 1000
    )


def test_confirmation_counts_down_and_a_tap_extends(kiosk_page):
    kiosk_page.get_by_role("button", name=re.compile("aanvragen")).click()
    kiosk_page.wait_for_url(re.compile(r"/kiosk/tickets/"))
    seconds = kiosk_page.locator("#idle-seconds")
    expect(seconds).not_to_have_text(str(IDLE_SECONDS))
    kiosk_page.get_by_role("button", name="Langer tonen").click()
    expect(seconds).to_have_text(str(IDLE_SECONDS))
    back_home = re.compile(r"/kiosk\?lang=nl$")
    expect(kiosk_page).to_have_url(back_home, timeout=(IDLE_SECONDS + 3) * 1000)


def test_closing_the_stop_turns_the_kiosk_to_closed_and_back(kiosk_page, live):
    stop_id = live.current_stop()["id"]
    # Close only once the kiosk listens: it is in the stop's room from its first connect.
    expect(kiosk_page.locator("body")).to_have_attribute("data-live", "connected")
    live.api("POST", f"/stops/{stop_id}/close")
    try:
        expect(kiosk_page.get_by_role("heading", name="Het loket is nu gesloten")).to_be_visible()
        # The closed screen is a new page: wait until it listens too.
        expect(kiosk_page.locator("body")).to_have_attribute("data-live", "connected")
    finally:
        live.api("POST", f"/stops/{stop_id}/open")
    # The closed kiosk hears the stop open again and shows its buttons.
    expect(kiosk_page.get_by_role("heading", name="Waarvoor komt u?")).to_be_visible()


def test_kiosk_works_with_the_keyboard(kiosk_page):
    kiosk_page.keyboard.press("Tab")  # skip link
    kiosk_page.keyboard.press("Tab")
    # The screen's own choices first; the dock (read aloud, toggles, languages) follows them.
    focused = kiosk_page.evaluate("document.activeElement.textContent.trim()")
    assert "Ik heb een afspraak" in focused
    kiosk_page.get_by_role("link", name="English").focus()
    kiosk_page.keyboard.press("Enter")
    expect(kiosk_page.get_by_role("heading", name="What have you come for?")).to_be_visible()
    kiosk_page.get_by_role("button", name=re.compile("Driving licence")).focus()
    kiosk_page.keyboard.press("Enter")
    kiosk_page.wait_for_url(re.compile(r"/kiosk/tickets/"))
    expect(kiosk_page.locator("#ticket-label")).to_have_text(re.compile(r"R\d{3}"))
