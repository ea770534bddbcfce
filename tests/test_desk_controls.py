"""The desk's own controls (#15): open and close the stop, a ticket made at the desk, a chosen
ticket called with a reason, transfer to one desk, pause and resume, a no-show undone within
10 s, and today's figures. Each through the JSON API the desk page uses, with its refusals,
its event log entry and what it publishes; a pause reaching a real board client within a
second is at the end (live)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from kiosk.models import Desk, DeviceKind, Event, PrintJob, Source, StopStatus, Ticket, TicketStatus
from kiosk.services.accounts import AccountService
from kiosk.services.base import RecordingNotifier
from kiosk.services.queue import QueueService
from tests.factories import desk_named, make_stop, make_user
from tests.live import BoardClient, LiveServer

pytestmark = pytest.mark.usefixtures("fast_hashing")

PRINTING = {
    "PRINTER_BACKEND": "dummy",
    "PRINTER_PROFILE": "TM-T88V",
    "PRINT_MAX_ATTEMPTS": 3,
    "PRINT_RETRY_SECONDS": [0],
}


# -- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture
def app(make_app):
    app = make_app()
    app.extensions["loket.notifier"] = RecordingNotifier()
    return app


@pytest.fixture
def queue(db, clock) -> QueueService:
    """The queue on the app's database and clock (a kiosk, another desk)."""
    return QueueService(db, RecordingNotifier(), clock)


@pytest.fixture
def accounts(db, clock) -> AccountService:
    return AccountService(db, clock=clock)


@pytest.fixture
def staff(app, db, accounts) -> Any:
    """A staff API client with a bearer token (valid while tests move the clock)."""
    user, _ = make_user(db, "anna")
    token = accounts.issue_token(user, ttl=timedelta(days=3)).token
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def post(client: Any, path: str, body: dict[str, Any] | None = None, **kw: Any) -> Any:
    return client.post(f"/api/v1{path}", json=body or {}, **kw)


def refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == code


def events(db, action: str) -> list[Event]:
    db.rollback()  # SQLite in WAL mode: end the last read to see the other session's commits
    return list(db.scalars(select(Event).where(Event.action == action).order_by(Event.id)))


def published(app, event: str) -> list[tuple[dict[str, Any], str]]:
    notifier = app.extensions["loket.notifier"]
    return [(payload, room) for name, payload, room in notifier.published if name == event]


def fresh(db, ticket: Ticket) -> Ticket:
    db.rollback()
    found = db.get(Ticket, ticket.id, populate_existing=True)
    assert found is not None
    return found


# -- open and close the stop from the desk ------------------------------------------------------


def test_staff_close_and_open_the_stop_from_the_desk(staff, app, db, queue, stop):
    queue.issue_ticket(stop, "A")
    desk = desk_named(stop, "Balie 1")

    closed = post(staff, f"/stops/{stop.id}/close")
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    state = staff.get(f"/api/v1/desks/{desk.id}").get_json()
    assert state["stop"]["status"] == "closed" and state["stop"]["waiting"] == 1
    assert state["actions"]["open_stop"] and not state["actions"]["close_stop"]
    assert not state["actions"]["issue"]
    # Whoever waits is still served; nobody new gets a number.
    assert post(staff, f"/desks/{desk.id}/call-next").get_json()["label"] == "A001"
    refused(post(staff, f"/desks/{desk.id}/tickets", {"product": "A"}), 409, "stop_closed")

    opened = post(staff, f"/stops/{stop.id}/open")
    assert opened.get_json()["status"] == "open"
    assert [e.actor_type for e in events(db, "stop.close") + events(db, "stop.open")] == [
        "staff",
        "staff",
    ]
    assert [room for _, room in published(app, "stop_updated")] == [f"stop:{stop.id}"] * 2


def test_the_desk_chooser_opens_todays_stop_when_none_is_open(app, db, clock, accounts):
    stop = make_stop(db, now=clock.now, status=StopStatus.PLANNED)
    make_user(db, "anna", password="correct horse battery")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    from tests.test_desk import csrf_token_in as meta_token

    token = meta_token(page)
    client.post(
        "/login",
        data={"username": "anna", "password": "correct horse battery", "csrf_token": token},
    )

    page = client.get("/desk").get_data(as_text=True)
    assert "Er is nu geen stop open" in page and "Stop openen" in page
    # Without the form's CSRF token nothing happens.
    assert client.post("/desk/open-stop", data={}).status_code == 400
    response = client.post("/desk/open-stop", data={"csrf_token": meta_token(page)})
    assert response.status_code == 302
    db.rollback()
    assert db.get(type(stop), stop.id, populate_existing=True).status == StopStatus.OPEN
    assert "Kies uw balie" in client.get("/desk").get_data(as_text=True)


