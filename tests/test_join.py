"""Joining the queue from a phone (/join/<code>): the board's code, the kiosk's rules, one ticket
per tap, a phone that already waits, the per-stop switch and the rate limit."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kiosk.models import Event, Source, StopStatus, Ticket
from kiosk.services.join import PERIOD, join_code
from kiosk.services.queue import QueueService
from tests.factories import csrf_token_in, make_product, make_stop

SECRET = b"test-secret"  # TEST_CONFIG's SECRET_KEY


def _code(stop, clock, **delta: float) -> str:
    return join_code(SECRET, stop.id, clock.now + timedelta(**delta))


def _page(client, code: str):
    response = client.get(f"/join/{code}")
    html = response.get_data(as_text=True)
    return response, html


def _form(html: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_token_in(html),
        "pass": re.search(r'name="pass" value="([^"]+)"', html).group(1),
    }


def _join(client, code: str, product: str = "id-apply"):
    response, html = _page(client, code)
    assert response.status_code == 200, html
    return client.post(f"/join/{code}", data={**_form(html), "product": product})


def _tickets(db) -> list[Ticket]:
    db.rollback()
    return list(db.scalars(select(Ticket).order_by(Ticket.id)))


def test_join_shows_the_walk_in_products_and_gives_a_ticket_without_a_slip(client, db, stop, clock):
    response, html = _page(client, _code(stop, clock))
    assert response.status_code == 200
    for product in stop.products:
        if product.walk_in and not product.appointment_required:
            assert f'value="{product.code}"' in html
    answer = _join(client, _code(stop, clock), stop.products[0].code)
    assert answer.status_code == 303
    (ticket,) = _tickets(db)
    assert answer.headers["Location"].endswith(f"/t/{ticket.token}")
    assert ticket.source is Source.WALK_IN
    assert ticket.stop_id == stop.id
    # No slip: no print job; the event log says the phone asked.
    from kiosk.models import PrintJob

    assert db.scalar(select(func.count()).select_from(PrintJob)) == 0
    event = db.scalar(select(Event).where(Event.action == "ticket.issue"))
    assert (event.actor_type, event.origin, event.result) == ("public", "phone", "ok")
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert ticket.label in page and "Ik ga weg" in page


def test_a_code_from_the_previous_minute_works(client, db, stop, clock):
    answer = _join(client, _code(stop, clock, seconds=-PERIOD))
    assert answer.status_code == 303
    assert len(_tickets(db)) == 1


@pytest.mark.parametrize("minutes", [-2, -5, -60])
def test_an_expired_code_is_refused(client, db, stop, clock, minutes):
    response, html = _page(client, _code(stop, clock, minutes=minutes))
    assert response.status_code == 410
    assert "Deze code is verlopen. Scan de code op het scherm opnieuw." in html
    assert _tickets(db) == []


@pytest.mark.parametrize(
    "code",
    [
        "1-aaaaaaaaaaaaaaaa",  # well formed, wrong signature
        "abc",
        "1-" + "a" * 200,
        "99999999999-aaaaaaaaaaaaaaaa",
        "%00",
    ],
)
def test_a_forged_or_malformed_code_is_refused(client, db, stop, code):
    response, html = _page(client, code)
    assert response.status_code == 410
    assert "Scan de code op het scherm opnieuw" in html


def test_a_code_signed_with_another_secret_is_refused(client, stop, clock):
    response, _ = _page(client, join_code(b"another-secret", stop.id, clock.now))
    assert response.status_code == 410


def test_a_code_for_a_stop_that_does_not_exist_is_refused(client, clock):
    response, _ = _page(client, join_code(SECRET, 4242, clock.now))
    assert response.status_code == 410


def test_a_pass_that_was_tampered_with_is_refused(client, db, stop, clock):
    code = _code(stop, clock)
    _, html = _page(client, code)
    form = _form(html)
    form["pass"] = form["pass"][:-2] + ("AA" if not form["pass"].endswith("AA") else "BB")
    answer = client.post(f"/join/{code}", data={**form, "product": "id-apply"})
    assert answer.status_code == 410
    assert _tickets(db) == []


def test_the_product_page_stays_valid_after_the_code_has_expired(client, db, stop, clock):
    """A resident who takes three minutes to choose is not refused: the page's pass counts."""
    code = _code(stop, clock)
    _, html = _page(client, code)
    clock.advance(minutes=3)
    answer = client.post(f"/join/{code}", data={**_form(html), "product": "id-apply"})
    assert answer.status_code == 303
    clock.advance(minutes=20)  # but not for ever
    _, html2 = _page(client, _code(stop, clock, minutes=-20))
    assert "verlopen" in html2


