"""Exactly one ticket (or step) per tap, whatever fails: a request a kiosk or desk sends again with
the same ``Idempotency-Key`` gets the first answer. Service rules, the API's 201/200, the kiosk's
own form, a reply lost after the commit, expiry, and two racing retries on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from kiosk.database import make_engine, make_sessionmaker
from kiosk.factories import queue_service
from kiosk.models import DeviceKind, Event, PrintJob, RequestKey, Slot, Ticket, TicketStatus
from kiosk.services.accounts import AccountService
from kiosk.services.appointments import AppointmentService
from kiosk.services.base import Actor
from kiosk.services.errors import StopClosed
from kiosk.services.idempotency import InvalidKey, KeyReused, forget_keys
from kiosk.services.printing import SlipRequest
from kiosk.services.queue import QueueService
from tests.factories import csrf_token_in, make_stop, make_ticket, make_user, pair_browser

KIOSK = Actor("device", 7, "10.0.0.7")
OTHER_KIOSK = Actor("device", 8, "10.0.0.8")
KEY = "tap-0001-5f0c2a"


def tickets(session: Any) -> int:
    session.rollback()  # a fresh snapshot (SQLite WAL keeps the old one until the next begin)
    return int(session.scalar(select(func.count()).select_from(Ticket)) or 0)


# -- the rules ---------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_gets_the_same_ticket_and_nothing_else(
    queue, session, stop, notifier
):
    first = queue.issue_ticket_with_position(stop, "A", actor=KIOSK, key=KEY)
    events = session.scalar(select(func.count()).select_from(Event))
    published = len(notifier.published)

    again = queue.issue_ticket_with_position(stop, "A", actor=KIOSK, key=KEY)

    assert not first.replayed and again.replayed
    assert again.ticket.id == first.ticket.id and again.ticket.label == "A001"
    assert again.position == first.position
    assert tickets(session) == 1
    assert session.scalar(select(func.count()).select_from(Event)) == events  # nothing logged
    assert len(notifier.published) == published  # nothing announced again


def test_keys_belong_to_their_sender(queue, session, stop):
    mine = queue.issue_ticket(stop, "A", actor=KIOSK, key=KEY)
    theirs = queue.issue_ticket(stop, "A", actor=OTHER_KIOSK, key=KEY)

    assert mine.id != theirs.id
    assert tickets(session) == 2


def test_without_a_key_every_request_is_a_new_ticket(queue, session, stop):
    queue.issue_ticket(stop, "A", actor=KIOSK)
    queue.issue_ticket(stop, "A", actor=KIOSK)

    assert tickets(session) == 2


@pytest.mark.parametrize("key", ["short", "x" * 101, "tap 0001 with spaces", "tap/0001/slash"])
def test_a_malformed_key_is_refused_and_issues_nothing(queue, session, stop, key):
    with pytest.raises(InvalidKey):
        queue.issue_ticket(stop, "A", actor=KIOSK, key=key)

    assert tickets(session) == 0


def test_a_key_used_for_another_kind_of_request_is_refused(queue, session, stop):
    ticket = queue.issue_ticket(stop, "A", actor=KIOSK, key=KEY)

    with pytest.raises(KeyReused):
        queue.cancel(ticket, actor=KIOSK, key=KEY)
    assert queue.ticket(ticket.token).status is TicketStatus.WAITING


def test_a_refused_request_keeps_no_claim_so_its_retry_is_judged_again(
    queue, session, db, stop, clock
):
    ends_at = stop.ends_at
    stop.ends_at = clock.now - timedelta(minutes=1)  # closing time has passed
    db.commit()
    with pytest.raises(StopClosed):
        queue.issue_ticket(stop, "A", actor=KIOSK, key=KEY)
    stop.ends_at = ends_at  # staff keep it open longer
    db.commit()

    ticket = queue.issue_ticket(stop, "A", actor=KIOSK, key=KEY)

    assert ticket.label == "A001"
    assert session.scalar(select(func.count()).select_from(RequestKey)) == 1


def test_keys_expire_after_a_day(queue, session, db, stop, clock):
    first = queue.issue_ticket(stop, "A", actor=KIOSK, key=KEY)
    clock.advance(hours=25)
    stop.ends_at = clock.now + timedelta(hours=2)  # the stop is still open a day later
    db.commit()

    second = queue.issue_ticket(stop, "A", actor=KIOSK, key=KEY)

    assert second.id != first.id


def test_housekeeping_forgets_keys_older_than_a_day(queue, session, stop, clock):
    queue.issue_ticket(stop, "A", actor=KIOSK, key=KEY)
    clock.advance(hours=2)
    queue.issue_ticket(stop, "A", actor=KIOSK, key=KEY + "-b")
    clock.advance(hours=23)

    session.rollback()
    assert forget_keys(session, clock.now) == 1
    session.commit()
    assert session.scalars(select(RequestKey.key)).all() == [KEY + "-b"]


def test_desk_steps_with_a_key_are_applied_once(queue, session, stop):
    first = make_ticket(queue, stop, "A")
    second = make_ticket(queue, stop, "A")
    desk = stop.desks[0]
    staff = Actor("staff", 3, "10.0.0.3")

    called = queue.call_next(desk, actor=staff, key="call-0001")
    again = queue.call_next(desk, actor=staff, key="call-0001")  # the reply was lost: retry
    assert called.id == again.id == first.id
    assert queue.ticket(second.token).status is TicketStatus.WAITING  # not called by the retry

    queue.finish(called, actor=staff, key="finish-0001")
    done = queue.finish(queue.ticket(first.token), actor=staff, key="finish-0001")
    assert done.status is TicketStatus.DONE
    steps = session.scalars(select(Event.action).where(Event.object_id == first.id)).all()
    assert steps.count("ticket.finish") == 1 and steps.count("ticket.call") == 1


def test_a_transfer_retried_is_not_refused_as_already_moved(queue, session, stop):
    ticket = make_ticket(queue, stop, "A")
    staff = Actor("staff", 3, "10.0.0.3")
    moved = queue.transfer(ticket, "H", actor=staff, key="move-0001")

    again = queue.transfer(queue.ticket(ticket.token), "H", actor=staff, key="move-0001")

    assert again.id == moved.id and again.product.prefix == "H"
    assert again.transfer_count == 1


def test_a_slip_job_is_made_in_the_tickets_own_transaction(queue, session, stop, accounts):
    device = accounts.add_device(DeviceKind.KIOSK, "Kiosk 1", stop=stop).device
    kiosk = Actor("device", device.id)

    issued = queue.issue_ticket_with_position(
        stop, "A", actor=kiosk, key=KEY, slip=SlipRequest(device.id, "en")
    )
    again = queue.issue_ticket_with_position(
        stop, "A", actor=kiosk, key=KEY, slip=SlipRequest(device.id, "en")
    )

    job = issued.print_job
    assert job is not None and job.ticket_id == issued.ticket.id
    assert (job.status.value, job.attempts, job.language, job.device_id) == (
        "queued",
        0,
        "en",
        device.id,
    )
    assert again.replayed and again.print_job is None  # one slip per ticket
    session.rollback()
    assert session.scalar(select(func.count()).select_from(PrintJob)) == 1


# -- the API ----------------------------------------------------------------------------------


# Cheap Argon2id parameters (tests/conftest.py): these tests are not about hashing cost.
pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def accounts(db, clock) -> AccountService:
    return AccountService(db, clock=clock)


@pytest.fixture
def kiosk_headers(accounts, stop) -> dict[str, str]:
    code = accounts.add_device(DeviceKind.KIOSK, "Kiosk 1", stop=stop).code
    _device, credential = accounts.pair(code)
    return {"Authorization": f"Bearer {credential}"}


@pytest.fixture
def staff_headers(db, accounts) -> dict[str, str]:
    user, _ = make_user(db)
    return {"Authorization": f"Bearer {accounts.issue_token(user, ttl=timedelta(hours=3)).token}"}


def test_api_answers_201_then_200_with_the_same_ticket(client, db, kiosk_headers):
    headers = {**kiosk_headers, "Idempotency-Key": KEY}

    first = client.post("/api/v1/tickets", json={"product": "A"}, headers=headers)
    again = client.post("/api/v1/tickets", json={"product": "A"}, headers=headers)

    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["token"] == first.get_json()["token"]
    assert again.get_json()["label"] == first.get_json()["label"] == "A001"
    assert tickets(db) == 1


def test_api_refuses_a_malformed_key_with_422(client, db, kiosk_headers):
    response = client.post(
        "/api/v1/tickets", json={"product": "A"}, headers={**kiosk_headers, "Idempotency-Key": "x"}
    )

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_idempotency_key"
    assert tickets(db) == 0


def test_a_reply_lost_after_the_commit_is_answered_from_the_key(app, client, db, kiosk_headers):
    """The server committed the ticket and then died before it answered: the kiosk's retry after
    the restart is answered with that ticket, from the key stored in the ticket's transaction."""
    device = AccountService(db).device_for_credential(kiosk_headers["Authorization"].split()[1])
    assert device is not None
    with app.app_context():
        queue = queue_service()
        committed = queue.issue_ticket(
            queue.stop(device.stop_id), "A", actor=Actor("device", device.id), key=KEY
        )

    retry = client.post(
        "/api/v1/tickets", json={"product": "A"}, headers={**kiosk_headers, "Idempotency-Key": KEY}
    )

    assert retry.status_code == 200
    assert retry.get_json()["token"] == committed.token
    assert tickets(db) == 1


