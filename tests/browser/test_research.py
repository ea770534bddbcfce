"""Research in Chromium against a real `loket run`: a coordinator opens the dashboard and sees
its SVG charts drawn (axe finds nothing); a resident answers the kiosk's two questions in two
taps after taking a number, and the answer is counted without the ticket."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import run_axe, save_screenshot
from tests.live import LiveServer

pytestmark = pytest.mark.live

COORDINATOR = "live-coordinator"
COORDINATOR_PASSWORD = "live-coordinator-password-123"


@pytest.fixture(scope="module")
def seeded(live: LiveServer) -> LiveServer:
    """A coordinator, and tickets through the API: 12 for A and 10 for R (cells shown as 10),
    2 for H (a cell under 10: hidden)."""
    live.cli("user", "add", COORDINATOR, "--role", "coordinator", stdin=COORDINATOR_PASSWORD + "\n")
    for product, count in (("A", 12), ("R", 10), ("H", 2)):
        for _ in range(count):
            live.issue(product)
    return live


def coordinator_page(live: LiveServer, new_page: Any) -> Any:
    page = new_page(viewport={"width": 1366, "height": 900})
    page.goto(f"{live.url}/login")
    page.get_by_label("Gebruikersnaam").fill(COORDINATOR)
    page.get_by_label("Wachtwoord").fill(COORDINATOR_PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(re.compile(r"/(desk.*|admin.*)?$"))
    return page


def test_the_coordinator_sees_the_charts(seeded, new_page):
    page = coordinator_page(seeded, new_page)
    page.goto(f"{seeded.url}/admin/research")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Onderzoek")
    expect(page.locator("figure")).to_have_count(14)

    heat = page.locator("#chart-heat svg")
    expect(heat).to_be_visible()
    cells = heat.locator("rect.heat").count()
    assert cells >= 7 * 14 and cells % 7 == 0  # every weekday x at least 08:00-21:00
    assert heat.get_attribute("role") == "img"
    expect(heat.locator("text.heat-text").first).to_be_visible()  # numbers in the cells
    for key in ("per_location", "per_product"):
        chart = page.locator(f"#chart-{key} svg")
        expect(chart).to_be_visible()
        assert chart.locator("rect.bar").count() >= 1
    box = heat.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100

    assert run_axe(page) == []
    page.locator("#heat").scroll_into_view_if_needed()
    save_screenshot(page, "research-dashboard")

    # Each chart's table opens below it; hidden cells read "< 10".
    page.locator("#per_product details summary").click()
    table = page.locator("#per_product table")
    expect(table).to_be_visible()
    expect(table).to_contain_text("< 10")
    assert run_axe(page) == []


def test_the_export_buttons_download_the_files(seeded, new_page):
    page = coordinator_page(seeded, new_page)
    page.goto(f"{seeded.url}/admin/research")
    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Download als CSV").click()
    assert csv_download.value.suggested_filename.endswith(".csv")
    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Download als Excel (XLSX)").click()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")


def test_a_resident_answers_the_two_questions_in_two_taps(seeded, kiosk_page):
    # Collecting is never offered a time for later, however long the queue the seeding made.
    kiosk_page.get_by_role("button", name=re.compile("ophalen")).click()
    kiosk_page.wait_for_url(re.compile(r"/kiosk/tickets/[^/]+$"))
    invite = kiosk_page.get_by_role("link", name="Ja, ik help mee")
    expect(invite).to_be_visible()
    assert invite.get_attribute("href") == "/kiosk/vragen"
    assert run_axe(kiosk_page) == []  # the confirmation with the invitation
    invite.click()

    expect(kiosk_page.get_by_role("heading", level=1)).to_have_text("In welke wijk woont u?")
    assert run_axe(kiosk_page) == []
    save_screenshot(kiosk_page, "kiosk-survey")
    kiosk_page.get_by_role("button", name="Kersenboogerd-Noord").click()  # tap 1

    expect(kiosk_page.get_by_role("heading", level=1)).to_contain_text("Wanneer komt u")
    assert run_axe(kiosk_page) == []
    kiosk_page.get_by_role("button", name="In het weekend").click()  # tap 2

    expect(kiosk_page.get_by_role("heading", level=1)).to_have_text("Bedankt voor uw hulp!")
    expect(kiosk_page.get_by_role("link", name="Terug naar het begin")).to_be_visible()

    with sqlite3.connect(f"file:{seeded.workdir / 'loket.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT home, moment, people FROM survey_answers WHERE people > 0")
        assert rows.fetchall() == [("kersenboogerd-noord", "weekend", 1)]


def test_the_postcode_keypad_types_four_digits(seeded, kiosk_page):
    kiosk_page.goto(f"{seeded.url}/kiosk/vragen/postcode")
    for digit in "16255":
        kiosk_page.locator(f'[data-digit="{digit}"]').click()
    expect(kiosk_page.locator("#postcode-input")).to_have_value("1625")  # never more than 4
    kiosk_page.get_by_label("Wis het laatste cijfer").click()
    kiosk_page.locator('[data-digit="1"]').click()
    assert run_axe(kiosk_page) == []
    kiosk_page.get_by_role("button", name="Verder").click()
    expect(kiosk_page.get_by_role("heading", level=1)).to_contain_text("Wanneer komt u")
    kiosk_page.get_by_role("button", name="Vraag overslaan").click()
    expect(kiosk_page.get_by_role("heading", level=1)).to_have_text("Bedankt voor uw hulp!")

    with sqlite3.connect(f"file:{seeded.workdir / 'loket.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT moment, people FROM survey_answers WHERE home = '1621'")
        assert rows.fetchall() == [("skipped", 1)]