# -- pause and resume -----------------------------------------------------------------------------


def test_a_paused_desk_calls_nobody_until_it_resumes(staff, app, db, queue, stop):
    desk = desk_named(stop, "Balie 1")
    queue.issue_ticket(stop, "A")

    paused = post(staff, f"/desks/{desk.id}/pause")
    assert paused.status_code == 200
    assert paused.get_json()["paused"] is True and paused.get_json()["paused_at"]
    refused(post(staff, f"/desks/{desk.id}/call-next"), 409, "desk_paused")
    refused(post(staff, f"/desks/{desk.id}/pause"), 409, "invalid_transition")
    state = staff.get(f"/api/v1/desks/{desk.id}").get_json()
    assert state["desk"]["paused"] is True
    assert not state["actions"]["call_next"] and not state["actions"]["call_chosen"]
    assert state["actions"]["resume"] and not state["actions"]["pause"]

    # The board hears it at once, as closed, and reads it in its snapshot.
    ((payload, room),) = published(app, "desk_updated")
    assert room == f"stop:{stop.id}"
    assert payload["desk"] == {"id": desk.id, "name": "Balie 1", "paused": True}
    assert {d["name"]: d["paused"] for d in payload["desks"]} == {
        "Balie 1": True,
        "Balie 2": False,
    }
    board = staff.get(f"/api/v1/board?stop={stop.id}").get_json()
    assert {d["name"]: d["paused"] for d in board["desks"]} == {"Balie 1": True, "Balie 2": False}

    assert post(staff, f"/desks/{desk.id}/resume").get_json()["paused"] is False
    refused(post(staff, f"/desks/{desk.id}/resume"), 409, "invalid_transition")
    assert post(staff, f"/desks/{desk.id}/call-next").get_json()["label"] == "A001"

    assert len(events(db, "desk.pause")) == 2  # one done, one refused
    assert [e.result for e in events(db, "desk.pause")] == ["ok", "rejected"]
    calls = events(db, "ticket.call")
    assert [(e.result, e.data.get("error")) for e in calls] == [
        ("rejected", "desk_paused"),
        ("ok", None),
    ]
    assert [e.result for e in events(db, "desk.resume")] == ["ok", "rejected"]


def test_a_paused_desk_still_finishes_its_current_ticket(staff, queue, stop):
    desk = desk_named(stop, "Balie 1")
    queue.issue_ticket(stop, "A")
    ticket = queue.call_next(desk)
    assert post(staff, f"/desks/{desk.id}/pause").status_code == 200
    assert post(staff, f"/tickets/{ticket.token}/finish").get_json()["status"] == "done"


def test_pause_of_an_unknown_desk_is_404(staff, stop):
    refused(post(staff, "/desks/99999/pause"), 404, "unknown_desk")


def test_paused_desks_do_not_count_for_the_expected_wait(queue, db, stop):
    for desk in stop.desks:
        queue.pause_desk(desk)
    ticket = queue.issue_ticket(stop, "A")
    assert queue.position(ticket).wait_minutes is None  # no desk serves it now


# -- call a chosen ticket ------------------------------------------------------------------------


