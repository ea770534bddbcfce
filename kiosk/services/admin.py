"""The coordinators' use cases for planning the tour: locations, products, stops, their desks,
recurring series of stops, and what the overview shows.

Forms send text; each use case checks all of it and raises `Invalid` with a text per field, or
`Refused`/`InUse` with one plain explanation (409) when the rules say no: something still in use
is never deleted (a location with stops, a product with tickets, a stop with tickets or
bookings, a desk that served tickets). Things with a history are switched off instead (products,
desks: `active`). Every change appends an event with the actor, the action, the object and the
changed fields ({"name": [old, new]}); the time is the event's own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from kiosk.models import (
    ACTIVE_AT_DESK,
    Appointment,
    AppointmentStatus,
    Desk,
    Event,
    Location,
    Product,
    Slot,
    StaffUser,
    Stop,
    StopSeries,
    StopStatus,
    Ticket,
    TicketCounter,
    TicketStatus,
    location_products,
    stop_products,
    stop_series_products,
)
from kiosk.series import MAX_WEEKS, BadDate, Rule, SeriesError, expand, local_window, parse_date
from kiosk.services.appointments import AppointmentService
from kiosk.services.base import SYSTEM, Actor, LocalService, diff
from kiosk.services.errors import NotFound
from kiosk.services.validation import (
    N_,
    Errors,
    InUse,
    Refused,
    Text,
    check_length,
    clean,
    coordinate_field,
    date_field,
    id_list,
    number_field,
    opening_hours,
    rolls_back,
    text,
    text_field,
    time_field,
)

ACTIVE_BOOKINGS = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)
WAITING_OR_AT_DESK = (TicketStatus.WAITING, *ACTIVE_AT_DESK)
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
PREFIX = re.compile(r"^[A-Z]{1,2}$")
PRODUCT_MODES = ("walk_in", "both", "appointment")


# -- what the forms send ------------------------------------------------------------------------


@dataclass
class LocationInput:
    name: str
    address: str = ""
    neighbourhood: str = ""
    latitude: str = ""
    longitude: str = ""
    products: Sequence[str] = ()  # ids of the products that may be offered here


@dataclass
class ProductInput:
    code: str  # only when creating; fixed afterwards (booking links use it)
    prefix: str
    name_nl: str
    name_en: str = ""
    bring_nl: str = ""
    bring_en: str = ""
    duration: str = "10"
    mode: str = "walk_in"  # walk_in | both | appointment
    sort_order: str = ""
    active: bool = True


@dataclass
class DeskInput:
    name: str
    products: Sequence[str] = ()  # ids; empty: every product of the stop
    active: bool = True


@dataclass
class StopInput:
    location: str
    date: str
    start: str
    end: str
    products: Sequence[str] = ()
    desks: Sequence[DeskInput] = ()  # when creating; afterwards desks are changed one by one
    capacity: str = ""
    note: str = ""
    open_slots: bool = False
    slot_capacity: str = ""


@dataclass
class SeriesInput:
    location: str
    weekdays: Sequence[str]
    start: str
    end: str
    first_date: str
    weeks: str = ""
    last_date: str = ""
    exceptions: str = ""  # dates as typed, separated by commas or new lines
    skip: Sequence[str] = ()  # ISO dates ticked on the preview
    products: Sequence[str] = ()
    desks: Sequence[DeskInput] = ()
    capacity: str = ""
    note: str = ""
    open_slots: bool = False
    slot_capacity: str = ""


@dataclass
class SeriesEdit:
    """A change to the stops of a series that are still to come."""

    start: str
    end: str
    last_date: str
    products: Sequence[str] = ()
    desks: Sequence[DeskInput] = ()
    capacity: str = ""
    note: str = ""


class OfferInput(Protocol):
    """What the stop form, the series form and a series edit share: what a stop offers."""

    products: Sequence[str]
    desks: Sequence[DeskInput]
    capacity: str
    note: str


# -- what the use cases give back ---------------------------------------------------------------


@dataclass(frozen=True)
class PlannedDate:
    day: date
    starts_at: datetime
    ends_at: datetime
    skipped: bool
    clash: Stop | None = None  # another stop at this location at the same time


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


@dataclass
class SeriesPlan:
    """A checked series that is not stored yet: the preview shows it, `create_series` makes it."""

    location: Location
    rule: Rule
    dates: list[PlannedDate]
    offer: Offer
    open_slots: bool

    @property
    def stop_dates(self) -> list[PlannedDate]:
        return [d for d in self.dates if not d.skipped]

    @property
    def clashes(self) -> list[PlannedDate]:
        return [d for d in self.stop_dates if d.clash is not None]


@dataclass(frozen=True)
class StopUsage:
    tickets: int = 0
    appointments: int = 0  # any status

    @property
    def used(self) -> bool:
        return bool(self.tickets or self.appointments)


@dataclass(frozen=True)
class Change:
    """One logged change, for the overview."""

    event: Event
    who: str


@dataclass
class Overview:
    locations: int
    products: int
    upcoming: list[Stop]
    series: int
    changes: list[Change] = field(default_factory=list)


def _day(value: date) -> str:
    return value.strftime("%d-%m-%Y")


def _codes(products: Iterable[Product]) -> list[str]:
    return [p.code for p in products]


# -- the service --------------------------------------------------------------------------------


class AdminService(LocalService):
    """Plans the tour. Local dates and times use `timezone`; storage is UTC."""

    def _day_of(self, moment: datetime) -> str:
        """A moment's local date as the texts show it (24-11-2026)."""
        return _day(self.local(moment).date())

    def _time_of(self, moment: datetime) -> str:
        """A moment's local time as the texts show it (18:00)."""
        return self.local(moment).strftime("%H:%M")

    # -- reads --------------------------------------------------------------------------------

    def overview(self, *, changes: int = 15) -> Overview:
        """Counts, the next stops and the latest changes by coordinators and admins."""
        now = self.now()
        result = Overview(
            locations=self.session.scalar(select(func.count(Location.id))) or 0,
            products=self.session.scalar(
                select(func.count(Product.id)).where(Product.active.is_(True))
            )
            or 0,
            upcoming=list(
                self.session.scalars(
                    select(Stop)
                    .where(Stop.ends_at > now, Stop.status != StopStatus.CLOSED)
                    .options(selectinload(Stop.location))
                    .order_by(Stop.starts_at)
                    .limit(5)
                )
            ),
            series=self.session.scalar(
                select(func.count(StopSeries.id)).where(StopSeries.cancelled_at.is_(None))
            )
            or 0,
        )
        result.changes = self.changes(limit=changes)
        return result

    def changes(self, *, limit: int = 50) -> list[Change]:
        """The latest changes made by people (not by the queue or devices), newest first."""
        events = list(
            self.session.scalars(
                select(Event)
                .where(
                    Event.actor_type == "staff",
                    Event.object_type.in_(AUDITED_OBJECTS),
                    Event.action.not_in(NOT_CHANGES),
                )
                .order_by(Event.id.desc())
                .limit(limit)
            )
        )
        ids = {e.actor_id for e in events if e.actor_id is not None}
        names = {
            u.id: u.display_name or u.username
            for u in self.session.scalars(select(StaffUser).where(StaffUser.id.in_(ids)))
        }
        return [Change(e, names.get(e.actor_id or 0, "?")) for e in events]

    def locations(self) -> list[Location]:
        return list(
            self.session.scalars(
                select(Location)
                .options(selectinload(Location.allowed_products))
                .order_by(func.lower(Location.name))
            )
        )

    def location(self, location_id: int | str) -> Location:
        return self.fetch(Location, location_id, "There is no such location.")

    def products(self, *, active_only: bool = False) -> list[Product]:
        query = select(Product).order_by(Product.sort_order, Product.id)
        if active_only:
            query = query.where(Product.active.is_(True))
        return list(self.session.scalars(query))

    def product(self, product_id: int | str) -> Product:
        return self.fetch(Product, product_id, "There is no such product.")

    def stops(self, *, past: bool = False, limit: int = 200) -> list[Stop]:
        """Stops still to come (or running), soonest first; or the ones that ended, latest first."""
        now = self.now()
        query = select(Stop).options(
            selectinload(Stop.location), selectinload(Stop.products), selectinload(Stop.desks)
        )
        if past:
            query = query.where(Stop.ends_at <= now).order_by(Stop.starts_at.desc())
        else:
            query = query.where(Stop.ends_at > now).order_by(Stop.starts_at)
        return list(self.session.scalars(query.limit(limit)))

    def stop(self, stop_id: int | str) -> Stop:
        return self.fetch(Stop, stop_id, "There is no such stop.")

    def desk(self, stop: Stop, desk_id: int | str) -> Desk:
        found = self.fetch(Desk, desk_id, "There is no such desk.")
        if found.stop_id != stop.id:
            raise NotFound("There is no such desk.")
        return found

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

    def slot_counts(self, stop: Stop) -> dict[int, tuple[int, int]]:
        """Per product id: (slots, places booked) at this stop."""
        rows = self.session.execute(
            select(Slot.product_id, func.count(Slot.id), func.coalesce(func.sum(Slot.booked), 0))
            .where(Slot.stop_id == stop.id)
            .group_by(Slot.product_id)
        ).all()
        return {product_id: (count, int(booked)) for product_id, count, booked in rows}

    def series_list(self) -> list[StopSeries]:
        return list(
            self.session.scalars(
                select(StopSeries)
                .options(selectinload(StopSeries.location))
                .order_by(StopSeries.cancelled_at.is_not(None), StopSeries.first_date.desc())
            )
        )

    def series(self, series_id: int | str) -> StopSeries:
        return self.fetch(StopSeries, series_id, "There is no such series.")

    def remaining_stops(self, series: StopSeries) -> list[Stop]:
        """The stops of a series still to come and not opened yet: what an edit changes."""
        now = self.now()
        return [s for s in series.stops if s.status == StopStatus.PLANNED and s.starts_at > now]

    # -- locations ----------------------------------------------------------------------------

    @rolls_back
    def create_location(self, data: LocationInput, *, actor: Actor = SYSTEM) -> Location:
        """A new place the pop-up may visit, with the products that may be offered there."""
        self.begin_write()
        return self._create(LOCATION, Location(**self._location_values(data, None)), actor)

    @rolls_back
    def update_location(
        self, location_id: int | str, data: LocationInput, *, actor: Actor = SYSTEM
    ) -> Location:
        """Change a location. A product still planned at one of its coming stops (or series)
        cannot be taken off its list."""
        self.begin_write()
        location = self.location(location_id)
        before = LOCATION.facts(location)
        values = self._location_values(data, location)
        removed = [p for p in location.allowed_products if p not in values["allowed_products"]]
        errors = Errors()
        for product in removed:
            stop = self.session.scalar(
                select(Stop)
                .join(stop_products, stop_products.c.stop_id == Stop.id)
                .where(
                    Stop.location_id == location.id,
                    stop_products.c.product_id == product.id,
                    Stop.ends_at > self.now(),
                    Stop.status != StopStatus.CLOSED,
                )
                .order_by(Stop.starts_at)
                .limit(1)
            )
            if stop is not None:
                errors.add(
                    "products",
                    N_(
                        "%(product)s staat nog op de loketdag van %(date)s hier. "
                        "Haal het product daar eerst weg."
                    ),
                    product=product.name("nl"),
                    date=self._day_of(stop.starts_at),
                )
        errors.raise_if_any()
        for key, value in values.items():
            setattr(location, key, value)
        return self._update(LOCATION, location, before, actor)

    @rolls_back
    def delete_location(self, location_id: int | str, *, actor: Actor = SYSTEM) -> None:
        """Remove a location that was never used; one with stops stays for the record."""
        self.begin_write()
        location = self.location(location_id)
        if self.session.scalar(select(func.count(Stop.id)).where(Stop.location_id == location.id)):
            raise InUse(
                text(
                    N_(
                        "Deze locatie heeft loketdagen (ook eerdere). Die blijven bewaard, "
                        "daarom kan de locatie niet weg. U kunt de gegevens wel aanpassen."
                    )
                )
            )
        if self.session.scalar(select(StopSeries.id).where(StopSeries.location_id == location.id)):
            raise InUse(
                text(N_("Deze locatie hoort bij een reeks loketdagen. Daarom kan zij niet weg."))
            )
        self._delete(LOCATION, location, actor)

    def _location_values(self, data: LocationInput, current: Location | None) -> dict[str, Any]:
        errors = Errors()
        name = text_field(
            errors, "name", data.name, 120, required=N_("Vul de naam van de locatie in.")
        )
        address = text_field(errors, "address", data.address, 200)
        neighbourhood = text_field(errors, "neighbourhood", data.neighbourhood, 80)
        latitude = coordinate_field(errors, "latitude", data.latitude, 90)
        longitude = coordinate_field(errors, "longitude", data.longitude, 180)
        if (latitude is None) != (longitude is None) and not (
            "latitude" in errors or "longitude" in errors
        ):
            missing = "longitude" if longitude is None else "latitude"
            errors.add(missing, N_("Vul de breedtegraad en de lengtegraad allebei in, of geen."))
        products = self._products_by_id(data.products)
        if name and "name" not in errors:
            clash = self.session.scalar(
                select(Location.id).where(
                    func.lower(Location.name) == name.lower(),
                    Location.id != (current.id if current else -1),
                )
            )
            if clash:
                errors.add("name", N_("Er is al een locatie met deze naam."))
        errors.raise_if_any()
        return {
            "name": name,
            "address": address,
            "neighbourhood": neighbourhood,
            "latitude": latitude,
            "longitude": longitude,
            "allowed_products": products,
        }

    # -- products -----------------------------------------------------------------------------

    @rolls_back
    def create_product(self, data: ProductInput, *, actor: Actor = SYSTEM) -> Product:
        """A new product: code, ticket letter, names and what to bring, length, how residents
        come (walk-in, appointment or both)."""
        self.begin_write()
        return self._create(PRODUCT, Product(**self._product_values(data, None)), actor)

    @rolls_back
    def update_product(
        self, product_id: int | str, data: ProductInput, *, actor: Actor = SYSTEM
    ) -> Product:
        """Change a product; its code stays (links and history use it). Switching it off keeps
        its history and hides it from new stops, the kiosk and booking."""
        self.begin_write()
        product = self.product(product_id)
        before = PRODUCT.facts(product)
        for key, value in self._product_values(data, product).items():
            setattr(product, key, value)
        return self._update(PRODUCT, product, before, actor)

    @rolls_back
    def delete_product(self, product_id: int | str, *, actor: Actor = SYSTEM) -> None:
        """Remove a product that was never used. One with tickets, bookings or stops stays:
        switch it off instead."""
        self.begin_write()
        product = self.product(product_id)
        used = (
            self.session.scalar(
                select(Ticket.id)
                .where(or_(Ticket.product_id == product.id, Ticket.series_product_id == product.id))
                .limit(1)
            )
            or self.session.scalar(
                select(TicketCounter.stop_id).where(TicketCounter.product_id == product.id).limit(1)
            )
            or self.session.scalar(
                select(Appointment.id).where(Appointment.product_id == product.id).limit(1)
            )
        )
        if used:
            raise InUse(
                text(
                    N_(
                        "Voor dit product zijn al nummers of afspraken gemaakt. Die blijven "
                        "bewaard, daarom kan het product niet weg. Zet het op niet actief: dan "
                        "ziet niemand het meer."
                    )
                )
            )
        planned = self.session.scalar(
            select(func.count())
            .select_from(stop_products)
            .where(stop_products.c.product_id == product.id)
        ) or self.session.scalar(
            select(func.count())
            .select_from(stop_series_products)
            .where(stop_series_products.c.product_id == product.id)
        )
        if planned:
            raise InUse(
                text(
                    N_(
                        "Dit product staat op loketdagen of in een reeks. Haal het daar eerst "
                        "weg, of zet het op niet actief."
                    )
                )
            )
        self._delete(PRODUCT, product, actor, remove=self._remove_product)

    def _product_values(self, data: ProductInput, current: Product | None) -> dict[str, Any]:
        errors = Errors()
        values: dict[str, Any] = {}
        if current is None:
            code = (data.code or "").strip().lower()
            if not CODE.match(code):
                errors.add(
                    "code",
                    N_(
                        "Een code heeft 2 tot 40 tekens: kleine letters, cijfers en streepjes, "
                        "bijvoorbeeld parkeervergunning."
                    ),
                )
            elif self.session.scalar(select(Product.id).where(Product.code == code)):
                errors.add("code", N_("Er is al een product met deze code."))
            values["code"] = code
        prefix = (data.prefix or "").strip().upper()
        if not PREFIX.match(prefix):
            errors.add("prefix", N_("Kies één of twee letters, bijvoorbeeld P."))
        elif self.session.scalar(
            select(Product.id).where(
                Product.prefix == prefix, Product.id != (current.id if current else -1)
            )
        ):
            errors.add("prefix", N_("Een ander product gebruikt deze letter al."))
        name_nl = text_field(
            errors, "name_nl", data.name_nl, 80, required=N_("Vul de naam in het Nederlands in.")
        )
        name_en = text_field(errors, "name_en", data.name_en, 80)
        bring_nl = text_field(errors, "bring_nl", data.bring_nl, 300)
        bring_en = text_field(errors, "bring_en", data.bring_en, 300)
        duration = number_field(errors, "duration", data.duration, 1, 240, required=True)
        if data.mode not in PRODUCT_MODES:
            errors.add("mode", N_("Kies hoe bewoners voor dit product komen."))
        sort_order = number_field(errors, "sort_order", data.sort_order, 0, 999)
        errors.raise_if_any()
        if sort_order is None:
            sort_order = (
                current.sort_order
                if current is not None
                else (self.session.scalar(select(func.max(Product.sort_order))) or 0) + 1
            )
        names = {"nl": name_nl, **({"en": name_en} if name_en else {})}
        bring = {
            **({"nl": bring_nl} if bring_nl else {}),
            **({"en": bring_en} if bring_en else {}),
        }
        values.update(
            prefix=prefix,
            names=names,
            bring=bring,
            duration_minutes=duration,
            walk_in=data.mode in ("walk_in", "both"),
            bookable=data.mode in ("both", "appointment"),
            appointment_required=data.mode == "appointment",
            sort_order=sort_order,
            active=bool(data.active),
        )
        return values

    def _products_by_id(self, raw: Sequence[str]) -> list[Product]:
        ids = id_list(raw)
        if not ids:
            return []
        found = {p.id: p for p in self.session.scalars(select(Product).where(Product.id.in_(ids)))}
        return sorted((found[i] for i in ids if i in found), key=lambda p: (p.sort_order, p.id))

    # -- stops --------------------------------------------------------------------------------

    @rolls_back
    def create_stop(self, data: StopInput, *, actor: Actor = SYSTEM) -> Stop:
        """Plan a stop: a location on a date with a local opening window, its products (only
        those allowed at the location) and desks. Bookable slots are opened when asked."""
        self.begin_write()
        errors = Errors()
        location = self._location_field(errors, data.location)
        day = date_field(errors, "date", data.date)
        if day is not None and day < self.today():
            errors.add("date", N_("Deze datum is al voorbij."))
        window = self._window(errors, day, data.start, data.end)
        offer = self._offer(errors, location, data, slot_capacity=data.slot_capacity)
        self._check_clash(errors, location, window)
        errors.raise_if_any()
        assert location is not None and window is not None
        stop = self._create(STOP, self._build_stop(location, window, offer), actor)
        if data.open_slots:
            self._open_slots([stop], offer.slot_capacity, actor)
        return stop

    @rolls_back
    def update_stop(self, stop_id: int | str, data: StopInput, *, actor: Actor = SYSTEM) -> Stop:
        """Change a stop's place, date, window, products, capacity or note. A closed stop stays
        as it was; nothing is changed that people waiting or booked depend on."""
        self.begin_write()
        stop = self.stop(stop_id)
        if stop.status == StopStatus.CLOSED:
            raise Refused(
                text(N_("Deze loketdag is gesloten. Een gesloten loketdag kunt u niet wijzigen."))
            )
        errors = Errors()
        location = self._location_field(errors, data.location)
        day = date_field(errors, "date", data.date)
        old_day = self.local(stop.starts_at).date()
        if day is not None and day != old_day and day < self.today():
            errors.add("date", N_("Deze datum is al voorbij."))
        window = self._window(errors, day, data.start, data.end)
        offer = self._offer(errors, location, data, desks=False)
        self._check_clash(errors, location, window, besides=stop)
        errors.raise_if_any()
        assert location is not None and window is not None
        if location.id != stop.location_id and self.usage(stop).used:
            raise Refused(
                text(
                    N_(
                        "Voor deze loketdag zijn al nummers of afspraken gemaakt. Daarom kan de "
                        "locatie niet meer veranderen."
                    )
                )
            )
        before = STOP.facts(stop)
        self._reshape(stop, window, offer.products)
        stop.location = location
        stop.capacity = offer.capacity
        stop.note = offer.note
        return self._update(STOP, stop, before, actor)

    @rolls_back
    def delete_stop(self, stop_id: int | str, *, actor: Actor = SYSTEM) -> None:
        """Remove a stop nobody used. A stop of a series leaves its date as an exception, so an
        edit of the series does not bring it back."""
        self.begin_write()
        stop = self.stop(stop_id)
        if stop.status == StopStatus.OPEN:
            raise Refused(text(N_("Deze loketdag is open. Sluit hem eerst.")))
        if self.usage(stop).used:
            raise InUse(
                text(
                    N_(
                        "Voor deze loketdag zijn al nummers of afspraken gemaakt. Die blijven "
                        "bewaard, daarom kan de loketdag niet weg. Zeg de afspraken af en sluit "
                        "de loketdag, of pas hem aan."
                    )
                )
            )
        series = stop.series
        if series is not None:
            day = self.local(stop.starts_at).date().isoformat()
            series.exceptions = sorted({*series.exceptions, day})
        self._delete(
            STOP, stop, actor, remove=self._remove_stop, series=series.id if series else None
        )

    @rolls_back
    def open_slots(self, stop_id: int | str, capacity: str = "", *, actor: Actor = SYSTEM) -> int:
        """Open bookable slots for the stop's bookable products (places: `capacity`, or the
        desks serving each product); returns how many new slots there are."""
        stop = self.stop(stop_id)
        errors = Errors()
        places = number_field(errors, "slot_capacity", capacity, 1, 50)
        errors.raise_if_any()
        if stop.status == StopStatus.CLOSED or stop.ends_at <= self.now():
            raise Refused(text(N_("Deze loketdag is voorbij of gesloten.")))
        if not [p for p in stop.products if p.bookable or p.appointment_required]:
            raise Refused(
                text(N_("Op deze loketdag is geen product waarvoor men een afspraak maakt."))
            )
        return self._open_slots([stop], places, actor)

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

    def _location_field(self, errors: Errors, raw: str) -> Location | None:
        location = self.session.get(Location, int(raw)) if str(raw or "").isdigit() else None
        if location is None:
            errors.add("location", N_("Kies een locatie."))
        return location

    def _window(
        self, errors: Errors, day: date | None, start_raw: str, end_raw: str
    ) -> tuple[datetime, datetime] | None:
        times = opening_hours(errors, start_raw, end_raw)
        if times is None or day is None:
            return None
        try:
            return local_window(day, *times, self.tz)
        except SeriesError as error:
            self._series_error(errors, error)
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

    def _build_stop(
        self, location: Location, window: tuple[datetime, datetime], offer: Offer
    ) -> Stop:
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

    # -- desks --------------------------------------------------------------------------------

    @rolls_back
    def add_desk(self, stop_id: int | str, data: DeskInput, *, actor: Actor = SYSTEM) -> Desk:
        """A new desk at a stop, serving some (or, left empty, all) of the stop's products."""
        self.begin_write()
        stop = self.stop(stop_id)
        name, serves = self._desk_values(stop, data, None)
        desk = Desk(stop=stop, name=name, products=serves, active=bool(data.active))
        return self._create(DESK, desk, actor)

    @rolls_back
    def update_desk(
        self, stop_id: int | str, desk_id: int | str, data: DeskInput, *, actor: Actor = SYSTEM
    ) -> Desk:
        """Rename a desk, change what it serves, or switch it off (not while it serves)."""
        self.begin_write()
        stop = self.stop(stop_id)
        desk = self.desk(stop, desk_id)
        before = DESK.facts(desk)
        name, serves = self._desk_values(stop, data, desk)
        if desk.active and not data.active and self._at_desk(desk):
            raise Refused(text(N_("Aan deze balie wordt nu iemand geholpen. Rond dat eerst af.")))
        desk.name, desk.products, desk.active = name, serves, bool(data.active)
        return self._update(DESK, desk, before, actor)

    @rolls_back
    def delete_desk(self, stop_id: int | str, desk_id: int | str, *, actor: Actor = SYSTEM) -> None:
        """Remove a desk that never called a ticket; otherwise switch it off instead."""
        self.begin_write()
        stop = self.stop(stop_id)
        desk = self.desk(stop, desk_id)
        if self.session.scalar(select(Ticket.id).where(Ticket.desk_id == desk.id).limit(1)):
            raise InUse(
                text(
                    N_(
                        "Aan deze balie zijn al mensen geholpen. Dat blijft bewaard, daarom kan "
                        "de balie niet weg. Zet de balie op niet actief."
                    )
                )
            )
        self._delete(DESK, desk, actor, remove=self._remove_desk)

    def _desk_values(
        self, stop: Stop, data: DeskInput, current: Desk | None
    ) -> tuple[str, list[Product]]:
        errors = Errors()
        name = text_field(errors, "name", data.name, 40, required=N_("Geef deze balie een naam."))
        if name and any(d.name.lower() == name.lower() and d is not current for d in stop.desks):
            errors.add("name", N_("Er is op deze loketdag al een balie met deze naam."))
        offered = {p.id: p for p in stop.products}
        ids = id_list(data.products)
        if any(i not in offered for i in ids):
            errors.add("products", N_("Een balie doet alleen producten die op de loketdag staan."))
        errors.raise_if_any()
        return name, [offered[i] for i in ids] or list(stop.products)

    def _at_desk(self, desk: Desk) -> bool:
        return bool(
            self.session.scalar(
                select(Ticket.id)
                .where(Ticket.desk_id == desk.id, Ticket.status.in_(ACTIVE_AT_DESK))
                .limit(1)
            )
        )

    # -- series -------------------------------------------------------------------------------

    def plan_series(self, data: SeriesInput) -> SeriesPlan:
        """Check a series and work out its dates, without storing anything (the preview).
        Dates where the location already has a stop at that time are marked as clashes."""
        errors = Errors()
        location = self._location_field(errors, data.location)
        weekdays = frozenset(int(d) for d in data.weekdays if str(d).isdigit())
        start = time_field(errors, "start", data.start)
        end = time_field(errors, "end", data.end)
        first = date_field(errors, "first_date", data.first_date)
        if first is not None and first < self.today():
            errors.add("first_date", N_("De eerste datum is al voorbij."))
        weeks = number_field(errors, "weeks", data.weeks, 1, MAX_WEEKS)
        last = date_field(errors, "last_date", data.last_date, required=False)
        if weeks is None and last is None and not ("weeks" in errors or "last_date" in errors):
            errors.add("weeks", N_("Vul het aantal weken in, of de laatste datum."))
        if weeks is not None and last is not None:
            errors.add(
                "last_date", N_("Vul het aantal weken of de laatste datum in, niet allebei.")
            )
        exceptions: set[date] = set()
        for piece in re.split(r"[,;\s]+", data.exceptions or ""):
            if not piece:
                continue
            try:
                exceptions.add(parse_date(piece))
            except BadDate:
                errors.add(
                    "exceptions",
                    N_("%(text)s is geen datum. Schrijf datums zoals 29-12-2026."),
                    text=piece,
                )
        for raw in data.skip:
            try:
                exceptions.add(date.fromisoformat(raw))
            except ValueError:
                continue
        offer = self._offer(errors, location, data, slot_capacity=data.slot_capacity)
        if not weekdays or any(d > 6 for d in weekdays):
            errors.add("weekdays", N_("Kies minstens één dag van de week."))
        if start is not None and end is not None and end <= start:
            errors.add("end", N_("De eindtijd moet later zijn dan de begintijd."))
        errors.raise_if_any()
        assert location is not None and start is not None and end is not None
        assert first is not None
        rule = Rule(weekdays, start, end, first, weeks, last, frozenset(exceptions))
        try:
            occurrences = expand(rule, self.tz, include_skipped=True)
        except SeriesError as error:
            self._series_error(errors, error)
            errors.raise_if_any()
            raise
        dates = [
            PlannedDate(
                o.day,
                o.starts_at,
                o.ends_at,
                o.skipped,
                None if o.skipped else self._clash(location, o.starts_at, o.ends_at),
            )
            for o in occurrences
        ]
        return SeriesPlan(location, rule, dates, offer, data.open_slots)

    @rolls_back
    def create_series(
        self, data: SeriesInput, *, actor: Actor = SYSTEM, created_by: int | None = None
    ) -> StopSeries:
        """Store a series and make its stops (and slots, when asked). Refused while a date
        clashes with another stop at the location: skip that date, or change the times."""
        self.begin_write()
        plan = self.plan_series(data)
        if plan.clashes:
            raise Refused(
                text(
                    N_(
                        "Op %(dates)s is op deze locatie al een loketdag op die tijd. Sla die "
                        "datums over, of kies andere tijden."
                    ),
                    dates=", ".join(_day(d.day) for d in plan.clashes),
                )
            )
        rule, offer = plan.rule, plan.offer
        series = StopSeries(
            location=plan.location,
            weekdays=sorted(rule.weekdays),
            start_time=rule.start,
            end_time=rule.end,
            first_date=rule.first_date,
            last_date=rule.until,
            weeks=rule.weeks,
            exceptions=sorted(d.isoformat() for d in rule.exceptions),
            desks=offer.stored_desks(),
            capacity=offer.capacity,
            open_slots=plan.open_slots,
            slot_capacity=offer.slot_capacity,
            note=offer.note,
            created_by=created_by,
            created_at=self.now(),
            products=list(offer.products),
        )
        self.session.add(series)
        stops = [
            self._build_stop(plan.location, (d.starts_at, d.ends_at), offer)
            for d in plan.stop_dates
        ]
        series.stops = stops
        self.session.flush()
        self._log(
            SERIES,
            "create",
            series,
            actor,
            values=SERIES.facts(series),
            stops=[s.id for s in stops],
        )
        self.session.commit()
        if plan.open_slots:
            self._open_slots(stops, offer.slot_capacity, actor)
        return series

    @rolls_back
    def update_series(
        self, series_id: int | str, data: SeriesEdit, *, actor: Actor = SYSTEM
    ) -> StopSeries:
        """Change the stops of a series that are still to come: their window, products, desks,
        capacity and note, and where the series ends (later: new stops; earlier: the stops after
        the new end go, if nobody booked them). Stops that opened or passed stay as they were."""
        self.begin_write()
        series = self.series(series_id)
        _refuse_if_stopped(series)
        errors = Errors()
        times = opening_hours(errors, data.start, data.end)
        last = date_field(errors, "last_date", data.last_date)
        if last is not None and last < series.first_date:
            errors.add("last_date", N_("De laatste datum ligt voor de eerste datum."))
        elif last is not None and last > series.first_date + timedelta(weeks=MAX_WEEKS):
            errors.add("last_date", N_("Een reeks duurt hoogstens %(max)s weken."), max=MAX_WEEKS)
        offer = self._offer(errors, series.location, data)
        errors.raise_if_any()
        assert times is not None and last is not None
        start, end = times

        before = SERIES.facts(series)
        exceptions = frozenset(
            d for d in (date.fromisoformat(x) for x in series.exceptions) if d <= last
        )
        rule = Rule(
            frozenset(series.weekdays), start, end, series.first_date, None, last, exceptions
        )
        wanted: dict[date, tuple[datetime, datetime]] = {}
        now = self.now()
        for day in rule.dates():
            try:
                window = local_window(day, start, end, self.tz)
            except SeriesError as error:
                self._series_error(errors, error)
                errors.raise_if_any()
                raise
            if window[0] > now:
                wanted[day] = window
        remaining = {self.local(s.starts_at).date(): s for s in self.remaining_stops(series)}
        kept_days = {self.local(s.starts_at).date() for s in series.stops}
        dropped = [s for day, s in remaining.items() if day not in wanted]
        for stop in dropped:
            if self.usage(stop).used:
                raise Refused(
                    text(
                        N_(
                            "Voor de loketdag van %(date)s zijn al afspraken gemaakt. Zeg die "
                            "eerst af, of laat de reeks langer duren."
                        ),
                        date=self._day_of(stop.starts_at),
                    )
                )
        changed: list[Stop] = []
        for day, stop in remaining.items():
            if day not in wanted:
                continue
            window = wanted[day]
            if (stop.starts_at, stop.ends_at) == window and Offer.of(stop).key() == offer.key():
                continue
            clash = self._clash(series.location, *window, besides=stop)
            if clash is not None:
                raise Refused(self._clash_text(clash))
            try:
                self._reshape(stop, window, offer.products)
            except Refused as refused:
                raise Refused(
                    text(
                        N_("De loketdag van %(date)s kan zo niet veranderen. %(reason)s"),
                        date=_day(day),
                        reason=refused.reason,
                    )
                ) from None
            if Offer.of(stop).desk_ids() != offer.desk_ids():
                if self.session.scalar(select(Ticket.id).where(Ticket.stop_id == stop.id).limit(1)):
                    raise Refused(
                        text(N_("De loketdag van %(date)s heeft al nummers."), date=_day(day))
                    )
                for desk in list(stop.desks):
                    self.session.delete(desk)
                # The old desks go before the new ones come: names are unique per stop.
                self.session.flush()
                stop.desks = [Desk(name=n, products=list(ps)) for n, ps in offer.desks]
            stop.capacity, stop.note = offer.capacity, offer.note
            changed.append(stop)
        for stop in dropped:
            self._remove_stop(stop)
        added = []
        for day, window in sorted(wanted.items()):
            if day in kept_days:
                continue
            clash = self._clash(series.location, *window)
            if clash is not None:
                raise Refused(self._clash_text(clash))
            added.append(self._build_stop(series.location, window, offer))
        series.stops.extend(added)
        series.start_time, series.end_time = start, end
        if last != series.last_date:
            series.weeks = None
        series.last_date = last
        series.exceptions = sorted(d.isoformat() for d in exceptions)
        series.products = list(offer.products)
        series.desks = offer.stored_desks()
        series.capacity, series.note = offer.capacity, offer.note
        self.session.flush()
        self._log(
            SERIES,
            "update",
            series,
            actor,
            changes=diff(before, SERIES.facts(series)),
            changed_stops=[s.id for s in changed],
            added_stops=[s.id for s in added],
            removed_stops=[s.id for s in dropped],
        )
        self.session.commit()
        if series.open_slots and (changed or added):
            self._open_slots([*changed, *added], series.slot_capacity, actor)
        return series

    @rolls_back
    def skip_date(self, series_id: int | str, raw: str, *, actor: Actor = SYSTEM) -> StopSeries:
        """Add an exception: the series skips this date, and its stop on that date goes, if
        nobody has a ticket or booking for it yet."""
        self.begin_write()
        series = self.series(series_id)
        errors = Errors()
        day = date_field(errors, "day", raw)
        errors.raise_if_any()
        assert day is not None
        _refuse_if_stopped(series)
        rule = series_rule(series)
        if day not in rule.all_dates():
            errors.add("day", N_("Deze datum hoort niet bij de reeks."))
        elif day.isoformat() in series.exceptions:
            errors.add("day", N_("Deze datum wordt al overgeslagen."))
        errors.raise_if_any()
        stop = next((s for s in series.stops if self.local(s.starts_at).date() == day), None)
        if stop is not None:
            if stop.status != StopStatus.PLANNED or stop.ends_at <= self.now():
                raise Refused(text(N_("De loketdag van die datum is al open geweest of voorbij.")))
            if self.usage(stop).used:
                raise InUse(
                    text(
                        N_(
                            "Voor %(date)s zijn al afspraken gemaakt. Zeg die eerst af, of laat "
                            "de datum staan."
                        ),
                        date=_day(day),
                    )
                )
            self._remove_stop(stop)
        series.exceptions = sorted({*series.exceptions, day.isoformat()})
        self._log(
            SERIES,
            "skip",
            series,
            actor,
            day=day.isoformat(),
            removed_stop=stop.id if stop is not None else None,
        )
        self.session.commit()
        return series

    @rolls_back
    def cancel_series(self, series_id: int | str, *, actor: Actor = SYSTEM) -> int:
        """Stop a series: its remaining stops go (refused while any has bookings); the stops
        that were open or passed stay. Returns how many stops were removed."""
        self.begin_write()
        series = self.series(series_id)
        if series.cancelled_at is not None:
            return 0
        remaining = self.remaining_stops(series)
        booked = [s for s in remaining if self.usage(s).used]
        if booked:
            raise InUse(
                text(
                    N_(
                        "Voor %(dates)s zijn al afspraken gemaakt. Zeg die eerst af, of sla de "
                        "andere datums één voor één over."
                    ),
                    dates=", ".join(self._day_of(s.starts_at) for s in booked),
                )
            )
        for stop in remaining:
            self._remove_stop(stop)
        series.cancelled_at = self.now()
        self._log(
            SERIES,
            "cancel",
            series,
            actor,
            removed_stops=[s.id for s in remaining],
        )
        self.session.commit()
        return len(remaining)

    def _clash_text(self, clash: Stop) -> Text:
        return text(
            N_("Op deze locatie is op %(date)s al een loketdag van %(start)s tot %(end)s."),
            date=self._day_of(clash.starts_at),
            start=self._time_of(clash.starts_at),
            end=self._time_of(clash.ends_at),
        )

    def _series_error(self, errors: Errors, error: SeriesError) -> None:
        """The rule's error codes as texts at the form's fields."""
        name = {"time": "start", "day": "first_date"}.get(error.field, error.field)
        day = error.params.get("day")
        shown = _day(day) if isinstance(day, date) else ""
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

    # -- shared -------------------------------------------------------------------------------

    def _log(
        self,
        kind: Audited[Row],
        verb: str,
        row: Row,
        actor: Actor,
        *,
        scope: dict[str, Any] | None = None,
        **data: Any,
    ) -> None:
        """Log `verb` (create, update…) of one row, with the stop or product it belongs to."""
        self.log(
            f"{kind.name}.{verb}",
            actor,
            object_type=kind.object_type,
            object_id=row.id,
            **(kind.scope(row) if scope is None else scope),
            **data,
        )

    def _create(self, kind: Audited[Row], row: Row, actor: Actor) -> Row:
        """Store a new row, log it with its facts, commit."""
        self.session.add(row)
        self.session.flush()
        self._log(kind, "create", row, actor, values=kind.facts(row))
        self.session.commit()
        return row

    def _update(self, kind: Audited[Row], row: Row, before: dict[str, Any], actor: Actor) -> Row:
        """Log the fields of a changed row that differ from `before` (if any), commit."""
        changes = diff(before, kind.facts(row))
        if changes:
            self._log(kind, "update", row, actor, changes=changes)
        self.session.commit()
        return row

    def _delete(
        self,
        kind: Audited[Row],
        row: Row,
        actor: Actor,
        *,
        remove: Callable[[Row], None] | None = None,
        **data: Any,
    ) -> None:
        """Remove a row (`remove`, or a plain delete), log what it was, commit."""
        facts, scope = kind.facts(row), kind.scope(row)  # read while the row is still there
        (remove or self.session.delete)(row)
        self._log(kind, "delete", row, actor, scope=scope, values=facts, **data)
        self._commit_delete()

    def _remove_product(self, product: Product) -> None:
        """Delete a product with the locations' lists that name it and its (empty) slots."""
        self.session.execute(
            delete(location_products).where(location_products.c.product_id == product.id)
        )
        self.session.execute(delete(Slot).where(Slot.product_id == product.id))
        self.session.delete(product)

    def _remove_desk(self, desk: Desk) -> None:
        desk.stop.desks.remove(desk)
        self.session.delete(desk)

    def _remove_stop(self, stop: Stop) -> None:
        """Delete a stop's row; the database removes its desks, slots and series link (ON DELETE
        CASCADE), which the ORM would try to orphan instead."""
        series = stop.series
        self.session.execute(delete(Stop).where(Stop.id == stop.id))
        if series is not None:
            self.session.expire(series, ["stops"])

    def _commit_delete(self) -> None:
        """Commit a delete; a row elsewhere that still points at it (a table this service
        does not know about) turns into a refusal, not an error page."""
        try:
            self.session.commit()
        except IntegrityError:
            self.session.rollback()
            raise InUse(
                text(N_("Dit wordt nog gebruikt door andere gegevens. Daarom kan het niet weg."))
            ) from None


