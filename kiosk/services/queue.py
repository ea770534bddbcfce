"""The queue at a stop: issue numbers, call them to desks, and follow each ticket to its end."""

from __future__ import annotations

import math
import secrets
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from kiosk.models import (
    ACTIVE_AT_DESK,
    Desk,
    Product,
    Source,
    Stop,
    Ticket,
    TicketCounter,
    TicketStatus,
    desk_products,
    stop_products,
)
from kiosk.payloads import (
    Position,
    product_ref,
    ticket_public_payload,
    ticket_status_payload,
)
from kiosk.services.base import SYSTEM, Actor, Pending, Service
from kiosk.services.errors import (
    AppointmentRequired,
    DeskBusy,
    DomainError,
    InvalidTransition,
    ProductNotOffered,
    QueueEmpty,
    StopClosed,
    UnknownDesk,
    UnknownProduct,
    UnknownStop,
    UnknownTicket,
)

W, C, S = TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.SERVING

# Which statuses each step may start from. `finish` accepts a called ticket too: staff under
# pressure often skip "start", and the service time then counts from the call.
ALLOWED_FROM: dict[str, tuple[TicketStatus, ...]] = {
    "recall": (C,),
    "start": (C,),
    "finish": (C, S),
    "no_show": (C,),
    "cancel": (W, C),
    "transfer": (W, C, S),
}


# Ids are 32-bit integer columns (PostgreSQL); a larger number from a URL or body cannot exist,
# and binding it would fail in the driver (OverflowError, DataError) instead of "not found".
MAX_ID = 2**31 - 1


def _storable_id(value: int) -> bool:
    return 0 < value <= MAX_ID


def stop_room(stop_id: int) -> str:
    return f"stop:{stop_id}"


def ticket_room(token: str) -> str:
    return f"ticket:{token}"


def new_token() -> str:
    """128 random bits, URL-safe: the only key to a ticket's status page."""
    return secrets.token_urlsafe(16)


