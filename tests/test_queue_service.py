"""QueueService without Flask: numbering, calling, every transition, positions, events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kiosk.models import Event, Source, StopStatus, TicketStatus
from kiosk.services import errors
from kiosk.services.base import Actor
from kiosk.services.rooms import stop_room, ticket_room
from tests.factories import desk_named, make_stop, make_ticket


@pytest.fixture
def stop(session, clock):
    return make_stop(session, now=clock.now)


def test_issue_ticket_numbers_per_product_with_labels(queue, stop):
    labels = [make_ticket(queue, stop, p).label for p in "AAHAR"]
    assert labels == ["A001", "A002", "H001", "A003", "R001"]


def test_numbers_restart_per_stop(queue, session, clock, stop):
    make_ticket(queue, stop, "A")
    other = make_stop(session, now=clock.now, location="Zorgcentrum De Korenschoof")
    assert make_ticket(queue, other, "A").label == "A001"


def test_issue_accepts_product_code_or_prefix(queue, stop):
    assert make_ticket(queue, stop, "driving-licence").label == "R001"
    assert make_ticket(queue, stop, "r").label == "R002"


def test_tokens_are_random_and_unique(queue, stop):
    tokens = {make_ticket(queue, stop).token for _ in range(50)}
    assert len(tokens) == 50
    assert all(len(t) >= 22 for t in tokens)


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        ("unknown", errors.UnknownProduct),
        ("not_offered", errors.ProductNotOffered),
        ("closed", errors.StopClosed),
        ("after_hours", errors.StopClosed),
        ("appointment_only", errors.AppointmentRequired),
    ],
)
def test_issue_ticket_refusals(queue, session, clock, setup, error):
    stop = make_stop(session, now=clock.now, products="AH")
    product = "A"
    if setup == "unknown":
        product = "Z"
    elif setup == "not_offered":
        from tests.factories import make_product

        make_product(session, "R")
        session.commit()
        product = "R"
    elif setup == "closed":
        stop.status = StopStatus.CLOSED
        session.commit()
    elif setup == "after_hours":
        clock.advance(hours=9)
    elif setup == "appointment_only":
        stop.products[0].appointment_required = True
        session.commit()
    with pytest.raises(error):
        queue.issue_ticket(stop, product)
    rejected = session.scalars(select(Event).where(Event.result == "rejected")).all()
    assert [e.data["error"] for e in rejected] == [error.code]


def test_call_next_takes_oldest_waiting_among_desk_products(queue, session, clock):
    stop = make_stop(session, now=clock.now, desks={"Balie 1": "A", "Balie 2": "HR"})
    first_r = make_ticket(queue, stop, "R")
    clock.advance(minutes=1)
    first_a = make_ticket(queue, stop, "A")
    clock.advance(minutes=1)
    make_ticket(queue, stop, "H")
    called = queue.call_next(desk_named(stop, "Balie 1"))
    assert called.id == first_a.id
    assert called.status == TicketStatus.CALLED
    assert called.desk.name == "Balie 1"
    assert queue.call_next(desk_named(stop, "Balie 2")).id == first_r.id


def test_call_next_serves_higher_priority_first(queue, stop, clock):
    make_ticket(queue, stop, "A")
    clock.advance(minutes=5)
    urgent = queue.issue_ticket(stop, "A", priority=10, source=Source.APPOINTMENT)
    assert queue.call_next(stop.desks[0]).id == urgent.id


def test_call_next_on_empty_queue_raises(queue, stop):
    with pytest.raises(errors.QueueEmpty):
        queue.call_next(stop.desks[0])


def test_desk_with_called_ticket_must_finish_first(queue, stop):
    make_ticket(queue, stop)
    make_ticket(queue, stop)
    desk = stop.desks[0]
    first = queue.call_next(desk)
    with pytest.raises(errors.DeskBusy):
        queue.call_next(desk)
    queue.finish(first)
    assert queue.call_next(desk).label == "A002"


def test_two_desks_never_call_the_same_ticket(queue, stop):
    only = make_ticket(queue, stop)
    assert queue.call_next(stop.desks[0]).id == only.id
    with pytest.raises(errors.QueueEmpty):
        queue.call_next(stop.desks[1])


def test_full_life_of_a_ticket_records_each_step(queue, session, stop, clock):
    staff = Actor("staff", 7, "10.0.0.5")
    ticket = make_ticket(queue, stop)
    clock.advance(minutes=3)
    queue.call_next(stop.desks[0], actor=staff)
    clock.advance(minutes=1)
    queue.recall(ticket, actor=staff)
    queue.start(ticket, actor=staff)
    clock.advance(minutes=12)
    queue.finish(ticket, actor=staff)
    assert ticket.status == TicketStatus.DONE
    assert ticket.recall_count == 1
    assert ticket.finished_at - ticket.started_at == timedelta(minutes=12)
    events = session.scalars(select(Event).where(Event.object_id == ticket.id)).all()
    assert [e.action for e in events] == [
        "ticket.issue",
        "ticket.call",
        "ticket.recall",
        "ticket.start",
        "ticket.finish",
    ]
    assert all(e.result == "ok" for e in events)
    assert events[1].actor_type == "staff" and events[1].actor_id == 7
    assert events[1].origin == "10.0.0.5"


@pytest.mark.parametrize(
    ("steps", "action", "allowed"),
    [
        ([], "recall", False),
        ([], "start", False),
        ([], "finish", False),
        ([], "no_show", False),
        ([], "cancel", True),
        (["call"], "recall", True),
        (["call"], "start", True),
        (["call"], "finish", True),
        (["call"], "no_show", True),
        (["call"], "cancel", True),
        (["call", "start"], "recall", False),
        (["call", "start"], "no_show", False),
        (["call", "start"], "cancel", False),
        (["call", "start"], "finish", True),
        (["call", "start", "finish"], "finish", False),
        (["call", "start", "finish"], "cancel", False),
        (["call", "no_show"], "recall", False),
        (["cancel"], "start", False),
    ],
)
def test_transition_table(queue, stop, steps, action, allowed):
    ticket = make_ticket(queue, stop)
    for step in steps:
        if step == "call":
            queue.call_next(stop.desks[0])
        else:
            getattr(queue, step)(ticket)
    if allowed:
        getattr(queue, action)(ticket)
    else:
        with pytest.raises(errors.InvalidTransition):
            getattr(queue, action)(ticket)


def test_finish_without_start_counts_service_from_the_call(queue, stop, clock):
    ticket = make_ticket(queue, stop)
    queue.call_next(stop.desks[0])
    called = clock.now
    clock.advance(minutes=4)
    queue.finish(ticket)
    assert ticket.started_at == called


def test_no_show_frees_the_desk(queue, stop):
    first = make_ticket(queue, stop)
    make_ticket(queue, stop)
    queue.call_next(stop.desks[0])
    queue.no_show(first)
    assert first.status == TicketStatus.NO_SHOW
    assert queue.call_next(stop.desks[0]).label == "A002"


def test_transfer_keeps_label_and_issue_time_and_requeues(queue, stop, clock):
    ticket = make_ticket(queue, stop, "A")
    issued = ticket.issued_at
    clock.advance(minutes=10)
    later = make_ticket(queue, stop, "R")
    queue.call_next(stop.desks[0])
    queue.start(ticket)
    queue.transfer(ticket, "R")
    assert ticket.status == TicketStatus.WAITING
    assert ticket.product.prefix == "R"
    assert ticket.label == "A001"
    assert ticket.issued_at == issued
    assert ticket.desk_id is None
    # It kept its place: ahead of the R ticket issued later.
    assert queue.position(later).ahead == 1
    assert queue.call_next(stop.desks[1]).id == ticket.id


def test_transfer_to_same_or_unoffered_product_is_refused(queue, stop):
    ticket = make_ticket(queue, stop, "A")
    with pytest.raises(errors.InvalidTransition):
        queue.transfer(ticket, "A")
    with pytest.raises(errors.UnknownProduct):
        queue.transfer(ticket, "Q")


def test_position_counts_people_ahead_on_shared_desks(queue, session, clock):
    stop = make_stop(session, now=clock.now, desks={"Balie 1": "AH", "Balie 2": "R"})
    make_ticket(queue, stop, "A")
    make_ticket(queue, stop, "R")
    make_ticket(queue, stop, "H")
    mine = make_ticket(queue, stop, "A")
    position = queue.position(mine)
    # A and H share Balie 1; the R ticket is served elsewhere.
    assert position.ahead == 2
    # One desk: A (15 min planned) + H (5 min planned).
    assert position.wait_minutes == 20


def test_wait_estimate_learns_from_todays_service_times(queue, stop, clock):
    for _ in range(2):
        ticket = make_ticket(queue, stop, "H")
        queue.call_next(stop.desks[0])
        queue.start(ticket)
        clock.advance(minutes=9)
        queue.finish(ticket)
    make_ticket(queue, stop, "H")
    make_ticket(queue, stop, "H")
    mine = make_ticket(queue, stop, "H")
    # Two tickets ahead at 9 minutes each, two desks.
    assert queue.position(mine).wait_minutes == 9


def test_position_is_none_once_called(queue, stop):
    ticket = make_ticket(queue, stop)
    queue.call_next(stop.desks[0])
    assert queue.position(ticket) is None


def test_events_are_published_after_commit_to_stop_and_ticket_rooms(queue, notifier, stop):
    ticket = make_ticket(queue, stop)
    queue.call_next(stop.desks[0])
    board = notifier.names(stop_room(stop.id))
    assert board == ["ticket_issued", "ticket_called"]
    own = notifier.names(ticket_room(ticket.token))
    assert own == ["ticket_updated"]  # the call; at issue nobody could be watching yet
    called = next(p for n, p, _ in notifier.published if n == "ticket_called")
    assert called["ticket"]["label"] == "A001"
    assert called["ticket"]["desk"]["name"] == "Balie 1"
    assert "token" not in called["ticket"]
    assert called["waiting"] == {"id-apply": 0, "id-collect": 0, "driving-licence": 0}


def test_a_call_tells_only_the_called_ticket_and_the_stop(queue, notifier, stop):
    # Waiting tickets' pages listen to the stop room and refresh their own position from there:
    # the server does not push one message per waiting ticket on every call.
    make_ticket(queue, stop)
    second = make_ticket(queue, stop)
    notifier.published.clear()
    called = queue.call_next(stop.desks[0])
    rooms = [r for _, _, r in notifier.published]
    assert rooms == [stop_room(stop.id), ticket_room(called.token)]
    assert ticket_room(second.token) not in rooms
    assert queue.position(second).ahead == 0


def test_failed_transition_publishes_nothing(queue, notifier, stop):
    ticket = make_ticket(queue, stop)
    notifier.published.clear()
    with pytest.raises(errors.InvalidTransition):
        queue.finish(ticket)
    assert notifier.published == []


def test_board_state_shows_latest_calls_first_and_waiting_counts(queue, stop, clock):
    a1 = make_ticket(queue, stop, "A")
    make_ticket(queue, stop, "H")
    make_ticket(queue, stop, "A")
    queue.call_next(stop.desks[0])
    clock.advance(seconds=30)
    queue.call_next(stop.desks[1])
    clock.advance(seconds=30)
    queue.recall(a1)
    state = queue.board_state(stop)
    assert [c["label"] for c in state["calls"]] == ["A001", "H001"]
    assert {w["product"]["prefix"]: w["count"] for w in state["waiting"]} == {
        "A": 1,
        "H": 0,
        "R": 0,
    }
    assert state["stop"]["accepting_tickets"] is True


def test_finished_tickets_leave_the_board(queue, stop):
    ticket = make_ticket(queue, stop)
    queue.call_next(stop.desks[0])
    queue.finish(ticket)
    assert queue.board_state(stop)["calls"] == []


def test_current_stop_and_closing(tour, session, clock, queue):
    stop = make_stop(session, now=clock.now)
    assert tour.current_stop().id == stop.id
    tour.close_stop(stop)
    with pytest.raises(errors.NoOpenStop):
        tour.current_stop()
    with pytest.raises(errors.StopClosed):
        queue.issue_ticket(stop, "A")


def test_demo_is_idempotent_and_open_now(tour, clock):
    first = tour.create_demo()
    again = tour.create_demo()
    assert first.created and not again.created
    assert first.stop.id == again.stop.id
    assert first.stop.accepts_walk_ins(clock.now)
    assert [p.prefix for p in first.stop.products] == ["A", "H", "R"]
    assert [d.name for d in first.stop.desks] == ["Balie 1", "Balie 2"]


def test_the_stop_to_open_is_todays_even_when_closed_then_the_next_planned(tour, session, clock):
    with pytest.raises(errors.NoStopToOpen):
        tour.stop_to_open()
    tomorrow = make_stop(
        session, now=clock.now + timedelta(days=1), status=StopStatus.PLANNED, location="Blokker"
    )
    assert tour.stop_to_open().id == tomorrow.id
    today = make_stop(session, now=clock.now, status=StopStatus.CLOSED, location="Grote Waal")
    assert tour.stop_to_open().id == today.id  # closed by staff for a break: it opens again
    clock.advance(hours=8)  # today's stop has ended; tomorrow's is next
    assert tour.stop_to_open().id == tomorrow.id
    old = make_stop(
        session, now=clock.now - timedelta(days=2), status=StopStatus.CLOSED, location="Zwaag"
    )
    assert tour.stop_to_open().id != old.id  # a stop of another day never opens again