def _refuse_if_stopped(series: StopSeries) -> None:
    if series.cancelled_at is not None:
        raise Refused(text(N_("Deze reeks is gestopt. U kunt hem niet meer wijzigen.")))


def series_rule(series: StopSeries) -> Rule:
    """The stored series as a rule (its dates, with the exceptions)."""
    return Rule(
        frozenset(series.weekdays),
        series.start_time,
        series.end_time,
        series.first_date,
        None,
        series.last_date,
        frozenset(date.fromisoformat(d) for d in series.exceptions),
    )


# -- the change log ----------------------------------------------------------------------------


AUDITED_OBJECTS = (
    "location",
    "product",
    "stop",
    "desk",
    "stop_series",
    "user",
    "device",
    "setting",
)
# Logged for security, but not changes to show in the overview.
NOT_CHANGES = ("user.login", "token.issue")


Row = TypeVar("Row", Location, Product, Stop, Desk, StopSeries)


@dataclass(frozen=True)
class Audited(Generic[Row]):
    """How the change log names a kind of row: `name` in its actions (location.create), its
    object type, the facts it keeps of it, and the stop or product it belongs to."""

    name: str
    object_type: str
    facts: Callable[[Row], dict[str, Any]]
    scope: Callable[[Row], dict[str, Any]] = lambda _row: {}


