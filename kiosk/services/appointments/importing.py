"""The import of bookings from the municipality's own appointment system: rows (from the JSON
API) or CSV text (comma or semicolon separated), one appointment a row.

Two passes, in one write transaction:

    rows -> check every row (nothing written)  -> a plan per good row, a reason per bad row
         -> book every planned row              -> one commit: all good rows, or none

Every row is checked before anything is written, and every bad row is reported with its line
number (line 1 is the CSV header, so the first row is line 2; JSON rows are numbered the same
way). A row is bad when its reference is missing, too long or used twice in the file; its
product is unknown, walk-in only or not offered at its stop; its stop is not a stop's number
or does not exist; its start is not a date and time, or the appointment would not fit in the
stop's opening window (so no start in 1900, nor at 3 in the night); its name is too long; its
e-mail is not an e-mail address; or its slot is full. A full slot is refused, never made larger:
the import does not decide how many people a desk can serve. A missing slot is made at the
product's length for as many people as the stop has desks serving the product (the same rule
as `open_slots`).

The good rows are saved and the bad ones reported: that is the contract of the API's
``{created, skipped, errors}`` answer, whose callers fix the bad lines and send the file again
(known references are skipped, so a repeated import does nothing twice). Saving is atomic: if
booking one good row still fails (another caller took the last place in between), nothing of
the import is kept and that row is reported.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from kiosk.models import Appointment, AppointmentSource, Product, Slot, Stop
from kiosk.services.appointments.booking import BookingService
from kiosk.services.appointments.codes import REFERENCE_PATTERN
from kiosk.services.base import SYSTEM, Actor
from kiosk.services.errors import DomainError
from kiosk.services.validation import parse_id

# What the municipality's system sends as a reference: letters, digits and - _ . / (at most
# 64, the column's length), starting with a letter or digit. Check-in looks up typed text as a
# reference only in this form (codes.py), so nothing else may get in.
REFERENCE_FORMAT = REFERENCE_PATTERN
# An address with one @, something before it and a dot in the domain, no spaces: a typing
# check, not a promise that mail arrives.
EMAIL_FORMAT = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
MAX_NAME = 80
MAX_EMAIL = 254


@dataclass(frozen=True)
class ImportResult:
    """What an import did, line by line: booked, skipped as known, or refused with a reason."""

    created: list[Appointment]
    skipped: list[str]  # external references that were there already
    errors: list[str]  # "line 4: ..." in plain words, in line order


class BadRow(ValueError):
    """One row cannot be imported; the message says why, in plain words."""


@dataclass
class _Planned:
    """A checked row: what to book, where."""

    line: int
    reference: str
    stop: Stop
    product: Product
    start: datetime
    name: str | None
    email: str | None


class ImportingService(BookingService):
    """Books the rows of the municipality's system; see the module docstring."""

    def import_rows(self, rows: Iterable[dict[str, str]], *, actor: Actor = SYSTEM) -> ImportResult:
        """Appointments from the municipality's system: ``reference, product, stop, start`` and
        optional ``name``, ``email``. Every row is checked first; the good ones are booked in one
        transaction (all or, if one still fails, none), each bad one is reported by its line.
        Known references are skipped, so a repeated import does nothing twice."""
        skipped: list[str] = []
        errors: list[str] = []
        planned: list[_Planned] = []
        seen: dict[str, int] = {}  # reference -> the line it first appeared on
        places: dict[tuple[int, int, datetime], int] = {}  # slot key -> places this file takes
        self.begin_write()  # one snapshot for checking and booking: nobody books in between
        try:
            for line, row in enumerate(rows, start=2):  # line 1 is the header
                try:
                    plan = self._check(line, row, seen, places)
                except BadRow as error:
                    errors.append(f"line {line}: {error}")
                    continue
                if plan is None:
                    skipped.append(_clean(row, "reference"))
                else:
                    planned.append(plan)
            created = self._book_all(planned, actor) if planned else []
        except _Failed as failed:
            self.session.rollback()
            errors.append(f"line {failed.line}: {failed.reason}; nothing was imported")
            errors.sort(key=_line_of)
            return ImportResult([], skipped, errors)
        except BaseException:
            self.session.rollback()
            raise
        if created:
            self.session.commit()
        else:
            self.session.rollback()  # nothing to keep: end the write transaction
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

    # -- first pass: check (reads only) --------------------------------------------------------

    def _check(
        self,
        line: int,
        row: dict[str, str],
        seen: dict[str, int],
        places: dict[tuple[int, int, datetime], int],
    ) -> _Planned | None:
        """The row's plan, None for a known reference, or `BadRow`."""
        reference = _required(row, "reference")
        if not REFERENCE_FORMAT.fullmatch(reference):
            raise BadRow(
                "reference must be 1 to 64 letters, digits and - _ . / (no spaces),"
                " starting with a letter or digit"
            )
        if reference in seen:
            raise BadRow(f"reference {reference!r} is also on line {seen[reference]}")
        seen[reference] = line
        if self._by_ref(reference) is not None:
            return None
        product = self._product_of(row)
        stop = self._stop_of(row)
        if product not in stop.products:
            raise BadRow(f"stop {stop.id} does not offer product {product.code!r}")
        start = _parse_time(_required(row, "start"), self.tz)
        self._check_window(stop, product, start)
        name = _clean(row, "name") or None
        if name is not None and len(name) > MAX_NAME:
            raise BadRow(f"name is longer than {MAX_NAME} characters")
        email = _clean(row, "email") or None
        if email is not None and (len(email) > MAX_EMAIL or not EMAIL_FORMAT.fullmatch(email)):
            raise BadRow(f"email {email[:60]!r} is not an e-mail address")
        key = (stop.id, product.id, start)
        slot = self._existing_slot(stop, product, start)
        capacity = slot.capacity if slot is not None else self._places(stop, product)
        taken = (slot.booked if slot is not None else 0) + places.get(key, 0)
        if taken >= capacity:
            raise BadRow(
                f"the slot at {self.local(start):%Y-%m-%d %H:%M} is full"
                f" ({capacity} {'place' if capacity == 1 else 'places'})"
            )
        places[key] = places.get(key, 0) + 1
        return _Planned(line, reference, stop, product, start, name, email)

    def _product_of(self, row: dict[str, str]) -> Product:
        key = _required(row, "product")
        product = self.session.scalar(
            select(Product).where((Product.code == key) | (Product.prefix == key))
        )
        if product is None or not product.active:
            raise BadRow(f"unknown product {key!r}")
        if not (product.bookable or product.appointment_required):
            raise BadRow(f"product {key!r} is walk-in only: it cannot be booked")
        return product

    def _stop_of(self, row: dict[str, str]) -> Stop:
        raw = _required(row, "stop")
        stop_id = parse_id(raw)
        if stop_id is None:
            raise BadRow("stop must be the stop's number")
        stop = self.session.get(Stop, stop_id)
        if stop is None:
            raise BadRow(f"unknown stop {stop_id}")
        return stop

    def _check_window(self, stop: Stop, product: Product, start: datetime) -> None:
        """The appointment must start and end within the stop's opening window."""
        end = start + timedelta(minutes=product.duration_minutes)
        if start < stop.starts_at or end > stop.ends_at:
            opens, closes = self.local(stop.starts_at), self.local(stop.ends_at)
            raise BadRow(
                f"start {self.local(start):%Y-%m-%d %H:%M} is outside the stop's opening hours"
                f" ({opens:%Y-%m-%d %H:%M} to {closes:%H:%M},"
                f" {product.duration_minutes} minutes for this product)"
            )

    def _existing_slot(self, stop: Stop, product: Product, start: datetime) -> Slot | None:
        return self.session.scalar(
            select(Slot)
            .where(Slot.stop_id == stop.id, Slot.product_id == product.id, Slot.starts_at == start)
            .execution_options(populate_existing=True)  # `booked` moves by guarded UPDATEs
        )

    @staticmethod
    def _places(stop: Stop, product: Product) -> int:
        """A new slot's room: the desks of the stop that serve the product (as open_slots)."""
        return max(1, sum(1 for d in stop.desks if d.active and product in d.products))

    # -- second pass: book (one transaction) ---------------------------------------------------

    def _book_all(self, planned: list[_Planned], actor: Actor) -> list[Appointment]:
        created = []
        for plan in planned:
            slot = self._existing_slot(plan.stop, plan.product, plan.start)
            if slot is None:
                slot = Slot(
                    stop_id=plan.stop.id,
                    product_id=plan.product.id,
                    starts_at=plan.start,
                    ends_at=plan.start + timedelta(minutes=plan.product.duration_minutes),
                    capacity=self._places(plan.stop, plan.product),
                    booked=0,
                )
                self.session.add(slot)
                self.session.flush()
            if not self._take_place(slot.id):
                raise _Failed(plan.line, "the slot was taken while importing")
            try:
                appointment = self._insert(
                    slot, plan.name, plan.email, "nl", AppointmentSource.IMPORT, plan.reference
                )
            except DomainError as error:
                raise _Failed(plan.line, str(error)) from error
            self._log_booked(appointment, slot, AppointmentSource.IMPORT, actor)
            created.append(appointment)
        return created


class _Failed(Exception):
    """Booking a checked row failed after all: the whole import is rolled back."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _line_of(error: str) -> int:
    return int(error.split(":", 1)[0].removeprefix("line "))


def _clean(row: dict[str, str], key: str) -> str:
    return str(row.get(key) or "").strip()


def _required(row: dict[str, str], key: str) -> str:
    value = _clean(row, key)
    if not value:
        raise BadRow(f"{key} is missing")
    return value


def _parse_time(text: str, tz: ZoneInfo) -> datetime:
    """ISO 8601; without an offset it is local time at the stop."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRow(f"start {text!r} is not a date and time like 2026-12-01T18:30") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment
