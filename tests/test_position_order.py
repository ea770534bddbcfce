"""A ticket's place in the queue follows the calling order: `position().ahead` counts exactly the
tickets `call_next` would call before it now (due appointments first, then priority and
arrival, an appointment "arriving" at its slot's start)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from kiosk.database import make_engine, make_sessionmaker
from kiosk.models import Stop, Ticket
from kiosk.services.queue import QueueService
from tests.factories import make_stop


@pytest.fixture
def stop(session, clock) -> Stop:
    return make_stop(session, now=clock.now, hours=10)


def appointment_ticket(queue: QueueService, stop: Stop, due_at: datetime, prefix="A") -> Ticket:
    """A checked-in appointment's ticket, as `AppointmentService.check_in` issues it."""
    return queue.issue_for_appointment(stop, prefix, due_at=due_at, claim=lambda _t: None).ticket


def ahead(queue: QueueService, ticket: Ticket) -> int:
    position = queue.position(queue.ticket(ticket.token))
    assert position is not None
    return position.ahead


def calling_order(queue: QueueService, stop: Stop) -> list[int]:
    """Call and finish at one desk until the queue is empty: the ticket ids in calling order."""
    desk = stop.desks[0]
    order = []
    while sum(queue.waiting_counts(stop.id).values()):
        called = queue.call_next(desk)
        order.append(called.id)
        queue.finish(called)
    return order


def test_a_due_appointment_has_nobody_ahead_of_earlier_walk_ins(queue, stop, clock):
    walk_ins = [queue.issue_ticket(stop, "A") for _ in range(3)]
    clock.advance(minutes=5)
    appointment = appointment_ticket(queue, stop, due_at=clock.now - timedelta(minutes=2))
    assert ahead(queue, appointment) == 0
    assert [ahead(queue, t) for t in walk_ins] == [1, 2, 3]
    assert queue.call_next(stop.desks[0]).id == appointment.id


def test_a_walk_in_counts_a_due_appointment_checked_in_after_it(queue, stop, clock):
    walk_in = queue.issue_ticket(stop, "A")
    assert ahead(queue, walk_in) == 0
    clock.advance(minutes=10)
    appointment_ticket(queue, stop, due_at=clock.now)  # its slot starts as it checks in
    assert ahead(queue, walk_in) == 1


def test_an_appointment_before_its_slot_is_ordered_by_its_slot_time(queue, stop, clock):
    start = clock.now
    early_walk_in = queue.issue_ticket(stop, "A")  # 10:00
    appointment = appointment_ticket(queue, stop, due_at=start + timedelta(minutes=20))
    clock.now = start + timedelta(minutes=10)
    mid_walk_in = queue.issue_ticket(stop, "R")  # 10:10, before the slot at 10:20
    clock.now = start + timedelta(minutes=30)
    late_walk_in = queue.issue_ticket(stop, "H")  # 10:30, after the slot
    clock.now = start + timedelta(minutes=15)  # the slot has not started
    assert [ahead(queue, t) for t in (early_walk_in, mid_walk_in, appointment, late_walk_in)] == [
        0,
        1,
        2,
        3,
    ]
    clock.now = start + timedelta(minutes=20)  # now it has: the appointment goes first
    assert [ahead(queue, t) for t in (appointment, early_walk_in, mid_walk_in, late_walk_in)] == [
        0,
        1,
        2,
        3,
    ]


def test_priority_counts_within_each_group(queue, stop, clock):
    walk_in = queue.issue_ticket(stop, "A")
    urgent = queue.issue_ticket(stop, "A", priority=5)
    late_appointment = appointment_ticket(queue, stop, due_at=clock.now + timedelta(hours=1))
    due = appointment_ticket(queue, stop, due_at=clock.now - timedelta(minutes=1))
    assert ahead(queue, due) == 0  # a started slot goes before priority
    assert ahead(queue, urgent) == 1
    assert ahead(queue, walk_in) == 2
    assert ahead(queue, late_appointment) == 3


def test_only_tickets_the_same_desks_serve_are_counted(session, clock, notifier):
    stop = make_stop(session, now=clock.now, desks={"Balie 1": "AH", "Balie 2": "R"})
    queue = QueueService(session, notifier, clock)
    appointment_ticket(queue, stop, due_at=clock.now, prefix="R")
    walk_in = queue.issue_ticket(stop, "A")
    assert ahead(queue, walk_in) == 0  # the R appointment is called at another desk


def test_the_desk_sees_its_queue_in_calling_order(queue, stop, clock):
    walk_in = queue.issue_ticket(stop, "A")
    clock.advance(minutes=5)
    appointment = appointment_ticket(queue, stop, due_at=clock.now)
    assert [t.id for t in queue.desk_queue(stop.desks[0])] == [appointment.id, walk_in.id]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def queue_any(request, clock, notifier):
    """A queue service on SQLite and on PostgreSQL: the order is SQL, and both must agree."""
    url = request.getfixturevalue("db_url" if request.param == "sqlite" else "pg_url")
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        yield QueueService(session, notifier, clock)
    engine.dispose()


@pytest.mark.parametrize("seed", range(6))
def test_position_is_the_number_of_tickets_called_before(queue_any, clock, seed):
    queue = queue_any
    stop = make_stop(queue.session, now=clock.now, hours=10)
    rng = random.Random(seed)
    start = clock.now
    minute = lambda n: start + timedelta(minutes=n)  # noqa: E731
    tickets = []
    for _ in range(rng.randint(8, 16)):
        # Few distinct times: ties between issue times and slot times are common.
        clock.now = minute(rng.choice([0, 5, 10, 15, 20]))
        prefix = rng.choice("AHR")
        if rng.random() < 0.4:
            due = minute(rng.choice([-5, 0, 5, 10, 15, 25, 40]))
            tickets.append(appointment_ticket(queue, stop, due, prefix=prefix))
        else:
            priority = rng.choice([0, 0, 0, 1, 5])
            tickets.append(queue.issue_ticket(stop, prefix, priority=priority))
    clock.now = minute(rng.choice([0, 5, 10, 12, 15, 30]))
    positions = {t.id: ahead(queue, t) for t in tickets}
    order = calling_order(queue, stop)
    assert sorted(order) == sorted(positions)
    assert positions == {ticket_id: index for index, ticket_id in enumerate(order)}
