"""Moving an appointment to another time: the new place is taken before the old one is freed, in
one transaction; a full or past time, another product or a closed stop changes nothing; only a
booked appointment whose time is still ahead moves. Raced for the last place on SQLite and
PostgreSQL (one winner, the losers untouched), crossing moves never deadlock, and the doors:
the JSON API (404/409/422), the private page's steps and the confirmation e-mail."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import icalendar
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from kiosk.database import make_engine, make_sessionmaker
from kiosk.models import Appointment, AppointmentStatus, Event, Slot, StopStatus
from kiosk.services.appointments import (
    AppointmentClosed,
    AppointmentService,
    NotBookable,
    SlotFull,
    SlotPast,
    UnknownAppointment,
    UnknownSlot,
)
from kiosk.services.appointments.rescheduling import Revision
from tests.factories import csrf_token_in, make_product, make_stop
from tests.live import free_port
from tests.test_appointment_mail import Inbox

RACE_TIMEOUT = 60.0


@pytest.fixture
def appointments(session, notifier, clock) -> AppointmentService:
    return AppointmentService(session, notifier, clock)


def product_of(stop, prefix: str):
    return next(p for p in stop.products if p.prefix == prefix)


@pytest.fixture
def stop(session, clock):
    """Today 09:00-17:00 UTC (now is 10:00): A every 15 minutes for two people, R bookable too."""
    for prefix in "AR":
        make_product(session, prefix, bookable=True)
    stop = make_stop(session, now=clock.now, products="AR")
    service = AppointmentService(session, clock=clock)
    service.open_slots(stop, product_of(stop, "A"))
    service.open_slots(stop, product_of(stop, "R"))
    return stop


@pytest.fixture
def tomorrow(session, clock, stop):
    """The tour's next stop, tomorrow elsewhere, with times for A."""
    other = make_stop(
        session, now=clock.now + timedelta(days=1), products="AR", location="Wijkcentrum Risdam"
    )
    AppointmentService(session, clock=clock).open_slots(other, product_of(other, "A"))
    return other


def slot_at(session, stop, prefix: str, hours_from_now: float, clock) -> Slot:
    """The first slot of `prefix` at `stop` from `hours_from_now` on."""
    return session.scalar(
        select(Slot)
        .where(Slot.stop_id == stop.id, Slot.product_id == product_of(stop, prefix).id)
        .where(Slot.starts_at >= clock.now + timedelta(hours=hours_from_now))
        .order_by(Slot.starts_at)
        .limit(1)
    )


def booked_counts(session, *slots: Slot) -> list[int]:
    session.rollback()  # a fresh read, not this session's snapshot
    return [session.get(Slot, s.id, populate_existing=True).booked for s in slots]


def events(session, action: str) -> list[Event]:
    session.rollback()
    return list(session.scalars(select(Event).where(Event.action == action).order_by(Event.id)))


# -- the move --------------------------------------------------------------------------------


def test_a_move_takes_the_new_place_and_frees_the_old_one(appointments, session, stop, clock):
    old, new = slot_at(session, stop, "A", 1, clock), slot_at(session, stop, "A", 3, clock)
    booked = appointments.book(old.id, name="Anna")
    code, token = booked.code, booked.token
    booked.reminded_at = clock.now  # as if the reminder had gone out for the old day
    session.commit()

    result = appointments.reschedule(token, new.id)

    assert result.moved
    moved = result.appointment
    assert (moved.slot_id, moved.slot.starts_at, moved.stop_id) == (new.id, new.starts_at, stop.id)
    assert (moved.code, moved.token, moved.name) == (code, token, "Anna")  # same code and link
    assert moved.status is AppointmentStatus.BOOKED and moved.reminded_at is None
    assert booked_counts(session, old, new) == [0, 1]
    (event,) = events(session, "appointment.reschedule")
    assert (event.result, event.object_id, event.stop_id) == ("ok", moved.id, stop.id)
    assert (event.data["from_slot"], event.data["to_slot"]) == (old.id, new.id)


