"""Feedback after the visit: five faces and "what should we offer here next?" on the status page
of a finished ticket (with and without a script, and the API), and the faces at the kiosk. Each
answer once per ticket; tallies without a ticket or a time; research's small-cell rules."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import DateTime, inspect, select

from kiosk.models import FeedbackRating, FeedbackWish, Ticket
from kiosk.services.feedback import (
    AlreadyAnswered,
    FeedbackService,
    InvalidFeedback,
    NotFinished,
)
from kiosk.services.research import HIDDEN, Filters, ResearchService
from tests.factories import (
    csrf_token_in,
    desk_named,
    make_product,
    make_stop,
    make_user,
    pair_browser,
)
from tests.factories import make_ticket as issue

PASSWORD = "correct horse battery"


def _done(queue, stop, product: str = "A") -> Ticket:
    ticket = issue(queue, stop, product)
    queue.call_next(desk_named(stop, "Balie 1"))
    return queue.finish(ticket)


@pytest.fixture
def feedback(session, clock) -> FeedbackService:
    return FeedbackService(session, clock=clock)


def _ratings(session) -> list[tuple[int, int, int]]:
    session.rollback()
    rows = session.execute(
        select(FeedbackRating.product_id, FeedbackRating.rating, FeedbackRating.people)
    )
    return sorted(tuple(r) for r in rows)


# -- the rules ----------------------------------------------------------------------------------


def test_a_finished_ticket_is_asked_both_questions_once(session, queue, clock, feedback):
    stop = make_stop(session, now=clock.now)
    ticket = _done(queue, stop)
    assert feedback.open_questions(ticket) == (True, True)
    assert feedback.rate(ticket, 5) == (False, True)
    with pytest.raises(AlreadyAnswered):
        feedback.rate(ticket, 1)
    assert _ratings(session) == [(ticket.product_id, 5, 1)]

    wished = make_product(session, "X")
    assert feedback.wish(ticket, wished.code) == (False, False)
    with pytest.raises(AlreadyAnswered):
        feedback.wish(ticket, wished.code)
    session.rollback()
    assert [(w.product_id, w.people) for w in session.scalars(select(FeedbackWish))] == [
        (wished.id, 1)
    ]


def test_answers_of_many_tickets_add_up_in_one_tally(session, queue, clock, feedback):
    stop = make_stop(session, now=clock.now)
    for _ in range(3):
        feedback.rate(_done(queue, stop), "4")
    feedback.rate(_done(queue, stop, "H"), 2)
    a, h = (p.id for p in stop.products[:2])
    assert _ratings(session) == sorted([(a, 4, 3), (h, 2, 1)])


def test_skipping_the_wish_answers_it_without_counting(session, queue, clock, feedback):
    stop = make_stop(session, now=clock.now)
    ticket = _done(queue, stop)
    assert feedback.wish(ticket, None) == (True, False)
    assert session.scalars(select(FeedbackWish)).all() == []


def test_no_feedback_before_the_ticket_is_finished(session, queue, clock, feedback):
    stop = make_stop(session, now=clock.now)
    waiting = issue(queue, stop)
    assert feedback.open_questions(waiting) == (False, False)
    with pytest.raises(NotFinished):
        feedback.rate(waiting, 3)
    queue.leave(waiting)
    with pytest.raises(NotFinished):
        feedback.wish(waiting, "id-apply")
    assert _ratings(session) == []


@pytest.mark.parametrize("rating", [0, 6, -1, "x", "", None, True, 3.5, "10"])
def test_only_the_five_faces_are_taken(session, queue, clock, feedback, rating):
    stop = make_stop(session, now=clock.now)
    ticket = _done(queue, stop)
    with pytest.raises(InvalidFeedback):
        feedback.rate(ticket, rating)
    assert feedback.open_questions(ticket).rate  # still to be asked


def test_an_unknown_or_inactive_product_cannot_be_wished(session, queue, clock, feedback):
    stop = make_stop(session, now=clock.now)
    ticket = _done(queue, stop)
    make_product(session, "Z", active=False)
    session.commit()
    for code in ("nothing", "product-z", "x" * 500):
        with pytest.raises(InvalidFeedback):
            feedback.wish(ticket, code)


@pytest.mark.parametrize("table", [FeedbackRating, FeedbackWish])
def test_the_tallies_have_no_ticket_and_no_time(table):
    columns = {c.name: c for c in inspect(table).columns}
    assert "ticket_id" not in columns
    assert not any(isinstance(c.type, DateTime) for c in columns.values())
    assert {fk.column.table.name for fk in table.__table__.foreign_keys} == {"stops", "products"}


def test_an_answer_writes_no_event(session, queue, clock, feedback):
    """The event log has a time and the ticket: an answer there would undo the tally."""
    from kiosk.models import Event

    stop = make_stop(session, now=clock.now)
    ticket = _done(queue, stop)
    before = session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    feedback.rate(ticket, 5)
    feedback.wish(ticket, "id-collect")
    after = session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    assert after == before


def test_the_kiosk_counts_a_face_with_an_offered_product(session, clock, feedback):
    stop = make_stop(session, now=clock.now)
    feedback.rate_at_kiosk(stop, "id-apply", "5")
    assert _ratings(session) == [(stop.products[0].id, 5, 1)]
    make_product(session, "X")
    for product, rating in (("product-x", 5), ("nothing", 5), ("id-apply", 9)):
        with pytest.raises(InvalidFeedback):
            feedback.rate_at_kiosk(stop, product, rating)


# -- research -----------------------------------------------------------------------------------


def test_research_shows_ratings_and_wishes_per_stop_and_product_protected(
    session, queue, clock, feedback
):
    stop = make_stop(session, now=clock.now)
    for _ in range(12):
        feedback.rate_at_kiosk(stop, "id-apply", 5)
    for _ in range(2):
        feedback.rate_at_kiosk(stop, "id-apply", 1)
    for _ in range(3):
        feedback.rate_at_kiosk(stop, "id-collect", 4)
    for _ in range(11):
        feedback.wish(_done(queue, stop), "driving-licence")
    research = ResearchService(session, clock=clock)
    day = research.local(clock.now).date()
    report = research.report(Filters(day, day))

    a, h, r = (p.id for p in stop.products)
    by_product = {row.product_id: row for row in report.ratings}
    assert set(by_product) == {a, h}
    apply_row = by_product[a]
    assert apply_row.stop_id == stop.id
    assert apply_row.faces == [HIDDEN, 0, 0, 0, 10]  # 2 hidden; 12 published as 10
    assert apply_row.people == 15  # 14, rounded to 5
    assert apply_row.happy_rate == round(10 / 15, 3)  # a ratio of published figures only
    collect = by_product[h]
    assert collect.faces == [0, 0, 0, HIDDEN, 0] and collect.people is HIDDEN
    assert collect.happy_rate is HIDDEN
    (wish,) = report.wishes
    assert (wish.stop_id, wish.product_id, wish.people) == (stop.id, r, 10)
    assert report.stops[stop.id][0] == stop.location.name


def test_research_filters_feedback_by_day_and_product(session, clock, feedback):
    stop = make_stop(session, now=clock.now)
    feedback.rate_at_kiosk(stop, "id-apply", 3)
    research = ResearchService(session, clock=clock)
    day = research.local(clock.now).date()
    from datetime import timedelta

    assert research.report(Filters(day - timedelta(days=3), day - timedelta(days=1))).ratings == []
    assert research.report(Filters(day, day, product_id=stop.products[1].id)).ratings == []
    assert len(research.report(Filters(day, day, stop_id=stop.id)).ratings) == 1


# -- the status page and the API ------------------------------------------------------------------


@pytest.fixture
def finished(app, db, clock):
    stop = make_stop(db, now=clock.now)
    with app.app_context():
        from kiosk.factories import queue_service

        queue = queue_service()
        ticket = queue.issue_ticket(stop, "A")
        queue.call_next(desk_named(queue.stop(stop.id), "Balie 1"))
        queue.finish(queue.ticket(ticket.token))
        return ticket.token


def test_the_status_page_asks_after_the_visit_without_a_script(client, db, finished):
    page = client.get(f"/t/{finished}").get_data(as_text=True)
    assert "Hoe bent u geholpen?" in page
    assert page.count('name="rating"') == 5
    for label in ("Heel slecht", "Slecht", "Gaat wel", "Goed", "Heel goed"):
        assert f">{label}<" in page  # a word on every face, not colour alone
    assert "Wat moeten we hier nog meer aanbieden?" not in page
    csrf = csrf_token_in(page)

    answer = client.post(f"/t/{finished}/feedback", data={"csrf_token": csrf, "rating": "4"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("#feedback")
    page = client.get(f"/t/{finished}").get_data(as_text=True)
    assert "Bedankt voor uw antwoord." in page
    assert "Hoe bent u geholpen?" not in page
    assert "Wat moeten we hier nog meer aanbieden?" in page
    assert 'value="driving-licence"' in page

    client.post(f"/t/{finished}/feedback", data={"csrf_token": csrf, "wish": "driving-licence"})
    page = client.get(f"/t/{finished}").get_data(as_text=True)
    assert "Wat moeten we hier nog meer aanbieden?" not in page and 'name="wish"' not in page

    again = client.post(f"/t/{finished}/feedback", data={"csrf_token": csrf, "rating": "1"})
    assert again.status_code == 303
    db.rollback()
    assert [(r.rating, r.people) for r in db.scalars(select(FeedbackRating))] == [(4, 1)]


def test_the_api_takes_each_answer_once(client, db, finished):
    url = f"/api/v1/tickets/{finished}/feedback"
    assert client.post(url, json={"rating": 6}).status_code == 422
    assert client.post(url, json={"rating": "5"}).status_code == 422
    assert client.post(url, json={}).status_code == 422
    assert client.post(url, json={"rating": 5, "wish": "id-apply"}).status_code == 422
    first = client.post(url, json={"rating": 5})
    assert first.status_code == 200 and first.get_json() == {"rate": False, "wish": True}
    twice = client.post(url, json={"rating": 5})
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "already_answered"
    assert client.post(url, json={"wish": "nothing"}).status_code == 422
    assert client.post(url, json={"wish": None}).get_json() == {"rate": False, "wish": False}
    assert client.post("/api/v1/tickets/nope/feedback", json={"rating": 3}).status_code == 404


def test_the_api_refuses_feedback_before_the_end(app, client, db, clock):
    stop = make_stop(db, now=clock.now)
    with app.app_context():
        from kiosk.factories import queue_service

        token = queue_service().issue_ticket(stop, "A").token
    answer = client.post(f"/api/v1/tickets/{token}/feedback", json={"rating": 3})
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "ticket_not_finished"


# -- the kiosk ------------------------------------------------------------------------------------


@pytest.fixture
def kiosk_client(client, accounts, stop):
    pair_browser(client, accounts, stop, "kiosk")
    return client


def test_the_kiosk_start_screen_offers_the_question(kiosk_client):
    page = kiosk_client.get("/kiosk").get_data(as_text=True)
    assert 'href="/kiosk/feedback"' in page and "Hoe bent u geholpen?" in page


def test_the_kiosk_asks_the_face_then_the_product(kiosk_client, db, stop):
    page = kiosk_client.get("/kiosk/feedback").get_data(as_text=True)
    assert page.count('name="rating"') == 5
    csrf = csrf_token_in(page)
    second = kiosk_client.post("/kiosk/feedback", data={"csrf_token": csrf, "rating": "2"})
    assert second.status_code == 200
    html = second.get_data(as_text=True)
    assert "Waarvoor kwam u?" in html and 'name="rating" value="2"' in html
    for product in stop.products:
        assert f'value="{product.code}"' in html
    done = kiosk_client.post(
        "/kiosk/feedback/product", data={"csrf_token": csrf, "rating": "2", "product": "id-collect"}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/kiosk/feedback/bedankt")
    assert "Bedankt" in kiosk_client.get(done.headers["Location"]).get_data(as_text=True)
    db.rollback()
    (row,) = db.scalars(select(FeedbackRating))
    assert (row.rating, row.people, row.product_id) == (2, 1, stop.products[1].id)


@pytest.mark.parametrize(
    "form", [{"rating": "9"}, {"rating": ""}, {"rating": "2", "product": "nothing"}]
)
def test_the_kiosk_refuses_answers_it_does_not_offer(kiosk_client, db, form):
    csrf = csrf_token_in(kiosk_client.get("/kiosk/feedback").get_data(as_text=True))
    url = "/kiosk/feedback/product" if "product" in form else "/kiosk/feedback"
    answer = kiosk_client.post(url, data={"csrf_token": csrf, **form})
    assert answer.status_code == 422
    assert "Tik op een gezicht" in answer.get_data(as_text=True)
    db.rollback()
    assert db.scalars(select(FeedbackRating)).all() == []


def test_only_a_paired_kiosk_sees_the_screens(client, stop):
    assert client.get("/kiosk/feedback").status_code == 403


def test_another_language_on_the_product_screen_goes_back_to_the_faces(kiosk_client):
    csrf = csrf_token_in(kiosk_client.get("/kiosk/feedback").get_data(as_text=True))
    html = kiosk_client.post("/kiosk/feedback", data={"csrf_token": csrf, "rating": "3"}).get_data(
        as_text=True
    )
    assert re.search(r'href="/kiosk/feedback\?lang=en"', html)


# -- the research dashboard and export ------------------------------------------------------------


def test_the_dashboard_and_the_export_show_the_feedback_tables(app, db, clock, stop):
    feedback = FeedbackService(db, clock=clock)
    for _ in range(11):
        feedback.rate_at_kiosk(stop, "id-apply", 5)
    make_user(db, "cora", role="coordinator", password=PASSWORD)
    client = app.test_client()
    token = csrf_token_in(client.get("/login").text)
    client.post("/login", data={"username": "cora", "password": PASSWORD, "csrf_token": token})
    page = client.get("/admin/research?from=2026-06-02&to=2026-06-02").text
    for title in ("Weggegaan voor de beurt", "Hoe bent u geholpen?", "nog meer aanbieden"):
        assert title in page
    export = client.get("/admin/research/export.csv?from=2026-06-02&to=2026-06-02")
    rows = list(csv.reader(io.StringIO(export.data.decode("utf-8"))))
    rated = [r for r in rows if "Hoe bent u geholpen?" in r]
    assert rated, rows[:5]
    assert any("10" in r for r in rated)  # 11 very happy, published as 10


@pytest.mark.postgres
def test_tallies_and_phone_keys_on_postgresql(pg_url, clock):
    """The upserts are dialect-specific: the same tallies, and one ticket per join page's key,
    on PostgreSQL."""
    import threading

    from kiosk.database import make_engine, make_sessionmaker
    from kiosk.services.queue import QueueService

    engine = make_engine(pg_url)
    try:
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            stop = make_stop(session, now=clock.now)
            queue = QueueService(session, clock=clock)
            feedback = FeedbackService(session, clock=clock)
            for _ in range(3):
                feedback.rate(_done(queue, stop), 5)
            feedback.rate_at_kiosk(stop, "id-apply", 5)
            feedback.wish(_done(queue, stop), "driving-licence")
            assert _ratings(session) == [(stop.products[0].id, 5, 4)]
            stop_id = stop.id

        made: list[int] = []
        start = threading.Barrier(4)

        def tap() -> None:
            with sessions() as own:
                service = QueueService(own, clock=clock)
                start.wait()
                issued = service.issue_on_phone(service.stop(stop_id), "id-apply", key="p" * 22)
                made.append(issued.ticket.id)

        threads = [threading.Thread(target=tap) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(made) == 4 and len(set(made)) == 1
    finally:
        engine.dispose()