def test_a_closed_stop_refuses(client, db, clock):
    stop = make_stop(db, now=clock.now, status=StopStatus.CLOSED)
    response, html = _page(client, _code(stop, clock))
    assert response.status_code == 409
    assert "gesloten" in html
    assert _tickets(db) == []


def test_a_stop_that_closes_while_the_page_is_open_refuses_the_tap(client, db, stop, clock):
    code = _code(stop, clock)
    _, html = _page(client, code)
    stop.status = StopStatus.CLOSED
    db.commit()
    answer = client.post(f"/join/{code}", data={**_form(html), "product": "id-apply"})
    assert answer.status_code == 409
    assert "gesloten" in answer.get_data(as_text=True)
    assert _tickets(db) == []


def test_phone_join_switched_off_refuses(client, db, stop, clock):
    stop.phone_join = False
    db.commit()
    response, html = _page(client, _code(stop, clock))
    assert response.status_code == 403
    assert "kiosk" in html
    assert _tickets(db) == []


def test_a_product_not_offered_here_is_refused(client, db, clock):
    make_product(db, "X")
    stop = make_stop(db, now=clock.now, products="AH", desks={"Balie 1": "AH"})
    answer = _join(client, _code(stop, clock), "product-x")
    assert answer.status_code == 409
    assert "niet regelen" in answer.get_data(as_text=True)
    assert _tickets(db) == []


def test_a_product_by_appointment_only_is_not_offered_nor_taken(client, db, clock):
    make_product(db, "R", appointment_required=True)
    stop = make_stop(db, now=clock.now)
    _, html = _page(client, _code(stop, clock))
    r_code = next(p.code for p in stop.products if p.prefix == "R")
    assert f'value="{r_code}"' not in html
    answer = _join(client, _code(stop, clock), r_code)
    assert answer.status_code == 409
    assert _tickets(db) == []


