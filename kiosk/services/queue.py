"""The queue at a stop: issue numbers, call them to desks, and follow each ticket to its end."""

from __future__ import annotations

import math
import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypedDict, Unpack, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Table,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload, selectinload
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
    UTCDateTime,
    desk_products,
    stop_products,
)
from kiosk.payloads import (
    Position,
    product_ref,
    ticket_public_payload,
    ticket_status_payload,
)
from kiosk.services.base import (
    SYSTEM,
    Actor,
    Clock,
    Notifier,
    Pending,
    Service,
    changed_rows,
    utc_now,
)
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
from kiosk.services.rooms import stop_room, ticket_room

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


def new_token() -> str:
    """128 random bits, URL-safe: the only key to a ticket's status page."""
    return secrets.token_urlsafe(16)


# An expired ticket's token: random like any, and marked by a character `new_token` never uses,
# so nobody can know it and a purge expires each ticket once.
EXPIRED_TOKEN_PREFIX = "expired."


def expired_token() -> str:
    """A token nobody has: replaces an old ticket's, so its status page no longer answers."""
    return EXPIRED_TOKEN_PREFIX + secrets.token_urlsafe(24)


class IssuedTicket(NamedTuple):
    """A new ticket and its place in the queue, read right after it was committed."""

    ticket: Ticket
    position: Position | None


class IssueOptions(TypedDict, total=False):
    """How a ticket is issued, besides its stop and product; every key may be left out.

    `source`: how the resident came (default `Source.WALK_IN`, which a product by appointment
    only refuses); `priority`: higher is called first (default 0); `actor`: who asked, for the
    event log (default `SYSTEM`).
    """

    source: Source
    priority: int
    actor: Actor


# -- statements of the hot paths ----------------------------------------------------------------
# Built once, with bound parameters, and run with a dict of values. Building a statement and
# its cache key costs more Python time than SQLite needs to run it; a statement object that is
# reused keeps its cache key (SQLAlchemy memoizes it), and its compiled form comes from the
# engine's compiled cache. The values are bound at execution, so nothing else changes.

_PRODUCT_MATCH = and_(
    or_(Product.code == bindparam("code"), Product.prefix == bindparam("prefix")),
    Product.active.is_(True),
)
_PRODUCT_AT_STOP = (
    select(Product)
    .join(stop_products, stop_products.c.product_id == Product.id)
    .where(stop_products.c.stop_id == bindparam("stop_id"), _PRODUCT_MATCH)
)
_PRODUCT_CODE = select(Product.code).where(_PRODUCT_MATCH)

# A ticket with what its payloads show. Many-to-one: joined in the same statement.
_TICKET_LOADS = (joinedload(Ticket.product, innerjoin=True), joinedload(Ticket.desk))
_TICKET_BY_TOKEN = select(Ticket).where(Ticket.token == bindparam("token")).options(*_TICKET_LOADS)
# Re-read a ticket under a row lock before changing it. `OF tickets`: PostgreSQL cannot lock
# the nullable side of the outer join to the desk (and need not).
_LOCK_TICKET = (
    select(Ticket)
    .where(Ticket.id == bindparam("ticket_id"))
    .options(*_TICKET_LOADS)
    .with_for_update(of=Ticket)
    .execution_options(populate_existing=True)
)


def _counter_upsert(insert: Any) -> Any:
    # On the table, not the mapped class: a plain Core statement, nothing for the ORM to track.
    counters = cast(Table, TicketCounter.__table__)
    return (
        insert(counters)
        .values(stop_id=bindparam("stop_id"), product_id=bindparam("product_id"), last=1)
        .on_conflict_do_update(
            index_elements=[counters.c.stop_id, counters.c.product_id],
            set_={"last": counters.c.last + 1},
        )
        .returning(counters.c.last)
    )


_NEXT_NUMBER = {"postgresql": _counter_upsert(pg_insert), "sqlite": _counter_upsert(sqlite_insert)}

