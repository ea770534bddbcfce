"""An appointment's reminder the day before: one per appointment with a phone (SMS) or else an
e-mail address, from NOTIFY_REMINDER_HOUR local time, in the appointment's language; none for
a cancelled appointment or one without contact, none twice, none without NotifyNL. Sent by the
real client to the fake Notify API. The phone is erased with the name and e-mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from kiosk.factories import message_service
from kiosk.housekeeping import Housekeeping
from kiosk.messaging import build_sender
from kiosk.models import Appointment, OutboxMessage, Slot, StopStatus
from kiosk.services.appointments import AppointmentService
from kiosk.services.messages import InvalidAddress
from tests.factories import make_product, make_stop
from tests.fake_notify import FakeNotify
from tests.test_messages import notify_config


@pytest.fixture
def notify():
    fake = FakeNotify.start()
    yield fake
    fake.close()


@pytest.fixture
def app(make_app, notify):
    return make_app(**notify_config(notify))


@pytest.fixture
def appointments(db, clock) -> AppointmentService:
    return AppointmentService(db, clock=clock)


@pytest.fixture
def slots(db, clock, appointments) -> list[Slot]:
    """Free times tomorrow (3 June, from 11:00 local) at a care home."""
    product = make_product(db, "A", bookable=True)
    stop = make_stop(
        db,
        now=clock.now + timedelta(days=1),
        products="A",
        status=StopStatus.PLANNED,
        location="Zorgcentrum De Dijk",
    )
    appointments.open_slots(stop, product)
    db.commit()
    return list(db.scalars(select(Slot).where(Slot.stop_id == stop.id).order_by(Slot.starts_at)))


def remind(app, clock) -> int:
    with app.app_context():
        service = message_service()
        service.clock = clock
        return service.write_reminders()


def outbox(db) -> list[OutboxMessage]:
    db.rollback()
    return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_one_reminder_per_appointment_by_sms_else_email(
    app, db, clock, slots, appointments, notify
):
    by_phone = appointments.book(slots[0].id, phone="06 12345678", email="a@example.org")
    by_mail = appointments.book(slots[1].id, email="b@example.org", language="en")
    appointments.book(slots[2].id)  # no contact: no reminder
    cancelled = appointments.book(slots[3].id, phone="0611111111")
    appointments.cancel(cancelled.token)
    assert by_phone.phone == "+31612345678"

    assert remind(app, clock) == 2
    assert remind(app, clock) == 0  # exactly once
    assert [(m.channel, m.address, m.language) for m in outbox(db)] == [
        ("sms", "+31612345678", "nl"),
        ("email", "b@example.org", "en"),
    ]
    build_sender(app).send_due()
    sms, mail = notify.wait_for(2)
    assert sms.text.startswith("Herinnering: morgen om 11:00 heeft u een afspraak bij Zorgcentrum")
    assert by_phone.code in sms.text
    assert mail.channel == "email" and by_mail.code in mail.text
    db.rollback()
    assert db.get(Appointment, by_phone.id, populate_existing=True).reminded_at == clock.now


def test_no_reminder_before_the_reminder_hour(app, db, clock, slots, appointments):
    appointments.book(slots[0].id, phone="0612345678")
    clock.now = datetime(2026, 6, 2, 7, 59, tzinfo=UTC)  # 09:59 in Hoorn
    assert remind(app, clock) == 0
    clock.now = datetime(2026, 6, 2, 8, 0, tzinfo=UTC)
    assert remind(app, clock) == 1


def test_no_reminder_for_an_appointment_further_away(app, db, clock, slots, appointments):
    appointments.book(slots[0].id, phone="0612345678")
    clock.now -= timedelta(days=1)
    assert remind(app, clock) == 0


def test_without_notify_no_reminder_and_none_marked(make_app, db, clock, slots, appointments):
    booked = appointments.book(slots[0].id, phone="0612345678", email="a@example.org")
    assert remind(make_app(), clock) == 0
    db.rollback()
    assert db.get(Appointment, booked.id, populate_existing=True).reminded_at is None


def test_housekeeping_writes_the_reminders(app, db, clock, slots, appointments):
    appointments.book(slots[0].id, phone="0612345678")
    result = Housekeeping(app).run_once()
    assert result.reminders == 1 and result.errors == ()
    assert Housekeeping(app).run_once().reminders == 0


def test_a_wrong_phone_is_refused_and_takes_no_place(db, slots, appointments):
    with pytest.raises(InvalidAddress):
        appointments.book(slots[0].id, phone="0229 123456")
    db.rollback()
    assert db.get(Slot, slots[0].id).booked == 0


def test_the_phone_is_erased_with_name_and_email(db, clock, slots, appointments):
    booked = appointments.book(slots[0].id, name="Anna", phone="0612345678")
    clock.advance(days=40)
    assert appointments.purge_contact_data(30) == 1
    db.rollback()
    erased = db.get(Appointment, booked.id, populate_existing=True)
    assert (erased.name, erased.email, erased.phone) == (None, None, None)


# -- the booking form ------------------------------------------------------------------------


def test_the_booking_form_asks_for_a_phone_only_with_sms(make_app, app, db, slots):
    from tests.test_booking_pages import details_url

    url = details_url(slots[0].stop, slots[0])
    assert 'name="phone"' in app.test_client().get(url).text
    assert 'name="phone"' not in make_app().test_client().get(url).text


def test_the_booking_form_keeps_a_phone_and_refuses_a_wrong_one(app, db, slots):
    from tests.test_booking_pages import appointments as booked
    from tests.test_booking_pages import details_url, post_details

    client = app.test_client()
    url = details_url(slots[0].stop, slots[0])
    wrong = post_details(client, url, phone="12345")
    assert wrong.status_code == 422
    assert "Dit is geen mobiel nummer" in wrong.text and 'aria-invalid="true"' in wrong.text
    assert booked(db) == []
    right = post_details(client, url, phone="06 1234 5678")
    assert right.status_code == 302
    assert [a.phone for a in booked(db)] == ["+31612345678"]