def test_api_check_in_answers_200_to_its_own_retry_and_again_to_a_second_scan(
    client, db, kiosk_headers, clock, stop
):
    AppointmentService(db, clock=clock).open_slots(stop, stop.products[0])
    slot = db.scalar(
        select(Slot).where(Slot.starts_at > clock.now).order_by(Slot.starts_at).limit(1)
    )
    booked = client.post(
        "/api/v1/appointments", json={"slot": slot.id, "product": stop.products[0].code}
    ).get_json()
    headers = {**kiosk_headers, "Idempotency-Key": KEY}

    first = client.post(
        "/api/v1/appointments/check-in", json={"code": booked["code"]}, headers=headers
    )
    retry = client.post(
        "/api/v1/appointments/check-in", json={"code": booked["code"]}, headers=headers
    )
    scanned_again = client.post(
        "/api/v1/appointments/check-in", json={"code": booked["code"]}, headers=kiosk_headers
    )

    assert first.status_code == 201, first.get_json()
    assert retry.status_code == 200
    assert retry.get_json()["token"] == first.get_json()["token"]
    assert retry.get_json()["again"] is False  # the kiosk shows its normal confirmation
    assert scanned_again.status_code == 201 and scanned_again.get_json()["again"] is True
    assert tickets(db) == 1


