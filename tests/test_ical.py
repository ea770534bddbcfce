"""Calendar files written with `icalendar` and read back with it: the appointment's file (UID per
appointment, DTSTAMP, SEQUENCE raised by a move and by cancelling, reminders as VALARM while it
is booked, in the appointment's language) and the tour's feed (one event per stop, refresh
hints, GEO). Every file is valid RFC 5545: CRLF lines of at most 75 octets."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest
from sqlalchemy import select

from kiosk.models import Slot
from kiosk.services.appointments import AppointmentService
from tests.factories import csrf_token_in, make_product, make_stop


@pytest.fixture
def stop(db, clock):
    """Today 09:00-17:00 UTC (now 10:00) at "Bibliotheek Hoorn, Wisselstraat 8" and tomorrow
    elsewhere, both with times for A."""
    make_product(db, "A", bookable=True)
    today = make_stop(db, now=clock.now, products="A")
    tomorrow = make_stop(
        db, now=clock.now + timedelta(days=1), products="A", location="Wijkcentrum Risdam"
    )
    service = AppointmentService(db, clock=clock)
    for each in (today, tomorrow):
        service.open_slots(each, each.products[0])
    return today


def first_slot(db, clock, hours: float) -> Slot:
    return db.scalar(
        select(Slot)
        .where(Slot.starts_at >= clock.now + timedelta(hours=hours))
        .order_by(Slot.starts_at)
        .limit(1)
    )


def book(client, slot: Slot, **extra) -> dict:
    response = client.post("/api/v1/appointments", json={"slot": slot.id, "product": "A", **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def calendar_of(client, token: str) -> tuple[bytes, icalendar.Calendar]:
    response = client.get(f"/a/{token}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert response.headers["Cache-Control"] == "no-store"  # a private page's file
    return response.data, icalendar.Calendar.from_ical(response.data)


def assert_valid_lines(data: bytes) -> None:
    """RFC 5545 3.1: lines end in CRLF and are folded at 75 octets."""
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))


def test_the_appointment_file_carries_two_reminders(client, db, stop, clock):
    tomorrow = first_slot(db, clock, 26)
    booked = book(client, tomorrow)
    data, calendar = calendar_of(client, booked["token"])
    assert_valid_lines(data)
    assert (str(calendar["METHOD"]), str(calendar["VERSION"])) == ("PUBLISH", "2.0")
    assert "popup-loket" in str(calendar["PRODID"]) and "UID" not in calendar
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"{booked['token']}@popup-loket"
    assert event.decoded("DTSTART") == tomorrow.starts_at
    assert event.decoded("DTEND") == tomorrow.ends_at
    assert event.decoded("DTSTAMP") == clock.now  # when the file was made
    assert int(event["SEQUENCE"]) == 0 and str(event["STATUS"]) == "CONFIRMED"
    assert str(event["LOCATION"]) == "Wijkcentrum Risdam, Wisselstraat 8"  # the comma survives
    assert booked["code"] in str(event["DESCRIPTION"]) and booked["url"] in str(event["URL"])
    alarms = {alarm.decoded("TRIGGER"): alarm for alarm in event.walk("VALARM")}
    assert set(alarms) == {timedelta(days=-1), timedelta(hours=-1)}
    for alarm in alarms.values():
        assert str(alarm["ACTION"]) == "DISPLAY"
        assert booked["code"] in str(alarm["DESCRIPTION"])
        assert "Wijkcentrum Risdam" in str(alarm["DESCRIPTION"])
    assert str(alarms[timedelta(days=-1)]["DESCRIPTION"]).startswith("Morgen om ")
    assert str(alarms[timedelta(hours=-1)]["DESCRIPTION"]).startswith("Over een uur")


def test_a_same_day_appointment_has_no_day_before_reminder(client, db, stop, clock):
    booked = book(client, first_slot(db, clock, 2))
    _data, calendar = calendar_of(client, booked["token"])
    (event,) = calendar.walk("VEVENT")
    assert [a.decoded("TRIGGER") for a in event.walk("VALARM")] == [timedelta(hours=-1)]


def test_a_move_raises_the_sequence_under_the_same_uid(client, db, stop, clock):
    booked = book(client, first_slot(db, clock, 1))
    _data, before = calendar_of(client, booked["token"])
    new = first_slot(db, clock, 27)
    clock.advance(minutes=10)
    moved = client.post(f"/api/v1/appointments/{booked['token']}/reschedule", json={"slot": new.id})
    assert moved.status_code == 200
    clock.advance(minutes=10)
    data, after = calendar_of(client, booked["token"])
    assert_valid_lines(data)
    (old_event,), (new_event,) = before.walk("VEVENT"), after.walk("VEVENT")
    assert new_event["UID"] == old_event["UID"]
    assert (int(old_event["SEQUENCE"]), int(new_event["SEQUENCE"])) == (0, 1)
    assert new_event.decoded("DTSTART") == new.starts_at
    assert str(new_event["LOCATION"]).startswith("Wijkcentrum Risdam")
    assert new_event.decoded("LAST-MODIFIED") == clock.now - timedelta(minutes=10)
    assert new_event.decoded("DTSTAMP") == clock.now
    assert new_event.decoded("DTSTAMP") > old_event.decoded("DTSTAMP")
    assert len(new_event.walk("VALARM")) == 2  # now more than a day ahead


def test_a_cancelled_appointment_says_so_and_reminds_of_nothing(client, db, stop, clock):
    booked = book(client, first_slot(db, clock, 26))
    token = booked["token"]
    asked = client.get(f"/a/{token}/cancel")
    client.post(f"/a/{token}/cancel", data={"csrf_token": csrf_token_in(asked.text)})
    _data, calendar = calendar_of(client, token)
    (event,) = calendar.walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 1
    assert event.walk("VALARM") == []


def test_the_file_speaks_the_appointments_language(client, db, stop, clock):
    booked = book(client, first_slot(db, clock, 2), language="en")
    _data, calendar = calendar_of(client, booked["token"])
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]).startswith("Appointment Municipality of Hoorn")
    assert f"Your code: {booked['code']}" in str(event["DESCRIPTION"])


def test_awkward_text_survives_the_round_trip(client, db, clock):
    make_product(db, "A", bookable=True)
    odd = make_stop(db, now=clock.now, products="A", location='Café "De Waag"; zaal, boven\\')
    AppointmentService(db, clock=clock).open_slots(odd, odd.products[0])
    booked = book(client, first_slot(db, clock, 2))
    data, calendar = calendar_of(client, booked["token"])
    assert_valid_lines(data)
    (event,) = calendar.walk("VEVENT")
    assert str(event["LOCATION"]) == 'Café "De Waag"; zaal, boven\\, Wisselstraat 8'


def test_an_unknown_appointment_has_no_file(client):
    assert client.get("/a/no-such-token.ics").status_code == 404


# -- the tour's feed -------------------------------------------------------------------------


def test_the_tour_feed_is_valid_with_refresh_hints_and_places(client, db, stop, clock):
    stop.location.latitude, stop.location.longitude = 52.6424, 5.0597
    db.commit()
    response = client.get("/tour.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert_valid_lines(response.data)
    calendar = icalendar.Calendar.from_ical(response.data)
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Loket op locatie – Gemeente Hoorn"
    assert calendar.decoded("REFRESH-INTERVAL") == timedelta(hours=12)
    assert calendar["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert str(calendar["X-PUBLISHED-TTL"].to_ical().decode()) == "PT12H"  # Outlook's hint
    events = calendar.walk("VEVENT")
    assert str(events[0]["UID"]) == f"stop-{stop.id}@popup-loket"
    assert len({str(e["UID"]) for e in events}) == len(events) == 2
    today = events[0]
    assert today.decoded("DTSTART") == stop.starts_at and today.decoded("DTSTAMP") == clock.now
    assert tuple(round(v, 4) for v in today.decoded("GEO")) == (52.6424, 5.0597)
    assert "GEO" not in events[1]
    assert today.walk("VALARM") == []  # a feed reminds nobody of every stop


def test_the_tour_feed_in_english(client, stop):
    calendar = icalendar.Calendar.from_ical(client.get("/tour.ics?lang=en").data)
    assert str(calendar.walk("VEVENT")[0]["SUMMARY"]).startswith("Pop-up office:")
