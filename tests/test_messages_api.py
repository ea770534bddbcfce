"""The doors of "almost your turn": the API (POST/DELETE/GET /api/v1/tickets/<token>/notify),
the status page's panel and its forms without script, the push worker; bad input is a JSON
error or a friendly line, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.models import Channel, TicketContact
from tests.factories import csrf_token_in
from tests.fake_notify import FakeNotify
from tests.test_messages import Queue, notify_config


@pytest.fixture
def notify():
    fake = FakeNotify.start()
    yield fake
    fake.close()


@pytest.fixture
def app(make_app, notify):
    return make_app(**notify_config(notify), NOTIFY_PUSH_ALLOW_HTTP=True)


@pytest.fixture
def desk(app, stop) -> Queue:
    return Queue(app, stop)


def contacts(db) -> list[TicketContact]:
    db.rollback()
    return list(db.scalars(select(TicketContact)))


def url(token: str) -> str:
    return f"/api/v1/tickets/{token}/notify"


# -- API ----------------------------------------------------------------------------------------


def test_subscribe_state_and_stop_through_the_api(client, desk, db):
    [token] = desk.issue(1)
    assert client.get(url(token)).get_json()["channels"] == []
    assert client.post(url(token), json={"phone": "06 12345678"}).status_code == 204
    assert client.post(url(token), json={"email": "anna@example.org"}).status_code == 204
    state = client.get(url(token)).get_json()
    assert state["channels"] == ["sms", "email"]
    assert state["offered"] == ["sms", "email", "push"]
    assert state["ahead"] == 2 and len(state["push_key"]) == 87
    assert client.delete(url(token), json={"channel": "sms"}).status_code == 204
    assert [c.channel for c in contacts(db)] == [Channel.EMAIL]
    assert client.delete(url(token)).status_code == 204
    assert contacts(db) == []
    assert client.delete(url(token)).status_code == 204  # again: harmless


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"phone": "12345"}, "invalid_address"),
        ({"email": "anna@"}, "invalid_address"),
        (
            {"push": {"endpoint": "https://x.example/1", "keys": {"p256dh": "x", "auth": "y"}}},
            "invalid_address",
        ),
        ({}, "invalid_request"),
        ({"phone": "0612345678", "email": "a@b.nl"}, "invalid_request"),
        ({"fax": "0229"}, "invalid_request"),
        ({"phone": "0612345678", "language": "xx"}, "invalid_request"),
        ({"phone": 612345678}, "invalid_request"),
        ({"push": "not a subscription"}, "invalid_request"),
    ],
)
def test_bad_input_is_a_422_json_error(client, desk, body, code):
    [token] = desk.issue(1)
    answer = client.post(url(token), json=body)
    assert answer.status_code == 422
    assert answer.get_json()["error"]["code"] == code


def test_not_json_is_a_json_error(client, desk):
    [token] = desk.issue(1)
    answer = client.post(url(token), data="phone=0612345678", content_type="text/plain")
    assert answer.status_code in (400, 415, 422)
    assert "error" in answer.get_json()


def test_an_unknown_ticket_is_404(client):
    answer = client.post(url("no-such-token"), json={"phone": "0612345678"})
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "unknown_ticket"


def test_an_ended_ticket_is_409(client, desk):
    [token] = desk.issue(1)
    desk.step(token, "cancel")
    answer = client.post(url(token), json={"phone": "0612345678"})
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "ticket_ended"


def test_without_notify_sms_and_email_are_409_and_not_offered(make_app, stop):
    app = make_app()
    desk = Queue(app, stop)
    [token] = desk.issue(1)
    client = app.test_client()
    for body in ({"phone": "0612345678"}, {"email": "anna@example.org"}):
        answer = client.post(url(token), json=body)
        assert answer.status_code == 409
        assert answer.get_json()["error"]["code"] == "channel_not_offered"
    assert client.get(url(token)).get_json()["offered"] == ["push"]


def test_subscribing_is_rate_limited_per_ticket(make_app, notify, stop):
    app = make_app(**notify_config(notify), RATELIMIT_NOTIFY="3/minute")
    [token, other] = Queue(app, stop).issue(2)
    client = app.test_client()
    answers = [client.post(url(token), json={"phone": "0612345678"}).status_code for _ in range(4)]
    assert answers == [204, 204, 204, 429]
    assert client.post(url(other), json={"phone": "0612345678"}).status_code == 204


def test_the_api_documents_the_notify_paths(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/api/v1/tickets/{token}/notify"]) >= {"get", "post", "delete"}


# -- the status page ----------------------------------------------------------------------------


def test_the_status_page_offers_phone_and_email_with_notify(client, desk):
    [token] = desk.issue(1)
    page = client.get(f"/t/{token}").text
    assert "Stuur mij een bericht als ik bijna aan de beurt ben" in page
    assert 'name="phone"' in page and 'name="email"' in page
    assert 'id="notify-push"' in page and "js/notify.js" in page


def test_the_status_page_offers_no_sms_or_email_without_notify(make_app, stop):
    app = make_app()
    [token] = Queue(app, stop).issue(1)
    page = app.test_client().get(f"/t/{token}").text
    assert 'name="phone"' not in page and 'name="email"' not in page
    assert 'id="notify-push"' in page  # push needs no account


def test_the_panel_is_gone_once_the_ticket_is_called(client, desk):
    [token] = desk.issue(1)
    desk.call()
    assert 'id="notify"' not in client.get(f"/t/{token}").text


def test_subscribe_without_script_and_stop_again(client, desk, db):
    [token] = desk.issue(3)[2:]
    page = client.get(f"/t/{token}").text
    csrf = csrf_token_in(page)
    answer = client.post(
        f"/t/{token}/notify", data={"csrf_token": csrf, "channel": "sms", "phone": "06 1234 5678"}
    )
    assert answer.status_code == 302 and answer.location.endswith(f"/t/{token}#notify")
    page = client.get(f"/t/{token}").text
    assert "Gelukt. U krijgt een bericht als u bijna aan de beurt bent." in page
    assert "U krijgt een sms." in page and 'name="phone"' not in page
    assert [c.address for c in contacts(db)] == ["+31612345678"]
    answer = client.post(f"/t/{token}/notify/stop", data={"csrf_token": csrf, "channel": "sms"})
    assert answer.status_code == 302
    assert "U krijgt geen berichten meer" in client.get(f"/t/{token}").text
    assert contacts(db) == []


@pytest.mark.parametrize(
    ("data", "line"),
    [
        ({"channel": "sms", "phone": "1234"}, "Dit is geen mobiel nummer"),
        ({"channel": "email", "email": "anna@"}, "Dit is geen e-mailadres"),
        ({"channel": "push", "phone": "x"}, "Dit is geen e-mailadres"),
        ({"channel": "fax", "phone": "0612345678"}, "Gelukt"),  # an unknown channel reads as SMS
    ],
)
def test_a_form_with_bad_input_comes_back_with_a_friendly_line(client, desk, data, line):
    [token] = desk.issue(1)
    csrf = csrf_token_in(client.get(f"/t/{token}").text)
    answer = client.post(f"/t/{token}/notify", data={"csrf_token": csrf, **data})
    assert answer.status_code == 302
    assert line in client.get(f"/t/{token}").text


def test_the_form_needs_its_csrf_token(client, desk, db):
    [token] = desk.issue(1)
    answer = client.post(f"/t/{token}/notify", data={"channel": "sms", "phone": "0612345678"})
    assert answer.status_code == 400
    assert contacts(db) == []


def test_a_form_for_an_ended_ticket_says_so(client, desk):
    [token] = desk.issue(1)
    csrf = csrf_token_in(client.get(f"/t/{token}").text)
    desk.step(token, "cancel")
    client.post(
        f"/t/{token}/notify", data={"csrf_token": csrf, "channel": "sms", "phone": "0612345678"}
    )
    assert "Dit nummer wacht niet meer in de rij" in client.get(f"/t/{token}").text


def test_the_push_worker_is_served_as_javascript(client):
    answer = client.get("/t/push/worker.js")
    assert answer.status_code == 200
    assert answer.mimetype == "text/javascript"
    assert 'addEventListener("push"' in answer.text
