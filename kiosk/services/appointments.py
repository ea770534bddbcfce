"""Appointments: slots per stop and product, booking the last place race-free, check-in at the
kiosk inside a window around the slot, no-shows, cancelling, importing, and erasing contact data.

Capacity: a slot's `booked` counter moves only through guarded UPDATEs (``booked < capacity`` to
take a place, ``booked > 0`` to give one back) inside the booking's own transaction, so two
residents can never both take the last place, on SQLite (BEGIN IMMEDIATE) and PostgreSQL (the
row lock of the UPDATE) alike.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from kiosk.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    Product,
    Slot,
    Source,
    Stop,
    StopStatus,
    Ticket,
)
from kiosk.services.base import (
    DEFAULT_TIMEZONE,
    SYSTEM,
    Actor,
    Clock,
    LocalService,
    Notifier,
    changed_rows,
    utc_now,
)
from kiosk.services.errors import Conflict, DomainError, NotFound, UnknownProduct
from kiosk.services.queue import QueueService, new_token

# Codes are read aloud and typed on a keypad: no 0/O, 1/I/L, and 6 characters as "ABC-234".
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
B = AppointmentStatus.BOOKED


class UnknownAppointment(NotFound):
    """Raised when no appointment has the typed code, reference or link token."""

    code = "unknown_appointment"
    message = "There is no appointment with this code or link."


class UnknownSlot(NotFound):
    """Raised when no slot has the given id."""

    code = "unknown_slot"
    message = "There is no such slot."


class SlotFull(DomainError):
    """Raised when the slot has no place left, also when a rival took the last one first."""

    code = "slot_full"
    status = 409
    message = "This time is fully booked. Choose another time."


class SlotPast(DomainError):
    """Raised when a resident books a slot that has already started (an import still may)."""

    code = "slot_past"
    status = 409
    message = "This time has passed. Choose another time."


class NotBookable(DomainError):
    """Raised when a product cannot be booked at this stop, or the slot is for another product."""

    code = "not_bookable"
    status = 409
    message = "This product cannot be booked at this stop."


class AppointmentClosed(DomainError):
    """Raised on cancelling or checking in an appointment that is no longer booked (`status`)."""

    code = "appointment_closed"
    status = 409
    message = "This appointment was cancelled or has passed."


class CheckInTooEarly(DomainError):
    """Raised on a check-in before the window opens; `opens_at` says when it does."""

    code = "check_in_too_early"
    status = 409
    message = "It is too early to check in for this appointment."


class CheckInTooLate(DomainError):
    """Raised on a check-in after the window closed (`starts_at`: the slot's start)."""

    code = "check_in_too_late"
    status = 409
    message = "The time to check in for this appointment has passed."


class WrongStop(DomainError):
    """Raised on a check-in at another stop than booked (`stop`, `starts_at` say which)."""

    code = "wrong_stop"
    status = 409
    message = "This appointment is at another place or on another day."


@dataclass(frozen=True)
class CheckInWindow:
    """How long before and after a slot's start a resident may check in."""

    early: timedelta = timedelta(minutes=30)
    late: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class CheckedIn:
    """A checked-in appointment and the priority ticket it got (the same one if `again`)."""

    appointment: Appointment
    ticket: Ticket
    again: bool  # the appointment had been checked in already (a scanner read it twice)


@dataclass(frozen=True)
class ImportResult:
    """What an import did, line by line: booked, skipped as known, or refused with a reason."""

    created: list[Appointment]
    skipped: list[str]  # external references that were there already
    errors: list[str]  # "line 4: ..." in plain words


def normalise_code(text: str) -> str:
    """A code as typed or scanned (any case, with or without spaces and dashes) -> ``ABC-234``;
    "" when it cannot be one of our codes."""
    raw = re.sub(r"[\s\-_.]", "", text).upper()
    if len(raw) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in raw):
        return ""
    return f"{raw[:3]}-{raw[3:]}"


