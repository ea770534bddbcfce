"""The appointment import, attacked row by row (issue 14, item 11): every kind of bad row is
refused with its line number, a full slot is never made larger, one bad row never costs a 500
or the other rows, and saving is all good rows or none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from kiosk.models import Appointment, AppointmentSource, Event, Slot
from kiosk.services import accounts as accounts_module
from kiosk.services.accounts import AccountService
from kiosk.services.appointments import AppointmentService
from kiosk.services.appointments.importing import ImportingService
from kiosk.services.errors import Conflict
from tests.factories import make_product, make_stop, make_user

HUGE = "99999999999999999999"


@pytest.fixture
def stop(session, clock):
    """Open 09:00-17:00 UTC around the clock's 10:00; A and R bookable, H walk-in only."""
    for prefix in "AR":
        make_product(session, prefix, bookable=True)
    return make_stop(session, now=clock.now, starts_in=timedelta(hours=-1), hours=8)


@pytest.fixture
def appointments(session, notifier, clock) -> AppointmentService:
    return AppointmentService(session, notifier, clock)


def at(clock, hours: float) -> str:
    return (clock.now + timedelta(hours=hours)).isoformat()


def row(where, clock, ref: str = "HRN-1", **kw: str) -> dict[str, str]:
    base = {"reference": ref, "product": "A", "stop": str(where.id), "start": at(clock, 2)}
    return {**base, **kw}


def count(session, model) -> int:
    session.rollback()  # a fresh read, not the session's snapshot
    return session.scalar(select(func.count()).select_from(model))


BAD_ROWS = [
    ({"email": "not-an-email"}, "email 'not-an-email' is not an e-mail address"),
    ({"email": "anna@example"}, "email 'anna@example' is not an e-mail address"),
    ({"email": "an na@example.org"}, "is not an e-mail address"),
    ({"start": "1900-01-01T10:00"}, "start 1900-01-01 10:00 is outside the stop's opening hours"),
    ({"start": "2026-06-02T03:00"}, "start 2026-06-02 03:00 is outside the stop's opening hours"),
    ({"start": "2026-06-02T18:55"}, "outside the stop's opening hours"),  # ends after 19:00
    ({"start": "2026-06-03T12:00"}, "outside the stop's opening hours"),  # the next day
    ({"start": "tomorrow"}, "start 'tomorrow' is not a date and time like 2026-12-01T18:30"),
    ({"product": "H"}, "product 'H' is walk-in only: it cannot be booked"),
    ({"product": "X"}, "unknown product 'X'"),
    ({"stop": "abc"}, "stop must be the stop's number"),
    ({"stop": HUGE}, "stop must be the stop's number"),
    ({"stop": "-1"}, "stop must be the stop's number"),
    ({"stop": "999"}, "unknown stop 999"),
    ({"reference": ""}, "reference is missing"),
    ({"reference": "HRN 1; DROP"}, "reference must be 1 to 64 letters"),
    ({"reference": "H" * 65}, "reference must be 1 to 64 letters"),
    ({"name": "A" * 81}, "name is longer than 80 characters"),
]


@pytest.mark.parametrize(("change", "reason"), BAD_ROWS, ids=[r for _c, r in BAD_ROWS])
def test_each_kind_of_bad_row_is_refused_with_its_line(
    appointments, session, stop, clock, change, reason
):
    good = row(stop, clock, "HRN-GOOD")
    result = appointments.import_rows([good, row(stop, clock, "HRN-BAD", **change)])
    assert len(result.errors) == 1
    assert result.errors[0].startswith("line 3: ") and reason in result.errors[0]
    assert [a.external_ref for a in result.created] == ["HRN-GOOD"]
    assert count(session, Appointment) == 1


def test_a_product_the_stop_does_not_offer_is_refused(appointments, session, clock):
    make_product(session, "A", bookable=True)
    make_product(session, "R", bookable=True)
    only_a = make_stop(session, now=clock.now, products="A", location="Zorgcentrum Lambertus")
    result = appointments.import_rows([row(only_a, clock, product="R")])
    assert result.errors == [f"line 2: stop {only_a.id} does not offer product 'driving-licence'"]


def test_a_full_slot_is_refused_and_never_made_larger(appointments, session, stop, clock):
    start = clock.now + timedelta(hours=2)
    slot = Slot(
        stop_id=stop.id,
        product_id=stop.products[0].id,
        starts_at=start,
        ends_at=start + timedelta(minutes=10),
        capacity=1,
        booked=0,
    )
    session.add(slot)
    session.commit()
    rows = [row(stop, clock, "HRN-1"), row(stop, clock, "HRN-2")]
    result = appointments.import_rows(rows)
    assert [a.external_ref for a in result.created] == ["HRN-1"]
    assert result.errors == ["line 3: the slot at 2026-06-02 14:00 is full (1 place)"]
    session.rollback()
    session.refresh(slot)
    assert (slot.capacity, slot.booked) == (1, 1)
    again = appointments.import_rows([row(stop, clock, "HRN-3")])
    assert again.errors == ["line 2: the slot at 2026-06-02 14:00 is full (1 place)"]
    session.refresh(slot)
    assert (slot.capacity, slot.booked) == (1, 1)


