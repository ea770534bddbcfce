"""The queue's steps: issue numbers, call them to desks, and follow each ticket to its end.

`QueueService` is what kiosk/factories.py builds for every door; it reads as `QueueReads` does
(reading.py) and adds the use cases that change a ticket. Each is one transaction: re-read
what it changes under a lock (statements.py), change it, log the event, commit, then publish.

    issue_ticket[_with_position], issue_for_appointment    -> _issue, _next_number
    call_next                                              -> _next_for, _walk_in_turn
    recall, start, finish, no_show, cancel, transfer       -> _step (ALLOWED_FROM)
    count_expirable_links, expire_links                    the status pages' retention
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Unpack

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from kiosk.models import Desk, Source, Stop, Ticket, TicketStatus
from kiosk.payloads import ticket_public_payload, ticket_status_payload
from kiosk.services.base import (
    SYSTEM,
    Actor,
    Clock,
    Notifier,
    Pending,
    changed_rows,
    utc_now,
)
from kiosk.services.errors import (
    AppointmentRequired,
    DeskBusy,
    DomainError,
    InvalidTransition,
    QueueEmpty,
    StopClosed,
    UnknownDesk,
    UnknownTicket,
)
from kiosk.services.idempotency import answered, claim_key, forget_keys
from kiosk.services.printing import SlipRequest, queue_slip
from kiosk.services.queue.reading import QueueReads
from kiosk.services.queue.statements import (
    CALL,
    DESK_TICKET,
    LOCK_DESK,
    LOCK_TICKET,
    NEXT_ANY,
    NEXT_NUMBER,
    NEXT_WAITING,
    RECENT_CALLS,
)
from kiosk.services.queue.tickets import (
    ALLOWED_FROM,
    EXPIRED_TOKEN_PREFIX,
    C,
    IssuedTicket,
    IssueOptions,
    S,
    W,
    expired_token,
    new_token,
)
from kiosk.services.rooms import stop_room, ticket_room


class QueueService(QueueReads):
    """Every rule of the queue. One public method is one use case and one transaction.

    `interleave`: 0 calls a checked-in appointment before any walk-in once its slot has started;
    N > 0 lets N walk-ins be called after each appointment (so walk-ins keep moving on a busy
    appointment day).
    """

    def __init__(
        self,
        session: Session,
        notifier: Notifier | None = None,
        clock: Clock = utc_now,
        *,
        interleave: int = 0,
    ) -> None:
        super().__init__(session, notifier, clock)
        self.interleave = interleave

    # -- use cases ----------------------------------------------------------------------------

    def issue_ticket(
        self, stop: Stop, product_code: str, **options: Unpack[IssueOptions]
    ) -> Ticket:
        """Give the next number for this product (code or ticket prefix) at this stop.

        Refused with `StopClosed`, `AppointmentRequired`, `ProductNotOffered` or
        `UnknownProduct`; each refusal is logged. See `IssueOptions` for the options.
        """
        ticket = self._issue(stop, product_code, **options).ticket
        self.end_read()
        return ticket

    def issue_ticket_with_position(
        self, stop: Stop, product_code: str, **options: Unpack[IssueOptions]
    ) -> IssuedTicket:
        """`issue_ticket`, and the new ticket's place in the queue for the kiosk to show, its
        slip's print job (`slip` option) and whether it was `replayed` for a key sent before.

        The position is read after the commit, in the same read as the event payloads.
        """
        issued = self._issue(stop, product_code, **options)
        issued = issued._replace(position=self.position(issued.ticket))
        self.end_read()
        return issued

    def call_next(self, desk: Desk, *, actor: Actor = SYSTEM, key: str | None = None) -> Ticket:
        """Call the first waiting ticket among the desk's products: priority first, then oldest.

        A retry with the same `key` gets the ticket the first request called (as it is now).
        """
        self.begin_write()
        try:
            earlier = claim_key(self.session, key, actor, "ticket.call", self.now())
            if earlier.replayed and (called := earlier.ticket) is not None:
                self.end_read()
                return called
            locked = self.session.scalars(LOCK_DESK, {"desk_id": desk.id}).unique().one_or_none()
            if locked is None:
                raise UnknownDesk()
            desk = locked
            if self.session.scalar(DESK_TICKET, {"desk_id": desk.id}) is not None:
                raise DeskBusy()
            product_ids = [p.id for p in desk.products]
            ticket = None
            now = self.now()
            if desk.active and product_ids:
                ticket = self._next_for(desk.stop_id, product_ids, now)
            if ticket is None:
                raise QueueEmpty()
            moved = changed_rows(
                self.session.execute(CALL, {"ticket_id": ticket.id, "to_desk": desk.id, "now": now})
            )
            if moved != 1:
                raise QueueEmpty()
            # What CALL wrote, told to the loaded ticket without reading it back.
            values = {"status": C, "desk_id": desk.id, "called_at": now, "last_called_at": now}
            for name, value in values.items():
                set_committed_value(ticket, name, value)
            set_committed_value(ticket, "desk", desk)
            earlier.answer(ticket=ticket)
            self._log_step("ticket.call", actor, ticket, desk=desk.id)
        except DomainError as error:
            self.log_rejection(
                "ticket.call",
                actor,
                error,
                object_type="desk",
                object_id=desk.id,
                stop_id=desk.stop_id,
            )
            raise
        pending = Pending()
        self._announce("ticket_called", ticket, pending)
        self.commit(pending)
        return ticket

    def _next_for(self, stop_id: int, product_ids: list[int], now: datetime) -> Ticket | None:
        """Due appointments first; with `interleave`, walk-ins first when it is their turn."""
        params = {"stop_id": stop_id, "product_ids": product_ids, "now": now}
        if self._walk_in_turn(stop_id):
            walk_in = self.session.scalar(NEXT_WAITING, params)
            if walk_in is not None:
                return walk_in
        return self.session.scalar(NEXT_ANY, params)

    def _walk_in_turn(self, stop_id: int) -> bool:
        """With `interleave` N > 0: N walk-ins are called after each appointment."""
        if self.interleave <= 0:
            return False
        recent = self.session.scalars(RECENT_CALLS, {"stop_id": stop_id, "n": self.interleave})
        return any(source == Source.APPOINTMENT for source in recent)

    def recall(self, ticket: Ticket, *, actor: Actor = SYSTEM, key: str | None = None) -> Ticket:
        """Call the same number again to the same desk."""

        def step(t: Ticket) -> None:
            t.recall_count += 1
            t.last_called_at = self.now()

        return self._step(ticket, "recall", "ticket_recalled", actor, step, key=key)

    def start(self, ticket: Ticket, *, actor: Actor = SYSTEM, key: str | None = None) -> Ticket:
        """The resident has arrived at the desk: service begins."""

        def step(t: Ticket) -> None:
            t.status = S
            t.started_at = self.now()

        return self._step(ticket, "start", "ticket_started", actor, step, key=key)

    def finish(self, ticket: Ticket, *, actor: Actor = SYSTEM, key: str | None = None) -> Ticket:
        """Service is done; the desk is free for the next number."""

        def step(t: Ticket) -> None:
            now = self.now()
            if t.started_at is None:
                t.started_at = t.called_at or now
            t.status = TicketStatus.DONE
            t.finished_at = now
            t.ended_at = now
            t.service_seconds = max(int((now - t.started_at).total_seconds()), 0)

        return self._step(ticket, "finish", "ticket_finished", actor, step, key=key)

    def no_show(self, ticket: Ticket, *, actor: Actor = SYSTEM, key: str | None = None) -> Ticket:
        """The called resident did not come; the desk is free again."""

        def step(t: Ticket) -> None:
            t.status = TicketStatus.NO_SHOW
            t.ended_at = self.now()

        return self._step(ticket, "no_show", "ticket_no_show", actor, step, key=key)

    def cancel(self, ticket: Ticket, *, actor: Actor = SYSTEM, key: str | None = None) -> Ticket:
        """The resident leaves the queue (or staff take the ticket out)."""

        def step(t: Ticket) -> None:
            t.status = TicketStatus.CANCELLED
            t.ended_at = self.now()

        return self._step(ticket, "cancel", "ticket_cancelled", actor, step, key=key)

    def transfer(
        self, ticket: Ticket, product_code: str, *, actor: Actor = SYSTEM, key: str | None = None
    ) -> Ticket:
        """Send the resident back to the queue for another product, keeping the issue time."""
        done = answered(self.session, key, actor, "ticket.transfer", self.now())
        if done is not None and (moved := done.ticket) is not None:
            self.end_read()
            return moved
        stop = self.stop(ticket.stop_id)
        try:
            product = self.product_at(stop, product_code)
            if product.id == ticket.product_id:
                raise InvalidTransition("The ticket is already for this product.")
        except DomainError as error:
            self.log_rejection(
                "ticket.transfer",
                actor,
                error,
                object_type="ticket",
                object_id=ticket.id,
                stop_id=ticket.stop_id,
            )
            raise
        old = ticket.product_id

        def step(t: Ticket) -> None:
            t.product_id = product.id
            t.product = product
            t.status = W
            t.desk_id = None
            t.desk = None
            t.called_at = t.last_called_at = t.started_at = None
            t.transfer_count += 1

        return self._step(
            ticket,
            "transfer",
            "ticket_transferred",
            actor,
            step,
            data={"from_product": old, "to_product": product.id},
            key=key,
        )

    # -- the status pages' retention ----------------------------------------------------------

    def _old_links(self, retention_days: int) -> ColumnElement[bool]:
        if retention_days < 1:
            raise DomainError("Keep ticket links at least one day.")
        return and_(
            Ticket.issued_at < self.now() - timedelta(days=retention_days),
            Ticket.token.not_like(EXPIRED_TOKEN_PREFIX + "%"),
        )

    def count_expirable_links(self, retention_days: int) -> int:
        """How many tickets `expire_links` would expire now (changes nothing)."""
        found = self.session.scalar(select(func.count()).where(self._old_links(retention_days)))
        self.end_read()
        return int(found or 0)

    def expire_links(self, retention_days: int, *, actor: Actor = SYSTEM) -> int:
        """Tickets issued more than `retention_days` ago get a token nobody has: their status
        page and QR code answer "unknown ticket" from then on. The ticket itself stays (for
        research); each ticket once. Returns how many expired."""
        expired = self._old_links(retention_days)
        self.begin_write()
        old = list(self.session.scalars(select(Ticket).where(expired)))
        for ticket in old:
            ticket.token = expired_token()
        self.log(
            "ticket.expire_links",
            actor,
            object_type="ticket",
            count=len(old),
            retention_days=retention_days,
        )
        self.session.commit()
        return len(old)

    def forget_request_keys(self) -> int:
        """Delete the idempotency keys older than a day (they answer nothing any more); how
        many. Run by the daily housekeeping."""
        self.begin_write()
        forgotten = forget_keys(self.session, self.now())
        self.session.commit()
        return forgotten

    # -- for the appointments service ---------------------------------------------------------

    def issue_for_appointment(
        self,
        stop: Stop,
        product_code: str,
        *,
        due_at: datetime,
        claim: Callable[[Ticket], None],
        actor: Actor = SYSTEM,
        key: str | None = None,
        slip: SlipRequest | None = None,
    ) -> IssuedTicket:
        """A ticket for a checked-in appointment, called before walk-ins from `due_at` on.

        `claim(ticket)` runs in the ticket's transaction (it marks the appointment checked in,
        or raises to issue nothing). `key` and `slip` as for `issue_ticket`; the key answers
        "appointment.check_in".
        """
        issued = self._issue(
            stop,
            product_code,
            source=Source.APPOINTMENT,
            actor=actor,
            due_at=due_at,
            claim=claim,
            key=key,
            key_action="appointment.check_in",
            slip=slip,
        )
        self.end_read()
        return issued

    # -- internals ----------------------------------------------------------------------------

    def _issue(
        self,
        stop: Stop,
        product_code: str,
        *,
        source: Source = Source.WALK_IN,
        priority: int = 0,
        actor: Actor = SYSTEM,
        key: str | None = None,
        key_action: str = "ticket.issue",
        slip: SlipRequest | None = None,
        due_at: datetime | None = None,
        claim: Callable[[Ticket], None] | None = None,
    ) -> IssuedTicket:
        """Issue, commit and publish; the read that built the payloads is left open.

        A `key` answered before gives that ticket back (`replayed`), and nothing else happens:
        no second number, no second slip, no event.
        """
        self.begin_write()
        try:
            earlier = claim_key(self.session, key, actor, key_action, self.now())
            if earlier.replayed:
                replayed = earlier.ticket
                if replayed is not None:
                    return IssuedTicket(replayed, None, replayed=True)
            product = self.product_at(stop, product_code)
            if not stop.accepts_walk_ins(self.now()):
                raise StopClosed(opens_at=stop.starts_at.isoformat())
            if source == Source.WALK_IN and (product.appointment_required or not product.walk_in):
                raise AppointmentRequired(product=product.code)
            number = self._next_number(stop.id, product.id)
            ticket = Ticket(
                stop_id=stop.id,
                series_product_id=product.id,
                product_id=product.id,
                product=product,
                number=number,
                label=f"{product.prefix}{number:03d}",
                token=new_token(),
                source=source,
                priority=priority,
                status=W,
                issued_at=self.now(),
                due_at=due_at,
            )
            self.session.add(ticket)
            self.session.flush()
            if claim is not None:
                claim(ticket)
            earlier.answer(ticket=ticket)
            # The slip's job is part of the ticket: a crash before it reaches the printer's
            # spool leaves a queued job that the print worker finds and prints (once).
            job = queue_slip(self.session, slip, ticket, self.now()) if slip else None
            self.log(
                "ticket.issue",
                actor,
                object_type="ticket",
                object_id=ticket.id,
                stop_id=stop.id,
                product_id=product.id,
                source=source.value,
            )
        except DomainError as error:
            self.log_rejection(
                "ticket.issue", actor, error, object_type="stop", object_id=stop.id, stop_id=stop.id
            )
            raise
        pending = Pending()
        # No `ticket_updated` yet: nobody can be watching a ticket that did not exist.
        self._announce("ticket_issued", ticket, pending, own_room=False)
        self.session.commit()
        self.publish(pending)
        return IssuedTicket(ticket, None, print_job=job)

    def _next_number(self, stop_id: int, product_id: int) -> int:
        """One atomic upsert on the counter row: no two callers ever get the same number."""
        upsert = NEXT_NUMBER[self.session.get_bind().dialect.name]
        values = {"stop_id": stop_id, "product_id": product_id}
        return int(self.session.execute(upsert, values).scalar_one())

    def _step(
        self,
        ticket: Ticket,
        name: str,
        event: str,
        actor: Actor,
        change: Callable[[Ticket], None],
        *,
        data: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> Ticket:
        """One step of a ticket under its row lock; a retry with the same `key` gets the
        ticket as it is now, without the step being applied again."""
        action = f"ticket.{name}"
        self.begin_write()
        try:
            earlier = claim_key(self.session, key, actor, action, self.now())
            if earlier.replayed and (stepped := earlier.ticket) is not None:
                self.end_read()
                return stepped
            locked = self.session.scalars(LOCK_TICKET, {"ticket_id": ticket.id}).one_or_none()
            if locked is None:
                raise UnknownTicket()
            ticket = locked
            earlier.answer(ticket=ticket)
            if ticket.status not in ALLOWED_FROM[name]:
                raise InvalidTransition(
                    f"A {ticket.status.value} ticket cannot be given '{name}'.",
                    status=ticket.status.value,
                )
            desk_id = ticket.desk_id
            change(ticket)
            self._log_step(action, actor, ticket, desk=desk_id, **(data or {}))
            self.session.flush()
        except DomainError as error:
            self.log_rejection(
                action,
                actor,
                error,
                object_type="ticket",
                object_id=ticket.id,
                stop_id=ticket.stop_id,
            )
            raise
        pending = Pending()
        self._announce(event, ticket, pending)
        self.commit(pending)
        return ticket

    def _log_step(self, action: str, actor: Actor, ticket: Ticket, **data: Any) -> None:
        self.log(
            action,
            actor,
            object_type="ticket",
            object_id=ticket.id,
            stop_id=ticket.stop_id,
            product_id=ticket.product_id,
            **data,
        )

    def _announce(
        self, event: str, ticket: Ticket, pending: Pending, *, own_room: bool = True
    ) -> None:
        """The stop's board hears the public payload; the ticket's own page hears its status.

        The ticket's fields are taken now; counts and positions are read after the commit.
        """
        public = ticket_public_payload(ticket)
        pending.add(
            event,
            lambda: {"ticket": public, "waiting": self.waiting_counts(ticket.stop_id)},
            stop_room(ticket.stop_id),
        )
        if own_room:
            pending.add(
                "ticket_updated",
                lambda: ticket_status_payload(ticket, self.position(ticket)),
                ticket_room(ticket.token),
            )
