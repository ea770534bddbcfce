"""The hot paths: issuing a ticket and calling the next one, on every kiosk tap and desk click.

Their cost is measured by bench/issue_call.py. These tests hold what that work bought: how many
statements each use case runs, that the queue's queries read an index and not the tickets table,
and that the statements built once (kiosk.services.queue.statements) behave the same on SQLite and
PostgreSQL, including the row locks that re-read a desk or a ticket before changing it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from kiosk.database import make_engine, make_sessionmaker
from kiosk.models import Source, TicketStatus
from kiosk.services import errors
from kiosk.services.base import RecordingNotifier
from kiosk.services.queue import QueueService
from kiosk.services.rooms import stop_room
from tests.factories import desk_named, make_stop, make_ticket


@contextmanager
def statements(session: Session) -> Iterator[list[tuple[str, object]]]:
    """Every statement the session's engine sends to the database meanwhile, with parameters."""
    seen: list[tuple[str, object]] = []
    engine = session.get_bind()

    def note(_conn, _cursor, statement, parameters, _context, _many) -> None:
        seen.append((" ".join(statement.split()), parameters))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url_any(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("db_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def sessions(db_url_any: str) -> Iterator[tuple[Session, Session]]:
    """Two sessions on one database: a use case in the first, a rival in the second."""
    engine = make_engine(db_url_any)
    maker = make_sessionmaker(engine)
    with maker() as first, maker() as second:
        yield first, second
    engine.dispose()


@pytest.fixture
def queue_any(sessions, notifier, clock) -> QueueService:
    return QueueService(sessions[0], notifier, clock)


@pytest.fixture
def rival(sessions, clock) -> QueueService:
    return QueueService(sessions[1], RecordingNotifier(), clock)


# -- the same answers on both databases ---------------------------------------------------------


def test_issue_with_position_gives_what_a_later_read_gives(queue_any, sessions, clock):
    stop = make_stop(sessions[0], now=clock.now, desks={"Balie 1": "AH", "Balie 2": "R"})
    make_ticket(queue_any, stop, "A")
    make_ticket(queue_any, stop, "R")
    clock.advance(minutes=1)
    ticket, position, *_ = queue_any.issue_ticket_with_position(stop, "H")
    assert not sessions[0].in_transaction(), "no read is left open after the use case"
    assert ticket.label == "H001"
    assert ticket.product.code == "id-collect"
    assert position == queue_any.position(ticket)
    assert (position.ahead, position.wait_minutes) == (1, 15)  # the A ticket on Balie 1


def test_issue_with_position_is_none_without_a_desk_estimate(queue_any, sessions, clock):
    stop = make_stop(sessions[0], now=clock.now, desks={"Balie 1": "A"})
    _, position, *_ = queue_any.issue_ticket_with_position(stop, "R")
    assert (position.ahead, position.wait_minutes) == (0, None)


def test_issue_publishes_waiting_counts_read_after_the_commit(queue_any, sessions, notifier, clock):
    stop = make_stop(sessions[0], now=clock.now)
    make_ticket(queue_any, stop, "A")
    queue_any.issue_ticket_with_position(stop, "A")
    issued = [
        p for n, p, r in notifier.published if n == "ticket_issued" and r == stop_room(stop.id)
    ]
    assert [p["waiting"] for p in issued] == [
        {"id-apply": 1, "id-collect": 0, "driving-licence": 0},
        {"id-apply": 2, "id-collect": 0, "driving-licence": 0},
    ]


def test_refused_issue_is_logged_and_leaves_no_ticket(queue_any, sessions, clock):
    stop = make_stop(sessions[0], now=clock.now, products="AH")
    with pytest.raises(errors.UnknownProduct):
        queue_any.issue_ticket_with_position(stop, "Z")
    elsewhere = make_stop(sessions[0], now=clock.now, products="HR", location="Elders")
    with pytest.raises(errors.ProductNotOffered):
        make_ticket(queue_any, elsewhere, "A")
    assert queue_any.waiting_counts(stop.id) == {"id-apply": 0, "id-collect": 0}


def test_call_next_order_busy_desk_and_every_step(queue_any, sessions, clock):
    stop = make_stop(sessions[0], now=clock.now, desks={"Balie 1": "AHR", "Balie 2": "AHR"})
    first = make_ticket(queue_any, stop, "A")
    clock.advance(minutes=1)
    urgent = queue_any.issue_ticket(stop, "R", priority=5, source=Source.APPOINTMENT)
    clock.advance(minutes=1)
    later = make_ticket(queue_any, stop, "H")
    desk = desk_named(stop, "Balie 1")

    called = queue_any.call_next(desk)
    assert called.id == urgent.id and called.desk.name == "Balie 1"
    with pytest.raises(errors.DeskBusy):
        queue_any.call_next(desk)
    queue_any.recall(called)
    queue_any.start(called)
    assert queue_any.finish(called).status == TicketStatus.DONE
    assert queue_any.call_next(desk).id == first.id
    assert queue_any.position(later).ahead == 0
    moved = queue_any.transfer(first, "H")
    assert moved.status == TicketStatus.WAITING and moved.product.prefix == "H"
    assert moved.desk is None
    assert queue_any.position(later).ahead == 1, "the transferred ticket kept its place"
    assert queue_any.call_next(desk_named(stop, "Balie 2")).id == first.id
    assert queue_any.cancel(later).status == TicketStatus.CANCELLED


def test_call_next_reads_the_desk_under_its_lock(queue_any, rival, sessions, clock):
    stop = make_stop(sessions[0], now=clock.now, desks={"Balie 1": "A"})
    make_ticket(queue_any, stop, "A")
    desk = queue_any.desk(desk_named(stop, "Balie 1").id)
    # Another process closes the desk after this one looked it up.
    rival.desk(desk.id).active = False
    sessions[1].commit()
    with pytest.raises(errors.QueueEmpty):
        queue_any.call_next(desk)


def test_a_step_reads_the_ticket_under_its_lock(queue_any, rival, sessions, clock):
    stop = make_stop(sessions[0], now=clock.now)
    ticket = make_ticket(queue_any, stop, "A")
    queue_any.call_next(stop.desks[0])
    # Another desk client moves the same ticket on after this one read it.
    theirs = rival.ticket(ticket.token)
    rival.start(theirs)
    rival.transfer(theirs, "R")
    with pytest.raises(errors.InvalidTransition):
        queue_any.no_show(ticket)
    assert queue_any.cancel(ticket).product.prefix == "R", "the product is read again too"


# -- what it costs (SQLite, the embedded default) -----------------------------------------------


@pytest.fixture
def stop(session, clock):
    return make_stop(session, now=clock.now)


@pytest.mark.parametrize(
    ("use_case", "expected"),
    [
        # BEGIN IMMEDIATE, product, number, ticket, event | BEGIN, waiting counts,
        # desk map, people ahead, service times
        ("issue_with_position", 10),
        # BEGIN IMMEDIATE, desk and its products (locked), desk busy?, next ticket, call, event |
        # BEGIN, waiting counts
        ("call_next", 8),
        # BEGIN IMMEDIATE, ticket with product and desk (locked), update, event |
        # BEGIN, waiting counts
        ("finish", 6),
    ],
)
def test_statements_per_use_case(queue, stop, use_case, expected):
    for _ in range(3):
        make_ticket(queue, stop, "A")
    desk = stop.desks[0]
    if use_case == "finish":
        called = queue.call_next(desk)
    with statements(queue.session) as seen:
        if use_case == "issue_with_position":
            queue.issue_ticket_with_position(stop, "A")
        elif use_case == "call_next":
            queue.call_next(desk)
        else:
            queue.finish(called)
    assert len(seen) == expected, "\n".join(sql for sql, _ in seen)


def test_queue_queries_read_an_index_not_the_tickets_table(queue, session, stop):
    for prefix in "AHRAHR":
        make_ticket(queue, stop, prefix)
    desk = stop.desks[0]
    with statements(session) as seen:
        ticket, *_ = queue.issue_ticket_with_position(stop, "A")
        queue.call_next(desk)
        queue.current_ticket(desk)
        queue.finish(queue.current_ticket(desk))
        queue.ticket(ticket.token)
    queries = [(sql, params) for sql, params in seen if re.match(r"(SELECT|UPDATE)\b", sql)]
    assert any("FROM tickets" in sql for sql, _ in queries)
    raw = session.connection().connection.driver_connection
    for sql, params in queries:
        plan = [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        assert not any(re.match(r"SCAN tickets\b", step) for step in plan), (sql, plan)
    session.rollback()
