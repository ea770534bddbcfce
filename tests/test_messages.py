""" "Almost your turn" and "you are called" by SMS and e-mail: through the real NotifyNL client
(notifications-python-client) and the real outbox sender, against a fake Notify API on loopback
that checks the client's signed token (tests/fake_notify.py).

A subscribed ticket gets exactly one "almost" and one "called" message, none after it is
cancelled; its contact is gone from the database when it ends; Notify down or answering 5xx is
tried again and then given up, 4xx at once, and the queue never waits for any of it."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest
from sqlalchemy import event, select

from kiosk.factories import message_service, queue_service
from kiosk.messaging import build_sender
from kiosk.models import (
    Channel,
    Event,
    OutboxMessage,
    Ticket,
    TicketContact,
    TicketStatus,
)
from kiosk.services.messages import (
    ChannelNotOffered,
    InvalidAddress,
    TicketEnded,
    normalise_email,
    normalise_phone,
)
from tests.factories import desk_named
from tests.fake_notify import FakeNotify

ROOT = Path(__file__).resolve().parent.parent
PHONE = "+31612345678"


@pytest.fixture
def notify():
    fake = FakeNotify.start()
    yield fake
    fake.close()


def notify_config(fake: FakeNotify, **extra: object) -> dict[str, object]:
    return {
        "NOTIFY_API_KEY": fake.api_key,
        "NOTIFY_BASE_URL": fake.base_url,
        "NOTIFY_SMS_TEMPLATE": "sms-template",
        "NOTIFY_EMAIL_TEMPLATE": "email-template",
        "NOTIFY_TIMEOUT_SECONDS": 2,
        "NOTIFY_MAX_ATTEMPTS": 3,
        "NOTIFY_RETRY_SECONDS": [5, 30],
        **extra,
    }


@pytest.fixture
def app(make_app, notify):
    return make_app(**notify_config(notify))


def rows(db, model) -> list:
    db.rollback()
    return list(db.scalars(select(model)))


class Queue:
    """The desk's clicks and the resident's subscription, each in its own app context."""

    def __init__(self, app, stop) -> None:
        self.app = app
        self.stop = stop
        self.sender = build_sender(app)

    def issue(self, n: int = 1, product: str = "A") -> list[str]:
        with self.app.app_context():
            queue = queue_service()
            stop = queue.stop(self.stop.id)
            return [queue.issue_ticket(stop, product).token for _ in range(n)]

    def subscribe(self, token: str, channel: Channel, address: object, language: str = "nl"):
        with self.app.app_context():
            ticket = queue_service().ticket(token)
            return message_service().subscribe(ticket, channel, address, language=language)

    def call(self, desk: str = "Balie 1") -> str:
        with self.app.app_context():
            queue = queue_service()
            return queue.call_next(queue.desk(desk_named(self.stop, desk).id)).token

    def step(self, token: str, name: str) -> None:
        with self.app.app_context():
            queue = queue_service()
            getattr(queue, name)(queue.ticket(token))

    def send(self):
        return self.sender.send_due()


@pytest.fixture
def desk(app, stop) -> Queue:
    return Queue(app, stop)


# -- addresses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("06 12345678", PHONE),
        ("06-1234 5678", PHONE),
        ("+31 6 12345678", PHONE),
        ("0031612345678", PHONE),
        ("+32 470 12 34 56", "+32470123456"),
    ],
)
def test_a_mobile_number_is_stored_in_e164(typed, stored):
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize(
    "typed", ["", "12345", "0229 252200", "+31 229 252200", "06 1234", "+0612345678", "bel mij"]
)
def test_what_is_not_a_mobile_number_is_refused(typed):
    with pytest.raises(InvalidAddress):
        normalise_phone(typed)


@pytest.mark.parametrize(
    "typed", ["", "anna", "anna@", "anna@example", "a b@example.org", "<a@b.nl>"]
)
def test_what_is_not_an_email_address_is_refused(typed):
    with pytest.raises(InvalidAddress):
        normalise_email(typed)


def test_an_email_address_keeps_its_local_part_and_lowers_its_domain():
    assert normalise_email("  Anna.de.Vries@Example.ORG ") == "Anna.de.Vries@example.org"


# -- exactly one "almost" and one "called" ----------------------------------------------------


def test_a_subscribed_ticket_gets_one_almost_and_one_called_message(desk, notify, db):
    tokens = desk.issue(4)
    desk.subscribe(tokens[3], Channel.SMS, "06 12345678")
    assert desk.send().claimed == 0  # three ahead: nothing yet

    desk.call()  # A001 called: two ahead of A004
    desk.send()
    [almost] = notify.wait_for(1)
    assert almost.channel == "sms" and almost.to == PHONE
    assert almost.template_id == "sms-template"
    assert almost.text.startswith("A004: u bent bijna aan de beurt")

    desk.step(tokens[0], "finish")
    desk.call()  # A002: one ahead, no second "almost"
    desk.step(tokens[1], "recall")
    desk.step(tokens[1], "finish")
    desk.call()  # A003
    desk.step(tokens[2], "finish")
    assert desk.send().claimed == 0

    assert desk.call() == tokens[3]
    desk.step(tokens[3], "recall")  # a recall sends no second "called"
    desk.send()
    assert [m.text for m in notify.wait_for(2)] == [almost.text, "A004: ga naar Balie 1"]
    assert desk.send().claimed == 0
    assert notify.refused == [] and len(notify.sent) == 2

    desk.step(tokens[3], "finish")
    assert rows(db, TicketContact) == []
    assert rows(db, OutboxMessage) == []


def test_an_email_gets_the_same_messages_through_the_email_template(desk, notify):
    tokens = desk.issue(2)
    desk.subscribe(tokens[1], Channel.EMAIL, "Anna@Example.org")
    desk.call()
    desk.send()
    desk.step(tokens[0], "finish")
    desk.call("Balie 2")
    desk.send()
    sent = notify.wait_for(2)
    assert {(m.channel, m.to, m.template_id) for m in sent} == {
        ("email", "Anna@example.org", "email-template")
    }
    assert sent[1].text == "A002: ga naar Balie 2"


def test_subscribing_with_few_people_ahead_sends_almost_at_once(desk, notify):
    [token] = desk.issue(1)
    desk.subscribe(token, Channel.SMS, PHONE)
    desk.send()
    assert notify.wait_for(1)[0].text.startswith("A001: u bent bijna")


def test_subscribing_again_replaces_the_number_and_sends_nothing_twice(desk, notify, db):
    [token] = desk.issue(1)
    desk.subscribe(token, Channel.SMS, PHONE)
    desk.subscribe(token, Channel.SMS, "0687654321")
    desk.send()
    assert [m.to for m in notify.wait_for(1)] == [PHONE]
    [contact] = rows(db, TicketContact)
    assert contact.address == "+31687654321"


def test_a_cancelled_ticket_gets_nothing_and_its_contact_is_gone(desk, notify, db):
    tokens = desk.issue(3)
    desk.subscribe(tokens[2], Channel.SMS, PHONE)
    desk.call()  # "almost" is written for A003 ...
    desk.step(tokens[2], "cancel")  # ... and goes with the ticket before the sender ran
    assert desk.send().claimed == 0
    desk.call("Balie 2")
    desk.send()
    assert notify.sent == [] and notify.requests == 0
    assert rows(db, TicketContact) == [] and rows(db, OutboxMessage) == []


def test_cancelling_one_of_two_tickets_on_one_number_keeps_the_others_message(desk, notify, db):
    """A parent with two tickets on one phone: leaving with one keeps the other's "almost"."""
    tokens = desk.issue(3)
    desk.subscribe(tokens[1], Channel.SMS, PHONE)
    desk.subscribe(tokens[2], Channel.SMS, PHONE)
    desk.call()  # both now have two or fewer ahead: two "almost" messages are written
    desk.step(tokens[2], "cancel")  # only A003's goes
    desk.send()
    [message] = notify.wait_for(1)
    assert message.text.startswith("A002")
    [contact] = rows(db, TicketContact)
    assert contact.ticket.token == tokens[1]