def test_api_desk_steps_honour_the_key(client, db, stop, staff_headers, kiosk_headers):
    for _ in range(2):
        client.post("/api/v1/tickets", json={"product": "A"}, headers=kiosk_headers)
    desk = stop.desks[0].id
    headers = {**staff_headers, "Idempotency-Key": "call-0001-desk"}

    first = client.post(f"/api/v1/desks/{desk}/call-next", headers=headers)
    again = client.post(f"/api/v1/desks/{desk}/call-next", headers=headers)

    assert first.status_code == again.status_code == 200
    assert again.get_json()["token"] == first.get_json()["token"]
    token = first.get_json()["token"]
    finish = {**staff_headers, "Idempotency-Key": "finish-0001-desk"}
    assert client.post(f"/api/v1/tickets/{token}/finish", headers=finish).status_code == 200
    assert client.post(f"/api/v1/tickets/{token}/finish", headers=finish).status_code == 200
    # Without the key, a second finish is what it is: a step the ticket cannot take.
    assert client.post(f"/api/v1/tickets/{token}/finish", headers=staff_headers).status_code == 409


def test_the_openapi_document_names_the_header(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    post = spec["paths"]["/api/v1/tickets"]["post"]

    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert {"200", "201"} <= set(post["responses"])


# -- the kiosk's own form ------------------------------------------------------------------------


@pytest.fixture
def kiosk_client(client, accounts, stop):
    pair_browser(client, accounts, stop, "kiosk")
    return client


def test_the_kiosk_form_retried_with_its_key_shows_the_same_ticket(kiosk_client, db):
    page = kiosk_client.get("/kiosk")
    form = {"product": "id-apply", "csrf_token": csrf_token_in(page.get_data(as_text=True))}
    headers = {"Idempotency-Key": KEY}

    first = kiosk_client.post("/kiosk/tickets", data=form, headers=headers)
    again = kiosk_client.post("/kiosk/tickets", data=form, headers=headers)

    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    assert tickets(db) == 1


# -- PostgreSQL: two retries racing -----------------------------------------------------------


@pytest.mark.postgres
def test_two_retries_racing_on_postgresql_make_one_ticket(pg_url, clock):
    engine = make_engine(pg_url)
    Session = make_sessionmaker(engine)
    with Session() as session:
        stop = make_stop(session, now=clock.now)
        stop_id = stop.id
    barrier = threading.Barrier(6)
    labels: list[str] = []
    errors: list[BaseException] = []

    def tap() -> None:
        try:
            with Session() as session:
                queue = QueueService(session, clock=clock)
                barrier.wait(timeout=10)
                issued = queue.issue_ticket(queue.stop(stop_id), "A", actor=KIOSK, key=KEY)
                labels.append(issued.label)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=tap) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert labels == ["A001"] * 6
    with Session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1
        assert session.scalar(select(func.count()).select_from(PrintJob)) == 0
    engine.dispose()


def test_the_daily_housekeeping_forgets_old_keys(app, db, clock, stop):
    from kiosk.housekeeping import Housekeeping

    with app.app_context():
        queue_service().issue_ticket(stop, "A", actor=KIOSK, key=KEY)
    Housekeeping(app).run_once(clock.now + timedelta(days=2))

    db.rollback()
    assert db.scalar(select(func.count()).select_from(RequestKey)) == 0
