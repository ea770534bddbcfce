"""Booking, looking up and cancelling appointments.

Capacity: a slot's `booked` counter moves only through guarded UPDATEs (``booked < capacity`` to
take a place, ``booked > 0`` to give one back) inside the booking's own transaction, so two
residents can never both take the last place, on SQLite (BEGIN IMMEDIATE) and PostgreSQL (the
row lock of the UPDATE) alike.

An appointment is found by its link token (the confirmation's QR and URL), by its booking code
as typed or scanned, or by the reference of the municipality's own system in its import format
(codes.py: free text is never looked up).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from kiosk.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    Slot,
    Source,
    Ticket,
)
from kiosk.services.appointments.codes import is_reference, lookup_key, new_code
from kiosk.services.appointments.errors import (
    AppointmentClosed,
    NotBookable,
    SlotFull,
    SlotPast,
    UnknownAppointment,
    UnknownSlot,
)
from kiosk.services.appointments.slots import SlotService
from kiosk.services.base import SYSTEM, Actor, changed_rows
from kiosk.services.errors import Conflict, DomainError
from kiosk.services.messages.addresses import normalise_phone
from kiosk.services.queue import new_token

B = AppointmentStatus.BOOKED


class BookingService(SlotService):
    """Takes a place in a slot, finds an appointment, gives the place back; see the module
    docstring."""

    def book(
        self,
        slot_id: int,
        *,
        product_code: str | None = None,
        name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
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
            if not self._take_place(slot.id):
                raise SlotFull(slot=slot.id)
            appointment = self._insert(slot, name, email, language, source, external_ref)
            # A mobile number for the day-before reminder, as E.164 (or `InvalidAddress`).
            appointment.phone = normalise_phone(phone) if phone else None
            self._log_booked(appointment, slot, source, actor)
        except DomainError as error:
            self.log_rejection("appointment.book", actor, error, object_type="slot")
            raise
        self.session.commit()
        return appointment

    def _log_booked(
        self, appointment: Appointment, slot: Slot, source: AppointmentSource, actor: Actor
    ) -> None:
        self.log(
            "appointment.book",
            actor,
            object_type="appointment",
            object_id=appointment.id,
            stop_id=slot.stop_id,
            product_id=slot.product_id,
            source=source.value,
        )

    def _take_place(self, slot_id: int) -> bool:
        """Take one place of the slot in one statement (never more than its capacity, whatever
        runs at the same time); False when it is full."""
        took = self.session.execute(
            update(Slot)
            .where(Slot.id == slot_id, Slot.booked < Slot.capacity)
            .values(booked=Slot.booked + 1)
            .execution_options(synchronize_session=False)
        )
        return changed_rows(took) == 1

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
        """By booking code (as typed or scanned), the external system's reference in its import
        format, or the appointment's own link (a scanner that reads a printed slip's QR types its
        URL). Anything else is `UnknownAppointment` without a look in the database."""
        key = lookup_key(typed)
        found = None
        if key is None:
            raise UnknownAppointment()
        kind, value = key
        if kind == "link":
            return self.by_token(value)
        if kind == "code":
            found = self.session.scalar(select(Appointment).where(Appointment.code == value))
        if found is None and is_reference(typed):  # "AB-2345" has a booking code's letters too
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
            # The slot it holds when the cancel lands: a move committed a moment ago (PostgreSQL:
            # this UPDATE waited for its row lock) has given the one read above back already.
            held = self.session.execute(
                update(Appointment)
                .where(Appointment.id == appointment.id, Appointment.status == B)
                .values(status=AppointmentStatus.CANCELLED, cancelled_at=self.now())
                .returning(Appointment.slot_id)
                .execution_options(synchronize_session=False)
            ).scalar_one_or_none()
            if held is None:
                raise AppointmentClosed(status=appointment.status.value)
            self.session.execute(
                update(Slot)
                .where(Slot.id == held, Slot.booked > 0)
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
