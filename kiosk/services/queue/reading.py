"""The queue read, never changed: the look-ups every door starts from, a ticket's place in the
queue and its expected wait, the counts per product, what a board and a desk show.

`QueueReads` is the base of `QueueService` (service.py), which adds the steps; reading is kept
apart so the rules of "who is ahead" sit in one place, next to the statements they run
(`AHEAD` and `NEXT_ANY` in statements.py share one order: keep them in step).

Expected waits: the people ahead, per product, times the mean service time today at this stop
(else the product's planned duration), divided by the active desks that serve the product.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kiosk.models import ACTIVE_AT_DESK, Desk, Product, Stop, Ticket, TicketStatus
from kiosk.payloads import Position, desk_board_payload, product_ref, ticket_public_payload
from kiosk.services.base import Service
from kiosk.services.errors import (
    ProductNotOffered,
    UnknownDesk,
    UnknownProduct,
    UnknownStop,
    UnknownTicket,
)
from kiosk.services.queue.statements import (
    ACTIVE_DESK_PRODUCTS,
    AHEAD,
    ARRIVAL_ORDER,
    DUE_GROUP,
    FOR_THIS_DESK,
    PRODUCT_AT_STOP,
    PRODUCT_CODE,
    SERVICE_SECONDS,
    TICKET_BY_TOKEN,
    TICKET_LOADS,
    WAITING_BY_PRODUCT,
    WAITING_COUNTS,
)
from kiosk.services.queue.tickets import W
from kiosk.services.slides import board_slides
from kiosk.services.validation import is_id

# Calls that ended at the desk; a board lists the latest of them under the current calls.
ENDED_AFTER_CALL = (TicketStatus.DONE, TicketStatus.NO_SHOW)


def _storable_id(value: int) -> bool:
    # The one id rule (kiosk/services/validation.py): a larger number cannot exist, and binding
    # it would fail in the driver (OverflowError, DataError) instead of "not found".
    return is_id(value)


class QueueReads(Service):
    """What the queue shows without changing it: the look-ups, a ticket's place and wait, the
    counts, a board's and a desk's view. `QueueService` adds the steps that change it."""

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
        ticket = self.session.scalar(TICKET_BY_TOKEN, {"token": token})
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
            .options(*TICKET_LOADS)
        )
        if ticket is None:
            raise UnknownTicket()
        return ticket

    def product_at(self, stop: Stop, code_or_prefix: str) -> Product:
        """A product by code or ticket prefix, only if this stop offers it."""
        wanted = code_or_prefix.strip()
        match = {"code": wanted, "prefix": wanted.upper()}
        product = self.session.scalar(PRODUCT_AT_STOP, {"stop_id": stop.id, **match})
        if product is None:
            elsewhere = self.session.scalar(PRODUCT_CODE, match)
            raise ProductNotOffered(product=elsewhere) if elsewhere else UnknownProduct()
        return product

    # -- reading ------------------------------------------------------------------------------

    def position(self, ticket: Ticket) -> Position | None:
        """People ahead of a waiting ticket and its expected wait; None once it left the queue.

        "Ahead" is who `call_next` would call first now (`NEXT_ANY`'s order): appointments
        whose slot has started, then by priority and arrival (an appointment's slot time), among
        the products the same desks serve. With `interleave` the walk-ins' turns between
        appointments are not counted: the order stays `NEXT_ANY`'s.
        """
        if ticket.status != W:
            return None
        desks_for, products_for = self._desk_map(ticket.stop_id)
        related = products_for.get(ticket.product_id, {ticket.product_id})
        now = self.now()
        due = ticket.due_at is not None and ticket.due_at <= now
        rows = self.run(
            AHEAD,
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
        rows = self.run(
            WAITING_BY_PRODUCT, {"stop_id": stop.id, "product_ids": sorted(related)}
        ).all()
        ahead = Counter({product_id: count for product_id, count in rows})
        return self._estimate(stop.id, product.id, ahead, desks_for)

    def waiting_counts(self, stop_id: int) -> dict[str, int]:
        """How many wait per product code at this stop (every product offered, zeros too)."""
        rows = self.run(WAITING_COUNTS, {"stop_id": stop_id}).all()
        return {code: count for code, count in rows}

    def board_state(self, stop: Stop, *, earlier: int = 6) -> dict[str, Any]:
        """What a display board shows: every ticket now called or served at a desk (one per
        desk, newest first), then up to `earlier` calls that have ended (done or no-show,
        newest first) for residents who look up late, and who waits for what; and the
        information slides the board shows between calls."""
        loads = (selectinload(Ticket.product), selectinload(Ticket.desk))
        by_call = (Ticket.last_called_at.desc(), Ticket.id.desc())
        active = self.session.scalars(
            select(Ticket)
            .where(Ticket.stop_id == stop.id, Ticket.status.in_(ACTIVE_AT_DESK))
            .order_by(*by_call)
            .options(*loads)
        ).all()
        ended = (
            self.session.scalars(
                select(Ticket)
                .where(
                    Ticket.stop_id == stop.id,
                    Ticket.status.in_(ENDED_AFTER_CALL),
                    Ticket.last_called_at.is_not(None),
                )
                .order_by(*by_call)
                .limit(earlier)
                .options(*loads)
            ).all()
            if earlier > 0
            else []
        )
        counts = self.waiting_counts(stop.id)
        return {
            "stop": {
                "id": stop.id,
                "name": stop.location.name,
                "status": stop.status.value,
                "accepting_tickets": stop.accepts_walk_ins(self.now()),
            },
            "calls": [ticket_public_payload(t) for t in active],
            "earlier": [ticket_public_payload(t) for t in ended],
            "waiting": [
                {"product": product_ref(p), "count": counts.get(p.code, 0)} for p in stop.products
            ],
            "slides": board_slides(self.session, stop.id),
            "at": self.now().isoformat().replace("+00:00", "Z"),
            # The desks in use today; a paused one reads "Balie 2: gesloten" (H3, #15).
            "desks": self.board_desks(stop.id),
        }

    def board_desks(self, stop_id: int) -> list[dict[str, Any]]:
        """The stop's desks that are switched on, each with whether it is paused (the board
        shows a paused desk as closed; `desk_updated` brings every change)."""
        desks = self.session.scalars(
            select(Desk).where(Desk.stop_id == stop_id, Desk.active.is_(True)).order_by(Desk.id)
        )
        return [desk_board_payload(d) for d in desks]

    def desk_queue(self, desk: Desk) -> list[Ticket]:
        """The waiting tickets this desk may call, in the order it would call them (not
        those sent to another desk that is live: `FOR_THIS_DESK`)."""
        product_ids = [p.id for p in desk.products]
        return list(
            self.session.scalars(
                select(Ticket)
                .where(
                    Ticket.stop_id == desk.stop_id,
                    Ticket.status == W,
                    Ticket.product_id.in_(product_ids),
                    FOR_THIS_DESK,
                )
                .order_by(DUE_GROUP, *ARRIVAL_ORDER)
                .options(selectinload(Ticket.product)),
                {"now": self.now(), "desk_id": desk.id},
            )
        )

    def current_ticket(self, desk: Desk) -> Ticket | None:
        """The ticket called to or being served at this desk, if any."""
        return self.session.scalar(
            select(Ticket).where(Ticket.desk_id == desk.id, Ticket.status.in_(ACTIVE_AT_DESK))
        )

    # -- internals ----------------------------------------------------------------------------

    def _desk_map(self, stop_id: int) -> tuple[dict[int, int], dict[int, set[int]]]:
        """Per product: how many active desks serve it, and which products share those desks."""
        rows = self.run(ACTIVE_DESK_PRODUCTS, {"stop_id": stop_id}).all()
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
        rows = self.run(SERVICE_SECONDS, {"stop_id": stop_id}).all()
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
