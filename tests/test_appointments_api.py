"""Appointments through the JSON API and the private page: free slots, booking, the private
link, cancelling, kiosk check-in (with its slip), import, and the calendar file."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest
from sqlalchemy import select

from kiosk.models import DeviceKind, Slot
from kiosk.services.accounts import AccountService
from tests.factories import csrf_token_in, make_bookable_stop, make_user


@pytest.fixture
def stop(db, clock):
    return make_bookable_stop(db, clock)


@pytest.fixture
def accounts(db, clock) -> AccountService:
    return AccountService(db, clock=clock)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def kiosk(accounts, stop) -> dict[str, str]:
    code = accounts.add_device(DeviceKind.KIOSK, "Kiosk", stop=stop).code
    return bearer(accounts.pair(code)[1])


def staff_headers(db, accounts, role: str = "staff") -> dict[str, str]:
    user, _ = make_user(db, f"user-{role}", role=role)
    return bearer(accounts.issue_token(user, ttl=timedelta(hours=1)).token)


def book(client, slot_id: int, **extra):
    return client.post("/api/v1/appointments", json={"slot": slot_id, "product": "A", **extra})


def first_free(client) -> dict:
    return client.get("/api/v1/slots?product=A").get_json()[0]


def test_free_slots_then_book_view_and_cancel(client, stop):
    slots = client.get("/api/v1/slots?product=A").get_json()
    assert slots and slots[0]["free"] == 2 and slots[0]["stop"]["name"] == "Bibliotheek Hoorn"
    created = book(client, slots[0]["id"], name="Anna", email="anna@example.org")
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["url"] == f"http://loket.test/a/{body['token']}" and len(body["code"]) == 7
    assert body["product"]["bring"]["nl"]

    fetched = client.get(f"/api/v1/appointments/{body['token']}").get_json()
    assert (fetched["code"], fetched["status"]) == (body["code"], "booked")
    # The token travels in QR codes: whoever holds it never learns who booked.
    assert (fetched["name"], fetched["email"]) == (None, None)
    assert client.get("/api/v1/slots?product=A").get_json()[0]["free"] == 1

    cancelled = client.delete(f"/api/v1/appointments/{body['token']}")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["name"] is None
    again = client.delete(f"/api/v1/appointments/{body['token']}")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "appointment_closed"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"slot": 999999, "product": "A"}, 404, "unknown_slot"),
        ({"slot": "x", "product": "A"}, 422, "invalid_request"),
        ({"product": "A"}, 422, "invalid_request"),
        ({"slot": None, "product": "R", "email": "not-an-address"}, 422, "invalid_request"),
    ],
)
def test_booking_refuses_bad_input_clearly(client, stop, body, status, code):
    if body.get("slot") is None and "slot" in body:
        body["slot"] = first_free(client)["id"]
    response = client.post("/api/v1/appointments", json=body)
    assert response.status_code == status and response.get_json()["error"]["code"] == code


def test_a_slot_of_another_product_and_a_full_slot_are_refused(client, stop):
    slot = first_free(client)
    wrong = client.post("/api/v1/appointments", json={"slot": slot["id"], "product": "R"})
    assert wrong.status_code == 409 and wrong.get_json()["error"]["code"] == "not_bookable"
    assert book(client, slot["id"]).status_code == 201
    assert book(client, slot["id"]).status_code == 201
    full = book(client, slot["id"])
    assert full.status_code == 409 and full.get_json()["error"]["code"] == "slot_full"


def test_slots_need_a_known_product(client, stop):
    assert client.get("/api/v1/slots?product=Z").status_code == 404
    assert client.get("/api/v1/slots").status_code == 422


def test_a_kiosk_checks_in_by_code_and_gets_its_ticket(client, db, stop, kiosk, clock):
    soon = db.scalar(
        select(Slot).where(Slot.starts_at > clock.now).order_by(Slot.starts_at).limit(1)
    )
    booked = book(client, soon.id).get_json()
    response = client.post(
        "/api/v1/appointments/check-in", json={"code": booked["code"]}, headers=kiosk
    )
    assert response.status_code == 201, response.get_json()
    ticket = response.get_json()
    assert ticket["source"] == "appointment" and ticket["appointment"] == booked["code"]
    assert ticket["again"] is False and ticket["label"] == "A001"
    again = client.post(
        "/api/v1/appointments/check-in", json={"code": booked["code"].lower()}, headers=kiosk
    ).get_json()
    assert again["again"] is True and again["token"] == ticket["token"]
    assert (
        client.get(f"/api/v1/appointments/{booked['token']}").get_json()["ticket"]
        == (ticket["token"])
    )


def test_check_in_refusals_carry_their_codes(client, db, stop, kiosk, clock):
    later = db.scalar(select(Slot).where(Slot.starts_at > clock.now + timedelta(hours=2)).limit(1))
    booked = book(client, later.id).get_json()
    early = client.post(
        "/api/v1/appointments/check-in", json={"code": booked["code"]}, headers=kiosk
    )
    assert early.status_code == 409
    error = early.get_json()["error"]
    assert error["code"] == "check_in_too_early" and error["details"]["opens_at"]
    unknown = client.post("/api/v1/appointments/check-in", json={"code": "ZZZ-ZZZ"}, headers=kiosk)
    assert unknown.status_code == 404
    assert client.post("/api/v1/appointments/check-in", json={"code": "x"}).status_code == 401


def test_import_is_for_coordinators(client, db, accounts, stop, clock):
    rows = [
        {
            "reference": "HRN-77",
            "product": "A",
            "stop": str(stop.id),
            "start": (clock.now + timedelta(hours=3)).isoformat(),
        }
    ]
    staff = staff_headers(db, accounts)
    refused = client.post("/api/v1/appointments/import", json={"rows": rows}, headers=staff)
    assert refused.status_code == 403
    coordinator = staff_headers(db, accounts, "coordinator")
    done = client.post("/api/v1/appointments/import", json={"rows": rows}, headers=coordinator)
    assert done.status_code == 200 and len(done.get_json()["created"]) == 1
    again = client.post("/api/v1/appointments/import", json={"rows": rows}, headers=coordinator)
    assert again.get_json() == {"created": [], "skipped": ["HRN-77"], "errors": []}


def test_the_private_page_calendar_and_cancel(client, stop):
    booked = book(client, first_free(client)["id"], name="Anna").get_json()
    page = client.get(f"/a/{booked['token']}")
    assert page.status_code == 200
    assert booked["code"] in page.text and "Afspraak afzeggen" in page.text
    assert "Anna" not in page.text  # the page opens for whoever holds the link: no name

    ics = client.get(f"/a/{booked['token']}.ics")
    assert ics.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(ics.data)
    (event,) = calendar.walk("VEVENT")
    assert booked["code"] in str(event["DESCRIPTION"])
    assert str(event["LOCATION"]).startswith("Bibliotheek Hoorn")
    assert event.decoded("DTSTART").isoformat().replace("+00:00", "Z") == booked["starts_at"]

    qr = client.get(f"/a/{booked['token']}/qr.svg")
    assert qr.mimetype == "image/svg+xml"

    asked = client.get(f"/a/{booked['token']}/cancel")  # cancelling asks first
    cancelled = client.post(
        f"/a/{booked['token']}/cancel",
        data={"csrf_token": csrf_token_in(asked.text)},
        follow_redirects=True,
    )
    assert "Uw afspraak is afgezegd." in cancelled.text
    assert "Afspraak afzeggen" not in cancelled.text
    assert client.get("/a/not-a-real-token-at-all").status_code == 404


def test_a_scanned_link_checks_in_like_its_code(client, db, stop, kiosk, clock):
    soon = db.scalar(
        select(Slot).where(Slot.starts_at > clock.now).order_by(Slot.starts_at).limit(1)
    )
    booked = book(client, soon.id).get_json()
    response = client.post(
        "/api/v1/appointments/check-in", json={"code": booked["url"]}, headers=kiosk
    )
    assert response.status_code == 201 and response.get_json()["appointment"] == booked["code"]


def test_a_full_day_of_slots_is_open_after_the_demo(runner, db):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "new bookable slots" in result.output
    again = runner.invoke(args=["demo"])
    assert "  Slots:    0 new bookable slots" in again.output
