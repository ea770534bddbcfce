"""Appointments at the kiosk through the Flask test client: check in by code or scanned link,
the refusals that say what to do next, "book later" (appointment-only, or a long wait), the
slips (an appointment ticket's QR opens the appointment; a booking slip carries the booking),
reprinting a booking slip, and the appointment page that follows the turn live."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from kiosk.models import (
    Appointment,
    AppointmentSource,
    PrintJob,
    PrintKind,
    PrintStatus,
    Slot,
    Source,
    Ticket,
)
from kiosk.services.accounts import AccountService
from kiosk.services.appointments import AppointmentService
from kiosk.services.base import RecordingNotifier
from kiosk.services.queue import QueueService
from printer.backends import Fault
from tests.factories import (
    csrf_token_in,
    desk_named,
    make_product,
    make_stop,
    make_user,
    pair_browser,
)
from tests.test_printing import PRINTING, dummy, process, published


@pytest.fixture
def app(make_app):
    app = make_app(**PRINTING, BOOK_LATER_WAIT_MINUTES=30)
    app.extensions["loket.notifier"] = RecordingNotifier()
    return app


@pytest.fixture
def appointments(db, clock) -> AppointmentService:
    return AppointmentService(db, clock=clock)


@pytest.fixture
def stop(db, clock, appointments):
    """The stop of the kiosk: A (passport, bookable, walk-in too) and R (driving licence,
    by appointment only), slots of both all day."""
    make_product(db, "A", bookable=True)
    make_product(db, "R", bookable=True, appointment_required=True)
    stop = make_stop(db, now=clock.now, products="AR")
    for product in stop.products:
        appointments.open_slots(stop, product)
    return stop


@pytest.fixture
def kiosk_client(client, db, clock, stop):
    pair_browser(client, AccountService(db, clock=clock), stop, "kiosk")
    return client


def slot_at(db, stop, clock, product: str = "A", minutes: int = 15) -> Slot:
    return db.scalar(
        select(Slot)
        .join(Slot.product)
        .where(
            Slot.stop_id == stop.id,
            Slot.starts_at >= clock.now + timedelta(minutes=minutes),
            Slot.product.has(prefix=product),
        )
        .order_by(Slot.starts_at)
        .limit(1)
    )


def booked(appointments, db, stop, clock, minutes: int = 15, **kw: Any) -> Appointment:
    return appointments.book(slot_at(db, stop, clock, minutes=minutes).id, **kw)


def check_in(client, code: str, page: str = "/kiosk/afspraak"):
    token = csrf_token_in(client.get(page).get_data(as_text=True))
    return client.post("/kiosk/afspraak", data={"code": code, "csrf_token": token})


def jobs(db) -> list[PrintJob]:
    db.rollback()
    return list(db.scalars(select(PrintJob).order_by(PrintJob.id)))


# -- check-in ------------------------------------------------------------------------------------


def test_the_start_screen_offers_check_in_and_a_time_for_appointment_only_products(kiosk_client):
    page = kiosk_client.get("/kiosk").get_data(as_text=True)
    assert 'href="/kiosk/afspraak"' in page and "Ik heb een afspraak" in page
    assert "Alleen op afspraak" in page and 'href="/kiosk/later/driving-licence"' in page
    assert 'id="scan-form"' in page  # the scanner works from the start screen


def test_the_keypad_has_only_the_code_alphabet(kiosk_client):
    page = kiosk_client.get("/kiosk/afspraak").get_data(as_text=True)
    keys = re.findall(r'data-key="([^"]+)"', page)
    assert {"back", "clear"} <= set(keys)
    letters = [k for k in keys if len(k) == 1]
    assert len(letters) == 31 and not {"0", "O", "1", "I", "L"} & set(letters)


def test_checking_in_by_code_gives_a_ticket_whose_slip_opens_the_appointment(
    kiosk_client, app, db, appointments, stop, clock
):
    appointment = booked(appointments, db, stop, clock)
    response = check_in(kiosk_client, appointment.code.replace("-", "").lower())
    assert response.status_code == 302 and "/kiosk/tickets/" in response.location
    page = kiosk_client.get(response.location).get_data(as_text=True)
    assert "U bent aangemeld voor uw afspraak van" in page
    assert f"/a/{appointment.token}/link.svg" in page  # the screen's QR opens the appointment

    (job,) = jobs(db)
    assert job.kind is PrintKind.TICKET and job.ticket.source is Source.APPOINTMENT
    process(app)
    (slip,) = dummy(app).jobs
    assert f"http://loket.test/a/{appointment.token}".encode() in slip
    assert b"Afspraak om" in slip


def test_a_scanner_may_type_the_link_of_a_booking_slip(kiosk_client, db, appointments, stop, clock):
    appointment = booked(appointments, db, stop, clock)
    response = check_in(kiosk_client, f"http://loket.test/a/{appointment.token}", page="/kiosk")
    assert response.status_code == 302 and "/kiosk/tickets/" in response.location


def test_an_unknown_code_keeps_what_was_typed_and_says_so(kiosk_client):
    response = check_in(kiosk_client, "ZZZ-ZZZ")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Wij vinden geen afspraak met de code ZZZ-ZZZ" in page
    assert 'value="ZZZ-ZZZ"' in page and 'aria-invalid="true"' in page
    empty = check_in(kiosk_client, "")
    assert empty.status_code == 404 and "Typ eerst uw code." in empty.get_data(as_text=True)


def test_too_early_says_when_to_come_back(kiosk_client, db, appointments, stop, clock):
    appointment = booked(appointments, db, stop, clock, minutes=120)
    response = check_in(kiosk_client, appointment.code)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "U bent te vroeg" in page
    # 12:00 local (10:00 UTC + 2 h), opens 30 minutes before.
    starts = appointment.slot.starts_at
    assert f"Uw afspraak is om {starts.hour + 2:02d}:{starts.minute:02d}" in page
    assert "U kunt zich aanmelden vanaf" in page
    assert db.scalar(select(Ticket).limit(1)) is None


def test_too_late_offers_a_number_and_a_new_time(kiosk_client, db, appointments, stop, clock):
    appointment = booked(appointments, db, stop, clock)
    clock.advance(minutes=40)
    response = check_in(kiosk_client, appointment.code)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "U bent te laat voor uw afspraak" in page
    assert "Neem een nummer en wacht" in page and 'name="wait" value="1"' in page
    assert "Of kies een nieuwe tijd" in page and 'name="slot"' in page


def test_another_place_says_where_and_when(kiosk_client, db, appointments, clock, stop):
    elsewhere = make_stop(
        db,
        now=clock.now,
        products="A",
        starts_in=timedelta(days=2),
        location="Wijkcentrum Grote Waal",
    )
    slot = appointments.open_slots(elsewhere, elsewhere.products[0])[0]
    appointment = appointments.book(slot.id)
    response = check_in(kiosk_client, appointment.code)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Uw afspraak is op een andere plek of dag" in page
    assert "Wijkcentrum Grote Waal" in page and "donderdag 4 juni 2026" in page


def test_a_second_scan_later_shows_the_number_it_has(kiosk_client, db, appointments, stop, clock):
    appointment = booked(appointments, db, stop, clock)
    first = check_in(kiosk_client, appointment.code)
    again_soon = check_in(kiosk_client, appointment.code)
    assert again_soon.location == first.location  # the same confirmation, no second ticket
    clock.advance(minutes=11)
    later = check_in(kiosk_client, appointment.code)
    assert later.status_code == 200 and "U bent al aangemeld" in later.get_data(as_text=True)
    assert len(db.scalars(select(Ticket)).all()) == 1
    assert len(jobs(db)) == 1  # a repeated scan prints nothing


# -- book later ----------------------------------------------------------------------------------


def test_book_later_for_an_appointment_only_product_in_two_taps(
    kiosk_client, app, db, stop, clock, appointments
):
    other = make_stop(
        db,
        now=clock.now,
        products="R",
        starts_in=timedelta(days=7),
        location="Zorgcentrum De Dilgt",
    )
    appointments.open_slots(other, other.products[0])
    page = kiosk_client.get("/kiosk/later/driving-licence").get_data(as_text=True)  # tap 1
    assert "Later vandaag, hier" in page and "Op een andere plek of dag" in page
    assert "Zorgcentrum De Dilgt" in page
    slot_ids = [int(s) for s in re.findall(r'name="slot" value="(\d+)"', page)]
    assert len(slot_ids) == 4  # BOOK_LATER_SLOTS
    response = kiosk_client.post(  # tap 2
        "/kiosk/later",
        data={"slot": slot_ids[0], "product": "driving-licence", "csrf_token": csrf_token_in(page)},
    )
    assert response.status_code == 302 and "/kiosk/later/booked/" in response.location
    db.rollback()
    appointment = db.scalar(select(Appointment))
    assert appointment.source is AppointmentSource.KIOSK
    assert (appointment.name, appointment.email) == (None, None)

    confirmation = kiosk_client.get(response.location).get_data(as_text=True)
    assert appointment.code in confirmation and "Uw afspraak is gemaakt" in confirmation
    assert f"/a/{appointment.token}/link.svg" in confirmation
    assert f'data-booking="{appointment.token}"' in confirmation
    assert "Uw bon wordt geprint." in confirmation

    (job,) = jobs(db)
    assert (job.kind, job.appointment_id, job.ticket_id) == (
        PrintKind.BOOKING,
        appointment.id,
        None,
    )
    process(app)
    (slip,) = dummy(app).jobs
    assert f"http://loket.test/a/{appointment.token}".encode() in slip
    assert appointment.code.encode() in slip and b"Uw code" in slip and b"Uw afspraak" in slip
    assert ({"status": "printed", "attempts": 1}, f"booking:{appointment.token}") in published(
        app, "print_status"
    )


def test_a_time_taken_meanwhile_gets_plain_words(kiosk_client, db, stop, clock, appointments):
    page = kiosk_client.get("/kiosk/later/driving-licence").get_data(as_text=True)
    slot_id = int(re.findall(r'name="slot" value="(\d+)"', page)[0])
    slot = db.get(Slot, slot_id)
    for _ in range(slot.capacity):
        appointments.book(slot_id)
    response = kiosk_client.post(
        "/kiosk/later",
        data={"slot": slot_id, "product": "driving-licence", "csrf_token": csrf_token_in(page)},
    )
    assert response.status_code == 409
    assert "Die tijd is net door iemand anders gekozen" in response.get_data(as_text=True)


def test_a_long_wait_offers_a_time_for_later_or_a_number(kiosk_client, db, stop, clock):
    queue = QueueService(db, clock=clock)
    for _ in range(6):  # 6 x 15 min over 2 desks: 45 minutes, over the 30-minute limit
        queue.issue_ticket(stop, "id-apply")
    token = csrf_token_in(kiosk_client.get("/kiosk").get_data(as_text=True))
    offer = kiosk_client.post("/kiosk/tickets", data={"product": "id-apply", "csrf_token": token})
    assert offer.status_code == 200
    page = offer.get_data(as_text=True)
    assert "Het is nu druk" in page and "ongeveer 45 minuten" in page
    assert "Ja, geef mij een nummer" in page and 'name="slot"' in page
    waited = kiosk_client.post(
        "/kiosk/tickets", data={"product": "id-apply", "wait": "1", "csrf_token": token}
    )
    assert waited.status_code == 302 and "/kiosk/tickets/" in waited.location


def test_a_short_wait_issues_the_number_at_once(kiosk_client):
    token = csrf_token_in(kiosk_client.get("/kiosk").get_data(as_text=True))
    response = kiosk_client.post(
        "/kiosk/tickets", data={"product": "id-apply", "csrf_token": token}
    )
    assert response.status_code == 302


def test_the_booking_screen_is_only_for_a_fresh_kiosk_booking(
    kiosk_client, db, stop, clock, appointments
):
    online = booked(appointments, db, stop, clock)
    assert kiosk_client.get(f"/kiosk/later/booked/{online.token}").status_code == 302
    assert kiosk_client.get("/kiosk/later/booked/nope").status_code == 302


def test_staff_reprint_a_booking_slip_that_failed(kiosk_client, app, db, stop, clock, accounts):
    page = kiosk_client.get("/kiosk/later/driving-licence").get_data(as_text=True)
    slot_id = int(re.findall(r'name="slot" value="(\d+)"', page)[0])
    kiosk_client.post(
        "/kiosk/later",
        data={"slot": slot_id, "product": "driving-licence", "csrf_token": csrf_token_in(page)},
    )
    printer = dummy(app)
    printer.fail(Fault.CONNECT, times=None)
    process(app, passes=3)
    (job,) = jobs(db)
    assert job.status is PrintStatus.FAILED

    user, _ = make_user(db, "anna")
    bearer = {"Authorization": f"Bearer {accounts.issue_token(user, ttl=timedelta(hours=1)).token}"}
    staff = app.test_client()
    faults = staff.get(f"/api/v1/stops/{stop.id}/print-jobs?faults=true", headers=bearer).get_json()
    (fault,) = faults
    assert fault["ticket"] is None and fault["appointment"]["code"] == job.appointment.code
    printer.recover()
    again = staff.post(
        "/api/v1/print-jobs", json={"appointment": fault["appointment"]["token"]}, headers=bearer
    )
    assert again.status_code == 202 and again.get_json()["kind"] == "reprint"
    process(app)
    assert job.appointment.token.encode() in printer.jobs[-1]
    both = staff.post(
        "/api/v1/print-jobs", json={"appointment": "x", "ticket": "y"}, headers=bearer
    )
    assert both.status_code == 422


@pytest.fixture
def accounts(db, clock) -> AccountService:
    return AccountService(db, clock=clock)


# -- the appointment page after check-in ---------------------------------------------------------


def test_the_appointment_page_follows_the_turn_after_check_in(
    kiosk_client, app, db, stop, clock, appointments
):
    appointment = booked(appointments, db, stop, clock)
    before = app.test_client().get(f"/a/{appointment.token}").get_data(as_text=True)
    assert 'id="ticket-live"' not in before and "ticket.js" not in before
    check_in(kiosk_client, appointment.code)
    phone = app.test_client()
    page = phone.get(f"/a/{appointment.token}").get_data(as_text=True)
    assert "U bent aangemeld." in page and 'id="ticket-live"' in page
    assert "U bent de volgende." in page and "js/ticket.js" in page
    db.rollback()
    ticket = db.scalar(select(Ticket))
    assert f'data-token="{ticket.token}"' in page

    queue = QueueService(db, clock=clock)
    clock.advance(minutes=15)  # the slot has started
    queue.call_next(desk_named(queue.stop(stop.id), "Balie 1"))
    called = phone.get(f"/a/{appointment.token}").get_data(as_text=True)
    assert "U bent aan de beurt — ga naar Balie 1" in called


def test_the_booking_screen_hears_how_its_slip_is_doing(kiosk_client, app, db, stop):
    """A kiosk's booking screen that connects after the slip printed still learns it; nobody
    else can listen to a booking's slip."""
    page = kiosk_client.get("/kiosk/later/driving-licence").get_data(as_text=True)
    slot_id = int(re.findall(r'name="slot" value="(\d+)"', page)[0])
    booked_at = kiosk_client.post(
        "/kiosk/later",
        data={"slot": slot_id, "product": "driving-licence", "csrf_token": csrf_token_in(page)},
    ).location
    token = booked_at.rsplit("/", 1)[1]
    process(app)
    sio = app.extensions["socketio"]
    auth = {"stop": stop.id, "booking": token}
    kiosk = sio.test_client(app, namespace="/board", auth=auth, flask_test_client=kiosk_client)
    stranger = sio.test_client(app, namespace="/board", auth=auth)
    try:
        heard = [m["args"][0] for m in kiosk.get_received("/board") if m["name"] == "print_status"]
        assert heard == [{"status": "printed", "attempts": 1}]
        others = [m["name"] for m in stranger.get_received("/board")]
        assert "print_status" not in others and "board_state" in others
    finally:
        kiosk.disconnect(namespace="/board")
        stranger.disconnect(namespace="/board")