# Serialises two staff pressing "next" at the same desk (PostgreSQL; on SQLite, where FOR UPDATE
# compiles to nothing, BEGIN IMMEDIATE serialises every write transaction already), and reads
# the desk's products and whether it is active under that lock, in one statement.
_LOCK_DESK = (
    select(Desk)
    .where(Desk.id == bindparam("desk_id"))
    .options(joinedload(Desk.products))
    .with_for_update(of=Desk)
    .execution_options(populate_existing=True)
)
_DESK_TICKET = select(Ticket.id).where(
    Ticket.desk_id == bindparam("desk_id"), Ticket.status.in_(ACTIVE_AT_DESK)
)
# The waiting tickets a desk may call; the two orders below pick the next one.
_WAITING_FOR_DESK = (
    select(Ticket)
    .where(
        Ticket.stop_id == bindparam("stop_id"),
        Ticket.status == W,
        Ticket.product_id.in_(bindparam("product_ids", expanding=True)),
    )
    .limit(1)
    .with_for_update(skip_locked=True)
)
# When a ticket's turn comes by arrival: a walk-in's issue time, an appointment's slot start.
_ORDER_AT = func.coalesce(Ticket.due_at, Ticket.issued_at)
# Walk-ins in order (priority, then arrival); an appointment waits for its slot's start.
_ARRIVAL_ORDER = (Ticket.priority.desc(), _ORDER_AT, Ticket.id)
# 0 for an appointment whose slot has started (called first), 1 for every other ticket.
_DUE_GROUP = case((Ticket.due_at <= bindparam("now", type_=UTCDateTime()), 0), else_=1)
# The next walk-in, or an appointment whose slot has not started.
_NEXT_WAITING = _WAITING_FOR_DESK.where(
    or_(Ticket.due_at.is_(None), Ticket.due_at > bindparam("now"))
).order_by(*_ARRIVAL_ORDER)
# Appointments whose slot has started first (earliest slot first), then everyone else: one
# statement for the usual case.
_NEXT_ANY = _WAITING_FOR_DESK.order_by(_DUE_GROUP, *_ARRIVAL_ORDER)
# The sources of the stop's latest calls, newest first (for interleaving).
_RECENT_CALLS = (
    select(Ticket.source)
    .where(Ticket.stop_id == bindparam("stop_id"), Ticket.called_at.is_not(None))
    .order_by(Ticket.called_at.desc(), Ticket.id.desc())
    .limit(bindparam("n"))
)
# Guarded: even a racing caller that read the same row cannot call it twice.
_CALL = (
    update(Ticket)
    .where(Ticket.id == bindparam("ticket_id"), Ticket.status == W)
    .values(
        status=C,
        desk_id=bindparam("to_desk"),
        called_at=bindparam("now"),
        last_called_at=bindparam("now"),
    )
    .execution_options(synchronize_session=False)
)

# One count per product offered (an index range each, see models.Ticket), zeros included.
_waiting_for_product = (
    select(func.count())
    .where(
        Ticket.stop_id == bindparam("stop_id"),
        Ticket.status == W,
        Ticket.product_id == Product.id,
    )
    .correlate(Product)
    .scalar_subquery()
)
_WAITING_COUNTS = (
    select(Product.code, _waiting_for_product)
    .join(stop_products, stop_products.c.product_id == Product.id)
    .where(stop_products.c.stop_id == bindparam("stop_id"))
    .order_by(Product.sort_order)
)
_WAITING_BY_PRODUCT = (
    select(Ticket.product_id, func.count())
    .where(
        Ticket.stop_id == bindparam("stop_id"),
        Ticket.status == W,
        Ticket.product_id.in_(bindparam("product_ids", expanding=True)),
    )
    .group_by(Ticket.product_id)
)
_ACTIVE_DESK_PRODUCTS = (
    select(desk_products.c.desk_id, desk_products.c.product_id)
    .join(Desk, Desk.id == desk_products.c.desk_id)
    .where(Desk.stop_id == bindparam("stop_id"), Desk.active.is_(True))
)
# `_NEXT_ANY`'s order as a condition: the waiting tickets it calls before "it", the ticket
# whose values are bound (its due group and order time as above, priority, id). Keep in step.
_ITS_GROUP = bindparam("due_group", type_=Integer())
_ITS_PRIORITY = bindparam("priority", type_=Integer())
_ITS_ORDER_AT = bindparam("order_at", type_=UTCDateTime())
_AHEAD = _WAITING_BY_PRODUCT.where(
    or_(
        _DUE_GROUP < _ITS_GROUP,
        and_(
            _DUE_GROUP == _ITS_GROUP,
            or_(
                Ticket.priority > _ITS_PRIORITY,
                and_(
                    Ticket.priority == _ITS_PRIORITY,
                    or_(
                        _ORDER_AT < _ITS_ORDER_AT,
                        and_(
                            _ORDER_AT == _ITS_ORDER_AT,
                            Ticket.id < bindparam("ticket_id"),
                        ),
                    ),
                ),
            ),
        ),
    ),
)
_served_today = (
    select(
        Ticket.product_id.label("product_id"),
        func.avg(Ticket.service_seconds).label("seconds"),
    )
    .where(
        Ticket.stop_id == bindparam("stop_id"),
        Ticket.status == TicketStatus.DONE,
        Ticket.service_seconds.is_not(None),
    )
    .group_by(Ticket.product_id)
    .subquery()
)
_SERVICE_SECONDS = select(Product.id, Product.duration_minutes, _served_today.c.seconds).outerjoin(
    _served_today, _served_today.c.product_id == Product.id
)