def new_code() -> str:
    """A random booking code like ``ABC-234`` (not checked for uniqueness: the database is)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:3]}-{raw[3:]}"


class AppointmentService(LocalService):
    """Slots, bookings and check-in; see the module docstring."""

    def __init__(
        self,
        session: Session,
        notifier: Notifier | None = None,
        clock: Clock = utc_now,
        *,
        window: CheckInWindow | None = None,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> None:
        super().__init__(session, notifier, clock, timezone=timezone)
        self.window = window or CheckInWindow()

    # -- slots ---------------------------------------------------------------------------------

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

    # -- booking -------------------------------------------------------------------------------

    def book(
        self,
        slot_id: int,
        *,
        product_code: str | None = None,
        name: str | None = None,
        email: str | None = None,
        language: str = "nl",
        source: AppointmentSource = AppointmentSource.ONLINE,
        external_ref: str | None = None,
        actor: Actor = SYSTEM,
    ) -> Appointment:
        """Take a place in the slot, or `SlotFull`; two callers never both get the last one."""
        self.begin_write()
        try:
            slot = self.session.get(Slot, slot_id, populate_existing=True)
            if slot is None:
                raise UnknownSlot()
            if product_code is not None and product_code not in (
                slot.product.code,
                slot.product.prefix,
            ):
                raise NotBookable("This slot is for another product.", product=product_code)
            if slot.starts_at <= self.now() and source is not AppointmentSource.IMPORT:
                raise SlotPast()
            took = changed_rows(
                self.session.execute(
                    update(Slot)
                    .where(Slot.id == slot.id, Slot.booked < Slot.capacity)
                    .values(booked=Slot.booked + 1)
                    .execution_options(synchronize_session=False)
                )
            )
            if took != 1:
                raise SlotFull(slot=slot.id)
            appointment = self._insert(slot, name, email, language, source, external_ref)
            self.log(
                "appointment.book",
                actor,
                object_type="appointment",
                object_id=appointment.id,
                stop_id=slot.stop_id,
                product_id=slot.product_id,
                source=source.value,
            )
        except DomainError as error:
            self.log_rejection("appointment.book", actor, error, object_type="slot")
            raise
        self.session.commit()
        return appointment

    def _insert(
        self,
        slot: Slot,
        name: str | None,
        email: str | None,
        language: str,
        source: AppointmentSource,
        external_ref: str | None,
    ) -> Appointment:
        for _attempt in range(5):
            appointment = Appointment(
                slot_id=slot.id,
                stop_id=slot.stop_id,
                product_id=slot.product_id,
                code=new_code(),
                token=new_token(),
                external_ref=external_ref or None,
                status=B,
                source=source,
                language=language,
                name=(name or "").strip()[:80] or None,
                email=(email or "").strip()[:254] or None,
                created_at=self.now(),
            )
            try:
                with self.session.begin_nested():
                    self.session.add(appointment)
                    self.session.flush()
            except IntegrityError:
                if external_ref and self._by_ref(external_ref) is not None:
                    raise Conflict(
                        "An appointment with this reference exists.", external_ref=external_ref
                    ) from None
                continue  # a code taken by chance (1 in ~10^8): draw again
            return appointment
        raise Conflict("Could not give this appointment a code.")  # pragma: no cover

    def by_token(self, token: str) -> Appointment:
        """The appointment behind a confirmation link or QR code, or `UnknownAppointment`."""
        found = self.session.scalar(
            select(Appointment)
            .where(Appointment.token == token)
            .options(joinedload(Appointment.slot), joinedload(Appointment.stop))
        )
        if found is None:
            raise UnknownAppointment()
        return found

    def of_ticket(self, ticket: Ticket) -> Appointment | None:
        """The appointment a check-in ticket was issued for (None for a walk-in's)."""
        if ticket.source is not Source.APPOINTMENT:
            return None
        return self.session.scalar(select(Appointment).where(Appointment.ticket_id == ticket.id))

    def find(self, typed: str) -> Appointment:
        """By booking code (as typed or scanned), the external system's reference, or the
        appointment's own link (a scanner that reads a printed slip's QR types its URL)."""
        link = re.search(r"/a/([A-Za-z0-9_-]{16,64})/?$", typed.strip())
        if link is not None:
            return self.by_token(link.group(1))
        code = normalise_code(typed)
        found = None
        if code:
            found = self.session.scalar(select(Appointment).where(Appointment.code == code))
        if found is None and typed.strip():
            found = self._by_ref(typed.strip())
        if found is None:
            raise UnknownAppointment()
        return found

    def _by_ref(self, ref: str) -> Appointment | None:
        return self.session.scalar(select(Appointment).where(Appointment.external_ref == ref))

    def cancel(self, token: str, *, actor: Actor = SYSTEM) -> Appointment:
        """Give the place back; only a booked (not yet checked-in) appointment can be cancelled."""
        self.begin_write()
        try:
            appointment = self.by_token(token)
            moved = changed_rows(
                self.session.execute(
                    update(Appointment)
                    .where(Appointment.id == appointment.id, Appointment.status == B)
                    .values(status=AppointmentStatus.CANCELLED, cancelled_at=self.now())
                    .execution_options(synchronize_session=False)
                )
            )
            if moved != 1:
                raise AppointmentClosed(status=appointment.status.value)
            self.session.execute(
                update(Slot)
                .where(Slot.id == appointment.slot_id, Slot.booked > 0)
                .values(booked=Slot.booked - 1)
                .execution_options(synchronize_session=False)
            )
            self.log(
                "appointment.cancel",
                actor,
                object_type="appointment",
                object_id=appointment.id,
                stop_id=appointment.stop_id,
                product_id=appointment.product_id,
            )
        except DomainError as error:
            self.log_rejection("appointment.cancel", actor, error, object_type="appointment")
            raise
        self.session.commit()
        self.session.refresh(appointment)
        return appointment

    # -- check-in ------------------------------------------------------------------------------

    def check_in(self, typed: str, stop: Stop, *, actor: Actor = SYSTEM) -> CheckedIn:
        """The resident at the kiosk: a ticket for the appointment, called before walk-ins from
        the slot's start. Refusals say when (`CheckInTooEarly` with `opens_at`), or where
        (`WrongStop` with the place and time)."""
        try:
            appointment = self.find(typed)
            slot = appointment.slot
            if appointment.status is AppointmentStatus.CHECKED_IN and appointment.ticket:
                self.end_read()
                return CheckedIn(appointment, appointment.ticket, again=True)
            if appointment.status is not B:
                raise AppointmentClosed(status=appointment.status.value)
            if appointment.stop_id != stop.id:
                raise WrongStop(
                    stop=appointment.stop.location.name,
                    starts_at=slot.starts_at.isoformat(),
                )
            now = self.now()
            if now < slot.starts_at - self.window.early:
                raise CheckInTooEarly(opens_at=(slot.starts_at - self.window.early).isoformat())
            if now > slot.starts_at + self.window.late:
                raise CheckInTooLate(starts_at=slot.starts_at.isoformat())
        except DomainError as error:
            self.log_rejection("appointment.check_in", actor, error, object_type="appointment")
            raise
        appointment_id = appointment.id
        product_code = appointment.product.code

        def claim(ticket: Ticket) -> None:
            claimed = changed_rows(
                self.session.execute(
                    update(Appointment)
                    .where(Appointment.id == appointment_id, Appointment.status == B)
                    .values(
                        status=AppointmentStatus.CHECKED_IN,
                        checked_in_at=self.now(),
                        ticket_id=ticket.id,
                    )
                    .execution_options(synchronize_session=False)
                )
            )
            if claimed != 1:
                raise AppointmentClosed(status="checked_in")

        queue = QueueService(self.session, self.notifier, self.clock)
        try:
            ticket = queue.issue_for_appointment(
                stop, product_code, due_at=slot.starts_at, claim=claim, actor=actor
            )
        except AppointmentClosed:
            # Another kiosk (or a double scan) checked it in a moment ago: show that ticket.
            self.session.rollback()
            again = self.find(typed)
            if again.ticket is None:
                raise
            return CheckedIn(again, again.ticket, again=True)
        self.session.expire(appointment)
        return CheckedIn(self.find(typed), ticket, again=False)

    # -- housekeeping --------------------------------------------------------------------------

    def _no_shows(self, what: type[Appointment] | ColumnElement[int]) -> Select[*tuple[Any, ...]]:
        """`what` over booked appointments whose check-in window has closed."""
        return (
            select(what)
            .select_from(Appointment)
            .join(Slot, Slot.id == Appointment.slot_id)
            .where(Appointment.status == B, Slot.starts_at < self.now() - self.window.late)
        )

    def _purge_filter(self, retention_days: int) -> ColumnElement[bool]:
        """Appointments whose slot ended more than `retention_days` ago, not yet erased."""
        cutoff = self.now() - timedelta(days=retention_days)
        return and_(
            Appointment.slot_id.in_(select(Slot.id).where(Slot.ends_at < cutoff)),
            Appointment.purged_at.is_(None),
        )

    def count_no_shows(self) -> int:
        """How many appointments `mark_no_shows` would mark now (changes nothing)."""
        found = self.session.scalar(self._no_shows(func.count()))
        self.end_read()
        return int(found or 0)

    def mark_no_shows(self, *, actor: Actor = SYSTEM) -> int:
        """Booked appointments whose check-in window has closed become no-shows (for research).

        Idempotent: a second run (another process, a later pass) finds nothing left to mark.
        """
        self.begin_write()
        late = list(self.session.scalars(self._no_shows(Appointment)))
        for appointment in late:
            appointment.status = AppointmentStatus.NO_SHOW
            self.log(
                "appointment.no_show",
                actor,
                object_type="appointment",
                object_id=appointment.id,
                stop_id=appointment.stop_id,
                product_id=appointment.product_id,
            )
        self.session.commit()
        return len(late)

    def count_purgeable(self, retention_days: int) -> int:
        """How many appointments `purge_contact_data` would erase now (changes nothing)."""
        found = self.session.scalar(select(func.count()).where(self._purge_filter(retention_days)))
        self.end_read()
        return int(found or 0)

    def purge_contact_data(self, retention_days: int, *, actor: Actor = SYSTEM) -> int:
        """Erase name and e-mail `retention_days` after the slot; the anonymous facts stay.

        Each appointment once (`purged_at`); the run is logged as ``appointment.purge`` with
        its count and retention, which is how housekeeping knows the day's purge has run.
        """
        self.begin_write()
        erased = changed_rows(
            self.session.execute(
                update(Appointment)
                .where(self._purge_filter(retention_days))
                .values(name=None, email=None, purged_at=self.now())
                .execution_options(synchronize_session=False)
            )
        )
        self.log(
            "appointment.purge",
            actor,
            object_type="appointment",
            count=erased,
            retention_days=retention_days,
        )
        self.session.commit()
        return int(erased)

    # -- import --------------------------------------------------------------------------------

    def import_rows(self, rows: Iterable[dict[str, str]], *, actor: Actor = SYSTEM) -> ImportResult:
        """Appointments from the municipality's system: ``reference, product, stop, start`` and
        optional ``name``, ``email``. Each row books a place in the matching slot (made when
        missing, at the product's length). Known references are skipped, so a repeated import
        does nothing twice."""
        created: list[Appointment] = []
        skipped: list[str] = []
        errors: list[str] = []
        for number, row in enumerate(rows, start=2):  # line 1 is the header
            try:
                ref = _required(row, "reference")
                if self._by_ref(ref) is not None:
                    skipped.append(ref)
                    continue
                slot = self._slot_for(row)
                created.append(
                    self.book(
                        slot.id,
                        name=row.get("name"),
                        email=row.get("email"),
                        source=AppointmentSource.IMPORT,
                        external_ref=ref,
                        actor=actor,
                    )
                )
            except (DomainError, ValueError) as error:
                self.session.rollback()
                errors.append(f"line {number}: {error}")
        return ImportResult(created, skipped, errors)

    def import_csv(self, text: str, *, actor: Actor = SYSTEM) -> ImportResult:
        """`import_rows` from CSV text (comma or semicolon separated, header on line 1)."""
        sample = text[:2048]
        dialect = csv.Sniffer().sniff(sample, delimiters=",;") if sample.strip() else csv.excel
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        rows = (
            {(k or "").strip().lower(): (v or "").strip() for k, v in r.items()} for r in reader
        )
        return self.import_rows(rows, actor=actor)

    def _slot_for(self, row: dict[str, str]) -> Slot:
        product_key = _required(row, "product")
        product = self.session.scalar(
            select(Product).where((Product.code == product_key) | (Product.prefix == product_key))
        )
        if product is None:
            raise ValueError(f"unknown product {product_key!r}")
        try:
            stop_id = int(_required(row, "stop"))
        except ValueError:
            raise ValueError("stop must be the stop's number") from None
        stop = self.session.get(Stop, stop_id)
        if stop is None:
            raise ValueError(f"unknown stop {stop_id}")
        start = _parse_time(_required(row, "start"), self.tz)
        slot = self.session.scalar(
            select(Slot)
            .where(Slot.stop_id == stop.id, Slot.product_id == product.id, Slot.starts_at == start)
            .execution_options(populate_existing=True)  # `booked` moves by guarded UPDATEs
        )
        if slot is not None:
            if slot.booked >= slot.capacity:
                # The municipality's system booked it: make room rather than refuse.
                self.begin_write()
                slot.capacity = slot.booked + 1
                self.session.commit()
            return slot
        self.begin_write()
        slot = Slot(
            stop_id=stop.id,
            product_id=product.id,
            starts_at=start,
            ends_at=start + timedelta(minutes=product.duration_minutes),
            capacity=1,
            booked=0,
        )
        self.session.add(slot)
        self.session.commit()
        return slot


def _required(row: dict[str, str], key: str) -> str:
    value = (row.get(key) or "").strip()
    if not value:
        raise ValueError(f"{key} is missing")
    return value


def _parse_time(text: str, tz: ZoneInfo) -> datetime:
    """ISO 8601; without an offset it is local time at the stop."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"start {text!r} is not a date and time like 2026-12-01T18:30") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


__all__ = [
    "AppointmentClosed",
    "AppointmentService",
    "CheckInTooEarly",
    "CheckInTooLate",
    "CheckInWindow",
    "CheckedIn",
    "ImportResult",
    "NotBookable",
    "SlotFull",
    "SlotPast",
    "UnknownAppointment",
    "UnknownSlot",
    "WrongStop",
    "normalise_code",
]
