"""The public tour schedule: the page (by day and neighbourhood, "where can I do X next?"), the
iCalendar feed (parsed back with `icalendar`, per product too), the JSON, and the privacy page."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest

from kiosk.models import StopStatus
from tests.factories import make_product, make_stop, pair_browser


@pytest.fixture
def tour(db, clock):
    """Today at the library (A, H, R, open now); Thursday in Grote Waal (H only); next week in
    Kersenboogerd (A, by appointment only there); a closed stop and one that has ended."""
    make_product(db, "A", bookable=True)
    today = make_stop(db, now=clock.now, products="AHR")
    thursday = make_stop(
        db,
        now=clock.now,
        products="H",
        starts_in=timedelta(days=2, hours=6),  # Thursday 4 June, 18:00 local
        hours=3,
        location="Wijkcentrum De Huesmolen",
        status=StopStatus.PLANNED,
    )
    thursday.location.neighbourhood = "Grote Waal"
    later = make_stop(
        db,
        now=clock.now,
        products="A",
        starts_in=timedelta(days=7),
        hours=4,
        location="Zorgcentrum Lindendael",
        status=StopStatus.PLANNED,
    )
    later.location.neighbourhood = "Kersenboogerd"
    make_stop(
        db,
        now=clock.now,
        products="R",
        starts_in=timedelta(days=3),
        location="Gesloten",
        status=StopStatus.CLOSED,
    )
    make_stop(db, now=clock.now, products="R", starts_in=timedelta(days=-2), location="Voorbij")
    db.commit()
    return {"today": today, "thursday": thursday, "later": later}


def test_the_schedule_lists_coming_stops_by_day_and_neighbourhood(client, tour):
    page = client.get("/tour").get_data(as_text=True)
    assert "Waar is het loket?" in page
    days = [
        page.index(d) for d in ("dinsdag 2 juni 2026", "donderdag 4 juni 2026", "dinsdag 9 juni")
    ]
    assert days == sorted(days)
    assert "Wijk Grote Waal" in page and "Wijk Kersenboogerd" in page
    assert "18:00 tot 21:00 uur" in page  # Thursday 16:00 UTC = 18:00 local (CEST)
    assert "Nu open" in page  # today's stop is open
    assert "Gesloten" not in page and "Voorbij" not in page
    assert "Rijbewijs" in page and "Paspoort of ID-kaart ophalen" in page


def test_where_can_i_do_x_next(client, tour):
    page = client.get("/tour?product=driving-licence").get_data(as_text=True)
    assert "Waar kunt u Rijbewijs het eerst regelen?" in page
    first = page[page.index("tour-first") :]
    assert "Bibliotheek Hoorn" in first[:600]
    assert "Zorgcentrum Lindendael" not in page  # does not offer it
    passport = client.get("/tour?product=A").get_data(as_text=True)
    assert "Afspraak maken" in passport and "/afspraak/id-apply" in passport
    unknown = client.get("/tour?product=nope")
    assert unknown.status_code == 404 and "Dat product kennen wij niet" in unknown.text


def test_the_calendar_feed_parses_back_per_product_too(client, tour):
    response = client.get("/tour.ics")
    assert response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.data)
    events = calendar.walk("VEVENT")
    assert [str(e["LOCATION"]).split(",")[0] for e in events] == [
        "Bibliotheek Hoorn",
        "Wijkcentrum De Huesmolen",
        "Zorgcentrum Lindendael",
    ]
    thursday = events[1]
    assert thursday.decoded("DTSTART") == tour["thursday"].starts_at
    assert thursday.decoded("DTEND") == tour["thursday"].ends_at
    assert str(thursday["UID"]) == f"stop-{tour['thursday'].id}@popup-loket"
    assert "Paspoort of ID-kaart ophalen" in str(thursday["DESCRIPTION"])
    collect = icalendar.Calendar.from_ical(client.get("/tour.ics?product=H").data)
    assert len(collect.walk("VEVENT")) == 2
    assert "Paspoort of ID-kaart ophalen" in str(collect["X-WR-CALNAME"])
    assert client.get("/tour.ics?product=nope").status_code == 404


def test_the_json_lists_the_same_stops(client, tour):
    body = client.get("/tour.json").get_json()
    assert [s["location"]["name"] for s in body["stops"]] == [
        "Bibliotheek Hoorn",
        "Wijkcentrum De Huesmolen",
        "Zorgcentrum Lindendael",
    ]
    first = body["stops"][0]
    assert first["status"] == "open" and first["starts_at"].endswith("Z")
    assert {p["code"] for p in first["products"]} == {"id-apply", "id-collect", "driving-licence"}
    assert client.get("/tour.json?product=A").get_json()["stops"][-1]["location"][
        "neighbourhood"
    ] == ("Kersenboogerd")


def test_the_schedule_speaks_english(client, tour):
    page = client.get("/tour?lang=en").get_data(as_text=True)
    assert '<html lang="en"' in page and "Thursday 4 June 2026" in page


def test_the_privacy_page_says_what_is_kept_and_for_how_long(client, app):
    page = client.get("/privacy").get_data(as_text=True)
    assert "Privacy: wat wij bewaren" in page
    assert f"{app.config['RETENTION_DAYS']} dagen na uw afspraak" in page
    assert "minder dan 5 mensen" in page


def test_the_kiosk_shows_the_way_to_the_schedule_for_what_is_not_offered(
    client, db, clock, accounts, tour
):
    pair_browser(client, accounts, tour["today"], "kiosk")
    page = client.get("/kiosk/elsewhere").get_data(as_text=True)
    assert 'src="/tour/qr.svg"' in page
    qr = client.get("/tour/qr.svg")
    assert qr.mimetype == "image/svg+xml"


@pytest.fixture
def accounts(db, clock):
    from kiosk.services.accounts import AccountService

    return AccountService(db, clock=clock)
