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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

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
from kiosk.services.base import SYSTEM, Actor, Clock, Notifier, Service, utc_now
from kiosk.services.errors import NotFound
from kiosk.services.validation import N_, Errors, InUse, Refused, Text, rolls_back, text

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


# -- what the use cases give back ---------------------------------------------------------------


@dataclass(frozen=True)
class PlannedDate:
    day: date
    starts_at: datetime
    ends_at: datetime
    skipped: bool
    clash: Stop | None = None  # another stop at this location at the same time


@dataclass
class SeriesPlan:
    """A checked series that is not stored yet: the preview shows it, `create_series` makes it."""

    location: Location
    rule: Rule
    dates: list[PlannedDate]
    products: list[Product]
    desks: list[tuple[str, list[Product]]]
    capacity: int | None
    note: str
    open_slots: bool
    slot_capacity: int | None

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


# -- small parsers (each adds its own text to `errors`) -----------------------------------------


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def _length(errors: Errors, name: str, value: str, maximum: int) -> None:
    if len(value) > maximum:
        errors.add(name, N_("Gebruik hoogstens %(max)s tekens."), max=maximum)


def _number(
    errors: Errors, name: str, raw: str, minimum: int, maximum: int, *, required: bool = False
) -> int | None:
    value = (raw or "").strip()
    if not value:
        if required:
            errors.add(name, N_("Vul een getal in."))
        return None
    try:
        number = int(value)
    except ValueError:
        errors.add(name, N_("Vul een heel getal in, zonder letters."))
        return None
    if not minimum <= number <= maximum:
        errors.add(
            name, N_("Kies een getal van %(min)s tot en met %(max)s."), min=minimum, max=maximum
        )
        return None
    return number


def _coordinate(errors: Errors, name: str, raw: str, limit: float) -> float | None:
    value = (raw or "").strip().replace(",", ".")
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        errors.add(name, N_("Vul een getal in met een punt, bijvoorbeeld 52.6425."))
        return None
    if not -limit <= number <= limit:
        errors.add(name, N_("Dit getal moet tussen -%(limit)s en %(limit)s liggen."), limit=limit)
        return None
    return number


def _date(errors: Errors, name: str, raw: str, *, required: bool = True) -> date | None:
    value = (raw or "").strip()
    if not value:
        if required:
            errors.add(name, N_("Vul een datum in, bijvoorbeeld 24-11-2026."))
        return None
    try:
        return parse_date(value)
    except BadDate:
        errors.add(name, N_("Vul een datum in, bijvoorbeeld 24-11-2026."))
        return None


def _time(errors: Errors, name: str, raw: str) -> time | None:
    value = (raw or "").strip().replace(".", ":")
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        errors.add(name, N_("Vul een tijd in, bijvoorbeeld 18:00."))
        return None
    return time(int(match[1]), int(match[2]))


def _ids(raw: Iterable[str | int]) -> list[int]:
    found = []
    for value in raw:
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue
        if number not in found:
            found.append(number)
    return found


def _day(value: date) -> str:
    return value.strftime("%d-%m-%Y")


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {key: [before.get(key), after[key]] for key in after if before.get(key) != after[key]}


def _codes(products: Iterable[Product]) -> list[str]:
    return [p.code for p in products]


# -- the service --------------------------------------------------------------------------------


