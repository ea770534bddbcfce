"""What the use cases that make and change stops share, one stop at a time (stops.py) or all
the stops of a series (series.py): reading what a stop offers from a form (`Offer`), the opening
window on a local date, clashes with another stop at the same place, building a stop, and
reshaping one without stranding anyone who waits or booked.

`StopShaping` is the base class of `StopService` and `SeriesService`; it has no use cases of
its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, exists, func, or_, select

from kiosk.models import (
    ACTIVE_AT_DESK,
    Appointment,
    AppointmentStatus,
    Desk,
    Location,
    Product,
    Slot,
    Stop,
    StopStatus,
    Ticket,
    TicketStatus,
)
from kiosk.services.appointments import AppointmentService
from kiosk.services.base import Actor
from kiosk.services.planning.base import PlanningService, day_text
from kiosk.services.planning.forms import DeskInput, OfferInput
from kiosk.services.planning.recurrence import MAX_WEEKS, SeriesError, local_window
from kiosk.services.validation import (
    N_,
    Errors,
    Refused,
    Text,
    check_length,
    clean,
    id_list,
    number_field,
    opening_hours,
    parse_id,
    text,
    text_field,
)

ACTIVE_BOOKINGS = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)
WAITING_OR_AT_DESK = (TicketStatus.WAITING, *ACTIVE_AT_DESK)


@dataclass(frozen=True)
class Offer:
    """What a stop offers, checked: its products, its desks (name, what each serves), how many
    people it takes, a note; and how many places each new bookable slot gets."""

    products: list[Product]
    desks: list[tuple[str, list[Product]]]
    capacity: int | None
    note: str
    slot_capacity: int | None = None

    @classmethod
    def of(cls, stop: Stop) -> Offer:
        """What a stored stop offers."""
        return cls(
            list(stop.products),
            [(d.name, list(d.products)) for d in stop.desks],
            stop.capacity,
            stop.note,
        )

    def desk_ids(self) -> list[tuple[str, list[int]]]:
        """Each desk's name with the ids of what it serves."""
        return [(name, [p.id for p in serves]) for name, serves in self.desks]

    def stored_desks(self) -> list[dict[str, Any]]:
        """The desks as a series keeps them."""
        return [{"name": name, "products": ids} for name, ids in self.desk_ids()]

    def key(self) -> tuple[Any, ...]:
        """What makes two offers the same (the slots' places aside)."""
        return [p.id for p in self.products], self.desk_ids(), self.capacity, self.note


@dataclass(frozen=True)
class StopUsage:
    """How many tickets and bookings a stop has."""

    tickets: int = 0
    appointments: int = 0  # any status

    @property
    def used(self) -> bool:
        """Whether anyone has a ticket or a booking (then the stop stays for the record)."""
        return bool(self.tickets or self.appointments)


def rule_error(errors: Errors, error: SeriesError) -> None:
    """A recurrence rule's error (kiosk.services.planning.recurrence) as a text at the form's
    field."""
    name = {"time": "start", "day": "first_date"}.get(error.field, error.field)
    day = error.params.get("day")
    shown = day_text(day) if isinstance(day, date) else ""
    if error.code == "time_missing":
        errors.add(
            name,
            N_(
                "Deze tijd bestaat niet op %(date)s: de klok gaat die nacht een uur vooruit. "
                "Kies een andere tijd."
            ),
            date=shown,
        )
    elif error.code == "end_before_start":
        errors.add("end", N_("De eindtijd moet later zijn dan de begintijd."))
    elif error.code == "exception_not_in_series":
        errors.add(
            "exceptions",
            N_("%(date)s valt niet op een dag van deze reeks."),
            date=shown,
        )
    elif error.code == "all_skipped":
        errors.add("exceptions", N_("Zo worden alle datums overgeslagen."))
    elif error.code == "no_dates":
        errors.add("weekdays", N_("In deze periode valt geen van de gekozen dagen."))
    elif error.code in ("weeks_out_of_range", "period_too_long"):
        errors.add(name, N_("Een reeks duurt hoogstens %(max)s weken."), max=MAX_WEEKS)
    elif error.code == "last_before_first":
        errors.add("last_date", N_("De laatste datum ligt voor de eerste datum."))
    else:
        errors.add(name, N_("Deze reeks kan zo niet. Controleer de dagen en datums."))


