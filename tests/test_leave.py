"""Leaving the queue from the status page ("Ik ga weg"): the ticket is cancelled, the queue
moves, the log says the resident left, research counts a walk-out with its wait; with and
without a script."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kiosk.models import Event, TicketStatus
from kiosk.services.base import Actor
from kiosk.services.errors import InvalidTransition
from kiosk.services.research import Filters, ResearchService
from kiosk.services.rooms import stop_room, ticket_room
from tests.factories import csrf_token_in, desk_named, make_stop, make_ticket

RESIDENT = Actor("public", None, "192.0.2.7")


def test_leave_cancels_the_ticket_and_moves_the_queue(session, queue, notifier, clock):
    stop = make_stop(session, now=clock.now)
    first = make_ticket(queue, stop)
    second = make_ticket(queue, stop)
    assert queue.position(second).ahead == 1
    notifier.published.clear()
    clock.advance(minutes=12)

    left = queue.leave(first, actor=RESIDENT)

    assert left.status is TicketStatus.CANCELLED
    assert left.ended_at == clock.now
    assert queue.position(second).ahead == 0
    # The board (the stop's room) and the ticket's own page hear it.
    assert "ticket_cancelled" in notifier.names(stop_room(stop.id))
    assert "ticket_updated" in notifier.names(ticket_room(first.token))
    event = session.scalar(
        select(Event).where(Event.action == "ticket.cancel", Event.object_id == first.id)
    )
    assert (event.actor_type, event.result, event.data["reason"]) == ("public", "ok", "left")


def test_a_called_ticket_may_leave_too(session, queue, clock):
    stop = make_stop(session, now=clock.now)
    ticket = make_ticket(queue, stop)
    queue.call_next(desk_named(stop, "Balie 1"))
    assert queue.leave(ticket, actor=RESIDENT).status is TicketStatus.CANCELLED


@pytest.mark.parametrize("end", ["finish", "leave"])
def test_an_ended_ticket_cannot_leave(session, queue, clock, end):
    stop = make_stop(session, now=clock.now)
    ticket = make_ticket(queue, stop)
    if end == "finish":
        queue.call_next(desk_named(stop, "Balie 1"))
        queue.finish(ticket)
    else:
        queue.leave(ticket, actor=RESIDENT)
    with pytest.raises(InvalidTransition):
        queue.leave(ticket, actor=RESIDENT)


def test_research_counts_a_leave_as_a_walk_out_with_its_wait(session, queue, clock):
    stop = make_stop(session, now=clock.now)
    # 12 residents leave after 20 minutes (short of the long-wait mark), 1 is served.
    left = [make_ticket(queue, stop) for _ in range(12)]
    served = make_ticket(queue, stop)
    clock.advance(minutes=20)
    for ticket in left:
        queue.leave(ticket, actor=RESIDENT)
    queue.call_next(desk_named(stop, "Balie 1"))
    queue.finish(served)

    research = ResearchService(session, clock=clock)
    day = research.local(clock.now).date()
    report = research.report(Filters(day, day))

    *per_product, every = report.walk_outs
    assert every.product_id is None and every.left == 10  # 12, published by the 10_5 table
    assert every.wait_median == 20.0
    (product_row,) = per_product
    assert product_row.product_id == left[0].product_id and product_row.left == 10


def test_few_walk_outs_are_hidden(session, queue, clock):
    stop = make_stop(session, now=clock.now)
    ticket = make_ticket(queue, stop)
    clock.advance(minutes=5)
    queue.leave(ticket, actor=RESIDENT)
    research = ResearchService(session, clock=clock)
    day = research.local(clock.now).date()
    every = research.report(Filters(day, day)).walk_outs[-1]
    assert every.left is not None and not every.left  # HIDDEN
    assert not every.wait_median


# -- the doors ----------------------------------------------------------------------------------


def _ticket(db, app, clock):
    stop = make_stop(db, now=clock.now)
    with app.app_context():
        from kiosk.factories import queue_service

        ticket = queue_service().issue_ticket(stop, "A")
        other = queue_service().issue_ticket(stop, "A")
        return ticket.token, other.token


def test_api_leave_then_409(app, client, db, clock):
    token, other = _ticket(db, app, clock)
    assert client.get(f"/api/v1/tickets/{other}").get_json()["position"]["ahead"] == 1
    answer = client.post(f"/api/v1/tickets/{token}/leave")
    assert answer.status_code == 200
    assert answer.get_json()["status"] == "cancelled"
    assert client.get(f"/api/v1/tickets/{other}").get_json()["position"]["ahead"] == 0
    again = client.post(f"/api/v1/tickets/{token}/leave")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "invalid_transition"
    assert client.post("/api/v1/tickets/nope/leave").status_code == 404


def test_api_leave_is_rate_limited(make_app, clock):
    app = make_app(RATELIMIT_PUBLIC="3/minute")
    client = app.test_client()
    answers = [client.post("/api/v1/tickets/nope/leave").status_code for _ in range(4)]
    assert answers == [404, 404, 404, 429]


def test_leaving_without_a_script_asks_first(app, client, db, clock):
    token, other = _ticket(db, app, clock)
    page = client.get(f"/t/{token}").get_data(as_text=True)
    assert "Ik ga weg" in page
    csrf = csrf_token_in(page)

    question = client.post(f"/t/{token}/leave", data={"csrf_token": csrf})
    html = question.get_data(as_text=True)
    assert question.status_code == 200
    assert "Weet u het zeker?" in html and "U verliest uw plek" in html
    assert client.get(f"/api/v1/tickets/{token}").get_json()["status"] == "waiting"

    done = client.post(f"/t/{token}/leave", data={"csrf_token": csrf, "confirm": "yes"})
    assert done.status_code == 303
    after = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "U staat niet meer in de wachtrij" in after
    assert "Ik ga weg" not in after
    assert client.get(f"/api/v1/tickets/{token}").get_json()["status"] == "cancelled"
    assert client.get(f"/api/v1/tickets/{other}").get_json()["position"]["ahead"] == 0

    twice = client.post(f"/t/{token}/leave", data={"csrf_token": csrf, "confirm": "yes"})
    assert twice.status_code == 303
    assert "staat niet meer in de wachtrij" in client.get(twice.headers["Location"]).get_data(
        as_text=True
    )


def test_the_form_needs_its_csrf_token(app, client, db, clock):
    token, _ = _ticket(db, app, clock)
    answer = client.post(f"/t/{token}/leave", data={"confirm": "yes"})
    assert answer.status_code in (400, 403)
    assert client.get(f"/api/v1/tickets/{token}").get_json()["status"] == "waiting"


def test_an_unknown_ticket_has_a_friendly_page(client):
    answer = client.post("/t/unknown/leave", data={})
    assert answer.status_code in (400, 403, 404)
    assert "<html" in answer.get_data(as_text=True)


def test_the_leave_button_is_only_there_while_waiting_or_called(app, client, db, clock):
    token, _ = _ticket(db, app, clock)
    assert 'id="leave-form"' in client.get(f"/t/{token}/live").get_data(as_text=True)
    client.post(f"/api/v1/tickets/{token}/leave")
    assert 'id="leave-form"' not in client.get(f"/t/{token}/live").get_data(as_text=True)


def test_the_appointment_page_shows_no_leave_button(app, client, db, clock):
    """The live part is shared with an appointment's page, which has its own actions."""
    with app.app_context():
        from flask import render_template

        with app.test_request_context("/"):
            html = render_template(
                "display/_ticket_live.html",
                ticket={
                    "status": "waiting",
                    "label": "A001",
                    "product": {"names": {}},
                    "desk": None,
                    "position": None,
                    "recall_count": 0,
                },
            )
    assert "leave-form" not in html


def test_the_wait_before_leaving_counts_from_issue(session, queue, clock):
    stop = make_stop(session, now=clock.now)
    tickets = [make_ticket(queue, stop) for _ in range(10)]
    for minutes, ticket in zip(range(1, 11), tickets, strict=True):
        clock.advance(minutes=1)
        queue.leave(ticket, actor=RESIDENT)
        assert ticket.ended_at - ticket.issued_at == timedelta(minutes=minutes)
    research = ResearchService(session, clock=clock)
    day = research.local(clock.now).date()
    assert research.report(Filters(day, day)).walk_outs[-1].wait_median == 5.5