def test_a_new_slot_holds_as_many_as_the_desks_serving_the_product(appointments, stop, clock):
    rows = [row(stop, clock, f"HRN-{n}") for n in range(3)]  # two desks serve A
    result = appointments.import_rows(rows)
    assert [a.external_ref for a in result.created] == ["HRN-0", "HRN-1"]
    assert result.errors == ["line 4: the slot at 2026-06-02 14:00 is full (2 places)"]
    assert result.created[0].slot.capacity == 2


def test_every_bad_row_is_reported_in_line_order_and_the_good_ones_are_saved(
    appointments, session, stop, clock
):
    """One bad stop in the middle once ended the import with a 500 after earlier rows were
    saved; now every row is checked and reported."""
    text = (
        "reference;product;stop;start;name;email\n"
        f"HRN-1;A;{stop.id};{at(clock, 1)};Anna;anna@example.org\n"
        f"HRN-2;A;{HUGE};{at(clock, 1)};;\n"
        f"HRN-3;H;{stop.id};{at(clock, 1)};;\n"
        f"HRN-4;R;{stop.id};{at(clock, 3)};;\n"
        f"HRN-5;A;{stop.id};1900-01-01T10:00;;\n"
        f"HRN-1;A;{stop.id};{at(clock, 4)};;\n"
        f"HRN-6;A;{stop.id};{at(clock, 5)};Bo;not-an-email\n"
    )
    result = appointments.import_csv(text)
    assert [e.split(":")[0] for e in result.errors] == [
        "line 3",
        "line 4",
        "line 6",
        "line 7",
        "line 8",
    ]
    assert "reference 'HRN-1' is also on line 2" in result.errors[3]
    assert [a.external_ref for a in result.created] == ["HRN-1", "HRN-4"]
    assert all(a.source is AppointmentSource.IMPORT for a in result.created)
    assert count(session, Appointment) == 2
    booked = session.scalar(select(func.count()).where(Event.action == "appointment.book"))
    assert booked == 2
    again = appointments.import_csv(text)
    assert again.created == [] and again.skipped == ["HRN-1", "HRN-4"]


def test_an_import_with_only_bad_rows_saves_nothing_and_holds_no_lock(
    appointments, session, stop, clock, db_url
):
    result = appointments.import_rows([row(stop, clock, start="1900-01-01T10:00")])
    assert result.created == [] and len(result.errors) == 1
    assert count(session, Slot) == 0
    # The write transaction ended: another writer gets in at once.
    other = AppointmentService(session, clock=clock)
    assert other.import_rows([row(stop, clock, "HRN-9")]).created


def test_a_failure_while_saving_keeps_nothing_of_the_import(
    appointments, session, stop, clock, monkeypatch
):
    """Saving is atomic: when booking a checked row still fails, no row of the file stays."""
    real_insert = ImportingService._insert
    calls = []

    def insert(self, slot, name, email, language, source, external_ref):
        calls.append(external_ref)
        if len(calls) == 3:
            raise Conflict("An appointment with this reference exists.")
        return real_insert(self, slot, name, email, language, source, external_ref)

    monkeypatch.setattr(ImportingService, "_insert", insert)
    rows = [
        row(stop, clock, "HRN-1"),
        row(stop, clock, "HRN-2", product="R", start=at(clock, 3)),
        row(stop, clock, "HRN-3", start=at(clock, 4)),
        row(stop, clock, "HRN-4", start="tomorrow"),
    ]
    result = appointments.import_rows(rows)
    assert result.created == []
    assert result.errors == [
        "line 4: An appointment with this reference exists.; nothing was imported",
        "line 5: start 'tomorrow' is not a date and time like 2026-12-01T18:30",
    ]
    assert count(session, Appointment) == 0
    assert count(session, Slot) == 0
    assert session.scalar(select(func.count()).where(Event.action == "appointment.book")) == 0


# -- the API's door ------------------------------------------------------------------------------


@pytest.fixture
def coordinator(db, clock, monkeypatch) -> dict[str, str]:
    monkeypatch.setattr(
        accounts_module, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    user, _ = make_user(db, "cora", role="coordinator")
    token = AccountService(db, clock=clock).issue_token(user, ttl=timedelta(hours=1)).token
    return {"Authorization": f"Bearer {token}"}


def test_the_api_reports_bad_rows_by_line_with_no_500(client, db, clock, coordinator):
    for prefix in "AR":
        make_product(db, prefix, bookable=True)
    api_stop = make_stop(db, now=clock.now)
    rows = [
        row(api_stop, clock, "HRN-1"),
        row(api_stop, clock, "HRN-2", stop="not-a-stop"),
        row(api_stop, clock, "HRN-3", stop=HUGE),
        row(api_stop, clock, "HRN-4", email="not-an-email"),
        row(api_stop, clock, "HRN-5", start=at(clock, 3)),
    ]
    response = client.post("/api/v1/appointments/import", json={"rows": rows}, headers=coordinator)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert len(body["created"]) == 2 and body["skipped"] == []
    assert [e.split(":")[0] for e in body["errors"]] == ["line 3", "line 4", "line 5"]
    assert db.scalar(select(func.count()).select_from(Appointment)) == 2


def test_a_start_without_an_offset_is_local_time_at_the_stop(appointments, stop, clock):
    local = datetime(2026, 6, 2, 14, 0)  # 14:00 in Hoorn (CEST) is 12:00 UTC
    result = appointments.import_rows([row(stop, clock, start=local.isoformat())])
    assert result.created[0].slot.starts_at == datetime(2026, 6, 2, 12, 0, tzinfo=UTC)
