"""The confirmation e-mail: sent through a real SMTP server on loopback (aiosmtpd) after the
booking's commit, with the code, time, place and an .ics attachment; a booking works without
e-mail, and with a mail server that is down."""

from __future__ import annotations

import email
import email.policy
import threading
from typing import Any

import icalendar
import pytest
from aiosmtpd.controller import Controller

from kiosk.services.appointments import AppointmentService
from tests.factories import make_product, make_stop
from tests.live import free_port


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.arrived:
            self.messages.append(message)  # type: ignore[arg-type]
            self.arrived.notify_all()
        return "250 OK"

    def wait(self, timeout: float = 10) -> email.message.EmailMessage:
        with self.arrived:
            assert self.arrived.wait_for(lambda: self.messages, timeout), "no e-mail arrived"
            return self.messages[0]


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


def slot_id(db, clock) -> int:
    make_product(db, "A", bookable=True)
    stop = make_stop(db, now=clock.now)
    return AppointmentService(db, clock=clock).open_slots(stop, stop.products[0])[-1].id


def test_the_confirmation_arrives_with_code_place_and_calendar(make_app, inbox, clock):
    handler, port = inbox
    app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_FROM="loket@hoorn.test")
    with app.extensions["loket.sessionmaker"]() as db:
        slot = slot_id(db, clock)
    client = app.test_client()
    booked = client.post(
        "/api/v1/appointments",
        json={"slot": slot, "product": "A", "name": "Anna", "email": "anna@example.org"},
    ).get_json()
    message = handler.wait()
    assert message["To"] == "anna@example.org" and message["From"] == "loket@hoorn.test"
    assert booked["code"] in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "Beste Anna," in text and "Bibliotheek Hoorn" in text and booked["url"] in text
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    (event,) = icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    assert booked["code"] in str(event["DESCRIPTION"])


def test_no_address_or_no_mail_server_still_books(make_app, clock, caplog):
    app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())  # nothing listens there
    with app.extensions["loket.sessionmaker"]() as db:
        slot = slot_id(db, clock)
    client = app.test_client()
    anonymous = client.post("/api/v1/appointments", json={"slot": slot, "product": "A"})
    assert anonymous.status_code == 201
    with caplog.at_level("WARNING"):
        response = client.post(
            "/api/v1/appointments",
            json={"slot": slot, "product": "A", "email": "anna@example.org"},
        )
        assert response.status_code == 201
        app.extensions["socketio"].sleep(0)
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and thread.name.startswith("Thread"):
                thread.join(10)
    assert "not sent" in caplog.text