def test_staff_call_a_chosen_ticket_with_a_reason_in_the_log(staff, app, db, queue, stop):
    desk = desk_named(stop, "Balie 1")
    for _ in range(3):
        queue.issue_ticket(stop, "A")
    third = queue.ticket_by_label(stop, "A003")

    response = post(
        staff,
        f"/desks/{desk.id}/call",
        {"ticket": third.token, "reason": "  Rolstoel,   kan niet lang staan "},
        headers={"Idempotency-Key": "desk-choose-0001"},
    )

    assert response.status_code == 200
    body = response.get_json()
    assert (body["label"], body["status"], body["desk"]["name"]) == ("A003", "called", "Balie 1")
    (event,) = [e for e in events(db, "ticket.call") if e.result == "ok"]
    assert event.data == {
        "desk": desk.id,
        "chosen": True,
        "reason": "Rolstoel, kan niet lang staan",
    }
    assert event.object_id == third.id and event.actor_type == "staff"
    assert [p["ticket"]["label"] for p, _ in published(app, "ticket_called")] == ["A003"]
    # A retry with the same key gets the same answer, and nothing is called twice.
    again = post(
        staff,
        f"/desks/{desk.id}/call",
        {"ticket": third.token, "reason": "Rolstoel"},
        headers={"Idempotency-Key": "desk-choose-0001"},
    )
    assert again.status_code == 200 and again.get_json()["label"] == "A003"
    assert len(published(app, "ticket_called")) == 1
    # The others keep their order.
    assert [t.label for t in queue.desk_queue(desk)] == ["A001", "A002"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "x"}, "ticket"),
        ({"ticket": "t"}, "reason"),
        ({"ticket": "t", "reason": ""}, "reason"),
    ],
)
def test_a_chosen_call_needs_a_ticket_and_a_reason(staff, stop, body, field):
    response = post(staff, f"/desks/{desk_named(stop, 'Balie 1').id}/call", body)
    refused(response, 422, "invalid_request")
    assert field in response.get_json()["error"]["details"]["fields"]


def test_a_blank_reason_is_refused(staff, queue, stop):
    ticket = queue.issue_ticket(stop, "A")
    response = post(
        staff,
        f"/desks/{desk_named(stop, 'Balie 1').id}/call",
        {"ticket": ticket.token, "reason": "   "},
    )
    refused(response, 422, "reason_required")


def test_a_chosen_call_keeps_the_rules_of_call_next(staff, db, clock, queue):
    stop = make_stop(db, now=clock.now, desks={"Balie 1": "A", "Balie 2": "AH"})
    one, two = desk_named(stop, "Balie 1"), desk_named(stop, "Balie 2")
    a1 = queue.issue_ticket(stop, "A")
    a2 = queue.issue_ticket(stop, "A")
    h1 = queue.issue_ticket(stop, "H")

    def call(desk: Desk, ticket: Ticket) -> Any:
        return post(staff, f"/desks/{desk.id}/call", {"ticket": ticket.token, "reason": "tolk"})

    refused(call(one, h1), 409, "desk_unavailable")  # not a product of this desk
    assert call(one, a2).status_code == 200
    refused(call(one, a1), 409, "desk_busy")  # one ticket at a desk at a time
    refused(call(two, a2), 409, "invalid_transition")  # called already
    queue.pause_desk(two)
    refused(call(two, a1), 409, "desk_paused")
    refused(
        post(staff, "/desks/99999/call", {"ticket": a1.token, "reason": "x"}), 404, "unknown_desk"
    )
    refused(
        post(staff, f"/desks/{one.id}/call", {"ticket": "no-such", "reason": "x"}),
        404,
        "unknown_ticket",
    )
    rejected = [e.data["error"] for e in events(db, "ticket.call") if e.result == "rejected"]
    assert rejected == ["desk_unavailable", "desk_busy", "invalid_transition", "desk_paused"]


# -- transfer to a product or to one desk -------------------------------------------------------


def test_a_ticket_sent_to_one_desk_is_called_by_that_desk_only(staff, db, clock, queue, stop):
    one, two = desk_named(stop, "Balie 1"), desk_named(stop, "Balie 2")
    first = queue.issue_ticket(stop, "A")
    issued_at = first.issued_at
    clock.advance(minutes=1)
    queue.issue_ticket(stop, "A")
    queue.call_next(one)
    clock.advance(minutes=2)

    response = post(staff, f"/tickets/{first.token}/transfer", {"desk": two.id})

    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["target_desk_id"], body["product"]["code"]) == (
        "waiting",
        two.id,
        "id-apply",
    )
    assert fresh(db, first).issued_at == issued_at  # the wait counts on
    (event,) = [e for e in events(db, "ticket.transfer") if e.result == "ok"]
    assert event.data["to_desk"] == two.id
    # Balie 1 does not see it nor call it; Balie 2 has it first (it was there first).
    assert [t["label"] for t in staff.get(f"/api/v1/desks/{one.id}").get_json()["queue"]] == [
        "A002"
    ]
    assert [t["label"] for t in staff.get(f"/api/v1/desks/{two.id}").get_json()["queue"]] == [
        "A001",
        "A002",
    ]
    assert post(staff, f"/desks/{one.id}/call-next").get_json()["label"] == "A002"
    post(staff, f"/tickets/{queue.ticket_by_label(stop, 'A002').token}/finish")
    refused(post(staff, f"/desks/{one.id}/call-next"), 409, "queue_empty")
    assert post(staff, f"/desks/{two.id}/call-next").get_json()["label"] == "A001"