class AdminService(Service):
    """Plans the tour. Local dates and times use `timezone`; storage is UTC."""

    def __init__(
        self,
        session: Session,
        notifier: Notifier | None = None,
        clock: Clock = utc_now,
        timezone: str = "Europe/Amsterdam",
    ) -> None:
        super().__init__(session, notifier, clock)
        self.tz = ZoneInfo(timezone)

    def today(self) -> date:
        return self.now().astimezone(self.tz).date()

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

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
        found = self.session.get(Location, _key(location_id))
        if found is None:
            raise NotFound("There is no such location.")
        return found

    def products(self, *, active_only: bool = False) -> list[Product]:
        query = select(Product).order_by(Product.sort_order, Product.id)
        if active_only:
            query = query.where(Product.active.is_(True))
        return list(self.session.scalars(query))

    def product(self, product_id: int | str) -> Product:
        found = self.session.get(Product, _key(product_id))
        if found is None:
            raise NotFound("There is no such product.")
        return found

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
        found = self.session.get(Stop, _key(stop_id))
        if found is None:
            raise NotFound("There is no such stop.")
        return found

    def desk(self, stop: Stop, desk_id: int | str) -> Desk:
        found = self.session.get(Desk, _key(desk_id))
        if found is None or found.stop_id != stop.id:
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
        found = self.session.get(StopSeries, _key(series_id))
        if found is None:
            raise NotFound("There is no such series.")
        return found

    def remaining_stops(self, series: StopSeries) -> list[Stop]:
        """The stops of a series still to come and not opened yet: what an edit changes."""
        now = self.now()
        return [s for s in series.stops if s.status == StopStatus.PLANNED and s.starts_at > now]

    # -- locations ----------------------------------------------------------------------------

    @rolls_back
    def create_location(self, data: LocationInput, *, actor: Actor = SYSTEM) -> Location:
        """A new place the pop-up may visit, with the products that may be offered there."""
        self.begin_write()
        values = self._location_values(data, None)
        location = Location(**values)
        self.session.add(location)
        self.session.flush()
        self.log(
            "location.create",
            actor,
            object_type="location",
            object_id=location.id,
            values=_location_facts(location),
        )
        self.session.commit()
        return location

    @rolls_back
    def update_location(
        self, location_id: int | str, data: LocationInput, *, actor: Actor = SYSTEM
    ) -> Location:
        """Change a location. A product still planned at one of its coming stops (or series)
        cannot be taken off its list."""
        self.begin_write()
        location = self.location(location_id)
        before = _location_facts(location)
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
                    date=_day(self.local(stop.starts_at).date()),
                )
        errors.raise_if_any()
        for key, value in values.items():
            setattr(location, key, value)
        changes = _diff(before, _location_facts(location))
        if changes:
            self.log(
                "location.update",
                actor,
                object_type="location",
                object_id=location.id,
                changes=changes,
            )
        self.session.commit()
        return location

    @rolls_back
    def delete_location(self, location_id: int | str, *, actor: Actor = SYSTEM) -> None:
        """Remove a location that was never used; one with stops stays for the record."""
        self.begin_write()
        location = self.location(location_id)
        stops = self.session.scalar(
            select(func.count(Stop.id)).where(Stop.location_id == location.id)
        )
        if stops:
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
        facts = _location_facts(location)
        self.session.delete(location)
        self.log(
            "location.delete", actor, object_type="location", object_id=location.id, values=facts
        )
        self._commit_delete()

    def _location_values(self, data: LocationInput, current: Location | None) -> dict[str, Any]:
        errors = Errors()
        name = _clean(data.name)
        if not name:
            errors.add("name", N_("Vul de naam van de locatie in."))
        _length(errors, "name", name, 120)
        address = _clean(data.address)
        _length(errors, "address", address, 200)
        neighbourhood = _clean(data.neighbourhood)
        _length(errors, "neighbourhood", neighbourhood, 80)
        latitude = _coordinate(errors, "latitude", data.latitude, 90)
        longitude = _coordinate(errors, "longitude", data.longitude, 180)
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
        values = self._product_values(data, None)
        product = Product(**values)
        self.session.add(product)
        self.session.flush()
        self.log(
            "product.create",
            actor,
            object_type="product",
            object_id=product.id,
            product_id=product.id,
            values=_product_facts(product),
        )
        self.session.commit()
        return product

    @rolls_back
    def update_product(
        self, product_id: int | str, data: ProductInput, *, actor: Actor = SYSTEM
    ) -> Product:
        """Change a product; its code stays (links and history use it). Switching it off keeps
        its history and hides it from new stops, the kiosk and booking."""
        self.begin_write()
        product = self.product(product_id)
        before = _product_facts(product)
        values = self._product_values(data, product)
        for key, value in values.items():
            setattr(product, key, value)
        changes = _diff(before, _product_facts(product))
        if changes:
            self.log(
                "product.update",
                actor,
                object_type="product",
                object_id=product.id,
                product_id=product.id,
                changes=changes,
            )
        self.session.commit()
        return product

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
        facts = _product_facts(product)
        self.session.execute(
            delete(location_products).where(location_products.c.product_id == product.id)
        )
        self.session.execute(delete(Slot).where(Slot.product_id == product.id))
        self.session.delete(product)
        self.log(
            "product.delete",
            actor,
            object_type="product",
            object_id=product.id,
            product_id=product.id,
            values=facts,
        )
        self._commit_delete()

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
        name_nl = _clean(data.name_nl)
        if not name_nl:
            errors.add("name_nl", N_("Vul de naam in het Nederlands in."))
        _length(errors, "name_nl", name_nl, 80)
        name_en = _clean(data.name_en)
        _length(errors, "name_en", name_en, 80)
        bring_nl = _clean(data.bring_nl)
        _length(errors, "bring_nl", bring_nl, 300)
        bring_en = _clean(data.bring_en)
        _length(errors, "bring_en", bring_en, 300)
        duration = _number(errors, "duration", data.duration, 1, 240, required=True)
        if data.mode not in PRODUCT_MODES:
            errors.add("mode", N_("Kies hoe bewoners voor dit product komen."))
        sort_order = _number(errors, "sort_order", data.sort_order, 0, 999)
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
        ids = _ids(raw)
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
        day = _date(errors, "date", data.date)
        if day is not None and day < self.today():
            errors.add("date", N_("Deze datum is al voorbij."))
        window = self._window(errors, day, data.start, data.end)
        products = self._stop_products(errors, location, data.products)
        desks = self._desk_rows(errors, data.desks, products, required=True)
        capacity = _number(errors, "capacity", data.capacity, 1, 10000)
        slot_capacity = _number(errors, "slot_capacity", data.slot_capacity, 1, 50)
        note = _clean(data.note)
        _length(errors, "note", note, 200)
        if location is not None and window is not None and not errors:
            clash = self._clash(location, *window)
            if clash is not None:
                self._add_clash(errors, "start", clash)
        errors.raise_if_any()
        assert location is not None and window is not None
        stop = self._build_stop(location, window, products, desks, capacity, note)
        self.session.flush()
        self.log(
            "stop.create",
            actor,
            object_type="stop",
            object_id=stop.id,
            stop_id=stop.id,
            values=_stop_facts(stop),
        )
        self.session.commit()
        if data.open_slots:
            self._open_slots([stop], slot_capacity, actor)
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
        day = _date(errors, "date", data.date)
        old_day = self.local(stop.starts_at).date()
        if day is not None and day != old_day and day < self.today():
            errors.add("date", N_("Deze datum is al voorbij."))
        window = self._window(errors, day, data.start, data.end)
        products = self._stop_products(errors, location, data.products)
        capacity = _number(errors, "capacity", data.capacity, 1, 10000)
        note = _clean(data.note)
        _length(errors, "note", note, 200)
        if location is not None and window is not None and not errors:
            clash = self._clash(location, *window, besides=stop)
            if clash is not None:
                self._add_clash(errors, "start", clash)
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
        before = _stop_facts(stop)
        self._reshape(stop, window, products)
        stop.location = location
        stop.capacity = capacity
        stop.note = note
        changes = _diff(before, _stop_facts(stop))
        if changes:
            self.log(
                "stop.update",
                actor,
                object_type="stop",
                object_id=stop.id,
                stop_id=stop.id,
                changes=changes,
            )
        self.session.commit()
        return stop

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
        facts = _stop_facts(stop)
        series = stop.series
        if series is not None:
            day = self.local(stop.starts_at).date().isoformat()
            series.exceptions = sorted({*series.exceptions, day})
        self._remove_stop(stop)
        self.log(
            "stop.delete",
            actor,
            object_type="stop",
            object_id=stop.id,
            stop_id=stop.id,
            values=facts,
            series=series.id if series else None,
        )
        self._commit_delete()

    @rolls_back
    def open_slots(self, stop_id: int | str, capacity: str = "", *, actor: Actor = SYSTEM) -> int:
        """Open bookable slots for the stop's bookable products (places: `capacity`, or the
        desks serving each product); returns how many new slots there are."""
        stop = self.stop(stop_id)
        errors = Errors()
        places = _number(errors, "slot_capacity", capacity, 1, 50)
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
        location = self.session.get(Location, _key(raw)) if str(raw or "").isdigit() else None
        if location is None:
            errors.add("location", N_("Kies een locatie."))
        return location

    def _window(
        self, errors: Errors, day: date | None, start_raw: str, end_raw: str
    ) -> tuple[datetime, datetime] | None:
        start = _time(errors, "start", start_raw)
        end = _time(errors, "end", end_raw)
        if start is None or end is None:
            return None
        if end <= start:
            errors.add("end", N_("De eindtijd moet later zijn dan de begintijd."))
            return None
        if day is None:
            return None
        try:
            return local_window(day, start, end, self.tz)
        except SeriesError as error:
            self._series_error(errors, error)
            return None

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
            name = _clean(row.name)
            ids = _ids(row.products)
            if not name:
                if ids:
                    errors.add(f"{prefix}-{index}-name", N_("Geef deze balie een naam."))
                continue
            key = f"{prefix}-{index}-name"
            _length(errors, key, name, 40)
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

    def _add_clash(self, errors: Errors, name: str, clash: Stop) -> None:
        errors.add(
            name,
            N_("Op deze locatie is op %(date)s al een loketdag van %(start)s tot %(end)s."),
            date=_day(self.local(clash.starts_at).date()),
            start=self.local(clash.starts_at).strftime("%H:%M"),
            end=self.local(clash.ends_at).strftime("%H:%M"),
        )

    def _build_stop(
        self,
        location: Location,
        window: tuple[datetime, datetime],
        products: list[Product],
        desks: list[tuple[str, list[Product]]],
        capacity: int | None,
        note: str,
    ) -> Stop:
        stop = Stop(
            location=location,
            starts_at=window[0],
            ends_at=window[1],
            status=StopStatus.PLANNED,
            products=list(products),
            capacity=capacity,
            note=note,
        )
        stop.desks = [Desk(name=name, products=list(serves)) for name, serves in desks]
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
                        date=_day(self.local(outside[0]).date()),
                        time=self.local(outside[0]).strftime("%H:%M"),
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
        self.session.add(desk)
        self.session.flush()
        self.log(
            "desk.create",
            actor,
            object_type="desk",
            object_id=desk.id,
            stop_id=stop.id,
            values=_desk_facts(desk),
        )
        self.session.commit()
        return desk

    @rolls_back
    def update_desk(
        self, stop_id: int | str, desk_id: int | str, data: DeskInput, *, actor: Actor = SYSTEM
    ) -> Desk:
        """Rename a desk, change what it serves, or switch it off (not while it serves)."""
        self.begin_write()
        stop = self.stop(stop_id)
        desk = self.desk(stop, desk_id)
        before = _desk_facts(desk)
        name, serves = self._desk_values(stop, data, desk)
        if desk.active and not data.active and self._at_desk(desk):
            raise Refused(text(N_("Aan deze balie wordt nu iemand geholpen. Rond dat eerst af.")))
        desk.name, desk.products, desk.active = name, serves, bool(data.active)
        changes = _diff(before, _desk_facts(desk))
        if changes:
            self.log(
                "desk.update",
                actor,
                object_type="desk",
                object_id=desk.id,
                stop_id=stop.id,
                changes=changes,
            )
        self.session.commit()
        return desk

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
        facts = _desk_facts(desk)
        stop.desks.remove(desk)
        self.session.delete(desk)
        self.log(
            "desk.delete",
            actor,
            object_type="desk",
            object_id=desk.id,
            stop_id=stop.id,
            values=facts,
        )
        self._commit_delete()

    def _desk_values(
        self, stop: Stop, data: DeskInput, current: Desk | None
    ) -> tuple[str, list[Product]]:
        errors = Errors()
        name = _clean(data.name)
        if not name:
            errors.add("name", N_("Geef deze balie een naam."))
        _length(errors, "name", name, 40)
        if name and any(d.name.lower() == name.lower() and d is not current for d in stop.desks):
            errors.add("name", N_("Er is op deze loketdag al een balie met deze naam."))
        offered = {p.id: p for p in stop.products}
        ids = _ids(data.products)
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
        start = _time(errors, "start", data.start)
        end = _time(errors, "end", data.end)
        first = _date(errors, "first_date", data.first_date)
        if first is not None and first < self.today():
            errors.add("first_date", N_("De eerste datum is al voorbij."))
        weeks = _number(errors, "weeks", data.weeks, 1, MAX_WEEKS)
        last = _date(errors, "last_date", data.last_date, required=False)
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
        products = self._stop_products(errors, location, data.products)
        desks = self._desk_rows(errors, data.desks, products, required=True)
        capacity = _number(errors, "capacity", data.capacity, 1, 10000)
        slot_capacity = _number(errors, "slot_capacity", data.slot_capacity, 1, 50)
        note = _clean(data.note)
        _length(errors, "note", note, 200)
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
        return SeriesPlan(
            location,
            rule,
            dates,
            products,
            desks,
            capacity,
            note,
            data.open_slots,
            slot_capacity,
        )

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
        rule = plan.rule
        series = StopSeries(
            location=plan.location,
            weekdays=sorted(rule.weekdays),
            start_time=rule.start,
            end_time=rule.end,
            first_date=rule.first_date,
            last_date=rule.until,
            weeks=rule.weeks,
            exceptions=sorted(d.isoformat() for d in rule.exceptions),
            desks=[{"name": n, "products": [p.id for p in ps]} for n, ps in plan.desks],
            capacity=plan.capacity,
            open_slots=plan.open_slots,
            slot_capacity=plan.slot_capacity,
            note=plan.note,
            created_by=created_by,
            created_at=self.now(),
            products=list(plan.products),
        )
        self.session.add(series)
        stops = [
            self._build_stop(
                plan.location,
                (d.starts_at, d.ends_at),
                plan.products,
                plan.desks,
                plan.capacity,
                plan.note,
            )
            for d in plan.stop_dates
        ]
        series.stops = stops
        self.session.flush()
        self.log(
            "series.create",
            actor,
            object_type="stop_series",
            object_id=series.id,
            values=_series_facts(series),
            stops=[s.id for s in stops],
        )
        self.session.commit()
        if plan.open_slots:
            self._open_slots(stops, plan.slot_capacity, actor)
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
        if series.cancelled_at is not None:
            raise Refused(text(N_("Deze reeks is gestopt. U kunt hem niet meer wijzigen.")))
        errors = Errors()
        start = _time(errors, "start", data.start)
        end = _time(errors, "end", data.end)
        if start is not None and end is not None and end <= start:
            errors.add("end", N_("De eindtijd moet later zijn dan de begintijd."))
        last = _date(errors, "last_date", data.last_date)
        if last is not None and last < series.first_date:
            errors.add("last_date", N_("De laatste datum ligt voor de eerste datum."))
        elif last is not None and last > series.first_date + timedelta(weeks=MAX_WEEKS):
            errors.add("last_date", N_("Een reeks duurt hoogstens %(max)s weken."), max=MAX_WEEKS)
        products = self._stop_products(errors, series.location, data.products)
        desks = self._desk_rows(errors, data.desks, products, required=True)
        capacity = _number(errors, "capacity", data.capacity, 1, 10000)
        note = _clean(data.note)
        _length(errors, "note", note, 200)
        errors.raise_if_any()
        assert start is not None and end is not None and last is not None

        before = _series_facts(series)
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
                        date=_day(self.local(stop.starts_at).date()),
                    )
                )
        changed: list[Stop] = []
        new_desks = [(n, [p.id for p in ps]) for n, ps in desks]
        for day, stop in remaining.items():
            if day not in wanted:
                continue
            window = wanted[day]
            if _stop_shape(stop) == _shape(window, products, desks, capacity, note):
                continue
            clash = self._clash(series.location, *window, besides=stop)
            if clash is not None:
                raise Refused(self._clash_text(clash))
            try:
                self._reshape(stop, window, products)
            except Refused as refused:
                raise Refused(
                    text(
                        N_("De loketdag van %(date)s kan zo niet veranderen. %(reason)s"),
                        date=_day(day),
                        reason=refused.reason,
                    )
                ) from None
            if [(d.name, [p.id for p in d.products]) for d in stop.desks] != new_desks:
                if self.session.scalar(select(Ticket.id).where(Ticket.stop_id == stop.id).limit(1)):
                    raise Refused(
                        text(N_("De loketdag van %(date)s heeft al nummers."), date=_day(day))
                    )
                for desk in list(stop.desks):
                    self.session.delete(desk)
                # The old desks go before the new ones come: names are unique per stop.
                self.session.flush()
                stop.desks = [Desk(name=n, products=list(ps)) for n, ps in desks]
            stop.capacity, stop.note = capacity, note
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
            added.append(self._build_stop(series.location, window, products, desks, capacity, note))
        series.stops.extend(added)
        series.start_time, series.end_time = start, end
        if last != series.last_date:
            series.weeks = None
        series.last_date = last
        series.exceptions = sorted(d.isoformat() for d in exceptions)
        series.products = list(products)
        series.desks = [{"name": n, "products": [p.id for p in ps]} for n, ps in desks]
        series.capacity, series.note = capacity, note
        self.session.flush()
        changes = _diff(before, _series_facts(series))
        self.log(
            "series.update",
            actor,
            object_type="stop_series",
            object_id=series.id,
            changes=changes,
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
        day = _date(errors, "day", raw)
        errors.raise_if_any()
        assert day is not None
        if series.cancelled_at is not None:
            raise Refused(text(N_("Deze reeks is gestopt. U kunt hem niet meer wijzigen.")))
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
        self.log(
            "series.skip",
            actor,
            object_type="stop_series",
            object_id=series.id,
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
                    dates=", ".join(_day(self.local(s.starts_at).date()) for s in booked),
                )
            )
        for stop in remaining:
            self._remove_stop(stop)
        series.cancelled_at = self.now()
        self.log(
            "series.cancel",
            actor,
            object_type="stop_series",
            object_id=series.id,
            removed_stops=[s.id for s in remaining],
        )
        self.session.commit()
        return len(remaining)

    def _clash_text(self, clash: Stop) -> Text:
        return text(
            N_("Op deze locatie is op %(date)s al een loketdag van %(start)s tot %(end)s."),
            date=_day(self.local(clash.starts_at).date()),
            start=self.local(clash.starts_at).strftime("%H:%M"),
            end=self.local(clash.ends_at).strftime("%H:%M"),
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


def _key(value: int | str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFound() from None


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


def _shape(
    window: tuple[datetime, datetime],
    products: list[Product],
    desks: list[tuple[str, list[Product]]],
    capacity: int | None,
    note: str,
) -> tuple[Any, ...]:
    return (
        window,
        [p.id for p in products],
        [(n, [p.id for p in ps]) for n, ps in desks],
        capacity,
        note,
    )


def _stop_shape(stop: Stop) -> tuple[Any, ...]:
    return _shape(
        (stop.starts_at, stop.ends_at),
        list(stop.products),
        [(d.name, list(d.products)) for d in stop.desks],
        stop.capacity,
        stop.note,
    )
