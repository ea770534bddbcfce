"""The transactional outbox: messages are written in the transaction that causes them.

`Outbox.queue_changed` is called by `QueueService` for every step of a ticket, before its
commit (``QueueService._announce``), with the same session. So a message exists exactly when
the step happened: a rolled-back call sends nothing, and a committed one is sent even if the
server stops right after (the sender finds the row when it starts again).

- the ticket ended (done, no-show, cancelled): its contacts are deleted, and its "almost"
  messages that were not sent yet with them;
- the ticket was called (``ticket_called``; a recall is ``ticket_recalled``): one "called"
  message per contact, once (``called_sent_at``);
- the queue at the stop moved: each waiting ticket with a contact that has `ahead` or fewer
  people ahead gets one "almost" message per contact, once (``almost_sent_at``).

Taking a number moves nobody forward, so ``ticket_issued`` checks nothing (the kiosk's hot path
stays as it was).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import and_, bindparam, delete, or_, select
from sqlalchemy.orm import Session

from kiosk.models import (
    Channel,
    MessageKind,
    OutboxMessage,
    Ticket,
    TicketContact,
    TicketStatus,
)
from kiosk.payloads import Position
from kiosk.services.messages.texts import MessageTexts

ENDED = (TicketStatus.DONE, TicketStatus.NO_SHOW, TicketStatus.CANCELLED)
CALLED_EVENT = "ticket_called"
# Events after which nobody waiting can have come closer to the front (only waiting tickets
# count as ahead).
NOBODY_MOVED = frozenset(
    {"ticket_issued", "ticket_recalled", "ticket_started", "ticket_finished", "ticket_no_show"}
)


_CONTACT = TicketContact.__table__.c
_TICKET = Ticket.__table__.c
# A contact of this ticket, or of a ticket waiting at the stop: one row is enough.
ANYONE_TO_TELL = (
    select(_CONTACT.id)
    .join(Ticket.__table__, _TICKET.id == _CONTACT.ticket_id)
    .where(
        or_(
            _CONTACT.ticket_id == bindparam("ticket_id"),
            and_(_TICKET.stop_id == bindparam("stop_id"), _TICKET.status == TicketStatus.WAITING),
        )
    )
    .limit(1)
)


def _anyone_to_tell(session: Session, ticket: Ticket) -> bool:
    """Whether a contact may need a message after this ticket's step: a plain Core read in
    the step's transaction (its changes flushed first), without the ORM's per-statement work."""
    session.flush()
    params = {"ticket_id": ticket.id, "stop_id": ticket.stop_id}
    return session.connection().execute(ANYONE_TO_TELL, params).first() is not None


def ticket_path(token: str) -> str:
    """The status page a push notification opens (relative: the browser knows the origin)."""
    return f"/t/{token}"


class Outbox:
    """Writes messages into the caller's transaction; see the module docstring."""

    def __init__(self, texts: MessageTexts | None = None, *, ahead: int = 2) -> None:
        self.texts = texts or MessageTexts()
        self.ahead = ahead

    # -- the queue's hook ---------------------------------------------------------------------

    def queue_changed(
        self,
        session: Session,
        ticket: Ticket,
        event: str,
        now: datetime,
        position: Callable[[Ticket], Position | None],
    ) -> None:
        """Called by the queue with each step's ticket and event name, before the commit.

        Most residents ask for no message: one cheap look for a contact (this ticket's, or a
        waiting one's at the stop) comes first, and without one the step adds nothing more.
        """
        ended = ticket.status in ENDED
        called = not ended and event == CALLED_EVENT
        moved = event not in NOBODY_MOVED
        if not (ended or called or moved) or not _anyone_to_tell(session, ticket):
            return
        if ended:
            self.forget(session, ticket)
        elif called:
            self._called(session, ticket, now)
        if moved:
            self._almost(session, ticket.stop_id, now, position)

    def forget(self, session: Session, ticket: Ticket) -> None:
        """Delete the ticket's contacts, and the "almost" messages for them not sent yet."""
        contacts = session.scalars(
            select(TicketContact).where(TicketContact.ticket_id == ticket.id)
        ).all()
        if not contacts:
            return
        session.execute(
            delete(OutboxMessage)
            .where(
                OutboxMessage.kind == MessageKind.ALMOST,
                OutboxMessage.ticket_id == ticket.id,
            )
            .execution_options(synchronize_session=False)
        )
        for contact in contacts:
            session.delete(contact)
        session.flush()

    def _called(self, session: Session, ticket: Ticket, now: datetime) -> None:
        contacts = session.scalars(
            select(TicketContact).where(
                TicketContact.ticket_id == ticket.id, TicketContact.called_sent_at.is_(None)
            )
        ).all()
        desk = ticket.desk.name if ticket.desk is not None else ""
        for contact in contacts:
            text = self.texts.called(contact.language, ticket.label, desk)
            self.enqueue(session, contact, MessageKind.CALLED, text, ticket, now)
            contact.called_sent_at = now
            # Called before "almost" went out: "almost" would only confuse now.
            if contact.almost_sent_at is None:
                contact.almost_sent_at = now

    def _almost(
        self,
        session: Session,
        stop_id: int,
        now: datetime,
        position: Callable[[Ticket], Position | None],
    ) -> None:
        rows = session.execute(
            select(TicketContact, Ticket)
            .join(Ticket, Ticket.id == TicketContact.ticket_id)
            .where(
                Ticket.stop_id == stop_id,
                Ticket.status == TicketStatus.WAITING,
                TicketContact.almost_sent_at.is_(None),
            )
        ).all()
        if not rows:
            return
        # Within one product, the queue's order (due appointments, priority, then arrival) is
        # also the order of the places: once one ticket has too many ahead, so do those after
        # it. So each step reads the place of a few tickets per product, not of all of them.
        by_product: dict[int, dict[Ticket, list[TicketContact]]] = {}
        for contact, waiting in rows:
            by_product.setdefault(waiting.product_id, {}).setdefault(waiting, []).append(contact)

        def order(ticket: Ticket) -> tuple[int, int, datetime, int]:
            due = ticket.due_at is not None and ticket.due_at <= now
            return (0 if due else 1, -ticket.priority, ticket.due_at or ticket.issued_at, ticket.id)

        for tickets in by_product.values():
            for waiting in sorted(tickets, key=order):
                place = position(waiting)
                if place is None or place.ahead > self.ahead:
                    break
                for contact in tickets[waiting]:
                    self.send_almost(session, contact, waiting, now)

    def send_almost(
        self, session: Session, contact: TicketContact, ticket: Ticket, now: datetime
    ) -> None:
        """Write the contact's one "almost your turn" message."""
        text = self.texts.almost(contact.language, ticket.label)
        self.enqueue(session, contact, MessageKind.ALMOST, text, ticket, now)
        contact.almost_sent_at = now

    # -- writing a message --------------------------------------------------------------------

    def enqueue(
        self,
        session: Session,
        contact: TicketContact,
        kind: MessageKind,
        text: str,
        ticket: Ticket,
        now: datetime,
    ) -> OutboxMessage:
        """One outbox row for this contact. A push message carries its title, text and the
        status page to open, as JSON; SMS and e-mail carry the text."""
        body = text
        if contact.channel == Channel.PUSH:
            body = json.dumps(
                {
                    "title": self.texts.title(contact.language),
                    "body": text,
                    "tag": f"loket-{ticket.label}",
                    "url": ticket_path(ticket.token),
                },
                ensure_ascii=False,
            )
        return add_message(
            session,
            channel=contact.channel,
            kind=kind,
            address=contact.address,
            language=contact.language,
            text=body,
            stop_id=ticket.stop_id,
            ticket_id=ticket.id,
            now=now,
        )


def add_message(
    session: Session,
    *,
    channel: Channel,
    kind: MessageKind,
    address: str,
    language: str,
    text: str,
    stop_id: int | None,
    now: datetime,
    ticket_id: int | None = None,
) -> OutboxMessage:
    """Add one message to send as soon as the sender gets to it."""
    message = OutboxMessage(
        channel=channel,
        kind=kind,
        address=address,
        language=language,
        text=text[:1000],
        stop_id=stop_id,
        ticket_id=ticket_id,
        created_at=now,
        attempts=0,
        next_attempt_at=now,
    )
    session.add(message)
    return message