@pytest.mark.parametrize("how", ["paused", "switched_off", "removed"])
def test_a_target_desk_that_is_not_live_counts_as_no_target(staff, db, queue, stop, how):
    one, two = desk_named(stop, "Balie 1"), desk_named(stop, "Balie 2")
    ticket = queue.issue_ticket(stop, "A")
    queue.transfer(ticket, desk=two)
    refused(post(staff, f"/desks/{one.id}/call-next"), 409, "queue_empty")

    if how == "paused":
        queue.pause_desk(two)
    elif how == "switched_off":
        db.get(Desk, two.id).active = False
        db.commit()
    else:
        db.delete(db.get(Desk, two.id))
        db.commit()

    assert post(staff, f"/desks/{one.id}/call-next").get_json()["label"] == "A001"


def test_a_resumed_target_desk_gets_its_ticket_back(staff, queue, stop):
    one, two = desk_named(stop, "Balie 1"), desk_named(stop, "Balie 2")
    ticket = queue.issue_ticket(stop, "A")
    queue.transfer(ticket, desk=two)
    queue.pause_desk(two)
    assert [t.label for t in queue.desk_queue(one)] == ["A001"]
    queue.resume_desk(two)
    assert queue.desk_queue(one) == []


def test_transfer_to_a_desk_is_refused_when_the_desk_cannot_take_it(staff, db, clock, queue):
    stop = make_stop(db, now=clock.now, desks={"Balie 1": "AH", "Balie 2": "H", "Balie 3": "A"})
    other = make_stop(db, now=clock.now, location="Zorgcentrum")
    ticket = queue.issue_ticket(stop, "A")
    two, three = desk_named(stop, "Balie 2"), desk_named(stop, "Balie 3")

    def transfer(body: dict[str, Any]) -> Any:
        return post(staff, f"/tickets/{ticket.token}/transfer", body)

    refused(transfer({"desk": two.id}), 409, "desk_unavailable")  # no A at Balie 2
    queue.pause_desk(three)
    refused(transfer({"desk": three.id}), 409, "desk_unavailable")
    refused(transfer({"desk": desk_named(other, "Balie 1").id}), 404, "unknown_desk")
    refused(transfer({"desk": 99999}), 404, "unknown_desk")
    refused(transfer({"product": "A"}), 409, "invalid_transition")  # same product, no desk
    # To another product and a desk that serves it, at once.
    moved = transfer({"product": "H", "desk": two.id}).get_json()
    assert (moved["product"]["prefix"], moved["target_desk_id"]) == ("H", two.id)


def test_call_next_with_tickets_sent_to_desks_reads_the_index_only(session, clock):
    """The target filter is checked on the rows the queue index yields: no scan of tickets."""
    import re

    from tests.test_hot_paths import statements

    stop = make_stop(session, now=clock.now)
    queue = QueueService(session, RecordingNotifier(), clock)
    one, two = desk_named(stop, "Balie 1"), desk_named(stop, "Balie 2")
    for prefix in "AHRAHR":
        queue.issue_ticket(stop, prefix)
    queue.transfer(queue.ticket_by_label(stop, "A001"), desk=two)
    with statements(session) as seen:
        called = queue.call_next(one)
        queue.desk_queue(one)
    assert called.label == "H001"
    raw = session.connection().connection.driver_connection
    queries = [(sql, params) for sql, params in seen if re.match(r"(SELECT|UPDATE)\b", sql)]
    assert any("target_desk_id" in sql for sql, _ in queries)
    for sql, params in queries:
        plan = [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        assert not any(re.match(r"SCAN tickets\b", step) for step in plan), (sql, plan)
    session.rollback()


# -- no-show, confirmed on the page, undone within 10 s ----------------------------------------


def test_a_no_show_is_undone_within_ten_seconds(staff, app, db, clock, queue, stop):
    desk = desk_named(stop, "Balie 1")
    queue.issue_ticket(stop, "A")
    ticket = queue.call_next(desk)
    called_at = ticket.called_at
    assert post(staff, f"/tickets/{ticket.token}/no-show").get_json()["status"] == "no_show"
    clock.advance(seconds=10)

    response = post(staff, f"/tickets/{ticket.token}/undo-no-show")

    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["desk"]["id"], body["ended_at"]) == ("called", desk.id, None)
    assert fresh(db, ticket).called_at == called_at
    assert [e.result for e in events(db, "ticket.undo_no_show")] == ["ok"]
    # The board shows the call again (as a recall), and the desk can go on.
    assert [p["ticket"]["label"] for p, _ in published(app, "ticket_recalled")] == ["A001"]
    assert post(staff, f"/tickets/{ticket.token}/start").get_json()["status"] == "serving"