class QueueService(Service):
    """Every rule of the queue. One public method is one use case and one transaction."""

    # -- look-ups -----------------------------------------------------------------------------

    def stop(self, stop_id: int) -> Stop:
        """The stop with this id, or `UnknownStop`."""
        stop = self.session.get(Stop, stop_id) if _storable_id(stop_id) else None
        if stop is None:
            raise UnknownStop()
        return stop

    def desk(self, desk_id: int) -> Desk:
        """The desk with this id, or `UnknownDesk`."""
        desk = self.session.get(Desk, desk_id) if _storable_id(desk_id) else None
        if desk is None:
            raise UnknownDesk()
        return desk

    def ticket(self, token: str) -> Ticket:
        """The ticket with this token, or `UnknownTicket`."""
        ticket = self.session.scalar(
            select(Ticket)
            .where(Ticket.token == token)
            .options(selectinload(Ticket.product), selectinload(Ticket.desk))
        )
        if ticket is None:
            raise UnknownTicket()
        return ticket

    def product_at(self, stop: Stop, code_or_prefix: str) -> Product:
        """A product by code or ticket prefix, only if this stop offers it."""
        wanted = code_or_prefix.strip()
        match = and_(
            or_(Product.code == wanted, Product.prefix == wanted.upper()),
            Product.active.is_(True),
        )
        product = self.session.scalar(
            select(Product)
            .join(stop_products, stop_products.c.product_id == Product.id)
            .where(stop_products.c.stop_id == stop.id, match)
        )
        if product is None:
            elsewhere = self.session.scalar(select(Product.code).where(match))
            raise ProductNotOffered(product=elsewhere) if elsewhere else UnknownProduct()
        return product

    # -- use cases ----------------------------------------------------------------------------

    def issue_ticket(
        self,
        stop: Stop,
        product_code: str,
        *,
        source: Source = Source.WALK_IN,
        priority: int = 0,
        actor: Actor = SYSTEM,
    ) -> Ticket:
        """Give the next number for this product at this stop."""
        self.begin_write()
        try:
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
            )
            self.session.add(ticket)
            self.session.flush()
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
        self.commit(pending)
        return ticket

    def call_next(self, desk: Desk, *, actor: Actor = SYSTEM) -> Ticket:
        """Call the first waiting ticket among the desk's products: priority first, then oldest."""
        self.begin_write()
        try:
            self._lock_desk(desk)
            if self._active_ticket_id(desk) is not None:
                raise DeskBusy()
            product_ids = [p.id for p in desk.products]
            ticket = None
            if desk.active and product_ids:
                ticket = self.session.scalar(
                    select(Ticket)
                    .where(
                        Ticket.stop_id == desk.stop_id,
                        Ticket.status == W,
                        Ticket.product_id.in_(product_ids),
                    )
                    .order_by(Ticket.priority.desc(), Ticket.issued_at, Ticket.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            if ticket is None:
                raise QueueEmpty()
            now = self.now()
            # Guarded update: even a racing caller that read the same row cannot call it twice.
            values = {"status": C, "desk_id": desk.id, "called_at": now, "last_called_at": now}
            moved = self.session.execute(  # type: ignore[attr-defined]
                update(Ticket)
                .where(Ticket.id == ticket.id, Ticket.status == W)
                .values(**values)
                .execution_options(synchronize_session=False)
            ).rowcount
            if moved != 1:
                raise QueueEmpty()
            for name, value in values.items():
                set_committed_value(ticket, name, value)
            set_committed_value(ticket, "desk", desk)
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

    def recall(self, ticket: Ticket, *, actor: Actor = SYSTEM) -> Ticket:
        """Call the same number again to the same desk."""

        def step(t: Ticket) -> None:
            t.recall_count += 1
            t.last_called_at = self.now()

        return self._step(ticket, "recall", "ticket_recalled", actor, step)

    def start(self, ticket: Ticket, *, actor: Actor = SYSTEM) -> Ticket:
        """The resident has arrived at the desk: service begins."""

        def step(t: Ticket) -> None:
            t.status = S
            t.started_at = self.now()

        return self._step(ticket, "start", "ticket_started", actor, step)

    def finish(self, ticket: Ticket, *, actor: Actor = SYSTEM) -> Ticket:
        """Service is done; the desk is free for the next number."""

        def step(t: Ticket) -> None:
            now = self.now()
            if t.started_at is None:
                t.started_at = t.called_at or now
            t.status = TicketStatus.DONE
            t.finished_at = now
            t.ended_at = now
            t.service_seconds = max(int((now - t.started_at).total_seconds()), 0)

        return self._step(ticket, "finish", "ticket_finished", actor, step)

    def no_show(self, ticket: Ticket, *, actor: Actor = SYSTEM) -> Ticket:
        """The called resident did not come; the desk is free again."""

        def step(t: Ticket) -> None:
            t.status = TicketStatus.NO_SHOW
            t.ended_at = self.now()

        return self._step(ticket, "no_show", "ticket_no_show", actor, step)

    def cancel(self, ticket: Ticket, *, actor: Actor = SYSTEM) -> Ticket:
        """The resident leaves the queue (or staff take the ticket out)."""

        def step(t: Ticket) -> None:
            t.status = TicketStatus.CANCELLED
            t.ended_at = self.now()

        return self._step(ticket, "cancel", "ticket_cancelled", actor, step)

    def transfer(self, ticket: Ticket, product_code: str, *, actor: Actor = SYSTEM) -> Ticket:
        """Send the resident back to the queue for another product, keeping the issue time."""
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
        )

    # -- reading ------------------------------------------------------------------------------

    def position(self, ticket: Ticket) -> Position | None:
        """People ahead of a waiting ticket and its expected wait; None once it left the queue."""
        if ticket.status != W:
            return None
        desks_for, products_for = self._desk_map(ticket.stop_id)
        related = products_for.get(ticket.product_id, {ticket.product_id})
        before = or_(
            Ticket.priority > ticket.priority,
            and_(
                Ticket.priority == ticket.priority,
                or_(
                    Ticket.issued_at < ticket.issued_at,
                    and_(Ticket.issued_at == ticket.issued_at, Ticket.id < ticket.id),
                ),
            ),
        )
        rows = self.session.execute(
            select(Ticket.product_id, func.count())
            .where(
                Ticket.stop_id == ticket.stop_id,
                Ticket.status == W,
                Ticket.product_id.in_(related),
                before,
            )
            .group_by(Ticket.product_id)
        ).all()
        ahead = Counter({product_id: count for product_id, count in rows})
        return self._estimate(ticket.stop_id, ticket.product_id, ahead, desks_for)

    def waiting_counts(self, stop_id: int) -> dict[str, int]:
        """How many wait per product code at this stop (every product offered, zeros too)."""
        rows = self.session.execute(
            select(Product.code, func.count(Ticket.id))
            .select_from(stop_products)
            .join(Product, Product.id == stop_products.c.product_id)
            .outerjoin(
                Ticket,
                and_(
                    Ticket.product_id == Product.id, Ticket.stop_id == stop_id, Ticket.status == W
                ),
            )
            .where(stop_products.c.stop_id == stop_id)
            .group_by(Product.code, Product.sort_order)
            .order_by(Product.sort_order)
        ).all()
        return {code: count for code, count in rows}

    def board_state(self, stop: Stop, *, calls: int = 6) -> dict[str, Any]:
        """What a display board shows: recent calls (newest first) and who waits for what."""
        recent = self.session.scalars(
            select(Ticket)
            .where(Ticket.stop_id == stop.id, Ticket.status.in_(ACTIVE_AT_DESK))
            .order_by(Ticket.last_called_at.desc(), Ticket.id.desc())
            .limit(calls)
            .options(selectinload(Ticket.product), selectinload(Ticket.desk))
        ).all()
        counts = self.waiting_counts(stop.id)
        return {
            "stop": {
                "id": stop.id,
                "name": stop.location.name,
                "status": stop.status.value,
                "accepting_tickets": stop.accepts_walk_ins(self.now()),
            },
            "calls": [ticket_public_payload(t) for t in recent],
            "waiting": [
                {"product": product_ref(p), "count": counts.get(p.code, 0)} for p in stop.products
            ],
            "at": self.now().isoformat().replace("+00:00", "Z"),
        }

    def desk_queue(self, desk: Desk) -> list[Ticket]:
        """The waiting tickets this desk may call, in the order it would call them."""
        product_ids = [p.id for p in desk.products]
        return list(
            self.session.scalars(
                select(Ticket)
                .where(
                    Ticket.stop_id == desk.stop_id,
                    Ticket.status == W,
                    Ticket.product_id.in_(product_ids),
                )
                .order_by(Ticket.priority.desc(), Ticket.issued_at, Ticket.id)
                .options(selectinload(Ticket.product))
            )
        )

    def current_ticket(self, desk: Desk) -> Ticket | None:
        """The ticket called to or being served at this desk, if any."""
        return self.session.scalar(
            select(Ticket).where(Ticket.desk_id == desk.id, Ticket.status.in_(ACTIVE_AT_DESK))
        )

    # -- internals ----------------------------------------------------------------------------

    def _next_number(self, stop_id: int, product_id: int) -> int:
        """One atomic upsert on the counter row: no two callers ever get the same number."""
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = (
            insert(TicketCounter)
            .values(stop_id=stop_id, product_id=product_id, last=1)
            .on_conflict_do_update(
                index_elements=[TicketCounter.stop_id, TicketCounter.product_id],
                set_={"last": TicketCounter.last + 1},
            )
            .returning(TicketCounter.last)
        )
        return int(self.session.execute(stmt).scalar_one())

    def _lock_desk(self, desk: Desk) -> None:
        # Serialises two staff pressing "next" at the same desk (PostgreSQL; SQLite serialises
        # every write transaction already).
        self.session.execute(select(Desk.id).where(Desk.id == desk.id).with_for_update())

    def _active_ticket_id(self, desk: Desk) -> int | None:
        return self.session.scalar(
            select(Ticket.id).where(Ticket.desk_id == desk.id, Ticket.status.in_(ACTIVE_AT_DESK))
        )

    def _step(
        self,
        ticket: Ticket,
        name: str,
        event: str,
        actor: Actor,
        change: Any,
        *,
        data: dict[str, Any] | None = None,
    ) -> Ticket:
        action = f"ticket.{name}"
        self.begin_write()
        try:
            self.session.refresh(ticket, with_for_update=True)
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

    def _desk_map(self, stop_id: int) -> tuple[dict[int, int], dict[int, set[int]]]:
        """Per product: how many active desks serve it, and which products share those desks."""
        rows = self.session.execute(
            select(desk_products.c.desk_id, desk_products.c.product_id)
            .join(Desk, Desk.id == desk_products.c.desk_id)
            .where(Desk.stop_id == stop_id, Desk.active.is_(True))
        ).all()
        by_desk: dict[int, set[int]] = defaultdict(set)
        for desk_id, product_id in rows:
            by_desk[desk_id].add(product_id)
        desks_for: Counter[int] = Counter()
        related: dict[int, set[int]] = defaultdict(set)
        for products in by_desk.values():
            for product_id in products:
                desks_for[product_id] += 1
                related[product_id] |= products
        return dict(desks_for), dict(related)

    def _service_minutes(self, stop_id: int) -> dict[int, float]:
        """Mean service time per product today at this stop, else the product's planned time."""
        measured = (
            select(
                Ticket.product_id.label("product_id"),
                func.avg(Ticket.service_seconds).label("seconds"),
            )
            .where(
                Ticket.stop_id == stop_id,
                Ticket.status == TicketStatus.DONE,
                Ticket.service_seconds.is_not(None),
            )
            .group_by(Ticket.product_id)
            .subquery()
        )
        rows = self.session.execute(
            select(Product.id, Product.duration_minutes, measured.c.seconds).outerjoin(
                measured, measured.c.product_id == Product.id
            )
        ).all()
        return {
            pid: float(seconds) / 60 if seconds is not None else float(planned)
            for pid, planned, seconds in rows
        }

    def _estimate(
        self,
        stop_id: int,
        product_id: int,
        ahead: Counter[int],
        desks_for: dict[int, int],
        minutes: dict[int, float] | None = None,
    ) -> Position:
        desks = desks_for.get(product_id, 0)
        count = sum(ahead.values())
        if desks == 0:
            return Position(ahead=count, wait_minutes=None)
        minutes = minutes if minutes is not None else self._service_minutes(stop_id)
        work = sum(n * minutes.get(pid, 10.0) for pid, n in ahead.items())
        return Position(ahead=count, wait_minutes=math.ceil(work / desks))
