"""Residents' pages speak six languages (Arabic right to left); staff pages keep to Dutch and
English; the QR code's link carries the resident's language; the accessibility statement.

Translators may still be writing the tr/ar/pl/uk catalogues: these tests check the structure of
a page (lang, dir, the switch, the footer), never its wording in those languages.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask

import kiosk.services.accounts as accounts_module
from kiosk.i18n import LANGUAGE_NAMES
from kiosk.services.appointments import AppointmentService
from kiosk.services.queue import QueueService
from kiosk.urls import appointment_url, public_url, requested_language, ticket_url
from tests.factories import csrf_token_in, make_bookable_stop, make_user

LANGUAGES = ["nl", "en", "tr", "ar", "pl", "uk"]
PASSWORD = "een lang wachtwoord 42"


@pytest.fixture
def stop(db, clock):
    return make_bookable_stop(db, clock)


@pytest.fixture
def ticket(db, clock, stop):
    return QueueService(db, clock=clock).issue_ticket(stop, "A")


@pytest.fixture
def appointment(db, clock, stop):
    service = AppointmentService(db, clock=clock)
    slot = service.free_slots(stop.products[0], stop=stop)[-1]
    return service.book(slot.id)


@pytest.fixture
def public_paths(stop, ticket, appointment) -> dict[str, str]:
    slot = appointment.slot
    return {
        "status": f"/t/{ticket.token}",
        "appointment": f"/a/{appointment.token}",
        "booking": "/afspraak",
        "booking-stops": "/afspraak/id-apply",
        "booking-slots": f"/afspraak/id-apply/{stop.id}",
        "booking-details": f"/afspraak/id-apply/{stop.id}/{slot.id}",
        "tour": "/tour",
        "privacy": "/privacy",
        "accessibility": "/toegankelijkheid",
        "unknown-ticket": "/t/no-such-ticket",
        "unknown-appointment": "/a/no-such-appointment",
        "not-found": "/bestaat-niet",
    }


def html_tag(page: str) -> str:
    match = re.search(r"<html[^>]*>", page)
    assert match, page[:200]
    return match.group(0)


def lang_switch(page: str) -> str:
    match = re.search(r'<nav class="lang-switch".*?</nav>', page, re.S)
    assert match, "no language switch"
    return match.group(0)


# -- every resident page, every language -------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_public_page_answers_in_each_language_with_its_direction(client, public_paths, lang):
    for name, path in public_paths.items():
        response = client.get(f"{path}?lang={lang}")
        assert response.status_code in (200, 404), (name, response.status_code)
        tag = html_tag(response.text)
        direction = "rtl" if lang == "ar" else "ltr"
        assert f'lang="{lang}"' in tag and f'dir="{direction}"' in tag, (name, tag)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_switch_offers_the_six_languages_each_named_in_itself(client, public_paths, lang):
    for name, path in public_paths.items():
        switch = lang_switch(client.get(f"{path}?lang={lang}").text)
        for code, own_name in LANGUAGE_NAMES.items():
            if code == lang:
                assert f'lang="{code}" aria-current="true">{own_name}<' in switch, name
            else:
                link = re.search(rf'<a href="([^"]+)" lang="{code}" hreflang="{code}">', switch)
                assert link and f"lang={code}" in link.group(1), (name, code)
                assert f">{own_name}</a>" in switch


def test_a_switch_link_keeps_the_page_and_its_query(client, stop):
    switch = lang_switch(client.get("/tour?product=id-apply&lang=pl").text)
    assert 'href="/tour?product=id-apply&amp;lang=ar"' in switch
    # A page without an endpoint (a 404) links to itself, not to the start page.
    assert 'href="/bestaat-niet?lang=uk"' in lang_switch(client.get("/bestaat-niet").text)


def test_the_footer_links_privacy_accessibility_and_tour_on_every_public_page(client, public_paths):
    for name, path in public_paths.items():
        page = client.get(f"{path}?lang=ar").text
        footer = re.search(r'<footer class="site-footer">.*?</footer>', page, re.S)
        assert footer, name
        for target in ("/toegankelijkheid", "/privacy", "/tour"):
            assert f'href="{target}"' in footer.group(0), (name, target)
        assert "css/public.css" in page, name


def test_the_kiosk_and_the_board_show_no_footer(client, accounts_client):
    kiosk = accounts_client.get("/kiosk").text
    board = client.get("/board").text
    for page in (kiosk, board):
        assert 'class="site-footer"' not in page and "css/public.css" not in page


def test_the_offline_page_has_language_and_direction_but_no_links_needing_the_server(client):
    page = client.get("/offline?lang=ar").text
    assert 'lang="ar"' in html_tag(page) and 'dir="rtl"' in html_tag(page)
    assert 'class="site-footer"' not in page


def test_labels_codes_and_time_ranges_stay_left_to_right(client, ticket, appointment):
    status = client.get(f"/t/{ticket.token}?lang=ar").text
    assert f"<bdi>{ticket.label}</bdi>" in status
    page = client.get(f"/a/{appointment.token}?lang=ar").text
    assert f"<bdi>{appointment.code}</bdi>" in page
    assert re.search(r'<bdi dir="ltr">\d\d:\d\d–\d\d:\d\d</bdi>', page)


@pytest.mark.parametrize(
    ("lang", "day"),
    [
        ("nl", "dinsdag 2 juni 2026"),
        ("en", "Tuesday 2 June 2026"),
        ("tr", "2 Haziran 2026 Salı"),
        ("ar", "الثلاثاء 2 يونيو 2026"),
        ("pl", "wtorek 2 czerwca 2026"),
        ("uk", "вівторок 2 червня 2026"),
    ],
)
def test_dates_are_written_the_way_each_language_reads_them(client, stop, lang, day):
    assert day in client.get(f"/tour?lang={lang}").text


# -- staff pages stay Dutch or English ---------------------------------------------------------


@pytest.fixture
def staff_client(client, db, monkeypatch):
    monkeypatch.setattr(
        accounts_module, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    make_user(db, "anna", password=PASSWORD)
    token = csrf_token_in(client.get("/login").text)
    response = client.post(
        "/login", data={"username": "anna", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return client


@pytest.fixture
def accounts_client(client, db, clock, stop):
    from kiosk.services.accounts import AccountService
    from tests.factories import pair_browser

    pair_browser(client, AccountService(db, clock=clock), stop, "kiosk")
    return client


def test_a_turkish_resident_page_leaves_the_desk_in_dutch(staff_client, stop):
    assert 'lang="tr"' in html_tag(staff_client.get("/tour?lang=tr").text)
    desk = staff_client.get("/desk", follow_redirects=True)
    assert desk.status_code == 200
    assert 'lang="nl"' in html_tag(desk.text) and 'dir="ltr"' in html_tag(desk.text)
    switch = lang_switch(desk.text)
    assert set(re.findall(r'lang="(\w+)"', switch)) == {"nl", "en"}


@pytest.mark.parametrize("path", ["/desk", "/admin", "/login"])
def test_staff_pages_refuse_a_resident_language(staff_client, stop, path):
    page = staff_client.get(f"{path}?lang=ar", follow_redirects=True).text
    assert re.search(r'lang="(nl|en)"', html_tag(page)) and 'dir="ltr"' in html_tag(page)
    assert "Українська" not in page and "العربية" not in page


def test_staff_pages_follow_an_english_choice(staff_client, stop):
    page = staff_client.get("/desk?lang=en", follow_redirects=True).text
    assert 'lang="en"' in html_tag(page)


# -- the QR code's link carries the language ---------------------------------------------------


def test_links_for_dutch_stay_as_they_were(app: Flask):
    with app.test_request_context("/kiosk"):
        assert ticket_url("abc", language="nl") == "http://loket.test/t/abc"
        assert appointment_url("xyz", language="nl") == "http://loket.test/a/xyz"
        assert public_url("display.ticket_status", token="abc") == "http://loket.test/t/abc"


@pytest.mark.parametrize("lang", ["en", "tr", "ar", "pl", "uk"])
def test_links_in_another_language_carry_it(app: Flask, lang):
    with app.test_request_context("/kiosk"):
        assert ticket_url("abc", language=lang) == f"http://loket.test/t/abc?lang={lang}"
        assert appointment_url("xyz", language=lang) == f"http://loket.test/a/xyz?lang={lang}"


def test_a_link_follows_the_page_language_and_ignores_unknown_ones(app: Flask):
    with app.test_request_context("/t/x?lang=uk"):
        assert ticket_url("abc") == "http://loket.test/t/abc?lang=uk"
        assert ticket_url("abc", language="xx") == "http://loket.test/t/abc"


def test_a_slip_outside_a_request_gets_its_language_explicitly(app: Flask):
    app.config["PUBLIC_BASE_URL"] = "http://192.168.1.10:5000"
    with app.app_context():
        assert ticket_url("abc") == "http://192.168.1.10:5000/t/abc"
        assert ticket_url("abc", language="tr") == "http://192.168.1.10:5000/t/abc?lang=tr"
        assert (
            public_url("appointment.show", token="xyz", language="pl")
            == "http://192.168.1.10:5000/a/xyz?lang=pl"
        )


def test_a_qr_image_asks_by_query_else_session_never_accept_language(app: Flask):
    english_browser = {"Accept-Language": "en-US"}
    with app.test_request_context("/t/abc/qr.svg", headers=english_browser):
        assert requested_language() == "nl"
    with app.test_request_context("/t/abc/qr.svg?lang=ar", headers=english_browser):
        assert requested_language() == "ar"


@pytest.fixture
def qr_links(monkeypatch) -> list[str]:
    """The URLs the QR views encode (decoding the SVG is the printer tests' job)."""
    import display.views
    import kiosk.views.appointment
    import kiosk.views.tour

    seen: list[str] = []

    def record(url: str) -> Any:
        seen.append(url)
        return "qr"

    for module in (display.views, kiosk.views.appointment, kiosk.views.tour):
        monkeypatch.setattr(module, "qr_svg", record)
    return seen


def test_the_qr_on_the_kiosk_screen_opens_the_page_in_the_kiosks_language(
    client, ticket, appointment, qr_links
):
    client.get(f"/t/{ticket.token}/qr.svg?lang=tr")
    client.get(f"/a/{appointment.token}/link.svg?lang=ar")
    client.get("/tour/qr.svg?lang=uk")
    client.get(f"/t/{ticket.token}/qr.svg?lang=nl")
    assert qr_links == [
        f"http://loket.test/t/{ticket.token}?lang=tr",
        f"http://loket.test/a/{appointment.token}?lang=ar",
        "http://loket.test/tour?lang=uk",
        f"http://loket.test/t/{ticket.token}",
    ]


def test_a_kiosk_image_without_lang_follows_the_language_the_kiosk_chose(
    accounts_client, ticket, qr_links
):
    accounts_client.get("/kiosk?lang=tr")
    accounts_client.get(f"/t/{ticket.token}/qr.svg", headers={"Accept-Language": "en-US"})
    accounts_client.get("/kiosk?lang=nl")  # back at the start: Dutch again
    accounts_client.get(f"/t/{ticket.token}/qr.svg", headers={"Accept-Language": "en-US"})
    assert qr_links == [
        f"http://loket.test/t/{ticket.token}?lang=tr",
        f"http://loket.test/t/{ticket.token}",
    ]


# -- the accessibility statement ---------------------------------------------------------------


def test_the_accessibility_statement_has_the_parts_of_the_model(client):
    page = client.get("/toegankelijkheid?lang=nl")
    assert page.status_code == 200
    text = page.text
    for part in (
        "<h1>Toegankelijkheidsverklaring</h1>",
        "Gemeente Hoorn",
        "WCAG 2.1",
        "EN 301 549",
        "Status: voldoet gedeeltelijk",
        "Datum van deze verklaring",
        "Laatste controle",
        "axe",
        "Een probleem melden",
        'href="tel:140229"',
        'href="mailto:toegankelijkheid@hoorn.nl"',
        "Nationale ombudsman",
        "donderdag 3 december 2026",
    ):
        assert part in text, part


def test_the_statements_contact_details_come_from_the_settings(make_app):
    app = make_app(
        ACCESSIBILITY_PHONE="0229 123 456",
        ACCESSIBILITY_EMAIL="loket@example.nl",
        ACCESSIBILITY_CHECKED_DATE="2027-01-15",
    )
    text = app.test_client().get("/toegankelijkheid?lang=en").text
    assert "<h1>Accessibility statement</h1>" in text
    assert 'href="tel:0229123456"' in text and "mailto:loket@example.nl" in text
    assert "15 January 2027" in text
