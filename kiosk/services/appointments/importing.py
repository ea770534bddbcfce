"""The import of bookings from the municipality's own appointment system: rows (from the JSON
API) or CSV text (comma or semicolon separated), one appointment a row.

Each row books through `BookingService.book` (as an import: a slot that has started may still
be booked), in the slot that matches its stop, product and start; a missing slot is made at the
product's length, a full one is made one place larger: the municipality's system decided. Known
references are skipped, so a repeated import does nothing twice; a bad row is explained by its
line number and the others still go in.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from kiosk.models import Appointment, AppointmentSource, Product, Slot, Stop
from kiosk.services.appointments.booking import BookingService
from kiosk.services.base import SYSTEM, Actor
from kiosk.services.errors import DomainError


@dataclass(frozen=True)
class ImportResult:
    """What an import did, line by line: booked, skipped as known, or refused with a reason."""

    created: list[Appointment]
    skipped: list[str]  # external references that were there already
    errors: list[str]  # "line 4: ..." in plain words


class ImportingService(BookingService):
    """Books the rows of the municipality's system; see the module docstring."""

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