class QueueService(Service):
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
        ticket = self.session.scalar(_TICKET_BY_TOKEN, {"token": token})
        if ticket is None:
            raise UnknownTicket()
        return ticket

    def ticket_by_label(self, stop: Stop, label: str) -> Ticket:
        """The newest ticket at this stop with this label (``A12``, ``a012`` and ``A012`` are
        one), or `UnknownTicket`."""
        match = re.fullmatch(r"\s*([A-Za-z]{1,2})\s*0*(\d{1,6})\s*", label)
        if match is None:
            raise UnknownTicket()
        wanted = f"{match.group(1).upper()}{int(match.group(2)):03d}"
        ticket = self.session.scalar(
            select(Ticket)
            .where(Ticket.stop_id == stop.id, Ticket.label == wanted)
            .order_by(Ticket.issued_at.desc())
            .limit(1)
            .options(*_TICKET_LOADS)
        )
        if ticket is None:
            raise UnknownTicket()
        return ticket

    def product_at(self, stop: Stop, code_or_prefix: str) -> Product:
        """A product by code or ticket prefix, only if this stop offers it."""
        wanted = code_or_prefix.strip()
        match = {"code": wanted, "prefix": wanted.upper()}
        product = self.session.scalar(_PRODUCT_AT_STOP, {"stop_id": stop.id, **match})
        if product is None:
            elsewhere = self.session.scalar(_PRODUCT_CODE, match)
            raise ProductNotOffered(product=elsewhere) if elsewhere else UnknownProduct()
        return product

    # -- use cases ----------------------------------------------------------------------------

    def issue_ticket(
        self, stop: Stop, product_code: str, **options: Unpack[IssueOptions]
    ) -> Ticket:
        """Give the next number for this product (code or ticket prefix) at this stop.

        Refused with `StopClosed`, `AppointmentRequired`, `ProductNotOffered` or
        `UnknownProduct`; each refusal is logged. See `IssueOptions` for the options.
        """
        ticket = self._issue(stop, product_code, **options)
        self.end_read()
        return ticket

    def issue_ticket_with_position(
        self, stop: Stop, product_code: str, **options: Unpack[IssueOptions]
    ) -> IssuedTicket:
        """`issue_ticket`, and the new ticket's place in the queue for the kiosk to show.

        The position is read after the commit, in the same read as the event payloads.
        """
        ticket = self._issue(stop, product_code, **options)
        position = self.position(ticket)
        self.end_read()
        return IssuedTicket(ticket, position)

    def call_next(self, desk: Desk, *, actor: Actor = SYSTEM) -> Ticket:
        """Call the first waiting ticket among the desk's products: priority first, then oldest."""
        self.begin_write()
        try:
            locked = self.session.scalars(_LOCK_DESK, {"desk_id": desk.id}).unique().one_or_none()
            if locked is None:
                raise UnknownDesk()
            desk = locked
            if self.session.scalar(_DESK_TICKET, {"desk_id": desk.id}) is not None:
                raise DeskBusy()
            product_ids = [p.id for p in desk.products]
            ticket = None
            now = self.now()
            if desk.active and product_ids:
                ticket = self._next_for(desk.stop_id, product_ids, now)
            if ticket is None:
                raise QueueEmpty()
            moved = changed_rows(
                self.session.execute(
                    _CALL, {"ticket_id": ticket.id, "to_desk": desk.id, "now": now}
                )
            )
            if moved != 1:
                raise QueueEmpty()
            # What _CALL wrote, told to the loaded ticket without reading it back.
            values = {"status": C, "desk_id": desk.id, "called_at": now, "last_called_at": now}
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

    def _next_for(self, stop_id: int, product_ids: list[int], now: datetime) -> Ticket | None:
        """Due appointments first; with `interleave`, walk-ins first when it is their turn."""
        params = {"stop_id": stop_id, "product_ids": product_ids, "now": now}
        if self._walk_in_turn(stop_id):
            walk_in = self.session.scalar(_NEXT_WAITING, params)
            if walk_in is not None:
                return walk_in
        return self.session.scalar(_NEXT_ANY, params)

    def _walk_in_turn(self, stop_id: int) -> bool:
        """With `interleave` N > 0: N walk-ins are called after each appointment."""
        if self.interleave <= 0:
            return False
        recent = self.session.scalars(_RECENT_CALLS, {"stop_id": stop_id, "n": self.interleave})
        return any(source == Source.APPOINTMENT for source in recent)

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

    # -- reading ------------------------------------------------------------------------------

    def position(self, ticket: Ticket) -> Position | None:
        """People ahead of a waiting ticket and its expected wait; None once it left the queue.

        "Ahead" is who `call_next` would call first now (`_NEXT_ANY`'s order): appointments
        whose slot has started, then by priority and arrival (an appointment's slot time), among
        the products the same desks serve. With `interleave` the walk-ins' turns between
        appointments are not counted: the order stays `_NEXT_ANY`'s.
        """
        if ticket.status != W:
            return None
        desks_for, products_for = self._desk_map(ticket.stop_id)
        related = products_for.get(ticket.product_id, {ticket.product_id})
        now = self.now()
        due = ticket.due_at is not None and ticket.due_at <= now
        rows = self.session.execute(
            _AHEAD,
            {
                "stop_id": ticket.stop_id,
                "product_ids": sorted(related),
                "now": now,
                "due_group": 0 if due else 1,
                "priority": ticket.priority,
                "order_at": ticket.due_at or ticket.issued_at,
                "ticket_id": ticket.id,
            },
        ).all()
        ahead = Counter({product_id: count for product_id, count in rows})
        return self._estimate(ticket.stop_id, ticket.product_id, ahead, desks_for)

    def expected_wait(self, stop: Stop, product: Product) -> Position:
        """What a walk-in who takes a number for `product` now can expect: everyone waiting for
        the products its desks serve is ahead (appointments that are not due yet will be by
        the time they are called)."""
        desks_for, products_for = self._desk_map(stop.id)
        related = products_for.get(product.id, {product.id})
        rows = self.session.execute(
            _WAITING_BY_PRODUCT, {"stop_id": stop.id, "product_ids": sorted(related)}
        ).all()
        ahead = Counter({product_id: count for product_id, count in rows})
        return self._estimate(stop.id, product.id, ahead, desks_for)

    def waiting_counts(self, stop_id: int) -> dict[str, int]:
        """How many wait per product code at this stop (every product offered, zeros too)."""
        rows = self.session.execute(_WAITING_COUNTS, {"stop_id": stop_id}).all()
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
                .order_by(_DUE_GROUP, *_ARRIVAL_ORDER)
                .options(selectinload(Ticket.product)),
                {"now": self.now()},
            )
        )

    def current_ticket(self, desk: Desk) -> Ticket | None:
        """The ticket called to or being served at this desk, if any."""
        return self.session.scalar(
            select(Ticket).where(Ticket.desk_id == desk.id, Ticket.status.in_(ACTIVE_AT_DESK))
        )

    # -- internals ----------------------------------------------------------------------------

    def issue_for_appointment(
        self,
        stop: Stop,
        product_code: str,
        *,
        due_at: datetime,
        claim: Callable[[Ticket], None],
        actor: Actor = SYSTEM,
    ) -> Ticket:
        """A ticket for a checked-in appointment, called before walk-ins from `due_at` on.

        `claim(ticket)` runs in the ticket's transaction (it marks the appointment checked in,
        or raises to issue nothing).
        """
        ticket = self._issue(
            stop, product_code, source=Source.APPOINTMENT, actor=actor, due_at=due_at, claim=claim
        )
        self.end_read()
        return ticket

    def _issue(
        self,
        stop: Stop,
        product_code: str,
        *,
        source: Source = Source.WALK_IN,
        priority: int = 0,
        actor: Actor = SYSTEM,
        due_at: datetime | None = None,
        claim: Callable[[Ticket], None] | None = None,
    ) -> Ticket:
        """Issue, commit and publish; the read that built the payloads is left open."""
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
                due_at=due_at,
            )
            self.session.add(ticket)
            self.session.flush()
            if claim is not None:
                claim(ticket)
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
        return ticket

    def _next_number(self, stop_id: int, product_id: int) -> int:
        """One atomic upsert on the counter row: no two callers ever get the same number."""
        upsert = _NEXT_NUMBER[self.session.get_bind().dialect.name]
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
    ) -> Ticket:
        action = f"ticket.{name}"
        self.begin_write()
        try:
            locked = self.session.scalars(_LOCK_TICKET, {"ticket_id": ticket.id}).one_or_none()
            if locked is None:
                raise UnknownTicket()
            ticket = locked
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
        rows = self.session.execute(_ACTIVE_DESK_PRODUCTS, {"stop_id": stop_id}).all()
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
        rows = self.session.execute(_SERVICE_SECONDS, {"stop_id": stop_id}).all()
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
