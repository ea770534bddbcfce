"""Appointments without Flask: slots and their capacity (the last place raced on SQLite and
PostgreSQL), codes, cancelling, the check-in window, the calling order with walk-ins, no-shows,
erasing contact data, and importing from the municipality's own system."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kiosk.database import make_engine, make_sessionmaker
from kiosk.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    Event,
    Slot,
    Source,
)
from kiosk.services.appointments import (
    AppointmentClosed,
    AppointmentService,
    CheckInTooEarly,
    CheckInTooLate,
    NotBookable,
    SlotFull,
    SlotPast,
    UnknownAppointment,
    WrongStop,
    normalise_code,
)
from kiosk.services.queue import QueueService
from tests.factories import make_product, make_stop

CODE = re.compile(r"^[2-9A-HJKMNP-Z]{3}-[2-9A-HJKMNP-Z]{3}$")


@pytest.fixture
def stop(session, clock):
    for prefix in "AR":
        make_product(session, prefix, bookable=True)
    return make_stop(session, now=clock.now, starts_in=timedelta(hours=-1), hours=8)


@pytest.fixture
def appointments(session, notifier, clock) -> AppointmentService:
    return AppointmentService(session, notifier, clock)


def product(stop, prefix: str):
    return next(p for p in stop.products if p.prefix == prefix)


def slot_at(session, stop, prefix: str, minutes_from_now: int, clock) -> Slot:
    wanted = clock.now + timedelta(minutes=minutes_from_now)
    return session.scalar(
        select(Slot)
        .where(Slot.stop_id == stop.id, Slot.product_id == product(stop, prefix).id)
        .where(Slot.starts_at >= wanted)
        .order_by(Slot.starts_at)
        .limit(1)
    )


@pytest.fixture
def slots(appointments, stop):
    return appointments.open_slots(stop, product(stop, "A"))


# -- slots ---------------------------------------------------------------------------------------


def test_slots_cover_the_stop_at_the_products_length_for_each_desk_serving_it(
    appointments, stop, slots
):
    assert len(slots) == 8 * 60 // 15  # 15-minute passport applications over 8 hours
    assert {s.ends_at - s.starts_at for s in slots} == {timedelta(minutes=15)}
    assert {s.capacity for s in slots} == {2}  # Balie 1 and 2 both serve it
    assert slots[0].starts_at == stop.starts_at and slots[-1].ends_at == stop.ends_at
    assert appointments.open_slots(stop, product(stop, "A")) == []  # nothing twice


def test_a_walk_in_only_product_has_no_slots(appointments, stop, session):
    walk_in_only = make_product(session, "H")
    stop.products.append(walk_in_only)
    session.commit()
    with pytest.raises(NotBookable):
        appointments.open_slots(stop, walk_in_only)


def test_free_slots_are_future_ones_with_room_soonest_first(appointments, stop, slots, clock):
    free = appointments.free_slots(product(stop, "A"))
    assert free[0].starts_at >= clock.now
    assert [s.starts_at for s in free] == sorted(s.starts_at for s in free)
    full = free[0]
    appointments.book(full.id)
    appointments.book(full.id)
    assert full.id not in [s.id for s in appointments.free_slots(product(stop, "A"))]


# -- booking -------------------------------------------------------------------------------------


def test_booking_gives_a_short_code_and_an_unguessable_token(appointments, slots, clock):
    booked = appointments.book(slots[8].id, name=" Anna ", email="")
    assert CODE.match(booked.code) and len(booked.token) >= 22
    assert (booked.name, booked.email, booked.status) == ("Anna", None, AppointmentStatus.BOOKED)
    assert normalise_code(booked.code.lower().replace("-", " ")) == booked.code
    assert normalise_code("ABC-10I") == ""  # 1, 0 and I are never in a code


def test_the_last_place_goes_once(appointments, slots):
    appointments.book(slots[8].id)
    appointments.book(slots[8].id)
    with pytest.raises(SlotFull):
        appointments.book(slots[8].id)


def test_a_past_slot_cannot_be_booked(appointments, slots):
    with pytest.raises(SlotPast):
        appointments.book(slots[0].id)


def test_cancelling_gives_the_place_back_once(appointments, session, slots):
    first = appointments.book(slots[8].id)
    appointments.book(slots[8].id)
    cancelled = appointments.cancel(first.token)
    assert cancelled.status is AppointmentStatus.CANCELLED and cancelled.cancelled_at
    session.refresh(slots[8])
    assert slots[8].booked == 1
    with pytest.raises(AppointmentClosed):
        appointments.cancel(first.token)
    appointments.book(slots[8].id)  # the place is free again


def _race_last_place(url: str, slot_id: int, clock, racers: int = 8) -> list[str]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    results: list[str] = []
    start = threading.Barrier(racers)

    def race() -> None:
        with sessions() as own:
            service = AppointmentService(own, clock=clock)
            start.wait()
            try:
                service.book(slot_id)
                results.append("booked")
            except SlotFull:
                results.append("full")

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    engine.dispose()
    return results


def _last_place_setup(url: str, clock) -> int:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as own:
        make_product(own, "A", bookable=True)
        stop = make_stop(own, now=clock.now)
        service = AppointmentService(own, clock=clock)
        slot = service.open_slots(stop, stop.products[0], capacity=1)[-1]
        slot_id = slot.id
    engine.dispose()
    return slot_id


def test_eight_people_racing_for_the_last_place_on_sqlite(db_url, clock):
    slot_id = _last_place_setup(db_url, clock)
    assert sorted(_race_last_place(db_url, slot_id, clock)) == ["booked"] + ["full"] * 7


@pytest.mark.postgres
def test_eight_people_racing_for_the_last_place_on_postgresql(pg_url, clock):
    slot_id = _last_place_setup(pg_url, clock)
    assert sorted(_race_last_place(pg_url, slot_id, clock)) == ["booked"] + ["full"] * 7
    engine = make_engine(pg_url)
    with make_sessionmaker(engine)() as own:
        assert own.get(Slot, slot_id).booked == 1
        assert own.scalar(select(func.count()).select_from(Appointment)) == 1
    engine.dispose()


# -- check-in ------------------------------------------------------------------------------------


@pytest.fixture
def booked(appointments, session, stop, slots, clock):
    """An appointment 20 minutes from now."""
    return appointments.book(slot_at(session, stop, "A", 20, clock).id)


def test_check_in_gives_an_appointment_ticket(appointments, booked, stop):
    result = appointments.check_in(booked.code.lower().replace("-", ""), stop)
    assert not result.again
    assert result.ticket.source is Source.APPOINTMENT
    assert result.ticket.due_at == booked.slot.starts_at
    assert result.appointment.status is AppointmentStatus.CHECKED_IN
    assert result.appointment.ticket_id == result.ticket.id
    again = appointments.check_in(booked.code, stop)  # the scanner read it twice
    assert again.again and again.ticket.id == result.ticket.id


def test_check_in_window(appointments, session, stop, slots, clock):
    early = appointments.book(slot_at(session, stop, "A", 45, clock).id)
    with pytest.raises(CheckInTooEarly) as refused:
        appointments.check_in(early.code, stop)
    opens = early.slot.starts_at - timedelta(minutes=30)
    assert refused.value.details["opens_at"] == opens.isoformat()
    clock.advance(minutes=15)
    assert appointments.check_in(early.code, stop).ticket  # exactly 30 minutes before

    late = appointments.book(slot_at(session, stop, "A", 1, clock).id)
    clock.now = late.slot.starts_at + timedelta(minutes=11)
    with pytest.raises(CheckInTooLate):
        appointments.check_in(late.code, stop)


def test_check_in_elsewhere_says_where_and_when(appointments, session, booked, clock):
    other = make_stop(session, now=clock.now, location="Buurthuis Kersenboogerd")
    with pytest.raises(WrongStop) as refused:
        appointments.check_in(booked.code, other)
    assert refused.value.details["stop"] == "Bibliotheek Hoorn"


def test_unknown_or_cancelled_codes_are_refused(appointments, booked, stop):
    with pytest.raises(UnknownAppointment):
        appointments.check_in("ZZZ-ZZZ", stop)
    with pytest.raises(UnknownAppointment):
        appointments.check_in("", stop)
    appointments.cancel(booked.token)
    with pytest.raises(AppointmentClosed):
        appointments.check_in(booked.code, stop)


def test_an_imported_reference_checks_in_like_a_code(appointments, stop, clock):
    start = (clock.now + timedelta(minutes=5)).isoformat()
    result = appointments.import_rows(
        [{"reference": "HRN-2026-0042", "product": "A", "stop": str(stop.id), "start": start}]
    )
    assert len(result.created) == 1 and not result.errors
    assert appointments.check_in(" HRN-2026-0042 ", stop).ticket.source is Source.APPOINTMENT


# -- calling order -------------------------------------------------------------------------------


def test_a_due_appointment_goes_before_walk_ins_and_a_future_one_waits(
    appointments, session, stop, slots, clock, notifier
):
    queue = QueueService(session, notifier, clock)
    desk = stop.desks[0]
    walk_in = queue.issue_ticket(stop, "A")
    soon = appointments.book(slot_at(session, stop, "A", 20, clock).id)
    appointment = appointments.check_in(soon.code, stop).ticket
    # Its slot has not started: the walk-in who came first goes first.
    assert queue.call_next(desk).id == walk_in.id
    queue.finish(walk_in)
    later_walk_in = queue.issue_ticket(stop, "A")
    clock.now = soon.slot.starts_at  # the slot starts
    assert queue.call_next(desk).id == appointment.id
    queue.finish(queue.ticket(appointment.token))
    assert queue.call_next(desk).id == later_walk_in.id


def test_interleaving_lets_walk_ins_move_between_appointments(
    appointments, session, stop, slots, clock, notifier
):
    queue = QueueService(session, notifier, clock, interleave=2)
    desk = stop.desks[0]
    for _ in range(4):
        queue.issue_ticket(stop, "A")
    booked = [appointments.book(slot_at(session, stop, "A", 5, clock).id) for _ in range(2)]
    for appointment in booked:
        appointments.check_in(appointment.code, stop)
    clock.now = booked[0].slot.starts_at
    order = []
    for _ in range(6):
        called = queue.call_next(desk)
        order.append("appointment" if called.source is Source.APPOINTMENT else "walk-in")
        queue.finish(called)
        clock.advance(minutes=1)
    assert order == ["appointment", "walk-in", "walk-in", "appointment", "walk-in", "walk-in"]


# -- housekeeping --------------------------------------------------------------------------------


def test_appointments_not_checked_in_become_no_shows(appointments, session, booked, clock):
    clock.now = booked.slot.starts_at + timedelta(minutes=10)  # the window closes now
    assert appointments.mark_no_shows() == 0
    clock.advance(minutes=1)
    assert appointments.mark_no_shows() == 1
    session.refresh(booked)
    assert booked.status is AppointmentStatus.NO_SHOW
    assert session.scalar(select(func.count()).where(Event.action == "appointment.no_show")) == 1


def test_contact_data_is_erased_after_the_retention_period(appointments, session, slots, clock):
    kept = appointments.book(slots[20].id, name="Anna de Vries", email="anna@example.org")
    clock.advance(days=30)
    assert appointments.purge_contact_data(30) == 0
    clock.advance(days=1)
    assert appointments.purge_contact_data(30) == 1
    session.refresh(kept)
    assert (kept.name, kept.email) == (None, None) and kept.purged_at is not None
    assert kept.product_id and kept.stop_id and kept.status  # the anonymous facts stay
    assert appointments.purge_contact_data(30) == 0


def test_import_from_csv_skips_known_references_and_explains_bad_lines(appointments, stop, clock):
    start = (clock.now + timedelta(hours=2)).astimezone().strftime("%Y-%m-%dT%H:%M")
    text = (
        "reference;product;stop;start;name\n"
        f"HRN-1;id-apply;{stop.id};{start};Anna\n"
        f"HRN-2;A;{stop.id};{start};\n"
        f"HRN-3;X;{stop.id};{start};\n"
        f"HRN-4;A;{stop.id};tomorrow;\n"
        f";A;{stop.id};{start};\n"
    )
    result = appointments.import_csv(text)
    assert [a.external_ref for a in result.created] == ["HRN-1", "HRN-2"]
    assert all(a.source is AppointmentSource.IMPORT for a in result.created)
    assert result.errors == [
        "line 4: unknown product 'X'",
        "line 5: start 'tomorrow' is not a date and time like 2026-12-01T18:30",
        "line 6: reference is missing",
    ]
    again = appointments.import_csv(text)
    assert again.created == [] and again.skipped == ["HRN-1", "HRN-2"]