def test_a_move_to_another_stop_of_the_tour(appointments, session, stop, tomorrow, clock):
    old = slot_at(session, stop, "A", 1, clock)
    there = slot_at(session, tomorrow, "A", 25, clock)
    token = appointments.book(old.id).token

    moved = appointments.reschedule(token, there.id).appointment

    assert (moved.stop_id, moved.slot_id) == (tomorrow.id, there.id)
    assert moved.stop.location.name == "Wijkcentrum Risdam"
    assert booked_counts(session, old, there) == [0, 1]


def test_the_slot_it_holds_already_changes_nothing(appointments, session, stop, clock):
    slot = slot_at(session, stop, "A", 1, clock)
    token = appointments.book(slot.id).token

    result = appointments.reschedule(token, slot.id)

    assert not result.moved and result.appointment.slot_id == slot.id
    assert booked_counts(session, slot) == [1]
    assert events(session, "appointment.reschedule") == []


def test_a_full_time_leaves_the_appointment_as_it_was(appointments, session, stop, clock):
    old, full = slot_at(session, stop, "A", 1, clock), slot_at(session, stop, "A", 3, clock)
    token = appointments.book(old.id).token
    appointments.book(full.id)
    appointments.book(full.id)

    with pytest.raises(SlotFull):
        appointments.reschedule(token, full.id)

    session.rollback()
    kept = appointments.by_token(token)
    assert (kept.slot_id, kept.status) == (old.id, AppointmentStatus.BOOKED)
    assert booked_counts(session, old, full) == [1, 2]
    (refused,) = events(session, "appointment.reschedule")
    assert (refused.result, refused.data["error"]) == ("rejected", "slot_full")


def _check_in(appointments, session, stop, clock, token):
    appointment = appointments.by_token(token)
    clock.now = appointment.slot.starts_at - timedelta(minutes=5)
    appointments.check_in(appointment.code, stop)


def _cancel(appointments, session, stop, clock, token):
    appointments.cancel(token)


def _no_show(appointments, session, stop, clock, token):
    clock.now = appointments.by_token(token).slot.starts_at + timedelta(hours=1)
    appointments.mark_no_shows()


def _time_begun(appointments, session, stop, clock, token):
    clock.now = appointments.by_token(token).slot.starts_at + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("make_it", "status"),
    [
        (_check_in, "checked_in"),
        (_cancel, "cancelled"),
        (_no_show, "no_show"),
        (_time_begun, "past"),
    ],
)
def test_only_a_booked_appointment_whose_time_is_ahead_moves(
    appointments, session, stop, clock, make_it: Callable[..., None], status: str
):
    old, new = slot_at(session, stop, "A", 0.5, clock), slot_at(session, stop, "A", 6, clock)
    token = appointments.book(old.id).token
    make_it(appointments, session, stop, clock, token)
    before = booked_counts(session, old, new)

    with pytest.raises(AppointmentClosed) as refused:
        appointments.reschedule(token, new.id)

    assert refused.value.details["status"] == status
    assert booked_counts(session, old, new) == before
    assert appointments.by_token(token).slot_id == old.id


def test_another_product_a_closed_stop_or_a_past_time_is_refused(
    appointments, session, stop, tomorrow, clock
):
    token = appointments.book(slot_at(session, stop, "A", 2, clock).id).token
    with pytest.raises(NotBookable):
        appointments.reschedule(token, slot_at(session, stop, "R", 3, clock).id)
    earlier = slot_at(session, stop, "A", -0.5, clock)  # began at 09:30, now is 10:00
    with pytest.raises(SlotPast):
        appointments.reschedule(token, earlier.id)
    with pytest.raises(UnknownSlot):
        appointments.reschedule(token, 987654)
    with pytest.raises(UnknownAppointment):
        appointments.reschedule("no-such-token", earlier.id)
    tomorrow.status = StopStatus.CLOSED
    session.commit()
    with pytest.raises(NotBookable):
        appointments.reschedule(token, slot_at(session, tomorrow, "A", 25, clock).id)