@pytest.mark.parametrize("end", ["finish", "no_show"])
def test_the_contact_is_erased_when_the_ticket_ends(desk, db, end):
    [token] = desk.issue(1)
    desk.subscribe(token, Channel.SMS, PHONE)
    desk.subscribe(token, Channel.EMAIL, "anna@example.org")
    desk.call()
    assert len(rows(db, TicketContact)) == 2
    desk.step(token, end)
    assert rows(db, TicketContact) == []
    addresses = " ".join(str(e.data) for e in rows(db, Event))
    assert "612345678" not in addresses and "anna@" not in addresses


def test_contacts_of_tickets_that_ended_elsewhere_are_swept(app, desk, db, clock):
    [token] = desk.issue(1)
    desk.subscribe(token, Channel.SMS, PHONE)
    db.rollback()
    ticket = db.scalar(select(Ticket).where(Ticket.token == token))
    ticket.status = TicketStatus.CANCELLED  # as a change outside the queue service would
    db.commit()
    with app.app_context():
        assert message_service().forget_ended_contacts() == 1
    assert rows(db, TicketContact) == []


def test_a_ticket_that_no_longer_waits_is_refused(desk):
    [token] = desk.issue(1)
    desk.call()
    with pytest.raises(TicketEnded):
        desk.subscribe(token, Channel.SMS, PHONE)


