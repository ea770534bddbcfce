"""A coordinator plans the tour in the browser: adds a location (after a form with a mistake),
plans a weekly series over three weeks, skips one date on the preview and sees the stops that
were made. Every admin page on the way passes axe's WCAG 2.1 A/AA checks."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from playwright.sync_api import expect

from tests.browser.conftest import run_axe, save_screenshot

pytestmark = pytest.mark.live

COORDINATOR = "live-coordinator"
PASSWORD = "live-coordinator-password-123"  # not the username plus a word (zxcvbn)
LAPTOP = {"width": 1366, "height": 900}


@pytest.fixture
def coordinator_page(live: Any, new_page: Any) -> Any:
    """A coordinator's laptop, logged in."""
    try:
        live.cli("user", "add", COORDINATOR, "--role", "coordinator", stdin=PASSWORD + "\n")
    except AssertionError as error:  # made by an earlier test of this module
        assert "exists already" in str(error)
    page = new_page(viewport=LAPTOP)
    page.goto(f"{live.url}/login?next=/admin")
    page.get_by_label("Gebruikersnaam").fill(COORDINATOR)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(re.compile(r"/admin$"))
    return page


def test_a_coordinator_plans_a_weekly_series_and_skips_a_date(coordinator_page, live):
    page = coordinator_page
    expect(page.get_by_role("heading", level=1, name="Beheer")).to_be_visible()
    assert run_axe(page) == []

    # A new location; first without a name: the summary gets the focus and links to the field.
    page.get_by_role("navigation", name="Beheer").get_by_role("link", name="Locaties").click()
    page.get_by_role("link", name="Locatie toevoegen").click()
    page.get_by_label("Adres").fill("Kersenboogerd 1, 1627 Hoorn")
    page.get_by_role("button", name="Opslaan").click()
    summary = page.get_by_role("alert")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Vul de naam van de locatie in.")
    name = page.get_by_label("Naam", exact=False).first
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Adres")).to_have_value("Kersenboogerd 1, 1627 Hoorn")
    assert run_axe(page) == []
    summary.get_by_role("link").click()
    expect(name).to_be_focused()
    name.fill("Wijkcentrum Kersenboogerd")
    page.get_by_label("Wijk", exact=False).fill("Kersenboogerd")
    page.get_by_label("H – Paspoort of ID-kaart ophalen").check()
    page.get_by_label("R – Rijbewijs").check()
    page.get_by_role("button", name="Opslaan").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Locatie Wijkcentrum Kersenboogerd is toegevoegd."
    )

    # The series: every week on one weekday, three weeks from a week from now.
    first = datetime.now(ZoneInfo("Europe/Amsterdam")).date() + timedelta(days=7)
    dates = [first + timedelta(weeks=n) for n in range(3)]
    weekday = format_date(first, "EEEE", locale="nl")
    page.get_by_role("navigation", name="Beheer").get_by_role("link", name="Reeksen").click()
    page.get_by_role("link", name="Reeks plannen").click()
    page.get_by_label("Locatie").select_option(label="Wijkcentrum Kersenboogerd")
    page.get_by_role("button", name="Verder").click()
    expect(page.get_by_text("Locatie: Wijkcentrum Kersenboogerd")).to_be_visible()
    assert run_axe(page) == []
    page.get_by_label(weekday, exact=True).check()
    page.get_by_label("Begintijd").fill("18:00")
    page.get_by_label("Eindtijd").fill("21:00")
    page.get_by_label("Eerste datum").fill(first.isoformat())
    page.get_by_label("Aantal weken").fill("3")
    # Only the location's products are offered, and they are ticked.
    expect(page.get_by_label("H – Paspoort of ID-kaart ophalen").first).to_be_checked()
    expect(page.get_by_label("A – Paspoort of ID-kaart aanvragen")).to_have_count(0)
    expect(page.get_by_label("Naam van balie 1")).to_have_value("Balie 1")
    page.get_by_role("button", name="Datums bekijken").click()

    # The preview: three dates at 18:00-21:00; skip the second.
    expect(page.get_by_role("heading", level=1, name="Reeks controleren")).to_be_visible()
    expect(page.get_by_text("De reeks heeft 3 datums")).to_be_visible()
    rows = page.locator("table.series-dates tbody tr")
    expect(rows).to_have_count(3)
    for row, day in zip(rows.all(), dates, strict=True):
        expect(row).to_contain_text(format_date(day, "EEEE d MMMM y", locale="nl"))
        expect(row).to_contain_text("18:00–21:00")
    page.locator(f"#skip-{dates[1].isoformat()}").check()
    assert run_axe(page) == []
    save_screenshot(page, "admin-series")
    page.get_by_role("button", name="Reeks opslaan").click()

    # The series page lists the two stops that were made.
    expect(page.get_by_role("status")).to_contain_text(
        "De reeks is opgeslagen: 2 loketdagen gepland."
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("Kersenboogerd")
    stops = page.get_by_role("table").filter(has_text="Nummers").locator("tbody tr")
    expect(stops).to_have_count(2)
    expect(stops.nth(0)).to_contain_text(format_date(dates[0], "EEEE d MMMM y", locale="nl"))
    expect(stops.nth(1)).to_contain_text(format_date(dates[2], "EEEE d MMMM y", locale="nl"))
    expect(page.locator("dl.facts")).to_contain_text(format_date(dates[1], "d MMMM y", locale="nl"))
    assert run_axe(page) == []

    # And among the stops still to come.
    page.get_by_role("navigation", name="Beheer").get_by_role("link", name="Loketdagen").click()
    table = page.get_by_role("table")
    for day in (dates[0], dates[2]):
        expect(table).to_contain_text(format_date(day, "EEEE d MMMM y", locale="nl"))
    expect(table).not_to_contain_text(format_date(dates[1], "EEEE d MMMM y", locale="nl"))
    assert run_axe(page) == []


def test_staff_cannot_open_the_admin(desk_page, live):
    desk_page.goto(f"{live.url}/admin/series/new")
    expect(desk_page.get_by_role("heading", name="Geen toegang")).to_be_visible()
    expect(desk_page.get_by_text("Deze pagina is voor coördinatoren.")).to_be_visible()