class StopShaping(PlanningService):
    """Base of the services that make and change stops: the checks and steps they share."""

    def usage(self, stop: Stop) -> StopUsage:
        """How many tickets and bookings (any state) a stop has."""
        return StopUsage(
            tickets=self.session.scalar(
                select(func.count(Ticket.id)).where(Ticket.stop_id == stop.id)
            )
            or 0,
            appointments=self.session.scalar(
                select(func.count(Appointment.id)).where(Appointment.stop_id == stop.id)
            )
            or 0,
        )

    def _location_field(self, errors: Errors, raw: str) -> Location | None:
        """The location chosen on a form (its id), or a field error."""
        location_id = parse_id(str(raw or ""))
        location = self.session.get(Location, location_id) if location_id else None
        if location is None:
            errors.add("location", N_("Kies een locatie."))
        return location

    def _window(
        self, errors: Errors, day: date | None, start_raw: str, end_raw: str
    ) -> tuple[datetime, datetime] | None:
        """A form's opening window on a local date, in UTC; None after a field error."""
        times = opening_hours(errors, start_raw, end_raw)
        if times is None or day is None:
            return None
        try:
            return local_window(day, *times, self.tz)
        except SeriesError as error:
            rule_error(errors, error)
            return None

    def _offer(
        self,
        errors: Errors,
        location: Location | None,
        data: OfferInput,
        *,
        desks: bool = True,
        slot_capacity: str | None = None,
    ) -> Offer:
        """The offer of a stop or series form: products allowed at the location, desks (when the
        form has them), capacity, the places per slot (when asked) and the note."""
        products = self._stop_products(errors, location, data.products)
        rows = self._desk_rows(errors, data.desks, products, required=True) if desks else []
        capacity = number_field(errors, "capacity", data.capacity, 1, 10000)
        places = None
        if slot_capacity is not None:
            places = number_field(errors, "slot_capacity", slot_capacity, 1, 50)
        note = text_field(errors, "note", data.note, 200)
        return Offer(products, rows, capacity, note, places)

    def _stop_products(
        self, errors: Errors, location: Location | None, raw: Sequence[str]
    ) -> list[Product]:
        """A form's products: at least one, each allowed at the location and active."""
        products = self._products_by_id(raw)
        if not products:
            errors.add("products", N_("Kies minstens één product."))
            return []
        if location is None:
            return products
        allowed = {p.id for p in location.allowed_products}
        for product in products:
            if product.id not in allowed:
                errors.add(
                    "products",
                    N_(
                        "%(product)s mag niet op %(location)s. Kies alleen producten die bij "
                        "deze locatie horen, of pas de locatie aan."
                    ),
                    product=product.name("nl"),
                    location=location.name,
                )
            elif not product.active:
                errors.add(
                    "products",
                    N_("%(product)s staat op niet actief."),
                    product=product.name("nl"),
                )
        return products

    def _desk_rows(
        self,
        errors: Errors,
        rows: Sequence[DeskInput],
        products: list[Product],
        *,
        required: bool,
        prefix: str = "desks",
    ) -> list[tuple[str, list[Product]]]:
        """Desk rows of a form: named rows count, empty ones are left out."""
        found: list[tuple[str, list[Product]]] = []
        names: set[str] = set()
        offered = {p.id: p for p in products}
        for index, row in enumerate(rows):
            name = clean(row.name)
            ids = id_list(row.products)
            if not name:
                if ids:
                    errors.add(f"{prefix}-{index}-name", N_("Geef deze balie een naam."))
                continue
            key = f"{prefix}-{index}-name"
            check_length(errors, key, name, 40)
            if name.lower() in names:
                errors.add(key, N_("Twee balies hebben dezelfde naam."))
            names.add(name.lower())
            # A product ticked here but not for the stop is left out (it was just taken off
            # the stop); a desk left with none of its products would silently do everything.
            kept = [offered[i] for i in ids if i in offered]
            if ids and not kept and products:
                errors.add(
                    f"{prefix}-{index}-products",
                    N_("Deze balie doet geen van de producten van de loketdag. Kies wat zij doet."),
                )
            found.append((name, kept or list(products)))
        if required and not found:
            errors.add(f"{prefix}-0-name", N_("Geef de loketdag minstens één balie."))
        return found

    def _clash(
        self,
        location: Location,
        starts_at: datetime,
        ends_at: datetime,
        *,
        besides: Stop | None = None,
    ) -> Stop | None:
        """Another stop at this location whose window overlaps this one."""
        return self.session.scalar(
            select(Stop)
            .where(
                Stop.location_id == location.id,
                Stop.starts_at < ends_at,
                Stop.ends_at > starts_at,
                Stop.id != (besides.id if besides else -1),
            )
            .limit(1)
        )

    def _check_clash(
        self,
        errors: Errors,
        location: Location | None,
        window: tuple[datetime, datetime] | None,
        *,
        besides: Stop | None = None,
    ) -> None:
        """Once the rest of the form is right: the stop may not overlap another one there."""
        if location is None or window is None or errors:
            return
        clash = self._clash(location, *window, besides=besides)
        if clash is not None:
            reason = self._clash_text(clash)
            errors.add("start", reason.msgid, **reason.params)

    def _clash_text(self, clash: Stop) -> Text:
        """Why a window is refused: the other stop at that place and time."""
        return text(
            N_("Op deze locatie is op %(date)s al een loketdag van %(start)s tot %(end)s."),
            date=self._day_of(clash.starts_at),
            start=self._time_of(clash.starts_at),
            end=self._time_of(clash.ends_at),
        )

    def _build_stop(
        self, location: Location, window: tuple[datetime, datetime], offer: Offer
    ) -> Stop:
        """A new planned stop with what the offer says (added to the session, not committed)."""
        stop = Stop(
            location=location,
            starts_at=window[0],
            ends_at=window[1],
            status=StopStatus.PLANNED,
            products=list(offer.products),
            capacity=offer.capacity,
            note=offer.note,
        )
        stop.desks = [Desk(name=name, products=list(serves)) for name, serves in offer.desks]
        self.session.add(stop)
        return stop

    def _reshape(
        self, stop: Stop, window: tuple[datetime, datetime], products: list[Product]
    ) -> None:
        """Give a stop a new window and products, refusing what would strand people: someone
        waiting for a product taken off, or a booking outside the new window. Empty slots that
        no longer fit are removed; desks stop serving removed products."""
        starts_at, ends_at = window
        removed = [p for p in stop.products if p not in products]
        for product in removed:
            waiting = self.session.scalar(
                select(func.count(Ticket.id)).where(
                    Ticket.stop_id == stop.id,
                    Ticket.product_id == product.id,
                    Ticket.status.in_(WAITING_OR_AT_DESK),
                )
            )
            if waiting:
                raise Refused(
                    text(
                        N_("Er wachten nog mensen voor %(product)s. Laat het product staan."),
                        product=product.name("nl"),
                    )
                )
            if self._bookings(stop, product_id=product.id):
                raise Refused(
                    text(
                        N_(
                            "Er zijn afspraken voor %(product)s op deze loketdag. Zeg die eerst "
                            "af, of laat het product staan."
                        ),
                        product=product.name("nl"),
                    )
                )
        if (starts_at, ends_at) != (stop.starts_at, stop.ends_at):
            outside = self._bookings(stop, outside=(starts_at, ends_at))
            if outside:
                raise Refused(
                    text(
                        N_(
                            "Er zijn afspraken buiten de nieuwe tijden (de eerste op %(date)s om "
                            "%(time)s). Zeg die eerst af, of kies tijden waar zij in passen."
                        ),
                        date=self._day_of(outside[0]),
                        time=self._time_of(outside[0]),
                    )
                )
        empty = ~exists().where(Appointment.slot_id == Slot.id)
        for product in removed:
            self.session.execute(
                delete(Slot).where(Slot.stop_id == stop.id, Slot.product_id == product.id, empty)
            )
        self.session.execute(
            delete(Slot).where(
                Slot.stop_id == stop.id,
                or_(Slot.starts_at < starts_at, Slot.ends_at > ends_at),
                empty,
            )
        )
        for desk in stop.desks:
            desk.products = [p for p in desk.products if p in products]
        stop.starts_at, stop.ends_at = starts_at, ends_at
        stop.products = list(products)

    def _bookings(
        self,
        stop: Stop,
        *,
        product_id: int | None = None,
        outside: tuple[datetime, datetime] | None = None,
    ) -> list[datetime]:
        """Start times of the stop's live bookings, for one product or outside a window."""
        query = (
            select(Slot.starts_at)
            .join(Appointment, Appointment.slot_id == Slot.id)
            .where(Appointment.stop_id == stop.id, Appointment.status.in_(ACTIVE_BOOKINGS))
            .order_by(Slot.starts_at)
        )
        if product_id is not None:
            query = query.where(Appointment.product_id == product_id)
        if outside is not None:
            query = query.where(or_(Slot.starts_at < outside[0], Slot.ends_at > outside[1]))
        return list(self.session.scalars(query))

    def _open_slots(self, stops: Sequence[Stop], capacity: int | None, actor: Actor) -> int:
        """One transaction per stop and product (AppointmentService.open_slots)."""
        appointments = AppointmentService(
            self.session, self.notifier, self.clock, timezone=self.tz.key
        )
        opened = 0
        for stop in stops:
            for product in stop.products:
                if product.bookable or product.appointment_required:
                    opened += len(
                        appointments.open_slots(stop, product, capacity=capacity, actor=actor)
                    )
        return opened

    def _remove_stop(self, stop: Stop) -> None:
        """Delete a stop's row; the database removes its desks, slots and series link (ON DELETE
        CASCADE), which the ORM would try to orphan instead."""
        series = stop.series
        self.session.execute(delete(Stop).where(Stop.id == stop.id))
        if series is not None:
            self.session.expire(series, ["stops"])