def _location_facts(location: Location) -> dict[str, Any]:
    return {
        "name": location.name,
        "address": location.address,
        "neighbourhood": location.neighbourhood,
        "latitude": location.latitude,
        "longitude": location.longitude,
        "products": _codes(location.allowed_products),
    }


def _product_facts(product: Product) -> dict[str, Any]:
    return {
        "code": product.code,
        "prefix": product.prefix,
        "names": dict(product.names),
        "bring": dict(product.bring),
        "duration_minutes": product.duration_minutes,
        "walk_in": product.walk_in,
        "bookable": product.bookable,
        "appointment_required": product.appointment_required,
        "sort_order": product.sort_order,
        "active": product.active,
    }


def _stop_facts(stop: Stop) -> dict[str, Any]:
    return {
        "location": stop.location.name if stop.location else None,
        "starts_at": stop.starts_at.isoformat(),
        "ends_at": stop.ends_at.isoformat(),
        "products": _codes(stop.products),
        "desks": [d.name for d in stop.desks],
        "capacity": stop.capacity,
        "note": stop.note,
    }


def _desk_facts(desk: Desk) -> dict[str, Any]:
    return {"name": desk.name, "products": _codes(desk.products), "active": desk.active}


def _series_facts(series: StopSeries) -> dict[str, Any]:
    return {
        "location": series.location.name if series.location else None,
        "weekdays": list(series.weekdays),
        "start_time": series.start_time.strftime("%H:%M"),
        "end_time": series.end_time.strftime("%H:%M"),
        "first_date": series.first_date.isoformat(),
        "last_date": series.last_date.isoformat(),
        "weeks": series.weeks,
        "exceptions": list(series.exceptions),
        "products": _codes(series.products),
        "desks": [dict(d) for d in series.desks],
        "capacity": series.capacity,
        "note": series.note,
    }


LOCATION = Audited[Location]("location", "location", _location_facts)
PRODUCT = Audited[Product]("product", "product", _product_facts, lambda p: {"product_id": p.id})
STOP = Audited[Stop]("stop", "stop", _stop_facts, lambda s: {"stop_id": s.id})
DESK = Audited[Desk]("desk", "desk", _desk_facts, lambda d: {"stop_id": d.stop_id})
SERIES = Audited[StopSeries]("series", "stop_series", _series_facts)
