"""The queue's steps: issue numbers, call them to desks, and follow each ticket to its end.

`QueueService` is what kiosk/factories.py builds for every door; it reads as `QueueReads` does
(reading.py) and adds the use cases that change a ticket. Each is one transaction: re-read
what it changes under a lock (statements.py), change it, log the event, commit, then publish.

    issue_ticket[_with_position], issue_for_appointment    -> _issue, _next_number
    call_next                                              -> _next_for, _walk_in_turn
    call_ticket, issue_at_desk, pause_desk, resume_desk,    the desk's controls (one desk,
    undo_no_show, transfer to a desk                        Ticket.target_desk_id)
    recall, start, finish, no_show, cancel, transfer       -> _step (ALLOWED_FROM)
    count_expirable_links, expire_links                    the status pages' retention
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Unpack

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from kiosk.models import Desk, RequestKey, Source, Stop, Ticket, TicketStatus
from kiosk.payloads import desk_board_payload, ticket_public_payload, ticket_status_payload
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
    DeskPaused,
    DeskUnavailable,
    DomainError,
    InvalidTransition,
    QueueEmpty,
    ReasonRequired,
    StopClosed,
    UndoExpired,
    UnknownDesk,
    UnknownTicket,
)
from kiosk.services.idempotency import KEY_LIFETIME, answered, claim_key, forget_keys
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
    REASON_MAX,
    UNDO_SECONDS,
    C,
    IssuedTicket,
    IssueOptions,
    S,
    W,
    expired_token,
    new_token,
)
from kiosk.services.rooms import stop_room, ticket_room

if TYPE_CHECKING:
    from kiosk.services.messages.outbox import Outbox

# The scope of the keys of phone join pages in `RequestKey` (devices and staff have their own).
PHONE_SCOPE = "phone"


class _Replayed(Exception):
    """A join page's key already has its ticket: undo this second one."""


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
        outbox: Outbox | None = None,
    ) -> None:
        super().__init__(session, notifier, clock)
        self.interleave = interleave
        # Messages to residents who asked for them, written in each step's own transaction.
        self.outbox = outbox

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
            desk = self._free_desk(desk.id)
            product_ids = [p.id for p in desk.products]
            ticket = None
            now = self.now()
            if desk.active and product_ids:
                ticket = self._next_for(desk.stop_id, product_ids, now, desk.id)
            if ticket is None:
                raise QueueEmpty()
            moved = changed_rows(
                self.run(CALL, {"ticket_id": ticket.id, "to_desk": desk.id, "now": now})
            )
            if moved != 1:
                raise QueueEmpty()
            _called(ticket, desk, now)
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

    def _free_desk(self, desk_id: int) -> Desk:
        """The desk under its row lock, if it can call someone now: it exists (`UnknownDesk`),
        has nobody called or served (`DeskBusy`) and is not paused (`DeskPaused`)."""
        desk = self.session.scalars(LOCK_DESK, {"desk_id": desk_id}).unique().one_or_none()
        if desk is None:
            raise UnknownDesk()
        if self.run(DESK_TICKET, {"desk_id": desk.id}).first() is not None:
            raise DeskBusy()
        if desk.paused_at is not None:
            raise DeskPaused()
        return desk

    def _next_for(
        self, stop_id: int, product_ids: list[int], now: datetime, desk_id: int
    ) -> Ticket | None:
        """Due appointments first; with `interleave`, walk-ins first when it is their turn.
        Tickets sent to another desk that is live are not this desk's (`FOR_THIS_DESK`)."""
        params = {"stop_id": stop_id, "product_ids": product_ids, "now": now, "desk_id": desk_id}
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

    def cancel(
        self,
        ticket: Ticket,
        *,
        actor: Actor = SYSTEM,
        key: str | None = None,
        reason: str | None = None,
    ) -> Ticket:
        """The resident leaves the queue (or staff take the ticket out); `reason` goes to the
        event log ("left": the resident said so on their own phone, see `leave`)."""

        def step(t: Ticket) -> None:
            t.status = TicketStatus.CANCELLED
            t.ended_at = self.now()

        data = {"reason": reason} if reason else None
        return self._step(ticket, "cancel", "ticket_cancelled", actor, step, data=data, key=key)

    def leave(self, ticket: Ticket, *, actor: Actor = SYSTEM) -> Ticket:
        """The resident's "Ik ga weg" on the ticket's status page: the ticket is cancelled
        (reason "left") and the queue moves. Research counts every cancelled ticket as a
        walk-out with its wait (issue to leaving). A ticket that ended is refused
        (`InvalidTransition`)."""
        return self.cancel(ticket, actor=actor, reason="left")

    def issue_on_phone(
        self, stop: Stop, product_code: str, *, key: str, actor: Actor = SYSTEM
    ) -> IssuedTicket:
        """A walk-in ticket taken on a resident's phone (/join): the kiosk's rules, no slip.

        `key` is the random key of the join page the phone was shown (not a device's
        Idempotency-Key: a phone has no scope of its own). A second tap on that page gets the
        first ticket back (`replayed`), also when both taps race: the key is stored with the
        ticket in its transaction, under the unique (scope, key) of `RequestKey`.
        """
        if (earlier := self._phone_ticket(key)) is not None:
            issued = IssuedTicket(earlier, self.position(earlier), replayed=True)
            self.end_read()
            return issued

        def remember(ticket: Ticket) -> None:
            if self._phone_ticket(key) is not None:
                raise _Replayed()
            self.session.add(
                RequestKey(
                    scope=PHONE_SCOPE,
                    key=key,
                    action="ticket.issue",
                    ticket_id=ticket.id,
                    created_at=self.now(),
                )
            )
            self.session.flush()

        try:
            issued = self._issue(
                stop, product_code, source=Source.WALK_IN, actor=actor, claim=remember
            )
        except (_Replayed, IntegrityError):
            # The other tap won (its ticket is committed): nothing of this one was kept.
            self.session.rollback()
            earlier = self._phone_ticket(key)
            if earlier is None:
                raise
            issued = IssuedTicket(earlier, None, replayed=True)
        issued = issued._replace(position=self.position(issued.ticket))
        self.end_read()
        return issued

    def _phone_ticket(self, key: str) -> Ticket | None:
        """The ticket a join page's key already made (today), if any."""
        found = self.session.scalar(
            select(RequestKey.ticket_id).where(
                RequestKey.scope == PHONE_SCOPE,
                RequestKey.key == key,
                RequestKey.created_at > self.now() - KEY_LIFETIME,
            )
        )
        return self.session.get(Ticket, found) if found is not None else None

    def transfer(
        self,
        ticket: Ticket,
        product_code: str | None = None,
        *,
        desk: Desk | None = None,
        actor: Actor = SYSTEM,
        key: str | None = None,
    ) -> Ticket:
        """Send the resident back to the queue for another product, or to one desk, or both,
        keeping the issue time.

        With `desk`, only that desk calls the ticket (`Ticket.target_desk_id`) while it is live;
        a target desk that is later switched off, paused or removed counts as no target, and the
        ticket is called by any desk that serves its product (again only by the target once it
        is resumed). The desk must be of the same stop (`UnknownDesk`), live and serve the
        product (`DeskUnavailable`). Without `desk` the product must change.
        """
        done = answered(self.session, key, actor, "ticket.transfer", self.now())
        if done is not None and (moved := done.ticket) is not None:
            self.end_read()
            return moved
        stop = self.stop(ticket.stop_id)
        try:
            product = self.product_at(stop, product_code) if product_code else ticket.product
            if desk is None and product.id == ticket.product_id:
                raise InvalidTransition("The ticket is already for this product.")
            if desk is not None:
                self._check_target(desk, ticket.stop_id, product.id)
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
        target = desk.id if desk is not None else None

        def step(t: Ticket) -> None:
            t.product_id = product.id
            t.product = product
            t.status = W
            t.desk_id = None
            t.desk = None
            t.called_at = t.last_called_at = t.started_at = None
            t.transfer_count += 1
            t.target_desk_id = target

        return self._step(
            ticket,
            "transfer",
            "ticket_transferred",
            actor,
            step,
            data={"from_product": old, "to_product": product.id, "to_desk": target},
            key=key,
        )

    # -- the desk's controls (#15) --------------------------------------------------------------

    def call_ticket(
        self,
        desk: Desk,
        ticket: Ticket,
        reason: str,
        *,
        actor: Actor = SYSTEM,
        key: str | None = None,
    ) -> Ticket:
        """Call this waiting ticket to the desk out of turn, for a reason staff give (kept in
        the event log with the call). `call_next`'s rules hold: the desk must be free
        (`DeskBusy`), not paused (`DeskPaused`), switched on, and the ticket one the desk could
        call (its products, not sent to another live desk: `DeskUnavailable`)."""
        reason = " ".join(reason.split())[:REASON_MAX]
        self.begin_write()
        try:
            if not reason:
                raise ReasonRequired()
            earlier = claim_key(self.session, key, actor, "ticket.call_chosen", self.now())
            if earlier.replayed and (called := earlier.ticket) is not None:
                self.end_read()
                return called
            desk = self._free_desk(desk.id)
            found = self.session.scalars(LOCK_TICKET, {"ticket_id": ticket.id}).one_or_none()
            if found is None:
                raise UnknownTicket()
            ticket = found
            if ticket.status != W:
                raise InvalidTransition(
                    "Only a waiting ticket can be called.", status=ticket.status.value
                )
            if not self._desk_may_call(desk, ticket):
                raise DeskUnavailable("This ticket is not in this desk's queue.")
            now = self.now()
            moved = changed_rows(
                self.run(CALL, {"ticket_id": ticket.id, "to_desk": desk.id, "now": now})
            )
            if moved != 1:
                raise InvalidTransition("The ticket was called meanwhile.")
            _called(ticket, desk, now)
            earlier.answer(ticket=ticket)
            self._log_step("ticket.call", actor, ticket, desk=desk.id, chosen=True, reason=reason)
        except DomainError as error:
            self.log_rejection(
                "ticket.call",
                actor,
                error,
                object_type="ticket",
                object_id=ticket.id,
                stop_id=ticket.stop_id,
                chosen=True,
            )
            raise
        pending = Pending()
        self._announce("ticket_called", ticket, pending)
        self.commit(pending)
        return ticket

    def issue_at_desk(
        self,
        desk: Desk,
        product_code: str,
        *,
        call: bool = False,
        actor: Actor = SYSTEM,
        key: str | None = None,
        slip: SlipRequest | None = None,
    ) -> IssuedTicket:
        """A ticket made by staff for a resident at the desk who has none: a walk-in with the
        kiosk's rules, logged with ``via="desk"``, its slip printed by `slip`'s kiosk if given.

        With `call`, the ticket is sent to this desk and called to it at once when the desk is
        free; a busy or paused desk leaves it waiting for this desk (see `transfer`). A retry
        with the same `key` gets the same ticket as it is now, and calls nothing.
        """

        def for_this_desk(ticket: Ticket) -> None:
            if call:
                ticket.target_desk_id = desk.id

        issued = self._issue(
            desk.stop,
            product_code,
            actor=actor,
            key=key,
            slip=slip,
            claim=for_this_desk,
            via="desk",
        )
        ticket = issued.ticket
        if call and not issued.replayed:
            try:
                ticket = self.call_ticket(desk, ticket, "made at the desk", actor=actor)
            except (DeskBusy, DeskPaused, DeskUnavailable):
                ticket = self.session.get(Ticket, ticket.id, populate_existing=True) or ticket
        issued = issued._replace(ticket=ticket, position=self.position(ticket))
        self.end_read()
        return issued

    def pause_desk(self, desk: Desk, *, actor: Actor = SYSTEM) -> Desk:
        """Pause the desk: it calls nobody (`call_next` refuses with `DeskPaused`), tickets
        sent to it may be called by any desk, and the board shows it as closed. A ticket at the
        desk stays there (staff finish it). Already paused: `InvalidTransition`."""
        return self._set_paused(desk, paused=True, actor=actor)

    def resume_desk(self, desk: Desk, *, actor: Actor = SYSTEM) -> Desk:
        """End the desk's pause: it calls again (and the tickets sent to it are its own)."""
        return self._set_paused(desk, paused=False, actor=actor)

    def undo_no_show(
        self, ticket: Ticket, *, actor: Actor = SYSTEM, key: str | None = None
    ) -> Ticket:
        """Take back a no-show within `UNDO_SECONDS` (by the service's clock): the ticket is
        called at its desk again, as before, if that desk has nobody else (`DeskBusy`); later,
        `UndoExpired`. Published as a recall: the board shows the call again."""

        def step(t: Ticket) -> None:
            ended = t.ended_at
            if ended is None or t.desk_id is None:
                raise UndoExpired()
            if (self.now() - ended).total_seconds() > UNDO_SECONDS:
                raise UndoExpired()
            if self.session.scalar(DESK_TICKET, {"desk_id": t.desk_id}) is not None:
                raise DeskBusy("The desk has called someone else since: the no-show stays.")
            t.status = C
            t.ended_at = None

        return self._step(ticket, "undo_no_show", "ticket_recalled", actor, step, key=key)

    def _set_paused(self, desk: Desk, *, paused: bool, actor: Actor) -> Desk:
        action = "desk.pause" if paused else "desk.resume"
        self.begin_write()
        try:
            locked = self.session.scalars(LOCK_DESK, {"desk_id": desk.id}).unique().one_or_none()
            if locked is None:
                raise UnknownDesk()
            desk = locked
            if (desk.paused_at is not None) == paused:
                raise InvalidTransition(
                    "The desk is paused already." if paused else "The desk is not paused."
                )
            now = self.now()
            data: dict[str, Any] = {}
            if desk.paused_at is not None:
                data["paused_seconds"] = max(int((now - desk.paused_at).total_seconds()), 0)
            desk.paused_at = now if paused else None
            self.log(
                action, actor, object_type="desk", object_id=desk.id, stop_id=desk.stop_id, **data
            )
            self.session.flush()
        except DomainError as error:
            self.log_rejection(
                action, actor, error, object_type="desk", object_id=desk.id, stop_id=desk.stop_id
            )
            raise
        stop_id = desk.stop_id
        changed = desk_board_payload(desk)
        pending = Pending()
        pending.add(
            "desk_updated",
            lambda: {"desk": changed, "desks": self.board_desks(stop_id)},
            stop_room(stop_id),
        )
        self.commit(pending)
        return desk

    def _check_target(self, desk: Desk, stop_id: int, product_id: int) -> None:
        """A desk a ticket may be sent to: of its stop, live, serving its product."""
        if desk.stop_id != stop_id:
            raise UnknownDesk()
        if not desk.active or desk.paused_at is not None:
            raise DeskUnavailable("This desk is switched off or paused.")
        if product_id not in {p.id for p in desk.products}:
            raise DeskUnavailable("This desk does not serve the ticket's product.")

    def _desk_may_call(self, desk: Desk, ticket: Ticket) -> bool:
        """Whether the ticket is in the desk's queue (as `FOR_THIS_DESK` decides in SQL)."""
        if ticket.stop_id != desk.stop_id or not desk.active:
            return False
        if ticket.product_id not in {p.id for p in desk.products}:
            return False
        target = ticket.target_desk_id
        if target is None or target == desk.id:
            return True
        other = self.session.get(Desk, target)
        return other is None or not other.active or other.paused_at is not None

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
        via: str | None = None,
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
            # The slip's job is part of the ticket: a crash before it reaches the printer's
            # spool leaves a queued job that the print worker finds and prints (once).
            job = queue_slip(self.session, slip, ticket, self.now()) if slip else None
            self.session.flush()
            if claim is not None:
                claim(ticket)
            earlier.answer(ticket=ticket)
            self.log(
                "ticket.issue",
                actor,
                object_type="ticket",
                object_id=ticket.id,
                stop_id=stop.id,
                product_id=product.id,
                source=source.value,
                **({"via": via} if via else {}),
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
        return int(self.run(upsert, values).scalar_one())

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
        Every step passes here before its commit: the outbox writes its messages now.
        """
        if self.outbox is not None:
            self.outbox.queue_changed(self.session, ticket, event, self.now(), self.position)
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


def _called(ticket: Ticket, desk: Desk, now: datetime) -> None:
    """What CALL wrote, told to the loaded ticket without reading it back."""
    values = {"status": C, "desk_id": desk.id, "called_at": now, "last_called_at": now}
    for name, value in values.items():
        set_committed_value(ticket, name, value)
    set_committed_value(ticket, "desk", desk)