def test_an_undo_after_ten_seconds_is_refused(staff, db, clock, queue, stop):
    desk = desk_named(stop, "Balie 1")
    queue.issue_ticket(stop, "A")
    ticket = queue.no_show(queue.call_next(desk))
    clock.advance(seconds=10.5)

    refused(post(staff, f"/tickets/{ticket.token}/undo-no-show"), 409, "undo_expired")
    assert fresh(db, ticket).status == TicketStatus.NO_SHOW
    assert [e.data["error"] for e in events(db, "ticket.undo_no_show")] == ["undo_expired"]


def test_an_undo_is_refused_once_the_desk_called_someone_else(staff, clock, queue, stop):
    desk = desk_named(stop, "Balie 1")
    queue.issue_ticket(stop, "A")
    queue.issue_ticket(stop, "A")
    ticket = queue.no_show(queue.call_next(desk))
    queue.call_next(desk)
    clock.advance(seconds=3)

    refused(post(staff, f"/tickets/{ticket.token}/undo-no-show"), 409, "desk_busy")


def test_only_a_no_show_can_be_undone(staff, queue, stop):
    ticket = queue.issue_ticket(stop, "A")
    refused(post(staff, f"/tickets/{ticket.token}/undo-no-show"), 409, "invalid_transition")


# -- a ticket made at the desk --------------------------------------------------------------------


def test_staff_make_a_ticket_for_someone_at_the_desk(staff, app, db, queue, stop):
    desk = desk_named(stop, "Balie 1")
    queue.issue_ticket(stop, "A")

    response = post(staff, f"/desks/{desk.id}/tickets", {"product": "A"})

    assert response.status_code == 201
    body = response.get_json()
    assert (body["label"], body["status"], body["source"]) == ("A002", "waiting", "walk_in")
    assert body["print_status"] is None and body["printer"] is None  # shown on screen
    assert body["status_url"].startswith("http://loket.test/t/")
    assert body["position"]["ahead"] == 1
    issued = [e for e in events(db, "ticket.issue") if e.object_id == body["id"]]
    assert [(e.actor_type, e.data) for e in issued] == [
        ("staff", {"source": "walk_in", "via": "desk"})
    ]
    assert [p["ticket"]["label"] for p, _ in published(app, "ticket_issued")] == ["A002"]


def test_a_ticket_made_at_the_desk_can_be_called_straight_to_it(staff, db, queue, stop):
    desk = desk_named(stop, "Balie 1")
    queue.issue_ticket(stop, "A")  # waits longer, but this resident is at the desk already

    body = post(staff, f"/desks/{desk.id}/tickets", {"product": "H", "call": True}).get_json()

    assert (body["label"], body["status"], body["desk"]["id"]) == ("H001", "called", desk.id)
    (call,) = [e for e in events(db, "ticket.call") if e.object_id == body["id"]]
    assert call.data["chosen"] is True and call.data["reason"]


def test_a_busy_desk_keeps_the_new_ticket_waiting_for_itself(staff, db, queue, stop):
    one, two = desk_named(stop, "Balie 1"), desk_named(stop, "Balie 2")
    queue.issue_ticket(stop, "A")
    queue.call_next(one)

    body = post(staff, f"/desks/{one.id}/tickets", {"product": "A", "call": True}).get_json()

    assert (body["status"], body["target_desk_id"]) == ("waiting", one.id)
    refused(post(staff, f"/desks/{two.id}/call-next"), 409, "queue_empty")


