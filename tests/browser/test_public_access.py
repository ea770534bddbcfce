"""A resident's own phone, in each of the six languages: the status, appointment, booking, tour
and accessibility pages pass axe's WCAG 2.1 A/AA checks, Arabic runs right to left, nothing
scrolls sideways at 390 px, and the pages reflow at 320 CSS px (WCAG 1.4.10: a 1280 px screen at
400 %, or a phone at 200 %). High contrast and forced colours keep every card's edge.

Translators may still be writing the catalogues: the checks are about structure, not wording.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import run_axe

pytestmark = pytest.mark.live

PHONE = {"width": 390, "height": 844}
REFLOW = {"width": 320, "height": 640}
LANGUAGES = ["nl", "en", "tr", "ar", "pl", "uk"]
# How far the page may be wider than the window before it scrolls sideways (rounding).
SLACK_PX = 1
# For the failure message: which elements reach past the window's edge.
WIDER_THAN_WINDOW = """() => [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1
              || e.getBoundingClientRect().left < -1)
  .map((e) => `${e.tagName}.${e.className}: ${(e.textContent || "").trim().slice(0, 40)}`)"""


@pytest.fixture(scope="module")
def resident_paths(live) -> list[str]:
    """One ticket and one appointment on the demo stop; the pages a resident opens."""
    ticket = live.issue("H")
    slot = live.api("GET", "/slots?product=id-apply&limit=50")[-1]
    booked = live.api(
        "POST",
        "/appointments",
        expect=201,
        json={"slot": slot["id"], "product": "id-apply", "language": "nl"},
    )
    return [
        f"/t/{ticket['token']}",
        urlsplit(booked["url"]).path,
        "/afspraak",
        "/afspraak/id-apply",
        "/tour",
        "/toegankelijkheid",
    ]


def _sideways_overflow(page: Any) -> int:
    """How many CSS px the page is wider than its window (0 when nothing scrolls sideways)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    return max(0, int(width) - int(page.viewport_size["width"]) - SLACK_PX)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_page_in_each_language_is_accessible_and_fits_a_phone(
    live, new_page, resident_paths, lang
):
    phone = new_page(viewport=PHONE)
    html = phone.locator("html")
    for path in resident_paths:
        phone.goto(f"{live.url}{path}?lang={lang}")
        expect(html).to_have_attribute("lang", lang)
        expect(html).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
        expect(phone.locator(".lang-switch li")).to_have_count(len(LANGUAGES))
        expect(phone.locator(".site-footer a[href='/toegankelijkheid']")).to_be_visible()
        assert run_axe(phone) == [], path
        assert _sideways_overflow(phone) == 0, (path, phone.evaluate(WIDER_THAN_WINDOW))

        phone.set_viewport_size(REFLOW)
        assert _sideways_overflow(phone) == 0, (path, phone.evaluate(WIDER_THAN_WINDOW))
        phone.set_viewport_size(PHONE)


def test_arabic_runs_right_to_left_with_labels_left_to_right(live, new_page, resident_paths):
    phone = new_page(viewport=PHONE)
    phone.goto(f"{live.url}{resident_paths[0]}?lang=ar")
    label = phone.locator(".status-card__label bdi")
    expect(label).to_have_text(re.compile(r"^[A-Z]\d{3}$"))
    # (The live page may render the card again meanwhile: expect asks until it holds.)
    expect(label).to_have_css("direction", "ltr")
    # Right to left: the language list starts at the right, its second item left of its first.
    items = phone.locator(".lang-switch li")
    first, second = items.nth(0).bounding_box(), items.nth(1).bounding_box()
    assert first is not None and second is not None
    assert second["x"] + second["width"] <= first["x"]


@pytest.mark.parametrize(
    ("media", "edge"),
    [({"contrast": "more"}, "solid"), ({"forced_colors": "active"}, "solid")],
    ids=["more-contrast", "forced-colors"],
)
def test_cards_keep_an_edge_in_high_contrast(live, new_page, resident_paths, media, edge):
    phone = new_page(viewport=PHONE)
    phone.emulate_media(**media)
    phone.goto(f"{live.url}{resident_paths[0]}")
    card = phone.locator(".status-card")
    expect(card).to_be_visible()
    # The live part may be swapped in after the page loads: the check retries on the new card.
    expect(card).to_have_css("border-top-style", edge)
    assert _sideways_overflow(phone) == 0
    if "contrast" in media:
        assert run_axe(phone) == []
