"""Web Push: the VAPID keys made once in the instance folder (0600), a push through `pywebpush`
to a local push service that checks the VAPID token and decrypts the payload with the
subscription's private key (tests/fake_push.py), and a subscription the service calls gone."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk.messaging import build_sender, vapid_keys
from kiosk.models import Event, OutboxMessage, TicketContact
from kiosk.notify import PushSender, SendFailed, VapidKeys
from kiosk.services.messages import InvalidAddress, normalise_subscription
from tests.fake_push import FakePush


@pytest.fixture
def push():
    fake = FakePush.start()
    yield fake
    fake.close()


@pytest.fixture
def app(make_app):
    return make_app(NOTIFY_PUSH_ALLOW_HTTP=True, VAPID_SUBJECT="mailto:loket@example.org")


def rows(db, model) -> list:
    db.rollback()
    return list(db.scalars(select(model)))


def test_the_vapid_keys_are_made_once_in_the_instance_folder_readable_only_by_us(app):
    keys = vapid_keys(app)
    path = Path(app.instance_path) / "vapid_private.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = VapidKeys.load_or_create(app.instance_path)
    assert again.application_server_key == keys.application_server_key
    assert len(keys.application_server_key) == 87  # 65 bytes, base64url without padding


def test_a_push_arrives_encrypted_with_a_valid_vapid_token(tmp_path, push):
    keys = VapidKeys.load_or_create(tmp_path)
    sender = PushSender(keys, subject="mailto:loket@example.org", timeout=5)
    sender.send(
        json.dumps(push.subscription()), {"title": "Loket", "body": "A001: ga naar Balie 1"}
    )
    [received] = push.wait_for(1)
    assert received.payload == {"title": "Loket", "body": "A001: ga naar Balie 1"}
    assert received.vapid_key == keys.application_server_key
    assert received.claims["sub"] == "mailto:loket@example.org"
    assert push.refused == []


@pytest.mark.parametrize(
    ("status", "retryable", "gone"),
    [
        (410, False, True),
        (404, False, True),
        (500, True, False),
        (429, True, False),
        (400, False, False),
    ],
)
def test_push_failures_are_classified(tmp_path, push, status, retryable, gone):
    push.status = status
    sender = PushSender(VapidKeys.load_or_create(tmp_path), subject="mailto:a@b.nl", timeout=5)
    with pytest.raises(SendFailed) as failed:
        sender.send(push.subscription(), {"body": "x"})
    assert (failed.value.retryable, failed.value.gone) == (retryable, gone)


def test_a_push_service_that_is_down_is_retryable(tmp_path, push):
    subscription = push.subscription()
    push.close()
    sender = PushSender(VapidKeys.load_or_create(tmp_path), subject="mailto:a@b.nl", timeout=2)
    with pytest.raises(SendFailed) as failed:
        sender.send(subscription, {"body": "x"})
    assert failed.value.retryable


def test_a_subscribed_browser_is_pushed_almost_and_called_in_its_language(
    app, client, stop, push, db
):
    from tests.test_messages import Queue

    desk = Queue(app, stop)
    tokens = desk.issue(3)
    answer = client.post(
        f"/api/v1/tickets/{tokens[2]}/notify",
        json={"push": push.subscription(), "language": "en"},
    )
    assert answer.status_code == 204, answer.get_json()
    desk.call()
    desk.send()
    desk.step(tokens[0], "finish")
    desk.call()
    desk.step(tokens[1], "finish")
    desk.call()
    desk.send()
    almost, called = push.wait_for(2)
    assert almost.payload["body"].startswith("A003: ")
    assert called.payload == {
        "title": "Pop-up office",  # the English catalogue's "Loket op locatie"
        "body": "A003: go to Balie 1",
        "tag": "loket-A003",
        "url": f"/t/{tokens[2]}",
    }
    assert push.refused == []


def test_a_gone_subscription_is_forgotten(app, client, stop, push, db):
    from tests.test_messages import Queue

    desk = Queue(app, stop)
    [token] = desk.issue(1)
    push.status = 410
    client.post(f"/api/v1/tickets/{token}/notify", json={"push": push.subscription()})
    assert len(rows(db, TicketContact)) == 1
    report = desk.send()  # "almost" at once (nobody ahead): the service says gone
    assert report.failed == 1
    assert rows(db, TicketContact) == [] and rows(db, OutboxMessage) == []
    [failed] = [e for e in rows(db, Event) if e.action == "message.failed"]
    assert failed.data["reason"] == "push 410" and push.origin not in str(failed.data)


@pytest.mark.parametrize(
    "subscription",
    [
        None,
        "https://push.example/abc",
        {"endpoint": "https://push.example/abc"},
        {"endpoint": "ftp://push.example/abc", "keys": {"p256dh": "A" * 87, "auth": "A" * 22}},
        {
            "endpoint": "https://user:pw@push.example/",
            "keys": {"p256dh": "A" * 87, "auth": "A" * 22},
        },
        {"endpoint": "https://push.example/abc", "keys": {"p256dh": "short", "auth": "A" * 22}},
        {"endpoint": "https://push.example/abc", "keys": {"p256dh": "A" * 87, "auth": "!!"}},
    ],
)
def test_a_bad_subscription_is_refused(subscription):
    with pytest.raises(InvalidAddress):
        normalise_subscription(subscription)


def test_only_https_endpoints_unless_allowed_for_tests(push):
    subscription = push.subscription()  # http://127.0.0.1:port/...
    with pytest.raises(InvalidAddress):
        normalise_subscription(subscription)
    assert (
        json.loads(normalise_subscription(subscription, allow_http=True))["endpoint"]
        == (subscription["endpoint"])
    )


def test_the_sender_has_a_push_transport_without_notify(app):
    sender = build_sender(app)
    assert set(sender.transports) == {"push"}