def test_a_retry_of_a_desk_ticket_gives_the_same_ticket(staff, app, stop):
    desk = desk_named(stop, "Balie 1")
    key = {"Idempotency-Key": "desk-make-0001"}
    first = post(staff, f"/desks/{desk.id}/tickets", {"product": "A", "call": True}, headers=key)
    again = post(staff, f"/desks/{desk.id}/tickets", {"product": "A", "call": True}, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["token"] == again.get_json()["token"]
    assert len(published(app, "ticket_issued")) == 1
    assert len(published(app, "ticket_called")) == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 422, "invalid_request"),
        ({"product": "A", "language": "xx"}, 422, "invalid_request"),
        ({"product": "ZZ"}, 404, "unknown_product"),
        ({"product": "A", "call": "yes please"}, 422, "invalid_request"),
    ],
)
def test_a_desk_ticket_request_is_checked(staff, stop, body, status, code):
    refused(post(staff, f"/desks/{desk_named(stop, 'Balie 1').id}/tickets", body), status, code)


def test_a_desk_ticket_prints_on_the_stops_kiosk_printer(make_app, db, clock, accounts):
    app = make_app(**PRINTING)
    stop = make_stop(db, now=clock.now)
    device = accounts.add_device(DeviceKind.KIOSK, "Kiosk ingang", stop=stop)
    accounts.pair(device.code)
    user, _ = make_user(db, "anna")
    staff = app.test_client()
    staff.environ_base["HTTP_AUTHORIZATION"] = (
        f"Bearer {accounts.issue_token(user, ttl=timedelta(hours=1)).token}"
    )

    body = post(
        staff,
        f"/desks/{desk_named(stop, 'Balie 1').id}/tickets",
        {"product": "A", "language": "en"},
    ).get_json()

    assert body["printer"] == "Kiosk ingang" and body["print_status"] in ("queued", "printed")
    with app.app_context():
        app.extensions["loket.printing"].process_pending()
    db.rollback()
    (job,) = db.scalars(select(PrintJob)).all()
    assert (job.ticket_id, job.language, job.status.value) == (body["id"], "en", "printed")


def test_unauthenticated_callers_get_401(client, stop):
    desk = desk_named(stop, "Balie 1")
    for path in ("pause", "resume", "tickets", "call"):
        assert client.post(f"/api/v1/desks/{desk.id}/{path}", json={}).status_code == 401
    assert client.get(f"/api/v1/desks/{desk.id}/figures").status_code == 401


# -- today's figures ----------------------------------------------------------------------------


def test_todays_figures_for_the_desk_and_the_stop(staff, db, clock, queue, stop):
    one, two = desk_named(stop, "Balie 1"), desk_named(stop, "Balie 2")
    # Yesterday's ticket of the same stop does not count.
    clock.advance(days=-1)
    old = queue.issue_ticket(stop, "A")
    queue.finish(queue.call_next(one))
    clock.advance(days=1)
    start = clock.now
    a = queue.issue_ticket(stop, "A")  # waits 5 min, served 10 min at Balie 1
    b = queue.issue_ticket(stop, "A")  # waits 7 min, served 4 min at Balie 2
    c = queue.issue_ticket(stop, "A")  # waits 9 min, does not come (Balie 1)
    queue.issue_ticket(stop, "H")  # still waiting
    clock.now = start + timedelta(minutes=5)
    queue.start(queue.call_next(one))
    clock.now = start + timedelta(minutes=7)
    queue.start(queue.call_next(two))
    clock.now = start + timedelta(minutes=11)
    queue.finish(queue.ticket(b.token))
    clock.now = start + timedelta(minutes=15)
    queue.finish(queue.ticket(a.token))
    clock.now = start + timedelta(minutes=9 + 6)  # Balie 1 is free again at 15 min
    queue.no_show(queue.call_next(one))
    assert old.id != c.id

    body = staff.get(f"/api/v1/desks/{one.id}/figures").get_json()

    assert body["desk"] == {
        "served": 1,
        "no_shows": 1,
        "called": 2,
        "wait_median_seconds": (5 * 60 + 15 * 60) // 2,
        "service_median_seconds": 600,
    }
    assert body["stop"] == {
        "served": 2,
        "no_shows": 1,
        "called": 3,
        "wait_median_seconds": 7 * 60,
        "service_median_seconds": (600 + 240) // 2,
    }
    assert body["since"] == "2026-06-01T22:00:00Z"  # midnight in Amsterdam


