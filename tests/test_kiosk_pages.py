"""The kiosk and ticket status pages through the Flask test client: who may see them, what
they show, and the plain-language answers when something is refused."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.models import StopStatus
from kiosk.services.accounts import AccountService
from kiosk.services.queue import QueueService
from tests.factories import csrf_token_in, make_product, make_stop, pair_browser


@pytest.fixture
def accounts(db, clock) -> AccountService:
    return AccountService(db, clock=clock)


@pytest.fixture
def queue(db, clock) -> QueueService:
    return QueueService(db, clock=clock)


@pytest.fixture
def kiosk_client(client, accounts, stop):
    pair_browser(client, accounts, stop, "kiosk")
    return client


def take(client, product: str = "id-apply"):
    token = csrf_token_in(client.get("/kiosk").get_data(as_text=True))
    return client.post("/kiosk/tickets", data={"product": product, "csrf_token": token})


def test_an_unpaired_browser_sees_how_to_pair_not_the_kiosk(client, stop):
    response = client.get("/kiosk")
    assert response.status_code == 403
    assert "Deze kiosk is niet gekoppeld" in response.get_data(as_text=True)


def test_a_board_device_is_no_kiosk(client, accounts, stop):
    pair_browser(client, accounts, stop, "board")
    assert client.get("/kiosk").status_code == 403


def test_start_screen_shows_one_button_per_walk_in_product_and_the_hours(kiosk_client, db, stop):
    stop.products[0].appointment_required = True
    db.commit()
    page = kiosk_client.get("/kiosk").get_data(as_text=True)
    buttons = re.findall(r'<button type="submit" name="product" value="([^"]+)"', page)
    assert buttons == ["id-collect", "driving-licence"]
    assert "Alleen op afspraak" in page
    assert "Paspoort of ID-kaart aanvragen" in page
    assert "Vandaag open van 11:00 tot 19:00" in page  # Amsterdam summer time (UTC+2)


def test_taking_a_ticket_shows_number_wait_and_qr(kiosk_client, queue, stop):
    queue.issue_ticket(stop, "A")
    response = take(kiosk_client)
    assert response.status_code == 302
    page = kiosk_client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="ticket-label">A002<' in page
    assert "Er is 1 persoon voor u." in page
    assert "Verwachte wachttijd: ongeveer 8 minuten." in page  # 15 min, two desks
    qr = re.search(r'<img class="qr" src="([^"]+)"', page).group(1)
    svg = kiosk_client.get(qr)
    assert svg.mimetype == "image/svg+xml"
    assert svg.data.startswith(b"<?xml")


def test_taking_a_ticket_needs_the_csrf_token(kiosk_client):
    response = kiosk_client.post("/kiosk/tickets", data={"product": "id-apply"})
    assert response.status_code == 400


def test_a_refused_product_gets_plain_words_not_an_error_page(kiosk_client, db):
    make_product(db, "P")
    db.commit()
    response = take(kiosk_client, "product-p")
    assert response.status_code == 409
    assert "Dit kunt u hier vandaag niet regelen." in response.get_data(as_text=True)


def test_a_closed_stop_shows_when_it_opens_next_and_issues_nothing(kiosk_client, db, clock, stop):
    make_stop(
        db,
        now=clock.now,
        starts_in=timedelta(days=2, hours=-2),
        location="Wijkcentrum De Huesmolen",
        status=StopStatus.PLANNED,
    )
    stop.status = StopStatus.CLOSED
    db.commit()
    page = kiosk_client.get("/kiosk").get_data(as_text=True)
    assert "Het loket is nu gesloten" in page
    assert "Wijkcentrum De Huesmolen" in page
    assert 'action="/kiosk/tickets"' not in page  # no number can be taken
    assert "Kwam u ergens voor?" in page  # but the tap is counted as demand (research)


def test_elsewhere_says_where_and_when_other_products_are_offered(kiosk_client, db, clock):
    make_product(db, "P", names={"nl": "Parkeervergunning", "en": "Parking permit"})
    make_stop(
        db,
        now=clock.now,
        products="P",
        starts_in=timedelta(days=3),
        location="Zorgcentrum Lindendael",
        status=StopStatus.PLANNED,
    )
    page = kiosk_client.get("/kiosk/elsewhere").get_data(as_text=True)
    assert "Parkeervergunning" in page
    assert "Zorgcentrum Lindendael" in page


def test_the_confirmation_is_only_for_fresh_tickets_of_this_kiosk(kiosk_client, clock, queue, db):
    response = take(kiosk_client)
    assert kiosk_client.get(response.headers["Location"]).status_code == 200
    clock.advance(minutes=11)
    stale = kiosk_client.get(response.headers["Location"])
    assert stale.status_code == 302
    other = make_stop(db, now=clock.now, location="Elders")
    foreign = queue.issue_ticket(other, "A")
    assert kiosk_client.get(f"/kiosk/tickets/{foreign.token}").status_code == 302


def test_kiosk_speaks_english_on_request_and_dutch_by_default(kiosk_client):
    english = kiosk_client.get("/kiosk?lang=en").get_data(as_text=True)
    assert "What have you come for?" in english
    assert '<html lang="en"' in english
    dutch = kiosk_client.get("/kiosk?lang=nl", headers={"Accept-Language": "en"})
    assert "Waarvoor komt u?" in dutch.get_data(as_text=True)


# -- status page ------------------------------------------------------------------------------


def test_status_page_and_its_live_part(client, queue, stop):
    ahead = queue.issue_ticket(stop, "A")
    mine = queue.issue_ticket(stop, "A")
    page = client.get(f"/t/{mine.token}").get_data(as_text=True)
    assert "A002" in page
    assert "Er is 1 persoon voor u." in page
    assert ahead.token not in page and "A001" not in page
    queue.call_next(stop.desks[0])
    live = client.get(f"/t/{mine.token}/live").get_data(as_text=True)
    assert "U bent de volgende." in live
    queue.call_next(stop.desks[1])
    live = client.get(f"/t/{mine.token}/live").get_data(as_text=True)
    assert "U bent aan de beurt — ga naar Balie 2" in live


@pytest.mark.parametrize("path", ["/t/nope", "/t/nope/live", "/t/nope/qr.svg"])
def test_unknown_tickets_get_a_friendly_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "Nummer niet gevonden" in response.get_data(as_text=True)


def test_the_live_part_is_limited_per_ticket_not_per_address(make_app, db, clock):
    app = make_app(RATELIMIT_TICKET_LIVE="2/minute")
    stop = make_stop(db, now=clock.now)
    queue = QueueService(db, clock=clock)
    first, second = queue.issue_ticket(stop, "A"), queue.issue_ticket(stop, "A")
    client = app.test_client()
    codes = [client.get(f"/t/{first.token}/live").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert client.get(f"/t/{second.token}/live").status_code == 200


def test_status_page_follows_the_phones_language(client, queue, stop):
    ticket = queue.issue_ticket(stop, "R")
    page = client.get(f"/t/{ticket.token}", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Driving licence" in page.get_data(as_text=True)
    assert "You are next." in page.get_data(as_text=True)


def test_a_kiosk_whose_stop_opens_later_today_says_its_hours(kiosk_client, db, clock, stop):
    stop.status = StopStatus.PLANNED
    stop.starts_at = clock.now + timedelta(hours=2)  # 12:00 UTC: 14:00 in Hoorn (summer)
    stop.ends_at = clock.now + timedelta(hours=5)
    db.commit()

    page = kiosk_client.get("/kiosk").get_data(as_text=True)

    assert "Het loket is nu gesloten" in page
    assert "Vandaag zijn wij hier open van 14:00 tot 17:00." in page


def test_a_closed_kiosk_names_the_next_place_with_its_address(kiosk_client, db, clock, stop):
    stop.status = StopStatus.CLOSED
    db.commit()
    make_stop(
        db,
        now=clock.now + timedelta(days=1),
        location="Wijkcentrum De Huesmolen",
        status=StopStatus.PLANNED,
    )

    page = kiosk_client.get("/kiosk").get_data(as_text=True)

    assert (
        "Wij zijn er weer op woensdag 3 juni van 11:00 tot 19:00 in Wijkcentrum De Huesmolen."
        in page
    )
    assert "Wisselstraat 8" in page


def test_a_closed_kiosk_with_nothing_planned_says_whom_to_ask(kiosk_client, db, stop):
    stop.status = StopStatus.CLOSED
    db.commit()

    page = kiosk_client.get("/kiosk").get_data(as_text=True)

    assert "Er is nog geen nieuwe dag gepland. Vraag het aan een medewerker." in page


STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)"')


def test_every_kiosk_screen_links_the_same_stylesheets(kiosk_client):
    # The kiosk shows the next screen in place of this one (static/js/kiosk-navigation.js): a
    # stylesheet that only some screens linked arrived after its screen was shown (CI caught the
    # feedback faces at 97 px high), or never when the server was gone by then.
    home = kiosk_client.get("/kiosk").get_data(as_text=True)
    csrf = csrf_token_in(home)
    screens = {
        "home": home,
        "ticket": kiosk_client.get(take(kiosk_client).headers["Location"]).get_data(as_text=True),
        "feedback": kiosk_client.get("/kiosk/feedback").get_data(as_text=True),
        "feedback product": kiosk_client.post(
            "/kiosk/feedback", data={"csrf_token": csrf, "rating": "4"}
        ).get_data(as_text=True),
        "feedback thanks": kiosk_client.get("/kiosk/feedback/bedankt").get_data(as_text=True),
        "survey": kiosk_client.get("/kiosk/vragen").get_data(as_text=True),
        "appointment check-in": kiosk_client.get("/kiosk/afspraak").get_data(as_text=True),
        "elsewhere": kiosk_client.get("/kiosk/elsewhere").get_data(as_text=True),
        # Right to left, and another script: the same styles (loket.css holds the RTL rules).
        "feedback in Arabic": kiosk_client.get("/kiosk/feedback?lang=ar").get_data(as_text=True),
        "feedback in Ukrainian": kiosk_client.get("/kiosk/feedback?lang=uk").get_data(as_text=True),
    }
    assert 'dir="rtl"' in screens["feedback in Arabic"]
    sheets = {name: STYLESHEET.findall(page) for name, page in screens.items()}
    assert sheets["home"] and any("kiosk-feedback.css" in href for href in sheets["home"])
    assert {name: found for name, found in sheets.items() if found != sheets["home"]} == {}
    # And no screen to come brings one of its own: the kiosk's layout links them all.
    templates = Path(__file__).resolve().parent.parent / "templates" / "kiosk"
    own = [t.name for t in templates.glob("*.html") if "stylesheet" in t.read_text()]
    assert own == ["_layout.html"]