def test_a_double_tap_gives_one_ticket(client, db, stop, clock):
    code = _code(stop, clock)
    _, html = _page(client, code)
    form = {**_form(html), "product": "id-apply"}
    client.delete_cookie("loket_joined", path="/join")
    first = client.post(f"/join/{code}", data=form)
    client.delete_cookie("loket_joined", path="/join")  # the second tap left before the cookie came
    second = client.post(f"/join/{code}", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(_tickets(db)) == 1


def test_two_taps_racing_give_one_ticket(app, db, stop, clock):
    """Both taps arrive together: the page's key is stored with the ticket, once."""
    client = app.test_client()
    code = _code(stop, clock)
    _, html = _page(client, code)
    form = {**_form(html), "product": "id-apply"}
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    start = threading.Barrier(4)
    answers: list[str] = []

    def tap() -> None:
        other = app.test_client()
        other.set_cookie(cookie.key, cookie.value)
        start.wait()
        answer = other.post(f"/join/{code}", data=form)
        answers.append(f"{answer.status_code} {answer.headers.get('Location')}")

    threads = [threading.Thread(target=tap) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answers) == 4 and len(set(answers)) == 1, answers
    assert answers[0].startswith("303")
    assert len(_tickets(db)) == 1


def test_issue_on_phone_replays_the_key_in_the_service(session, clock):
    stop = make_stop(session, now=clock.now)
    queue = QueueService(session, clock=clock)
    first = queue.issue_on_phone(stop, "id-apply", key="k" * 22)
    again = queue.issue_on_phone(stop, "id-apply", key="k" * 22)
    other = queue.issue_on_phone(stop, "id-apply", key="j" * 22)
    assert not first.replayed and again.replayed and not other.replayed
    assert again.ticket.id == first.ticket.id != other.ticket.id
    assert again.position is not None


def test_a_phone_that_waits_is_shown_its_ticket_instead_of_a_second(client, db, stop, clock):
    first = _join(client, _code(stop, clock))
    assert first.status_code == 303
    # Scanning the board again (a new page, a new key): the same ticket, not a second one.
    response, _ = _page(client, _code(stop, clock, seconds=30))
    assert response.status_code == 303
    assert response.headers["Location"] == first.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "U heeft al een nummer" in page
    assert len(_tickets(db)) == 1


def test_after_leaving_the_phone_may_join_again(client, db, stop, clock):
    first = _join(client, _code(stop, clock))
    token = first.headers["Location"].rsplit("/", 1)[1]
    assert client.post(f"/api/v1/tickets/{token}/leave").status_code == 200
    second = _join(client, _code(stop, clock))
    assert second.status_code == 303 and second.headers["Location"] != first.headers["Location"]
    assert len(_tickets(db)) == 2


def test_a_forged_cookie_is_ignored(client, db, stop, clock):
    client.set_cookie("loket_joined", "forged.value", path="/join")
    assert _join(client, _code(stop, clock)).status_code == 303


def test_tickets_from_one_address_are_limited(make_app, db_url, clock):
    app = make_app(RATELIMIT_JOIN="2 per 10 minutes")
    with app.extensions["loket.sessionmaker"]() as db:
        stop = make_stop(db, now=clock.now)
        made = []
        for _ in range(3):
            client = app.test_client()  # a new phone each time, behind the same address
            made.append(_join(client, _code(stop, clock)).status_code)
        assert made == [303, 303, 429]
        # Looking costs nothing: the product page still opens.
        assert _page(app.test_client(), _code(stop, clock))[0].status_code == 200
        db.rollback()
        assert db.scalar(select(func.count()).select_from(Ticket)) == 2


def test_refusals_do_not_count_against_the_limit(make_app, clock):
    app = make_app(RATELIMIT_JOIN="1 per 10 minutes")
    with app.extensions["loket.sessionmaker"]() as db:
        stop = make_stop(db, now=clock.now)
        for _ in range(3):
            assert _join(app.test_client(), _code(stop, clock), "nothing").status_code == 409
        assert _join(app.test_client(), _code(stop, clock)).status_code == 303


def test_the_page_speaks_the_residents_language(client, stop, clock):
    response, html = _page(client, _code(stop, clock) + "?lang=ar")
    assert response.status_code == 200
    assert 'lang="ar"' in html and 'dir="rtl"' in html
    _, english = _page(client, _code(stop, clock) + "?lang=en")
    assert 'lang="en"' in english


def test_the_api_switches_phone_join_per_stop(client, db, stop, clock, accounts):
    from tests.factories import make_user

    _user, password = make_user(db, "joost", "staff")
    token = client.post(
        "/api/v1/auth/token", json={"username": "joost", "password": password}
    ).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    answer = client.patch(f"/api/v1/stops/{stop.id}", json={"phone_join": False}, headers=headers)
    assert answer.status_code == 200 and answer.get_json()["phone_join"] is False
    assert _page(client, _code(stop, clock))[0].status_code == 403
    assert (
        client.patch(
            f"/api/v1/stops/{stop.id}", json={"phone_join": "x"}, headers=headers
        ).status_code
        == 422
    )
    assert client.patch(f"/api/v1/stops/{stop.id}", json={}, headers=headers).status_code == 422
    assert client.patch(f"/api/v1/stops/{stop.id}", json={"phone_join": True}).status_code == 401
    assert (
        client.patch(
            f"/api/v1/stops/{stop.id}", json={"phone_join": True}, headers=headers
        ).get_json()["phone_join"]
        is True
    )
    db.rollback()
    assert (
        db.scalar(select(func.count()).select_from(Event).where(Event.action == "stop.phone_join"))
        == 2
    )


def test_switching_phone_join_tells_the_stops_boards_at_once(app, client, stop):
    """The board shows or hides its QR code on `stop_updated`, not a minute later."""
    from kiosk.factories import join_service

    board = app.extensions["socketio"].test_client(
        app, namespace="/board", auth={"stop": stop.id}, flask_test_client=client
    )
    board.get_received("/board")
    with app.app_context():
        join_service().set_phone_join(stop, False)
    heard = [m for m in board.get_received("/board") if m["name"] == "stop_updated"]
    assert [m["args"][0]["phone_join"] for m in heard] == [False]
    board.disconnect(namespace="/board")