def test_figures_of_a_quiet_day_are_empty_not_an_error(staff, stop):
    body = staff.get(f"/api/v1/desks/{desk_named(stop, 'Balie 2').id}/figures").get_json()
    assert body["desk"] == {
        "served": 0,
        "no_shows": 0,
        "called": 0,
        "wait_median_seconds": None,
        "service_median_seconds": None,
    }


def test_an_appointments_wait_counts_from_its_slot(db, clock, queue, stop, app):
    from kiosk.factories import figures_service

    desk = desk_named(stop, "Balie 1")
    ticket = queue.issue_ticket(stop, "A", source=Source.WALK_IN)
    ticket = fresh(db, ticket)
    ticket.due_at = ticket.issued_at + timedelta(minutes=10)
    db.commit()
    clock.advance(minutes=12)
    queue.call_next(desk)
    with app.test_request_context():
        figures = figures_service().desk_figures(fresh(db, ticket).desk)
    assert figures["desk"]["wait_median_seconds"] == 120


# -- live: a pause reaches a real board client within a second ----------------------------------


@pytest.mark.live
@pytest.mark.usefixtures("quick_websocket_close")
def test_a_desk_pause_reaches_a_board_within_a_second(make_server, make_client):
    server: LiveServer = make_server()
    server.start()
    server.login()
    board: BoardClient = make_client(server.url)
    state = board.wait_for("board_state")
    desk = server.desk_id("Balie 2")
    assert {d["name"]: d["paused"] for d in state["desks"]} == {"Balie 1": False, "Balie 2": False}

    figures = []
    for action, paused in (("pause", True), ("resume", False), ("pause", True)):
        board.drain()
        began = time.monotonic()
        server.api("POST", f"/desks/{desk}/{action}")
        payload = board.wait_until("desk_updated", lambda p: p["desk"]["id"] == desk, timeout=5)
        figures.append(time.monotonic() - began)
        assert payload["desk"] == {"id": desk, "name": "Balie 2", "paused": paused}
    print(f"pause -> board: {', '.join(f'{s * 1000:.0f} ms' for s in figures)}")
    assert max(figures) < 1.0, figures
    # A board that comes later reads it in its snapshot.
    late = make_client(server.url)
    assert {d["name"]: d["paused"] for d in late.wait_for("board_state")["desks"]} == {
        "Balie 1": False,
        "Balie 2": True,
    }


# -- the same rules on SQLite and PostgreSQL ------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_session(request: pytest.FixtureRequest) -> Any:
    from kiosk.database import make_engine, make_sessionmaker

    url = request.getfixturevalue("db_url" if request.param == "sqlite" else "pg_url")
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def test_the_desk_rules_hold_on_both_databases(any_session, clock):
    from kiosk.services.errors import DeskPaused, QueueEmpty
    from kiosk.services.queue.figures import FiguresService

    stop = make_stop(any_session, now=clock.now)
    queue = QueueService(any_session, RecordingNotifier(), clock)
    one, two = desk_named(stop, "Balie 1"), desk_named(stop, "Balie 2")
    first = queue.issue_ticket(stop, "A")
    queue.issue_ticket(stop, "A")
    queue.transfer(first, desk=two)

    assert queue.call_next(one).label == "A002"
    queue.finish(queue.current_ticket(one))
    with pytest.raises(QueueEmpty):
        queue.call_next(one)
    queue.pause_desk(two)
    with pytest.raises(DeskPaused):
        queue.call_next(two)
    clock.advance(minutes=3)
    called = queue.call_ticket(one, queue.ticket(first.token), "tolk is er")
    assert (called.label, called.desk_id) == ("A001", one.id)
    queue.no_show(called)
    clock.advance(seconds=5)
    assert queue.undo_no_show(queue.ticket(first.token)).status == TicketStatus.CALLED
    queue.finish(queue.current_ticket(one))

    figures = FiguresService(any_session, clock=clock).desk_figures(one)
    assert figures["desk"]["served"] == 2 and figures["desk"]["no_shows"] == 0
    assert figures["desk"]["wait_median_seconds"] == 90  # A002 at once, A001 after 3 min
