"""A resident moves a booked appointment on a phone from its private page, sees why when the
chosen time is taken meanwhile, and cancels with a confirmation step (also without
JavaScript); every page passes axe's WCAG 2.1 A/AA checks."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import EXPECT_TIMEOUT_MS, run_axe, save_screenshot

pytestmark = pytest.mark.live

PHONE = {"width": 390, "height": 844}
REFLOW = {"width": 320, "height": 640}


def _heading(page: Any, name: str) -> Any:
    return page.get_by_role("heading", level=1, name=name)


def _free_slots(live: Any) -> list[dict[str, Any]]:
    """Today's free passport times at the demo stop, at least an hour ahead (the server runs on
    the real clock: the move must not race the slot's start)."""
    slots = live.api("GET", "/slots?product=A&limit=200")
    return slots[4:]


def _book(live: Any, slot: dict[str, Any]) -> dict[str, Any]:
    return live.api("POST", "/appointments", expect=201, json={"slot": slot["id"], "product": "A"})


def test_a_resident_moves_the_appointment_on_a_phone(live, new_page):
    slots = _free_slots(live)
    booked = _book(live, slots[0])
    phone = new_page(viewport=PHONE)
    phone.goto(f"{live.url}/a/{booked['token']}")
    expect(_heading(phone, "Uw afspraak")).to_be_visible()
    phone.get_by_role("link", name="Andere tijd kiezen").click()

    # Step 1: the free times here (the held one is not among them), and other stops if any.
    expect(_heading(phone, "Andere tijd kiezen")).to_be_visible()
    expect(phone.locator(".appointment-move__now")).to_contain_text("Uw afspraak nu:")
    assert run_axe(phone) == []
    save_screenshot(phone, "appointment-reschedule")
    times = phone.locator(".time-button")
    assert times.count() >= 2
    chosen = times.last
    new_time = chosen.inner_text().split()[0]
    chosen.click()

    # Step 2: the new and the old time side by side; nothing has changed yet.
    expect(_heading(phone, "Controleer de nieuwe tijd")).to_be_visible()
    expect(phone.get_by_text(f"{new_time} tot")).to_be_visible()
    assert run_axe(phone) == []
    assert live.api("GET", f"/appointments/{booked['token']}")["starts_at"] == booked["starts_at"]
    phone.get_by_role("button", name="Ja, verzet mijn afspraak").click()

    # Back on the private page: same code, the new time, a one-time note.
    phone.wait_for_url(re.compile(rf"/a/{booked['token']}$"))
    expect(phone.get_by_role("status")).to_contain_text("Uw afspraak is verzet.")
    expect(phone.locator(".appointment-code")).to_have_text(booked["code"])
    expect(phone.locator(".appointment-facts")).to_contain_text(new_time)
    assert run_axe(phone) == []
    moved = live.api("GET", f"/appointments/{booked['token']}")
    assert moved["starts_at"] != booked["starts_at"] and moved["code"] == booked["code"]


def test_a_time_taken_meanwhile_is_explained_with_other_times(live, new_page):
    slots = _free_slots(live)
    booked = _book(live, slots[1])
    wanted = slots[-2]
    phone = new_page(viewport=PHONE)
    phone.goto(f"{live.url}/a/{booked['token']}/reschedule/{wanted['id']}")
    expect(_heading(phone, "Controleer de nieuwe tijd")).to_be_visible()
    for _place in range(wanted["free"]):  # others take every place while the resident reads
        _book(live, wanted)

    phone.get_by_role("button", name="Ja, verzet mijn afspraak").click()

    expect(_heading(phone, "Andere tijd kiezen")).to_be_visible()
    alert = phone.get_by_role("alert")
    expect(alert).to_contain_text("Iemand anders heeft deze tijd net gekozen.")
    expect(alert).to_contain_text("Uw afspraak is niet veranderd.")
    expect(alert).to_be_focused()  # read first by a screen reader
    expect(phone.locator(".time-button").first).to_be_visible()
    assert run_axe(phone) == []
    assert live.api("GET", f"/appointments/{booked['token']}")["starts_at"] == booked["starts_at"]


def test_cancelling_asks_first(live, new_page):
    booked = _book(live, _free_slots(live)[2])
    phone = new_page(viewport=PHONE)
    phone.goto(f"{live.url}/a/{booked['token']}")
    phone.get_by_role("button", name="Afspraak afzeggen").click()

    expect(_heading(phone, "Afspraak afzeggen?")).to_be_visible()
    assert run_axe(phone) == []
    save_screenshot(phone, "appointment-cancel")
    phone.get_by_role("link", name="Nee, ik houd mijn afspraak").click()
    expect(_heading(phone, "Uw afspraak")).to_be_visible()
    assert live.api("GET", f"/appointments/{booked['token']}")["status"] == "booked"

    phone.get_by_role("button", name="Afspraak afzeggen").click()
    phone.get_by_role("button", name="Ja, zeg mijn afspraak af").click()
    expect(phone.get_by_role("status")).to_contain_text("Uw afspraak is afgezegd.")
    expect(phone.get_by_text("Deze afspraak is afgezegd.")).to_be_visible()
    expect(phone.get_by_role("link", name="Andere tijd kiezen")).to_have_count(0)
    assert run_axe(phone) == []
    assert live.api("GET", f"/appointments/{booked['token']}")["status"] == "cancelled"


def test_both_steps_work_without_javascript(live, browser):
    slots = _free_slots(live)
    booked = _book(live, slots[3])
    context = browser.new_context(viewport=PHONE, locale="nl-NL", java_script_enabled=False)
    context.set_default_timeout(EXPECT_TIMEOUT_MS * 2)
    try:
        phone = context.new_page()
        phone.goto(f"{live.url}/a/{booked['token']}")
        phone.get_by_role("link", name="Andere tijd kiezen").click()
        phone.locator(".time-button").last.click()
        phone.get_by_role("button", name="Ja, verzet mijn afspraak").click()
        expect(phone.get_by_role("status")).to_contain_text("Uw afspraak is verzet.")
        phone.get_by_role("button", name="Afspraak afzeggen").click()
        phone.get_by_role("button", name="Ja, zeg mijn afspraak af").click()
        expect(phone.get_by_role("status")).to_contain_text("Uw afspraak is afgezegd.")
    finally:
        context.close()
    assert live.api("GET", f"/appointments/{booked['token']}")["status"] == "cancelled"


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_steps_run_in_the_residents_language_and_reflow(live, new_page, lang):
    """Arabic right to left; nothing scrolls sideways at 390 px nor at 320 CSS px (WCAG 1.4.10).
    Translators may still be writing the catalogues: this is about structure, not wording."""
    slots = _free_slots(live)
    booked = _book(live, slots[4])
    token = booked["token"]
    phone = new_page(viewport=PHONE)
    html = phone.locator("html")
    for path in (
        f"/a/{token}/reschedule",
        f"/a/{token}/reschedule/{slots[-1]['id']}",
        f"/a/{token}/cancel",
    ):
        phone.goto(f"{live.url}{path}?lang={lang}")
        expect(html).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
        assert run_axe(phone) == [], path
        for size in (PHONE, REFLOW):
            phone.set_viewport_size(size)
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert int(width) <= size["width"] + 1, (path, size)
        phone.set_viewport_size(PHONE)
