"""Check-in under attack (issue 14, item 1): guessing codes at a kiosk or through the API, one
code tried at every kiosk, free text matched against imported references, an appointment of
another stop handed back, refusals that tell where and when, and the name on the QR page.

Each test performs the attack; the counters are the limiter's (memory:// here, redis:// in
production), fresh for every app."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from kiosk.check_in_limits import FAILURES_EVENT
from kiosk.models import Appointment, AppointmentSource, DeviceKind, Slot, Ticket
from kiosk.services.accounts import AccountService
from kiosk.services.appointments import CODE_ALPHABET, AppointmentService
from kiosk.services.appointments.codes import REFERENCE_PATTERN
from kiosk.services.appointments.importing import REFERENCE_FORMAT
from kiosk.services.base import RecordingNotifier
from kiosk.services.rooms import staff_room
from tests.factories import csrf_token_in, make_product, make_stop, make_user, pair_browser

ATTEMPTS = 300
PER_MINUTE = 5  # the default RATELIMIT_CHECK_IN_KIOSK: 5/minute;30/hour


@pytest.fixture
def app(make_app):
    app = make_app()
    app.extensions["loket.notifier"] = RecordingNotifier()
    return app


@pytest.fixture
def accounts(db, clock) -> AccountService:
    return AccountService(db, clock=clock)


@pytest.fixture
def appointments(db, clock) -> AppointmentService:
    return AppointmentService(db, clock=clock)


@pytest.fixture
def stop(db, clock, appointments):
    """Stop 1, in the library: product A, bookable, with times all day."""
    make_product(db, "A", bookable=True)
    stop = make_stop(db, now=clock.now, products="A")
    appointments.open_slots(stop, stop.products[0])
    return stop


@pytest.fixture
def other_stop(db, clock, appointments, stop):
    """Stop 2, open at the same time in Zwaag."""
    other = make_stop(db, now=clock.now, products="A", location="Dorpshuis Zwaag")
    appointments.open_slots(other, other.products[0])
    return other


def bearer(accounts: AccountService, stop: Any, name: str = "Kiosk 1") -> dict[str, str]:
    code = accounts.add_device(DeviceKind.KIOSK, name, stop=stop).code
    return {"Authorization": f"Bearer {accounts.pair(code)[1]}"}


def staff(db, accounts) -> dict[str, str]:
    user, _ = make_user(db, "balie")
    return {"Authorization": f"Bearer {accounts.issue_token(user, ttl=timedelta(hours=1)).token}"}


def slot_at(db, stop, clock, minutes: int = 15) -> Slot:
    return db.scalar(
        select(Slot)
        .where(Slot.stop_id == stop.id, Slot.starts_at >= clock.now + timedelta(minutes=minutes))
        .order_by(Slot.starts_at)
        .limit(1)
    )


def book(appointments, db, stop, clock, minutes: int = 15, **kw: Any) -> Appointment:
    return appointments.book(slot_at(db, stop, clock, minutes).id, **kw)


def imported(appointments, stop, clock, reference: str, minutes: int = 15) -> Appointment:
    start = (clock.now + timedelta(minutes=minutes)).isoformat()
    row = {"reference": reference, "product": "A", "stop": str(stop.id), "start": start}
    result = appointments.import_rows([row])
    assert result.errors == [], result.errors
    return result.created[0]


def random_codes(count: int, seed: int = 14) -> list[str]:
    draw = random.Random(seed)
    return ["".join(draw.choice(CODE_ALPHABET) for _ in range(6)) for _ in range(count)]


def api_check_in(client, headers: dict[str, str], code: str):
    return client.post("/api/v1/appointments/check-in", json={"code": code}, headers=headers)


@pytest.fixture
def kiosk_client(client, accounts, stop):
    pair_browser(client, accounts, stop, "kiosk")
    return client


def form_check_in(client, code: str, token: str | None = None):
    token = token or csrf_token_in(client.get("/kiosk/afspraak").get_data(as_text=True))
    return client.post("/kiosk/afspraak", data={"code": code, "csrf_token": token})


def tickets(db) -> int:
    db.rollback()
    return int(db.scalar(select(func.count()).select_from(Ticket)) or 0)


# -- guessing from one kiosk -------------------------------------------------------------------


def test_300_random_codes_through_the_api_are_refused_after_a_few(
    client, db, accounts, appointments, stop, clock
):
    real = book(appointments, db, stop, clock)
    kiosk = bearer(accounts, stop)
    statuses = [api_check_in(client, kiosk, code).status_code for code in random_codes(ATTEMPTS)]
    assert statuses[:PER_MINUTE] == [404] * PER_MINUTE
    assert statuses[PER_MINUTE:] == [429] * (ATTEMPTS - PER_MINUTE)

    paused = api_check_in(client, kiosk, real.code)  # a right code tells nothing during a pause
    assert paused.status_code == 429 and paused.mimetype == "application/json"
    assert paused.get_json()["error"]["code"] == "check_in_paused"
    assert 1 <= int(paused.headers["Retry-After"]) <= 60
    assert tickets(db) == 0


def test_300_random_codes_at_the_kiosk_screen_end_in_a_pause(kiosk_client, db):
    token = csrf_token_in(kiosk_client.get("/kiosk/afspraak").get_data(as_text=True))
    answers = [form_check_in(kiosk_client, code, token) for code in random_codes(ATTEMPTS)]
    assert [a.status_code for a in answers[:PER_MINUTE]] == [404] * PER_MINUTE
    assert {a.status_code for a in answers[PER_MINUTE:]} == {429}
    pause = answers[-1]
    assert 1 <= int(pause.headers["Retry-After"]) <= 60
    page = pause.get_data(as_text=True)
    assert "Er zijn te veel verkeerde codes getypt" in page and 'role="alert"' in page


def test_a_good_code_is_not_counted_and_a_pause_ends_with_its_window(
    kiosk_client, db, appointments, stop, clock, app
):
    real = book(appointments, db, stop, clock)
    for code in random_codes(PER_MINUTE - 1):
        assert form_check_in(kiosk_client, code).status_code == 404
    assert form_check_in(kiosk_client, real.code).status_code == 302  # checked in, not counted
    assert form_check_in(kiosk_client, random_codes(1, seed=2)[0]).status_code == 404
    assert form_check_in(kiosk_client, random_codes(1, seed=3)[0]).status_code == 429


def test_the_pause_is_said_in_the_residents_language(kiosk_client):
    kiosk_client.get("/kiosk?lang=en")
    for code in random_codes(PER_MINUTE + 1):
        answer = form_check_in(kiosk_client, code)
    assert answer.status_code == 429
    page = answer.get_data(as_text=True)
    assert '<html lang="en"' in page
    assert "Too many wrong codes were typed. You can try again at" in page


def test_staff_see_a_kiosk_that_pauses_on_the_desk(app, client, db, accounts, stop, kiosk_client):
    for code in random_codes(PER_MINUTE):
        form_check_in(kiosk_client, code)
    notifier = app.extensions["loket.notifier"]
    events = [e for e in notifier.published if e[0] == FAILURES_EVENT]
    assert len(events) == 1  # once, when the pause starts; the desks hear the device id only
    _event, payload, room = events[0]
    assert room == staff_room(stop.id) and set(payload) == {"device"}

    headers = staff(db, accounts)
    pauses = client.get(f"/api/v1/stops/{stop.id}/check-in-pauses", headers=headers)
    assert pauses.status_code == 200
    [pause] = pauses.get_json()
    assert (pause["device"], pause["name"]) == (payload["device"], "Browser kiosk")
    assert (pause["count"], pause["minutes"]) == (PER_MINUTE, 1)
    # The kiosk itself (a device, not staff) may not read it.
    assert client.get(f"/api/v1/stops/{stop.id}/check-in-pauses").status_code == 403


def test_the_desk_page_shows_the_pause_in_words(app, db, accounts, stop):
    user, password = make_user(db, "anna")
    kiosk = app.test_client()
    pair_browser(kiosk, accounts, stop, "kiosk")
    for code in random_codes(PER_MINUTE):
        form_check_in(kiosk, code)
    desk = app.test_client()
    token = csrf_token_in(desk.get("/login").text)
    login = {"username": user.username, "password": password, "csrf_token": token}
    assert desk.post("/login", data=login).status_code == 302
    page = desk.get(f"/desk/{stop.desks[0].id}").get_data(as_text=True)
    assert "Browser kiosk: 5 foute codes in 1 min. Aanmelden kan weer om" in page


# -- one code at every kiosk -------------------------------------------------------------------


def test_one_code_is_limited_across_kiosks(client, db, accounts, appointments, stop, clock):
    early = book(appointments, db, stop, clock, minutes=120)  # too early: refused, 409
    kiosks = [bearer(accounts, stop, f"Kiosk {n}") for n in range(1, 5)]
    statuses = [api_check_in(client, kiosks[n % 3], early.code).status_code for n in range(5)]
    assert statuses == [409] * 5
    fresh = api_check_in(client, kiosks[3], early.code)  # a kiosk with no wrong codes of its own
    assert fresh.status_code == 429 and "Retry-After" in fresh.headers
    # Other codes still work at that kiosk.
    assert api_check_in(client, kiosks[3], "ZZZ-ZZZ").status_code == 404


def test_malformed_text_counts_for_its_kiosk_only_and_an_empty_field_not_at_all(
    client, accounts, stop
):
    kiosks = [bearer(accounts, stop, f"Kiosk {n}") for n in range(PER_MINUTE + 2)]
    assert [api_check_in(client, k, "ABC 23!").status_code for k in kiosks] == [404] * len(kiosks)
    empty = [api_check_in(client, kiosks[0], "").status_code for _ in range(PER_MINUTE + 2)]
    assert 429 not in empty


# -- external references -----------------------------------------------------------------------


def test_a_reference_in_its_import_format_checks_in(client, accounts, appointments, stop, clock):
    imported(appointments, stop, clock, "HRN-2026-0042")
    answer = api_check_in(client, bearer(accounts, stop), " HRN-2026-0042 ")
    assert answer.status_code == 201, answer.get_json()


def stored_reference(appointments, db, stop, clock, reference: str, minutes: int = 15):
    """An appointment whose reference an older import stored without checking its format."""
    slot = slot_at(db, stop, clock, minutes)
    return appointments.book(slot.id, source=AppointmentSource.IMPORT, external_ref=reference)


def test_the_kiosk_reads_references_in_the_imports_own_format():
    assert REFERENCE_PATTERN.pattern == REFERENCE_FORMAT.pattern


@pytest.mark.parametrize(
    "reference", ["Anna de Vries", "HRN 2026 0042", "' OR 1=1 --", "-77", "HRN-77\n", "HRN-77?"]
)
def test_free_text_never_matches_a_stored_reference(
    client, db, accounts, appointments, stop, clock, reference
):
    stored_reference(appointments, db, stop, clock, reference)
    answer = api_check_in(client, bearer(accounts, stop), reference)
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "unknown_appointment"
    assert tickets(db) == 0


# -- a kiosk only gets tickets of its own stop -------------------------------------------------


def test_an_appointment_checked_in_at_stop_1_is_not_handed_to_a_kiosk_of_stop_2(
    client, db, accounts, appointments, stop, other_stop, clock
):
    appointment = book(appointments, db, stop, clock)
    first = api_check_in(client, bearer(accounts, stop, "Kiosk stop 1"), appointment.code)
    assert first.status_code == 201
    elsewhere = api_check_in(client, bearer(accounts, other_stop, "Kiosk stop 2"), appointment.code)
    assert elsewhere.status_code == 409
    body = elsewhere.get_json()
    assert body["error"]["code"] == "wrong_stop" and "token" not in body
    assert tickets(db) == 1


def test_the_service_refuses_the_hand_back_too(db, appointments, stop, other_stop, clock):
    from kiosk.services.appointments import WrongStop

    appointment = book(appointments, db, stop, clock)
    appointments.check_in(appointment.code, stop)
    with pytest.raises(WrongStop):
        appointments.check_in(appointment.code, other_stop)


# -- what a refusal says -----------------------------------------------------------------------


def test_a_refused_booking_code_says_where_and_when(kiosk_client, db, appointments, stop, clock):
    early = book(appointments, db, stop, clock, minutes=120)
    answer = form_check_in(kiosk_client, early.code)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "U bent te vroeg" in page
    assert "Uw afspraak is om" in page and "Bibliotheek Hoorn" in page


def test_a_refused_reference_says_why_but_not_where_or_when(
    client, kiosk_client, db, accounts, appointments, stop, clock
):
    imported(appointments, stop, clock, "HRN-77", minutes=120)
    answer = form_check_in(kiosk_client, "HRN-77")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "U bent te vroeg" in page
    assert "appointment-facts" not in page and "Uw afspraak is om" not in page
    api = api_check_in(client, bearer(accounts, stop), "HRN-77").get_json()["error"]
    assert api["code"] == "check_in_too_early" and "details" not in api


def test_a_booking_code_at_the_wrong_stop_says_where_only_for_the_code(
    client, db, accounts, appointments, stop, other_stop, clock
):
    appointment = book(appointments, db, stop, clock)
    imported(appointments, stop, clock, "HRN-78")
    kiosk = bearer(accounts, other_stop, "Kiosk stop 2")
    by_code = api_check_in(client, kiosk, appointment.code).get_json()["error"]
    assert by_code["details"]["stop"] == "Bibliotheek Hoorn"
    by_reference = api_check_in(client, kiosk, "HRN-78").get_json()["error"]
    assert by_reference["code"] == "wrong_stop" and "details" not in by_reference


def test_malformed_input_looks_like_an_unknown_code(kiosk_client, db, appointments, stop, clock):
    stored_reference(appointments, db, stop, clock, "Anna de Vries", minutes=120)
    exists = form_check_in(kiosk_client, "Anna de Vries")
    nothing = form_check_in(kiosk_client, "Piet de Boer")
    assert exists.status_code == nothing.status_code == 404

    def plain(answer: Any, typed: str) -> str:
        page = answer.get_data(as_text=True).replace(typed, "TYPED")
        return re.sub(r'name="csrf_token" value="[^"]+"', "", page)

    assert plain(exists, "Anna de Vries") == plain(nothing, "Piet de Boer")


# -- the page behind the QR --------------------------------------------------------------------


def test_the_appointment_page_shows_neither_name_nor_email(
    kiosk_client, db, appointments, stop, clock
):
    appointment = book(
        appointments, db, stop, clock, name="Anna de Vries", email="anna@example.org"
    )
    before = kiosk_client.get(f"/a/{appointment.token}").get_data(as_text=True)
    assert appointment.code in before
    assert "Anna" not in before and "anna@example.org" not in before
    # Checked in at the kiosk, the slip's QR opens the same page: still no name.
    assert form_check_in(kiosk_client, appointment.code).status_code == 302
    after = kiosk_client.get(f"/a/{appointment.token}").get_data(as_text=True)
    assert "Anna" not in after and "anna@example.org" not in after


def test_a_resident_checks_in_when_the_counters_storage_is_away(
    client, db, accounts, appointments, stop, clock, monkeypatch, caplog
):
    """Redis down: the counters cannot be read or written; the check-in still works (no 500),
    and the log says so."""
    from kiosk.extensions import limiter

    def away(*_args: Any, **_kw: Any) -> Any:
        raise ConnectionError("redis is away")

    for name in ("hit", "test", "get_window_stats"):
        monkeypatch.setattr(limiter.limiter, name, away)
    kiosk = bearer(accounts, stop)
    assert api_check_in(client, kiosk, random_codes(1)[0]).status_code == 404
    real = book(appointments, db, stop, clock)
    assert api_check_in(client, kiosk, real.code).status_code == 201
    assert tickets(db) == 1
    assert "Check-in counters unavailable" in caplog.text