def test_the_revision_counts_moves_and_the_cancellation(appointments, session, stop, clock):
    booked = appointments.book(slot_at(session, stop, "A", 1, clock).id)
    assert appointments.revision(booked) == Revision(0, booked.created_at)
    clock.advance(minutes=5)
    appointments.reschedule(booked.token, slot_at(session, stop, "A", 2, clock).id)
    clock.advance(minutes=5)
    appointments.reschedule(booked.token, slot_at(session, stop, "A", 3, clock).id)
    assert appointments.revision(booked) == Revision(2, clock.now)
    full = slot_at(session, stop, "A", 5, clock)
    appointments.book(full.id)
    appointments.book(full.id)
    with pytest.raises(SlotFull):  # a refused move is no revision
        appointments.reschedule(booked.token, full.id)
    assert appointments.revision(booked).sequence == 2
    clock.advance(minutes=5)
    appointments.cancel(booked.token)
    assert appointments.revision(booked) == Revision(3, clock.now)


# -- races -----------------------------------------------------------------------------------


def _engine(url: str):
    return make_engine(url, write_wait=RACE_TIMEOUT)


def _race(url: str, clock, moves: list[tuple[str, int]]) -> list[str]:
    """Each (token, slot) moved by its own thread and session at once; "moved" or the error's
    code per move, in order."""
    engine = _engine(url)
    sessions = make_sessionmaker(engine)
    results: list[str] = [""] * len(moves)
    start = threading.Barrier(len(moves))

    def move(index: int, token: str, slot_id: int) -> None:
        with sessions() as own:
            service = AppointmentService(own, clock=clock)
            start.wait()
            try:
                service.reschedule(token, slot_id)
                results[index] = "moved"
            except Exception as error:  # the code says which; anything else fails below
                results[index] = getattr(error, "code", repr(error))

    threads = [
        threading.Thread(target=move, args=(i, token, slot_id))
        for i, (token, slot_id) in enumerate(moves)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(RACE_TIMEOUT)
    engine.dispose()
    return results


def _setup_last_place(url: str, clock, racers: int) -> tuple[int, list[tuple[int, str]]]:
    """A slot with one place left, and `racers` residents each holding another time."""
    engine = _engine(url)
    with make_sessionmaker(engine)() as own:
        make_product(own, "A", bookable=True)
        stop = make_stop(own, now=clock.now, products="A")
        service = AppointmentService(own, clock=clock)
        slots = service.open_slots(stop, stop.products[0], capacity=1)
        last = slots[-1].id
        held = [(s.id, service.book(s.id).token) for s in slots[8 : 8 + racers]]
    engine.dispose()
    return last, held


def _assert_counts_match(url: str) -> dict[int, int]:
    """Every slot's counter equals the appointments that hold a place in it."""
    engine = _engine(url)
    with make_sessionmaker(engine)() as own:
        holding = dict(
            own.execute(
                select(Appointment.slot_id, func.count())
                .where(Appointment.status != AppointmentStatus.CANCELLED)
                .group_by(Appointment.slot_id)
            ).all()
        )
        counters = {s.id: s.booked for s in own.scalars(select(Slot))}
    engine.dispose()
    assert {k: v for k, v in counters.items() if v} == holding
    return holding


def _last_place_race(url: str, clock, racers: int = 6) -> None:
    last, held = _setup_last_place(url, clock, racers)
    results = _race(url, clock, [(token, last) for _slot, token in held])
    assert sorted(results) == ["moved"] + ["slot_full"] * (racers - 1)
    holding = _assert_counts_match(url)
    assert holding[last] == 1
    winner = results.index("moved")
    # The losers still hold their own time; the winner's old one is free.
    for index, (slot_id, _token) in enumerate(held):
        assert holding.get(slot_id, 0) == (0 if index == winner else 1)


def test_residents_racing_for_the_last_place_on_sqlite(db_url, clock):
    _last_place_race(db_url, clock)


@pytest.mark.postgres
def test_residents_racing_for_the_last_place_on_postgresql(pg_url, clock):
    _last_place_race(pg_url, clock)


def _crossing_moves(url: str, clock, rounds: int = 8) -> None:
    """Two residents swap times at the same moment, again and again: both moves succeed (a
    place is free in each slot), none waits for the other for ever (PostgreSQL would abort
    one with "deadlock detected" if each held one slot's row and waited for the other's)."""
    engine = _engine(url)
    with make_sessionmaker(engine)() as own:
        make_product(own, "A", bookable=True)
        stop = make_stop(own, now=clock.now, products="A")
        service = AppointmentService(own, clock=clock)
        slots = service.open_slots(stop, stop.products[0], capacity=2)
        x, y = slots[10].id, slots[20].id
        first, second = service.book(x).token, service.book(y).token
    engine.dispose()
    for _round in range(rounds):
        assert _race(url, clock, [(first, y), (second, x)]) == ["moved", "moved"]
        x, y = y, x
        assert _assert_counts_match(url) == {x: 1, y: 1}


def test_crossing_moves_on_sqlite(db_url, clock):
    _crossing_moves(db_url, clock)


@pytest.mark.postgres
def test_crossing_moves_never_deadlock_on_postgresql(pg_url, clock):
    _crossing_moves(pg_url, clock)


@pytest.mark.postgres
def test_a_move_and_a_cancel_at_once_keep_the_counts_right_on_postgresql(pg_url, clock):
    last, held = _setup_last_place(pg_url, clock, 1)
    ((_slot, token),) = held
    engine = _engine(pg_url)
    sessions = make_sessionmaker(engine)
    start = threading.Barrier(2)
    outcome: dict[str, Any] = {}

    def cancel() -> None:
        with sessions() as own:
            start.wait()
            try:
                AppointmentService(own, clock=clock).cancel(token)
                outcome["cancel"] = "ok"
            except AppointmentClosed:
                outcome["cancel"] = "closed"

    thread = threading.Thread(target=cancel)
    thread.start()
    outcome["move"] = _race_one(sessions, clock, token, last, start)
    thread.join(RACE_TIMEOUT)
    engine.dispose()
    assert outcome["cancel"] == "ok"  # a moved appointment can still be cancelled
    assert outcome["move"] in ("moved", "appointment_closed")
    assert _assert_counts_match(pg_url) == {}  # cancelled: it holds no place anywhere


def _race_one(sessions, clock, token: str, slot_id: int, start: threading.Barrier) -> str:
    with sessions() as own:
        start.wait()
        try:
            AppointmentService(own, clock=clock).reschedule(token, slot_id)
            return "moved"
        except AppointmentClosed as error:
            return error.code


# -- the API ---------------------------------------------------------------------------------


@pytest.fixture
def api_stop(db, clock):
    for prefix in "AR":
        make_product(db, prefix, bookable=True)
    stop = make_stop(db, now=clock.now, products="AR")
    service = AppointmentService(db, clock=clock)
    service.open_slots(stop, product_of(stop, "A"))
    service.open_slots(stop, product_of(stop, "R"))
    return stop


def _book(client, slot: Slot, **extra) -> dict[str, Any]:
    response = client.post("/api/v1/appointments", json={"slot": slot.id, "product": "A", **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_api_moves_by_the_private_token(client, db, api_stop, clock):
    old, new = slot_at(db, api_stop, "A", 1, clock), slot_at(db, api_stop, "A", 4, clock)
    booked = _book(client, old, name="Anna", email="anna@example.org")

    response = client.post(
        f"/api/v1/appointments/{booked['token']}/reschedule", json={"slot": new.id}
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["starts_at"] == new.starts_at.isoformat().replace("+00:00", "Z")
    assert (body["code"], body["token"], body["url"]) == (
        booked["code"],
        booked["token"],
        booked["url"],
    )
    assert (body["name"], body["email"]) == (None, None)  # the token never tells who booked
    again = client.post(f"/api/v1/appointments/{booked['token']}/reschedule", json={"slot": new.id})
    assert again.status_code == 200 and again.get_json()["starts_at"] == body["starts_at"]
    assert (
        client.get(f"/api/v1/appointments/{booked['token']}").get_json()["starts_at"]
        == (body["starts_at"])
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 422, "invalid_request"),
        ({"slot": "x"}, 422, "invalid_request"),
        ({"slot": "12"}, 422, "invalid_request"),  # strict: a number, not a string
        ({"slot": 0}, 422, "invalid_request"),
        ({"slot": 10**30}, 422, "invalid_request"),
        ({"slot": 1, "name": "Anna"}, 422, "invalid_request"),  # moving changes nothing else
        ({"slot": 987654}, 404, "unknown_slot"),
    ],
)
def test_the_api_refuses_bad_input(client, db, api_stop, clock, body, status, code):
    booked = _book(client, slot_at(db, api_stop, "A", 1, clock))
    response = client.post(f"/api/v1/appointments/{booked['token']}/reschedule", json=body)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_the_api_says_why_a_move_is_refused(client, db, api_stop, clock):
    old = slot_at(db, api_stop, "A", 1, clock)
    full = slot_at(db, api_stop, "A", 3, clock)
    booked = _book(client, old)
    _book(client, full)
    _book(client, full)
    url = f"/api/v1/appointments/{booked['token']}/reschedule"

    refused = client.post(url, json={"slot": full.id})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "slot_full"
    assert (
        client.get(f"/api/v1/appointments/{booked['token']}").get_json()["starts_at"]
        == (booked["starts_at"])
    )
    other = client.post(url, json={"slot": slot_at(db, api_stop, "R", 3, clock).id})
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "not_bookable"
    past = client.post(url, json={"slot": slot_at(db, api_stop, "A", -0.5, clock).id})
    assert past.status_code == 409 and past.get_json()["error"]["code"] == "slot_past"
    unknown = client.post("/api/v1/appointments/no-such-token/reschedule", json={"slot": old.id})
    assert unknown.status_code == 404
    assert unknown.get_json()["error"]["code"] == "unknown_appointment"
    client.delete(f"/api/v1/appointments/{booked['token']}")
    closed = client.post(url, json={"slot": slot_at(db, api_stop, "A", 5, clock).id})
    assert closed.status_code == 409
    assert closed.get_json()["error"] == {
        "code": "appointment_closed",
        "message": "This appointment was cancelled or has passed.",
        "details": {"status": "cancelled"},
    }


def test_the_api_move_is_rate_limited(make_app, clock):
    app = make_app(RATELIMIT_BOOK="2/minute")
    with app.extensions["loket.sessionmaker"]() as db:
        make_product(db, "A", bookable=True)
        stop = make_stop(db, now=clock.now, products="A")
        AppointmentService(db, clock=clock).open_slots(stop, stop.products[0])
        slots = [slot_at(db, stop, "A", h, clock) for h in (1, 2, 3, 4)]
    client = app.test_client()
    token = _book(client, slots[0])["token"]
    answers = [
        client.post(f"/api/v1/appointments/{token}/reschedule", json={"slot": s.id}).status_code
        for s in slots[1:]
    ]
    assert answers == [200, 200, 429]


def test_the_openapi_documents_the_move(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/appointments/{token}/reschedule"]["post"]
    assert {"200", "404", "409", "422"} <= set(operation["responses"])
    assert "RescheduleRequest" in spec["components"]["schemas"]


# -- the private page ------------------------------------------------------------------------


def test_a_resident_moves_the_appointment_on_the_private_page(client, db, api_stop, clock):
    old, new = slot_at(db, api_stop, "A", 1, clock), slot_at(db, api_stop, "A", 4, clock)
    booked = _book(client, old)
    token = booked["token"]
    page = client.get(f"/a/{token}")
    assert "Andere tijd kiezen" in page.text and f"/a/{token}/reschedule" in page.text

    times = client.get(f"/a/{token}/reschedule")
    assert times.status_code == 200
    assert f"/a/{token}/reschedule/{new.id}" in times.text
    assert f'/a/{token}/reschedule/{old.id}"' not in times.text  # not the time it holds

    confirm = client.get(f"/a/{token}/reschedule/{new.id}")
    assert confirm.status_code == 200 and "Ja, verzet mijn afspraak" in confirm.text
    db.rollback()
    assert db.get(Slot, new.id, populate_existing=True).booked == 0  # nothing changed yet

    moved = client.post(
        f"/a/{token}/reschedule/{new.id}",
        data={"csrf_token": csrf_token_in(confirm.text)},
        follow_redirects=True,
    )
    assert moved.status_code == 200 and moved.request.path == f"/a/{token}"
    assert "Uw afspraak is verzet." in moved.text and booked["code"] in moved.text
    assert client.get(f"/api/v1/appointments/{token}").get_json()["starts_at"] == (
        new.starts_at.isoformat().replace("+00:00", "Z")
    )


def test_other_stops_of_the_tour_are_offered(client, db, api_stop, clock):
    other = make_stop(
        db, now=clock.now + timedelta(days=1), products="A", location="Wijkcentrum Risdam"
    )
    AppointmentService(db, clock=clock).open_slots(other, other.products[0])
    token = _book(client, slot_at(db, api_stop, "A", 1, clock))["token"]

    times = client.get(f"/a/{token}/reschedule")
    assert "Wijkcentrum Risdam" in times.text and f"stop={other.id}" in times.text
    there = client.get(f"/a/{token}/reschedule?stop={other.id}")
    tomorrow = slot_at(db, other, "A", 23, clock)
    assert f"/a/{token}/reschedule/{tomorrow.id}" in there.text
    for query in ("?stop=abc", "?stop=999999", f"?stop={10**30}", "?stop=-1"):
        assert client.get(f"/a/{token}/reschedule{query}").status_code == 200


def test_a_time_taken_meanwhile_shows_other_times_and_changes_nothing(client, db, api_stop, clock):
    old, wanted = slot_at(db, api_stop, "A", 1, clock), slot_at(db, api_stop, "A", 4, clock)
    token = _book(client, old)["token"]
    confirm = client.get(f"/a/{token}/reschedule/{wanted.id}")
    _book(client, wanted)  # two others take both places while the resident reads
    _book(client, wanted)

    refused = client.post(
        f"/a/{token}/reschedule/{wanted.id}", data={"csrf_token": csrf_token_in(confirm.text)}
    )

    assert refused.status_code == 409
    assert "Iemand anders heeft deze tijd net gekozen" in refused.text
    assert "Uw afspraak is niet veranderd" in refused.text
    assert "time-button" in refused.text  # other times to choose from
    db.rollback()
    assert db.scalar(select(Appointment.slot_id).where(Appointment.token == token)) == old.id
    # Opening a full time's step says so too, before any form.
    assert client.get(f"/a/{token}/reschedule/{wanted.id}").status_code == 409


def test_the_steps_refuse_what_cannot_move(client, db, api_stop, clock):
    token = _book(client, slot_at(db, api_stop, "A", 1, clock))["token"]
    other_product = slot_at(db, api_stop, "R", 3, clock)
    assert client.get(f"/a/{token}/reschedule/{other_product.id}").status_code == 404
    assert client.get(f"/a/{token}/reschedule/987654").status_code == 404
    assert client.get("/a/no-such-token/reschedule").status_code == 404
    page = client.get(f"/a/{token}")
    assert "Andere tijd kiezen" in page.text
    no_form = client.post(f"/a/{token}/reschedule/{slot_at(db, api_stop, 'A', 3, clock).id}")
    assert no_form.status_code == 400  # no CSRF token: nothing happens
    asked = client.get(f"/a/{token}/cancel")
    client.post(f"/a/{token}/cancel", data={"csrf_token": csrf_token_in(asked.text)})
    gone = client.get(f"/a/{token}/reschedule", follow_redirects=True)
    assert "Deze afspraak kunt u niet meer verzetten." in gone.text
    assert "Andere tijd kiezen" not in gone.text


def test_cancelling_asks_first(client, db, api_stop, clock):
    token = _book(client, slot_at(db, api_stop, "A", 1, clock))["token"]
    page = client.get(f"/a/{token}")
    assert f'action="/a/{token}/cancel"' in page.text and 'method="get"' in page.text

    asked = client.get(f"/a/{token}/cancel")
    assert asked.status_code == 200
    assert "Afspraak afzeggen?" in asked.text and "Ja, zeg mijn afspraak af" in asked.text
    assert client.get(f"/api/v1/appointments/{token}").get_json()["status"] == "booked"
    no_token = client.post(f"/a/{token}/cancel")
    assert no_token.status_code == 400
    assert client.get(f"/api/v1/appointments/{token}").get_json()["status"] == "booked"

    done = client.post(
        f"/a/{token}/cancel",
        data={"csrf_token": csrf_token_in(asked.text)},
        follow_redirects=True,
    )
    assert "Uw afspraak is afgezegd." in done.text
    again = client.get(f"/a/{token}/cancel", follow_redirects=True)
    assert "Deze afspraak kunt u niet meer afzeggen." in again.text


# -- the confirmation e-mail -----------------------------------------------------------------


def test_a_move_sends_a_new_confirmation_with_a_higher_sequence(make_app, clock):
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, MAIL_FROM="l@h.test")
        with app.extensions["loket.sessionmaker"]() as db:
            make_product(db, "A", bookable=True)
            stop = make_stop(db, now=clock.now, products="A")
            AppointmentService(db, clock=clock).open_slots(stop, stop.products[0])
            old, new = slot_at(db, stop, "A", 1, clock), slot_at(db, stop, "A", 4, clock)
        client = app.test_client()
        booked = _book(client, old, email="anna@example.org")
        handler.wait()
        client.post(f"/api/v1/appointments/{booked['token']}/reschedule", json={"slot": new.id})
        with handler.arrived:
            assert handler.arrived.wait_for(lambda: len(handler.messages) == 2, 10)
    finally:
        controller.stop()
    first, second = handler.messages
    assert "verzet" in second["Subject"] and booked["code"] in second["Subject"]
    assert "is verzet" in second.get_body(("plain",)).get_content()
    events_of = [
        icalendar.Calendar.from_ical(next(m.iter_attachments()).get_content()).walk("VEVENT")[0]
        for m in (first, second)
    ]
    assert [int(e["SEQUENCE"]) for e in events_of] == [0, 1]
    assert events_of[0]["UID"] == events_of[1]["UID"]
    assert events_of[1].decoded("DTSTART") == new.starts_at


def test_no_mail_server_still_moves(make_app, clock, caplog):
    app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())  # nothing listens there
    with app.extensions["loket.sessionmaker"]() as db:
        make_product(db, "A", bookable=True)
        stop = make_stop(db, now=clock.now, products="A")
        AppointmentService(db, clock=clock).open_slots(stop, stop.products[0])
        old, new = slot_at(db, stop, "A", 1, clock), slot_at(db, stop, "A", 4, clock)
    client = app.test_client()
    with caplog.at_level("WARNING"):
        booked = _book(client, old, email="anna@example.org")
        moved = client.post(
            f"/api/v1/appointments/{booked['token']}/reschedule", json={"slot": new.id}
        )
        assert moved.status_code == 200
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and thread.name.startswith("Thread"):
                thread.join(10)
    assert caplog.text.count("not sent") == 2  # the booking's and the move's


def test_a_checked_in_appointment_keeps_its_ticket(appointments, session, stop, clock):
    """After check-in the page follows the ticket; moving is no longer offered."""
    slot = slot_at(session, stop, "A", 0.25, clock)
    booked = appointments.book(slot.id)
    checked = appointments.check_in(booked.code, stop)
    with pytest.raises(AppointmentClosed):
        appointments.reschedule(booked.token, slot_at(session, stop, "A", 3, clock).id)
    session.rollback()
    kept = appointments.by_token(booked.token)
    assert (kept.slot_id, kept.ticket_id) == (slot.id, checked.ticket.id)


@pytest.mark.parametrize("lang", ["nl", "en", "tr", "ar", "pl", "uk"])
def test_the_steps_answer_in_each_language_with_its_direction(client, db, api_stop, clock, lang):
    new = slot_at(db, api_stop, "A", 4, clock)
    token = _book(client, slot_at(db, api_stop, "A", 1, clock))["token"]
    for path in (f"/a/{token}/reschedule", f"/a/{token}/reschedule/{new.id}", f"/a/{token}/cancel"):
        page = client.get(f"{path}?lang={lang}")
        assert page.status_code == 200, path
        direction = "rtl" if lang == "ar" else "ltr"
        assert f'lang="{lang}" dir="{direction}"' in page.text, path
        assert 'class="site-footer"' in page.text and "css/public.css" in page.text
        assert page.headers["Cache-Control"] == "no-store"  # a private page
