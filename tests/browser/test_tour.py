"""The public tour schedule and the privacy page on a phone: "where can I do X next?" answered
in two taps, and no WCAG 2.1 A/AA violations on either page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import run_axe, save_screenshot

pytestmark = pytest.mark.live


def test_where_can_i_apply_for_a_driving_licence(live, new_page):
    page = new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live.url}/tour")
    expect(page.get_by_role("heading", name="Waar is het loket?", exact=True)).to_be_visible()
    expect(page.locator(".tour-stop").first).to_contain_text("Bibliotheek Hoorn")
    assert run_axe(page) == []
    page.get_by_label("Wat wilt u regelen?").select_option(label="Rijbewijs")
    page.get_by_role("button", name="Toon waar").click()
    answer = page.get_by_role("region", name="Waar kunt u Rijbewijs het eerst regelen?")
    expect(answer).to_contain_text("Bibliotheek Hoorn")
    expect(page.get_by_role("link", name="Agenda (iCal)")).to_have_attribute(
        "href", "/tour.ics?product=driving-licence"
    )
    assert run_axe(page) == []
    save_screenshot(page, "tour")


def test_the_privacy_page_is_accessible(live, new_page):
    page = new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live.url}/privacy")
    expect(page.get_by_role("heading", name="Privacy: wat wij bewaren")).to_be_visible()
    assert run_axe(page) == []