def test_one_kiosk_cannot_book_a_whole_day(make_app, db, clock, stop):
    """Times booked with one tap are limited per kiosk; the resident reads it in plain words."""
    app = make_app(RATELIMIT_KIOSK_BOOK="2/minute")
    client = app.test_client()
    pair_browser(client, AccountService(db, clock=clock), stop, "kiosk")
    page = client.get("/kiosk/later/driving-licence").get_data(as_text=True)
    slots = re.findall(r'name="slot" value="(\d+)"', page)
    token = csrf_token_in(page)

    def tap(slot: str):
        return client.post(
            "/kiosk/later", data={"slot": slot, "product": "driving-licence", "csrf_token": token}
        )

    assert [tap(s).status_code for s in slots[:2]] == [302, 302]
    refused = tap(slots[2])
    assert refused.status_code == 429 and "Traceback" not in refused.get_data(as_text=True)
    db.rollback()
    assert len(db.scalars(select(Appointment)).all()) == 2


def test_after_check_in_the_appointment_page_offers_a_message_when_it_is_almost_time(
    kiosk_client, db, appointments, stop, clock
):
    appointment = booked(appointments, db, stop, clock)
    assert 'id="notify"' not in kiosk_client.get(f"/a/{appointment.token}").text  # not yet
    response = check_in(kiosk_client, appointment.code)
    assert response.status_code == 302 and "/kiosk/tickets/" in response.location, response.location
    db.rollback()
    ticket = db.scalars(select(Ticket).where(Ticket.source == Source.APPOINTMENT)).one()
    page = kiosk_client.get(f"/a/{appointment.token}").text
    assert 'id="notify"' in page and f"/api/v1/tickets/{ticket.token}/notify" in page
