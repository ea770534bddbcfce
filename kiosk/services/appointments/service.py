"""`AppointmentService`, the one appointment service the app builds
(`kiosk.factories.appointment_service`): slots (slots.py), booking (booking.py), the import
(importing.py) and moving to another time (rescheduling.py) through its bases, and here what
happens around the slot's start: check-in at the kiosk inside a window, no-shows, and erasing
contact data after the retention period.

Check-in gives a priority ticket through `QueueService.issue_for_appointment`, in the same
transaction that marks the appointment checked in; a second scan (or a second kiosk) gets the
ticket the first one got.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select, update
from sqlalchemy.orm import Session

from kiosk.models import Appointment, AppointmentStatus, PrintJob, Slot, Stop, Ticket
from kiosk.services.appointments.codes import lookup_key
from kiosk.services.appointments.errors import (
    AppointmentClosed,
    CheckInTooEarly,
    CheckInTooLate,
    WrongStop,
)
from kiosk.services.appointments.rescheduling import ReschedulingService
from kiosk.services.base import (
    DEFAULT_TIMEZONE,
    SYSTEM,
    Actor,
    Clock,
    Notifier,
    changed_rows,
    utc_now,
)
from kiosk.services.errors import DomainError
from kiosk.services.idempotency import answered
from kiosk.services.printing import SlipRequest
from kiosk.services.queue import QueueService

B = AppointmentStatus.BOOKED


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
    # A retry of this kiosk's own request (same idempotency key): the first answer, again.
    replayed: bool = False
    # The slip's print job, made in the ticket's transaction (when a slip was asked for).
    print_job: PrintJob | None = None


class AppointmentService(ReschedulingService):
    """Slots, bookings, the import, moving and check-in; see the package docstring."""

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

    # -- check-in ------------------------------------------------------------------------------

    def check_in(
        self,
        typed: str,
        stop: Stop,
        *,
        actor: Actor = SYSTEM,
        key: str | None = None,
        slip: SlipRequest | None = None,
    ) -> CheckedIn:
        """The resident at the kiosk: a ticket for the appointment, called before walk-ins from
        the slot's start. Refusals say when (`CheckInTooEarly` with `opens_at`), or where
        (`WrongStop` with the place and time).

        A retry with the same `key` gets the first answer (`replayed`), not "checked in
        already"; `slip` makes the slip's print job in the ticket's transaction.
        """
        try:
            appointment = self.find(typed)
            slot = appointment.slot
            # Where and when only for what a resident holds in hand (a booking code or the
            # appointment's link): a reference of the municipality's system can be guessed.
            tell = self.tells_where_and_when(typed, appointment)
            # First the stop: a kiosk gets tickets for its own stop only, also for an appointment
            # checked in elsewhere already (never that stop's ticket).
            if appointment.stop_id != stop.id:
                where = {"stop": appointment.stop.location.name} if tell else {}
                when = {"starts_at": slot.starts_at.isoformat()} if tell else {}
                raise WrongStop(**where, **when)
            if appointment.status is AppointmentStatus.CHECKED_IN and appointment.ticket:
                # Our own retry (same key) is answered as the first time; anything else is a
                # second scan of the same booking.
                done = answered(self.session, key, actor, "appointment.check_in", self.now())
                replayed = (
                    done is not None
                    and done.row is not None
                    and done.row.ticket_id == appointment.ticket_id
                )
                self.end_read()
                return CheckedIn(
                    appointment, appointment.ticket, again=not replayed, replayed=replayed
                )
            if appointment.status is not B:
                raise AppointmentClosed(status=appointment.status.value)
            now = self.now()
            opens_at = slot.starts_at - self.window.early
            if now < opens_at:
                raise CheckInTooEarly(**({"opens_at": opens_at.isoformat()} if tell else {}))
            if now > slot.starts_at + self.window.late:
                raise CheckInTooLate(**({"starts_at": slot.starts_at.isoformat()} if tell else {}))
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
            issued = queue.issue_for_appointment(
                stop,
                product_code,
                due_at=slot.starts_at,
                claim=claim,
                actor=actor,
                key=key,
                slip=slip,
            )
        except AppointmentClosed:
            # Another kiosk (or a double scan) checked it in a moment ago: show that ticket.
            self.session.rollback()
            again = self.find(typed)
            if again.ticket is None:
                raise
            return CheckedIn(again, again.ticket, again=True)
        self.session.expire(appointment)
        return CheckedIn(
            self.find(typed),
            issued.ticket,
            again=False,
            replayed=issued.replayed,
            print_job=issued.print_job,
        )

    @staticmethod
    def tells_where_and_when(typed: str, appointment: Appointment) -> bool:
        """Whether a refusal may say the appointment's place and time: only when it was found by
        its booking code or its own link (what the resident holds in hand), never by a reference
        (guessable, e.g. HRN-77); malformed text is never looked up at all."""
        key = lookup_key(typed)
        if key is None:
            return False
        kind, value = key
        return (kind == "link" and value == appointment.token) or (
            kind == "code" and value == appointment.code
        )

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
        """Erase name, e-mail and phone `retention_days` after the slot; the anonymous facts
        stay.

        Each appointment once (`purged_at`); the run is logged as ``appointment.purge`` with
        its count and retention, which is how housekeeping knows the day's purge has run.
        """
        self.begin_write()
        erased = changed_rows(
            self.session.execute(
                update(Appointment)
                .where(self._purge_filter(retention_days))
                .values(name=None, email=None, phone=None, purged_at=self.now())
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
