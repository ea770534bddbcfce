"""The slot side of appointments: opening bookable slots at a stop, finding free ones (here
later today, or at the next stops; per stop for moving an appointment), grouping them by part
of the day, and the products that can be booked.

`SlotService` is the base of the appointment services (booking.py builds on it); it reads and
opens slots, it never takes or gives back a place: a slot's `booked` counter moves only in
booking.py, by guarded UPDATEs.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from kiosk.models import Product, Slot, Stop, StopStatus
from kiosk.services.appointments.errors import NotBookable, UnknownSlot
from kiosk.services.base import SYSTEM, Actor, LocalService
from kiosk.services.errors import DomainError, UnknownProduct


class SlotService(LocalService):
    """Slots per stop and product: open them, look them up, find free ones."""

    def open_slots(
        self,
        stop: Stop,
        product: Product,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        minutes: int | None = None,
        capacity: int | None = None,
        actor: Actor = SYSTEM,
    ) -> list[Slot]:
        """Bookable slots from `start` to `end` (default: the stop's window), each `minutes` long
        (default: the product's duration) for `capacity` people (default: the stop's desks that
        serve the product). Existing slots are kept; returns the new ones."""
        if not (product.bookable or product.appointment_required):
            raise NotBookable(product=product.code)
        if product not in stop.products:
            raise NotBookable(product=product.code)
        length = timedelta(minutes=minutes or product.duration_minutes)
        if length <= timedelta(0):
            raise DomainError("A slot must last at least a minute.")
        places = capacity or max(
            1, sum(1 for d in stop.desks if d.active and product in d.products)
        )
        begin = max(start or stop.starts_at, stop.starts_at)
        finish = min(end or stop.ends_at, stop.ends_at)
        self.begin_write()
        taken = set(
            self.session.scalars(
                select(Slot.starts_at).where(Slot.stop_id == stop.id, Slot.product_id == product.id)
            )
        )
        created = []
        moment = begin
        while moment + length <= finish:
            if moment not in taken:
                slot = Slot(
                    stop_id=stop.id,
                    product_id=product.id,
                    starts_at=moment,
                    ends_at=moment + length,
                    capacity=places,
                    booked=0,
                )
                self.session.add(slot)
                created.append(slot)
            moment += length
        self.session.flush()
        self.log(
            "slots.open",
            actor,
            object_type="stop",
            object_id=stop.id,
            stop_id=stop.id,
            product_id=product.id,
            count=len(created),
        )
        self.session.commit()
        return created

    def product(self, code_or_prefix: str) -> Product:
        """An active product by code or ticket prefix, or `UnknownProduct`."""
        wanted = code_or_prefix.strip()
        found = self.session.scalar(
            select(Product).where(
                Product.active.is_(True),
                (Product.code == wanted) | (Product.prefix == wanted.upper()),
            )
        )
        if found is None:
            raise UnknownProduct()
        return found

    def slot(self, slot_id: int) -> Slot:
        """The slot with this id, or `UnknownSlot` (also for an id that is not an int)."""
        slot = self.session.get(Slot, slot_id) if isinstance(slot_id, int) else None
        if slot is None:
            raise UnknownSlot()
        return slot

    def free_slots(
        self,
        product: Product,
        *,
        stop: Stop | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
    ) -> list[Slot]:
        """Slots with room, from now (or `since`) on, soonest first; at one stop or any."""
        now = self.now()
        query = (
            select(Slot)
            .join(Stop, Stop.id == Slot.stop_id)
            .where(
                Slot.product_id == product.id,
                Slot.booked < Slot.capacity,
                Slot.starts_at > now,
                Slot.starts_at >= (since or now),
                Stop.status != StopStatus.CLOSED,
            )
            .options(joinedload(Slot.stop).joinedload(Stop.location))
            .order_by(Slot.starts_at, Slot.stop_id)
            .limit(limit)
        )
        if stop is not None:
            query = query.where(Slot.stop_id == stop.id)
        if until is not None:
            query = query.where(Slot.starts_at < until)
        found = list(self.session.scalars(query).unique())
        self.end_read()
        return found

    def bookable_products(self) -> list[Product]:
        """Active products that can be booked (or need an appointment), in the kiosk's order."""
        found = list(
            self.session.scalars(
                select(Product)
                .where(
                    Product.active.is_(True),
                    Product.bookable.is_(True) | Product.appointment_required.is_(True),
                )
                .order_by(Product.sort_order, Product.id)
            )
        )
        self.end_read()
        return found

    def other_times(
        self, product: Product, *, exclude: int | None = None, limit: int = 500
    ) -> dict[int, list[Slot]]:
        """Free times for `product` per stop (stop id -> its slots, soonest first; stops in the
        order of their first free time), leaving out slot `exclude` (the one a resident holds):
        where and when an appointment can move to."""
        by_stop: dict[int, list[Slot]] = {}
        for slot in self.free_slots(product, limit=limit):
            if slot.id != exclude:
                by_stop.setdefault(slot.stop_id, []).append(slot)
        return by_stop

    def by_day_part(self, slots: list[Slot]) -> list[tuple[date, str, list[Slot]]]:
        """Consecutive slots grouped by local day and part of it ("morning" before 12:00,
        "afternoon" before 18:00, "evening"): what a resident scans to pick a time."""
        groups: list[tuple[date, str, list[Slot]]] = []
        for slot in slots:
            local = self.local(slot.starts_at)
            part = "morning" if local.hour < 12 else "afternoon" if local.hour < 18 else "evening"
            if groups and groups[-1][:2] == (local.date(), part):
                groups[-1][2].append(slot)
            else:
                groups.append((local.date(), part, [slot]))
        return groups

    def later_options(self, product: Product, stop: Stop | None, *, limit: int = 4) -> list[Slot]:
        """What a kiosk offers to come back for, soonest first within each group: free times
        later today at this stop (half of `limit`), then the first free time at each of the next
        stops; more times here fill up what the other stops leave."""
        if limit <= 0:
            return []
        here: list[Slot] = []
        if stop is not None:
            here = self.free_slots(product, stop=stop, until=stop.ends_at, limit=limit)
        others: list[Slot] = []
        seen_stops = {stop.id} if stop is not None else set()
        for slot in self.free_slots(product, limit=200):
            if len(others) >= limit:
                break
            if slot.stop_id not in seen_stops:
                seen_stops.add(slot.stop_id)
                others.append(slot)
        first_here = here[: max(limit // 2, limit - len(others))]
        return first_here + others[: limit - len(first_here)]
