"""A resident's contacts for "almost your turn", and the appointments' reminders."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, selectinload

from kiosk.models import (
    Appointment,
    AppointmentStatus,
    Channel,
    MessageKind,
    Slot,
    Stop,
    StopStatus,
    Ticket,
    TicketContact,
    TicketStatus,
)
from kiosk.services.base import SYSTEM, Actor, Clock, LocalService, Notifier, changed_rows, utc_now
from kiosk.services.errors import UnknownTicket
from kiosk.services.messages.addresses import (
    normalise_email,
    normalise_phone,
    normalise_subscription,
)
from kiosk.services.messages.errors import ChannelNotOffered, TicketEnded
from kiosk.services.messages.outbox import Outbox, add_message
from kiosk.services.queue.reading import QueueReads
from kiosk.services.queue.statements import LOCK_TICKET

# A stop that ended this long ago keeps nobody's contact, whatever its tickets' status says.
STALE_STOP = timedelta(hours=6)


class MessageService(LocalService):
    """Subscribe and unsubscribe a ticket's contacts; write the day-before reminders.

    `offered`: the channels this installation can send (SMS and e-mail only with NotifyNL
    configured, push only with VAPID keys). `allow_http_push`: accept plain-http push
    endpoints (tests on loopback only). `reminder_hour`: from this local hour on the day
    before, reminders are written.
    """

    def __init__(
        self,
        session: Session,
        notifier: Notifier | None = None,
        clock: Clock = utc_now,
        *,
        outbox: Outbox,
        offered: Iterable[Channel] = (),
        allow_http_push: bool = False,
        reminder_hour: int = 10,
        timezone: str = "Europe/Amsterdam",
    ) -> None:
        super().__init__(session, notifier, clock, timezone=timezone)
        self.outbox = outbox
        self.offered = frozenset(offered)
        self.allow_http_push = allow_http_push
        self.reminder_hour = reminder_hour

    # -- a ticket's contacts ------------------------------------------------------------------

    def normalise(self, channel: Channel, address: object) -> str:
        """The stored form of an address for this channel, or `InvalidAddress`."""
        if channel == Channel.SMS:
            return normalise_phone(str(address))
        if channel == Channel.EMAIL:
            return normalise_email(str(address))
        return normalise_subscription(address, allow_http=self.allow_http_push)

    def channels(self, ticket: Ticket) -> list[Channel]:
        """The channels this ticket has asked for, in a fixed order."""
        found = set(
            self.session.scalars(
                select(TicketContact.channel).where(TicketContact.ticket_id == ticket.id)
            )
        )
        self.end_read()
        return [channel for channel in Channel if channel in found]

    def subscribe(
        self,
        ticket: Ticket,
        channel: Channel,
        address: object,
        *,
        language: str = "nl",
        actor: Actor = SYSTEM,
    ) -> TicketContact:
        """Keep one address per channel for a waiting ticket (a second one replaces the first).

        Refused with `ChannelNotOffered`, `InvalidAddress` or `TicketEnded` (a ticket that no
        longer waits). With `ahead` or fewer people ahead already, the "almost" message is
        written at once.
        """
        if channel not in self.offered:
            raise ChannelNotOffered(channel=channel.value)
        stored = self.normalise(channel, address)
        now = self.now()
        self.begin_write()
        locked = self.session.scalars(LOCK_TICKET, {"ticket_id": ticket.id}).one_or_none()
        if locked is None:
            self.session.rollback()
            raise UnknownTicket()
        if locked.status != TicketStatus.WAITING:
            self.session.rollback()
            raise TicketEnded(status=locked.status.value)
        contact = self.session.scalar(
            select(TicketContact).where(
                TicketContact.ticket_id == locked.id, TicketContact.channel == channel
            )
        )
        if contact is None:
            contact = TicketContact(
                ticket_id=locked.id, channel=channel, address=stored, created_at=now
            )
            self.session.add(contact)
        contact.address = stored
        contact.language = language
        self.session.flush()
        if contact.almost_sent_at is None:
            place = QueueReads(self.session, clock=self.clock).position(locked)
            if place is not None and place.ahead <= self.outbox.ahead:
                self.outbox.send_almost(self.session, contact, locked, now)
        self.log(
            "message.subscribe",
            actor,
            object_type="ticket",
            object_id=locked.id,
            stop_id=locked.stop_id,
            channel=channel.value,
        )
        self.session.commit()
        return contact

    def unsubscribe(
        self, ticket: Ticket, channel: Channel | None = None, *, actor: Actor = SYSTEM
    ) -> int:
        """Forget the ticket's address for `channel` (every channel with None); how many.
        Asking again, or for a ticket that has ended, is harmless."""
        self.begin_write()
        query = delete(TicketContact).where(TicketContact.ticket_id == ticket.id)
        if channel is not None:
            query = query.where(TicketContact.channel == channel)
        removed = changed_rows(self.session.execute(query))
        self.log(
            "message.unsubscribe",
            actor,
            object_type="ticket",
            object_id=ticket.id,
            stop_id=ticket.stop_id,
            channel=channel.value if channel else "all",
            count=removed,
        )
        self.session.commit()
        return removed

    def forget_ended_contacts(self) -> int:
        """Delete the contacts of tickets that ended, or whose stop is over, by a way the
        queue's hook did not see (a closed stop's day, a change outside the service)."""
        now = self.now()
        over = select(Stop.id).where(
            or_(
                Stop.ends_at < now - STALE_STOP,
                (Stop.status == StopStatus.CLOSED) & (Stop.ends_at < now),
            )
        )
        ended = select(Ticket.id).where(
            or_(
                Ticket.status.in_(
                    (TicketStatus.DONE, TicketStatus.NO_SHOW, TicketStatus.CANCELLED)
                ),
                Ticket.stop_id.in_(over),
            )
        )
        stale = TicketContact.ticket_id.in_(ended)
        if self.session.scalar(select(TicketContact.id).where(stale).limit(1)) is None:
            self.end_read()  # nothing to do: no write lock taken
            return 0
        self.begin_write()
        removed = changed_rows(
            self.session.execute(
                delete(TicketContact).where(stale).execution_options(synchronize_session=False)
            )
        )
        self.session.commit()
        return removed

    # -- appointments ----------------------------------------------------------------------------

    def reminder_channel(self, appointment: Appointment) -> tuple[Channel, str] | None:
        """How an appointment's reminder goes: SMS to its phone, else e-mail; None without a
        contact (or without NotifyNL)."""
        if appointment.phone and Channel.SMS in self.offered:
            return Channel.SMS, appointment.phone
        if appointment.email and Channel.EMAIL in self.offered:
            return Channel.EMAIL, appointment.email
        return None

    def write_reminders(self, *, actor: Actor = SYSTEM) -> int:
        """From `reminder_hour` on the day before, one reminder per booked appointment of
        tomorrow with a phone or e-mail: each exactly once (`reminded_at`, set by a guarded
        update, so two processes never both write one). Returns how many were written."""
        now = self.now()
        local = self.local(now)
        if local.hour < self.reminder_hour or not self.offered & {Channel.SMS, Channel.EMAIL}:
            return 0
        tomorrow = local.date() + timedelta(days=1)
        start = datetime.combine(tomorrow, time(0), tzinfo=self.tz)
        end = datetime.combine(tomorrow + timedelta(days=1), time(0), tzinfo=self.tz)
        due = self.session.scalars(
            select(Appointment)
            .join(Slot, Slot.id == Appointment.slot_id)
            .where(
                Appointment.status == AppointmentStatus.BOOKED,
                Appointment.reminded_at.is_(None),
                Appointment.purged_at.is_(None),
                or_(Appointment.phone.is_not(None), Appointment.email.is_not(None)),
                Slot.starts_at >= start,
                Slot.starts_at < end,
            )
            .options(selectinload(Appointment.slot), selectinload(Appointment.stop))
        ).all()
        if not due:
            self.end_read()  # nearly every pass: no write lock taken
            return 0
        # The write lock now (which ends the read, keeping the loaded rows); the guarded
        # update below decides, row by row, who writes each reminder.
        self.begin_write()
        written = 0
        for appointment in due:
            how = self.reminder_channel(appointment)
            if how is None:
                continue
            claimed = self.session.execute(
                update(Appointment)
                .where(Appointment.id == appointment.id, Appointment.reminded_at.is_(None))
                .values(reminded_at=now)
                .execution_options(synchronize_session=False)
            )
            if changed_rows(claimed) != 1:
                continue
            channel, address = how
            text = self.outbox.texts.reminder(
                appointment.language,
                time=self.local(appointment.slot.starts_at).strftime("%H:%M"),
                place=appointment.stop.location.name,
                code=appointment.code,
            )
            add_message(
                self.session,
                channel=channel,
                kind=MessageKind.REMINDER,
                address=address,
                language=appointment.language,
                text=text,
                stop_id=appointment.stop_id,
                now=now,
            )
            written += 1
        if written:
            self.log("appointment.remind", actor, object_type="appointment", count=written)
        self.session.commit()
        return written