def test_without_notify_configured_sms_and_email_are_not_offered(make_app, stop):
    desk = Queue(make_app(), stop)
    [token] = desk.issue(1)
    for channel, address in ((Channel.SMS, PHONE), (Channel.EMAIL, "anna@example.org")):
        with pytest.raises(ChannelNotOffered):
            desk.subscribe(token, channel, address)


# -- what it costs a step when nobody asked for a message -------------------------------------


def contact_statements(app, step) -> list[str]:
    """The statements of `step` that read or write contacts or outbox messages."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, _parameters, _context, _many) -> None:
        if "ticket_contacts" in statement or "outbox_messages" in statement:
            seen.append(" ".join(statement.split()))

    engine = app.extensions["loket.engine"]
    event.listen(engine, "before_cursor_execute", note)
    try:
        step()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


def test_without_contacts_a_step_looks_once_and_writes_nothing(app, desk, db):
    desk.issue(2)
    tokens: list[str] = []

    called = contact_statements(app, lambda: tokens.append(desk.call()))
    finished = contact_statements(app, lambda: desk.step(tokens[0], "finish"))

    # One look for a contact (this ticket's, or a waiting one's at the stop) per step.
    assert [sql.split()[0] for sql in called + finished] == ["SELECT", "SELECT"], called + finished
    assert rows(db, OutboxMessage) == []


# -- failures ---------------------------------------------------------------------------------


def test_notify_answering_5xx_is_tried_again_then_succeeds(desk, notify, db, clock):
    [token] = desk.issue(1)
    notify.fail_with = [500, 503]
    desk.subscribe(token, Channel.SMS, PHONE)
    assert desk.send().retried == 1
    assert desk.send().claimed == 0  # not due yet: waits RETRY_SECONDS
    clock.advance(seconds=5)
    assert desk.send().retried == 1
    clock.advance(seconds=30)
    assert desk.send().sent == 1
    assert len(notify.wait_for(1)) == 1
    assert rows(db, OutboxMessage) == []


def test_notify_down_is_given_up_after_max_attempts_and_the_queue_goes_on(
    make_app, stop, db, clock
):
    fake = FakeNotify.start()
    fake.close()  # nobody listens at its address any more: connection refused
    desk = Queue(make_app(**notify_config(fake)), stop)
    tokens = desk.issue(2)
    desk.subscribe(tokens[1], Channel.SMS, PHONE)
    for wait in (5, 30, 30):
        report = desk.send()
        assert report.claimed == 1
        clock.advance(seconds=wait)
    assert report.given_up == 1
    assert rows(db, OutboxMessage) == []
    [given_up] = [e for e in rows(db, Event) if e.action == "message.given_up"]
    assert given_up.data["attempts"] == 3 and given_up.data["channel"] == "sms"
    assert PHONE not in str(given_up.data)
    # The queue never noticed.
    assert desk.call() == tokens[0]
    desk.step(tokens[0], "finish")
    assert desk.call("Balie 2") == tokens[1]


def test_a_4xx_from_notify_is_permanent(desk, notify, db):
    [token] = desk.issue(1)
    notify.fail_with = [400]
    desk.subscribe(token, Channel.SMS, PHONE)
    report = desk.send()
    assert (report.failed, report.retried) == (1, 0)
    assert rows(db, OutboxMessage) == []
    [failed] = [e for e in rows(db, Event) if e.action == "message.failed"]
    assert "400" in failed.data["reason"]


def test_a_wrong_api_key_is_refused_by_the_fake_and_not_retried(make_app, stop, notify, db):
    other = FakeNotify()  # a key for another service: its token does not verify
    desk = Queue(make_app(**notify_config(notify, NOTIFY_API_KEY=other.api_key)), stop)
    [token] = desk.issue(1)
    desk.subscribe(token, Channel.SMS, PHONE)
    assert desk.send().failed == 1
    assert notify.sent == [] and notify.refused


def test_two_senders_never_send_one_message_twice(make_app, stop, notify, db):
    app = make_app(**notify_config(notify))
    desk = Queue(app, stop)
    for token in desk.issue(6):
        desk.subscribe(token, Channel.SMS, PHONE)
    first, second = build_sender(app), build_sender(app)
    claimed_first = [m.id for m in first.claim(first.sessions())]
    claimed_second = [m.id for m in second.claim(second.sessions())]
    assert claimed_first and claimed_second == []


# -- the loop ---------------------------------------------------------------------------------


def test_the_sender_loop_sends_as_soon_as_it_is_woken(app, desk, notify):
    sender = build_sender(app)
    stop = threading.Event()
    loop = threading.Thread(target=sender.run_forever, args=(stop,), kwargs={"interval": 30})
    loop.start()
    try:
        [token] = desk.issue(1)
        desk.subscribe(token, Channel.SMS, PHONE)
        sender.wake()
        assert notify.wait_for(1)[0].to == PHONE
    finally:
        stop.set()
        sender.wake()
        loop.join(timeout=10)
    assert not loop.is_alive()


# -- research never sees any of it ----------------------------------------------------------


def _names_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    found |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    found |= {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    strings = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    return found | {s for s in strings if "contact" in s or "outbox" in s}


@pytest.mark.parametrize(
    "folder", [ROOT / "kiosk" / "services" / "research", ROOT / "kiosk" / "research"]
)
def test_research_never_reads_contacts_or_the_outbox(folder):
    forbidden = {"TicketContact", "OutboxMessage", "ticket_contacts", "outbox_messages"}
    modules = ("kiosk.services.messages", "kiosk.messaging", "kiosk.notify")
    for path in sorted(folder.rglob("*.py")):
        assert _names_in(path) & forbidden == set(), path
        imported = {
            node.module
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert not any(name.startswith(modules) for name in imported), path


def test_almost_reaches_each_product_queue_in_its_own_order(make_app, notify, db, clock):
    from tests.factories import make_stop

    # Two products at separate desks: each queue counts its own people ahead.
    stop = make_stop(db, now=clock.now, products="AH", desks={"Balie 1": "A", "Balie 2": "H"})
    desk = Queue(make_app(**notify_config(notify)), stop)
    a_tokens = desk.issue(5, "A")
    h_tokens = desk.issue(4, "H")
    for token in a_tokens + h_tokens:
        desk.subscribe(token, Channel.SMS, PHONE)
    # At once: the first three of each queue (0, 1 and 2 ahead).
    assert desk.send().sent == 6
    desk.call("Balie 1")  # A001 is called; A004 now has two ahead; H unchanged
    assert desk.send().sent == 2
    desk.call("Balie 2")
    assert desk.send().sent == 2
    sent = notify.wait_for(10)
    almost = sorted(m.text.split(":")[0] for m in sent if "bijna" in m.text)
    assert almost == ["A001", "A002", "A003", "A004", "H001", "H002", "H003", "H004"]
    assert sorted(m.text for m in sent if "ga naar" in m.text) == [
        "A001: ga naar Balie 1",
        "H001: ga naar Balie 2",
    ]


@pytest.mark.parametrize("key", ["short", "name-not-a-uuid-at-all", "x" * 80])
def test_an_api_key_of_the_wrong_shape_stops_the_sender_at_start(make_app, notify, key):
    # The client library loads on the first message; the key's shape is checked at start.
    app = make_app(**notify_config(notify, NOTIFY_API_KEY=key))
    with pytest.raises(ValueError, match="does not look like an API key"):
        build_sender(app)


def test_a_well_shaped_api_key_starts_the_sender(make_app, notify):
    assert build_sender(make_app(**notify_config(notify))).transports
