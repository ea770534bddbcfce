"""Moving a booked appointment to another free time, and what a calendar needs to know of its
changes.

A move is one transaction that holds the new place before it lets go of the old one:

    lock the appointment (still booked, its time still ahead?)
      -> lock both slots, in id order          (PostgreSQL: two crossing moves never deadlock)
      -> take a place in the new slot          (the booking's guarded UPDATE: `SlotFull`)
      -> point the appointment at the new slot (guarded on its old slot and status)
      -> give the old place back
      -> log ``appointment.reschedule``, commit

Any refusal rolls the whole transaction back: the appointment keeps its old time and place,
and the old slot its place. The code and the private link stay the same (they travel on paper
slips and in e-mails); the reminder the day before is due again for the new day.

A calendar app recognises the appointment by its UID and replaces its copy only when the
file's SEQUENCE is higher than the one it holds: `revision` counts the appointment's moves and
its cancellation in the event log, so that number only ever goes up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from kiosk.models import Appointment, AppointmentStatus, Event, Slot, StopStatus
from kiosk.services.appointments.errors import (
    AppointmentClosed,
    NotBookable,
    SlotFull,
    SlotPast,
    UnknownAppointment,
    UnknownSlot,
)
from kiosk.services.appointments.importing import ImportingService
from kiosk.services.base import SYSTEM, Actor, changed_rows
from kiosk.services.errors import DomainError

B = AppointmentStatus.BOOKED
RESCHEDULE = "appointment.reschedule"
# The changes a calendar must see (RFC 5545 counts a new start, end or status as a revision).
REVISIONS = (RESCHEDULE, "appointment.cancel")


@dataclass(frozen=True)
class Revision:
    """How often an appointment changed since it was booked (the calendar's SEQUENCE) and when
    it last did (its creation when it never changed)."""

    sequence: int
    modified_at: datetime


@dataclass(frozen=True)
class Rescheduled:
    """The appointment after a move; `moved` is False when it held the chosen slot already (a
    repeated request: nothing changed, nothing to confirm again)."""

    appointment: Appointment
    moved: bool


class ReschedulingService(ImportingService):
    """Moves an appointment to another slot of its product; see the module docstring."""

    def reschedule(self, token: str, slot_id: int, *, actor: Actor = SYSTEM) -> Rescheduled:
        """Move the appointment behind `token` to `slot_id` (same product; any stop that is not
        closed). Choosing the slot it holds already changes nothing (a repeated request gets the
        same answer). Refusals change nothing: `UnknownAppointment`, `AppointmentClosed`
        (checked in, cancelled, no-show, or its time has begun: ``status="past"``),
        `UnknownSlot`, `NotBookable` (another product, or a closed stop), `SlotPast`, and
        `SlotFull` when someone else took the last place first."""
        self.begin_write()
        try:
            appointment = self._lock(token)
            old_slot_id = appointment.slot_id
            if appointment.status is not B:
                raise AppointmentClosed(status=appointment.status.value)
            if slot_id == old_slot_id:
                self.end_read()
                return Rescheduled(appointment, moved=False)
            now = self.now()
            if appointment.slot.starts_at <= now:
                raise AppointmentClosed(status="past")
            slot = self.session.get(Slot, slot_id, populate_existing=True)
            if slot is None:
                raise UnknownSlot()
            if slot.product_id != appointment.product_id:
                raise NotBookable("This slot is for another product.", slot=slot.id)
            if slot.stop.status is StopStatus.CLOSED:
                raise NotBookable("This stop is closed.", slot=slot.id)
            if slot.starts_at <= now:
                raise SlotPast()
            # Both slots' rows in a fixed order before either changes: two residents swapping
            # times would otherwise each hold one row and wait for the other's.
            self.session.execute(
                select(Slot.id)
                .where(Slot.id.in_((old_slot_id, slot.id)))
                .order_by(Slot.id)
                .with_for_update()
            ).all()
            if not self._take_place(slot.id):
                raise SlotFull(slot=slot.id)
            self._move(appointment, old_slot_id, slot)
            self.log(
                RESCHEDULE,
                actor,
                object_type="appointment",
                object_id=appointment.id,
                stop_id=slot.stop_id,
                product_id=appointment.product_id,
                from_slot=old_slot_id,
                to_slot=slot.id,
            )
        except DomainError as error:
            self.log_rejection(RESCHEDULE, actor, error, object_type="appointment")
            raise
        self.session.commit()
        self.session.refresh(appointment)
        return Rescheduled(appointment, moved=True)

    def _lock(self, token: str) -> Appointment:
        """The appointment, its row locked until the commit (PostgreSQL; SQLite's BEGIN
        IMMEDIATE holds the whole database already), read afresh."""
        found = self.session.scalar(
            select(Appointment)
            .where(Appointment.token == token)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if found is None:
            raise UnknownAppointment()
        return found

    def _move(self, appointment: Appointment, old_slot_id: int, slot: Slot) -> None:
        """Point the appointment at `slot` (its place there is taken), then free the old one."""
        moved = changed_rows(
            self.session.execute(
                update(Appointment)
                .where(
                    Appointment.id == appointment.id,
                    Appointment.status == B,
                    Appointment.slot_id == old_slot_id,
                )
                # The reminder the day before is due again for the new day.
                .values(slot_id=slot.id, stop_id=slot.stop_id, reminded_at=None)
                .execution_options(synchronize_session=False)
            )
        )
        if moved != 1:  # pragma: no cover - the row lock above keeps it booked and in place
            raise AppointmentClosed(status=appointment.status.value)
        self.session.execute(
            update(Slot)
            .where(Slot.id == old_slot_id, Slot.booked > 0)
            .values(booked=Slot.booked - 1)
            .execution_options(synchronize_session=False)
        )

    def revision(self, appointment: Appointment) -> Revision:
        """How often the appointment moved or was cancelled, and when it last changed: the
        calendar file's SEQUENCE and LAST-MODIFIED. Read from the event log (appends only, so the
        number never goes down), from the booking on (the log's time index bounds the read)."""
        count, last = self.session.execute(
            select(func.count(), func.max(Event.at)).where(
                Event.at >= appointment.created_at,
                Event.object_type == "appointment",
                Event.object_id == appointment.id,
                Event.action.in_(REVISIONS),
                Event.result == "ok",
            )
        ).one()
        self.end_read()
        return Revision(int(count or 0), last or appointment.created_at)
