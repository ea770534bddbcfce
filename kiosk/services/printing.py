"""Print jobs and printer health as the domain sees them: rows that staff read, not bytes.

The bytes and the retrying live in the printer's spool (printer/spool.py), driven by
kiosk/printing/. This service records what happened to each slip, keeps each kiosk's printer
health, and publishes the changes: ``print_status`` to the ticket's room (the kiosk that issued
it) or, for a slip of a time booked for later, to the booking's room; and ``printer_changed`` to
the stop's staff room (desks refetch their device and fault lists; boards never hear it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from kiosk.models import (
    Appointment,
    Device,
    DeviceKind,
    PrintJob,
    PrintKind,
    PrintStatus,
    Stop,
    Ticket,
)
from kiosk.payloads import iso
from kiosk.services.base import SYSTEM, Actor, LocalService, Pending
from kiosk.services.errors import DomainError, NotFound
from kiosk.services.rooms import booking_room, staff_room, ticket_room

OPEN = (PrintStatus.QUEUED, PrintStatus.RETRYING)
TROUBLE = (PrintStatus.RETRYING, PrintStatus.FAILED)
ERROR_LENGTH = 300


# What `PrintService.record` reads of a job (its rooms and what its event names) and writes.
_JOB_FOR_RECORD = (
    select(
        PrintJob.stop_id,
        PrintJob.ticket_id,
        PrintJob.device_id,
        Ticket.token.label("ticket_token"),
        Appointment.token.label("booking_token"),
    )
    .select_from(PrintJob)
    .outerjoin(Ticket, Ticket.id == PrintJob.ticket_id)
    .outerjoin(Appointment, Appointment.id == PrintJob.appointment_id)
    .where(PrintJob.id == bindparam("job_id"))
)
_PRINT_JOBS = cast(Table, PrintJob.__table__)
_RECORD_JOB = (
    update(_PRINT_JOBS)
    .where(_PRINT_JOBS.c.id == bindparam("job_id"))
    .values(
        status=bindparam("status"),
        attempts=bindparam("attempts"),
        error=bindparam("error"),
        fault=bindparam("fault"),
        updated_at=bindparam("updated_at"),
    )
)


class UnknownPrintJob(NotFound):
    """Raised when no print job has the given id (or it was purged)."""

    code = "unknown_print_job"
    message = "There is no such print job."


class NoPrinter(DomainError):
    """Raised on a reprint when the device asked for, or every kiosk at hand, cannot print."""

    code = "no_printer"
    status = 409
    message = "No kiosk with a printer is available for this ticket."


class NotToday(DomainError):
    """Raised on a reprint of a ticket from another day, or of a past appointment."""

    code = "not_today"
    status = 409
    message = "Only tickets issued today can be printed again."


# A printer_state word of our own, beside printer.PrinterState's: the settings cannot work.
CONFIG_ERROR = "config_error"
# The printer states in which no slip comes out (printer.PrinterState's words, and ours).
FAULT_STATES = ("offline", "paper_out", CONFIG_ERROR)

# Why a slip did not come out (PrintJob.fault), one word each; staff read it in plain words
# (the desk's texts), with the technical `error` behind them.
PAPER_OUT = "paper_out"  # the printer said its paper is out
OFFLINE = "offline"  # the printer could not be reached (power, cable, cover)
FAULT = "fault"  # the printer failed part-way, or for a reason we cannot tell
SPOOL = "spool"  # the slip could not be handed to the printer (disk full, a broken job file)
NO_PRINTER = "no_printer"  # the kiosk has no printer (any more)
NOT_TODAY = "not_today"  # not printed on its own day: too late to print now
NO_SLIP = "no_slip"  # nothing left to print (its ticket or booking is gone)
FAULT_KINDS = (PAPER_OUT, OFFLINE, CONFIG_ERROR, FAULT, SPOOL, NO_PRINTER, NOT_TODAY, NO_SLIP)


@dataclass(frozen=True)
class PrinterHealth:
    """What the printer of one or more kiosks reported: a PrinterState word and a detail."""

    state: str
    detail: str = ""


@dataclass(frozen=True)
class SlipRequest:
    """A kiosk printer that is to print a new ticket's slip, in the resident's language: the
    queue makes its job in the ticket's own transaction (`queue_slip`)."""

    device_id: int
    language: str = "nl"


def new_job(
    kind: PrintKind,
    now: datetime,
    *,
    ticket: Ticket | None = None,
    appointment: Appointment | None = None,
    stop_id: int | None = None,
    device_id: int | None = None,
    language: str = "nl",
) -> PrintJob:
    """A print job row, queued and not yet tried (the caller adds it to its transaction)."""
    return PrintJob(
        kind=kind,
        status=PrintStatus.QUEUED,
        ticket_id=ticket.id if ticket is not None else None,
        appointment_id=appointment.id if appointment is not None else None,
        stop_id=stop_id,
        device_id=device_id,
        language=language,
        attempts=0,
        created_at=now,
        updated_at=now,
    )


def queue_slip(session: Session, slip: SlipRequest, ticket: Ticket, now: datetime) -> PrintJob:
    """The job of a new ticket's slip, added to the ticket's transaction: it is inserted with
    the ticket (one flush; the ticket may not have its id yet)."""
    job = new_job(
        PrintKind.TICKET,
        now,
        stop_id=ticket.stop_id,
        device_id=slip.device_id,
        language=slip.language,
    )
    job.ticket = ticket
    session.add(job)
    return job


def print_job_payload(job: PrintJob) -> dict[str, Any]:
    """A print job for staff: with the ticket's label and token (or the booking's code and token)
    so a desk can reprint it."""
    ticket, booking = job.ticket, job.appointment
    return {
        "id": job.id,
        "kind": job.kind.value,
        "status": job.status.value,
        "attempts": job.attempts,
        "error": job.error,
        "fault": job.fault,
        "device": job.device_id,
        "device_name": job.device.name if job.device is not None else None,
        "ticket": (
            {"label": ticket.label, "token": ticket.token, "status": ticket.status.value}
            if ticket is not None
            else None
        ),
        "appointment": (
            {"code": booking.code, "token": booking.token} if booking is not None else None
        ),
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
    }


class PrintService(LocalService):
    """Creates print-job rows, records how they went and what the printers report."""

    # -- jobs ----------------------------------------------------------------------------------

    def create_job(
        self,
        *,
        kind: PrintKind,
        ticket: Ticket | None,
        device: Device | None,
        appointment: Appointment | None = None,
        language: str = "nl",
        actor: Actor = SYSTEM,
    ) -> PrintJob:
        """A new queued job (committed before its bytes reach the spool, so that the spool's
        report can never arrive before the row exists)."""
        self.begin_write()
        job = new_job(
            kind,
            self.now(),
            ticket=ticket,
            appointment=appointment,
            stop_id=ticket.stop_id if ticket is not None else _device_stop(device),
            device_id=device.id if device is not None else None,
            language=language,
        )
        self.session.add(job)
        self.session.flush()
        if kind is not PrintKind.TICKET:  # every ticket prints: only the exceptions are news
            self.log(
                f"print.{kind.value}",
                actor,
                object_type="print_job",
                object_id=job.id,
                stop_id=job.stop_id,
                ticket_id=job.ticket_id,
                appointment_id=job.appointment_id,
                device_id=job.device_id,
            )
        self.session.commit()
        return job

    def record(
        self,
        job_id: int,
        status: PrintStatus,
        *,
        attempts: int,
        error: str | None = None,
        fault: str | None = None,
    ) -> bool:
        """What the spool reported for a job; publishes it. False if the row is gone (purged).

        `fault` (one of `FAULT_KINDS`) says why the slip did not come out: it is stored for
        staff, who read it in plain words, and tells the kiosk's screen. A retrying or failed
        job without a word we know counts as `FAULT`; a printed (or queued) job has none.

        Two Core statements (the job's rooms, then the update), no mapped objects: the print
        worker calls this for every slip, on the event loop. A job already loaded in this
        session is expired, so it shows the new state when read next.
        """
        stored = None if status not in TROUBLE else fault if fault in FAULT_KINDS else FAULT
        said = error[:ERROR_LENGTH] if error else None
        self.begin_write()
        job = self.run(_JOB_FOR_RECORD, {"job_id": job_id}).one_or_none()
        if job is None:
            self.end_read()
            return False
        self.run(
            _RECORD_JOB,
            {
                "job_id": job_id,
                "status": status,
                "attempts": attempts,
                "error": said,
                "fault": stored,
                "updated_at": self.now(),
            },
        )
        held = self.session.identity_map.get(self.session.identity_key(PrintJob, job_id))
        if held is not None:
            self.session.expire(held)
        if status is PrintStatus.FAILED:
            self.log(
                "print.failed",
                SYSTEM,
                object_type="print_job",
                object_id=job_id,
                result="failed",
                stop_id=job.stop_id,
                ticket_id=job.ticket_id,
                device_id=job.device_id,
                fault=stored,
                error=said,
            )
        body: dict[str, Any] = {"status": status.value, "attempts": attempts}
        if fault is not None:
            body["fault"] = fault
        pending = Pending()
        if job.ticket_token is not None:
            pending.add("print_status", body, ticket_room(job.ticket_token))
        elif job.booking_token is not None:
            pending.add("print_status", body, booking_room(job.booking_token))
        if job.stop_id is not None:
            # Desks only; the job's id only: desks fetch the rest.
            pending.add("printer_changed", {"print_job": job_id}, staff_room(job.stop_id))
        self.commit(pending)
        return True

    def unspooled(self, *, before: datetime) -> list[PrintJob]:
        """Jobs queued and never tried that were made before `before`, oldest first: after a
        crash, those whose bytes may never have reached a spool (see Printing.recover)."""
        found = list(
            self.session.scalars(
                select(PrintJob)
                .where(
                    PrintJob.status == PrintStatus.QUEUED,
                    PrintJob.attempts == 0,
                    PrintJob.created_at < before,
                )
                .order_by(PrintJob.id)
                .limit(500)
            )
        )
        self.end_read()
        return found

    def current(self, job_id: int) -> PrintJob | None:
        """The print job as stored now (after `record`), or None if it was purged."""
        return self.session.get(PrintJob, job_id, populate_existing=True)

    def job(self, job_id: int) -> PrintJob:
        """The print job with this id, or `UnknownPrintJob`."""
        job = self.session.get(PrintJob, job_id)
        if job is None:
            raise UnknownPrintJob()
        return job

    def latest_for_ticket(self, ticket: Ticket) -> PrintJob | None:
        """The ticket's most recent print job (what the kiosk screen reports)."""
        return self.session.scalar(
            select(PrintJob)
            .where(PrintJob.ticket_id == ticket.id)
            .order_by(PrintJob.id.desc())
            .limit(1)
        )

    def latest_for_booking(self, appointment: Appointment) -> PrintJob | None:
        """The most recent slip of a time booked at a kiosk."""
        return self.session.scalar(
            select(PrintJob)
            .where(PrintJob.appointment_id == appointment.id)
            .order_by(PrintJob.id.desc())
            .limit(1)
        )

    def today_start(self) -> datetime:
        """Midnight of today in the stop's time zone: where "today's slips" begin."""
        return datetime.combine(self.today(), time(), tzinfo=self.tz)

    def jobs(
        self,
        stop: Stop,
        *,
        since: datetime | None = None,
        statuses: Sequence[PrintStatus] | None = None,
        limit: int = 100,
    ) -> list[PrintJob]:
        """The stop's print jobs since `since` (default: today's), newest first."""
        since = since if since is not None else self.today_start()
        query = select(PrintJob).where(PrintJob.stop_id == stop.id, PrintJob.created_at >= since)
        if statuses:
            query = query.where(PrintJob.status.in_(statuses))
        found = list(self.session.scalars(query.order_by(PrintJob.id.desc()).limit(limit)))
        self.end_read()
        return found

    def faults(self, stop: Stop, *, since: datetime | None = None) -> list[PrintJob]:
        """Slips that did not (yet) come out, where no later job for the same ticket (or
        booking) printed: what a desk must act on. Since `since` (default: today), newest
        first."""
        recent = self.jobs(stop, since=since, limit=500)
        seen: set[tuple[str, int]] = set()
        result = []
        for job in recent:  # newest first: the first job seen per ticket is its latest
            owner = (
                ("ticket", job.ticket_id)
                if job.ticket_id is not None
                else ("booking", job.appointment_id)
                if job.appointment_id is not None
                else None
            )
            if owner is not None:
                if owner in seen:
                    continue
                seen.add(owner)
            if job.status in TROUBLE:
                result.append(job)
        return result

    def reprint_device(self, ticket: Ticket | Appointment, device_id: int | None = None) -> Device:
        """Where to print a ticket (or a booking's slip) again: the device asked for, else the
        kiosk that printed it first, else the stop's first paired kiosk. `NoPrinter` if none.

        Only a ticket of today, or a booking whose time is still to come, is printed again
        (`NotToday`): an old slip would send its holder to a queue that is gone.
        """
        if isinstance(ticket, Ticket):
            if ticket.issued_at < self.today_start():
                raise NotToday()
        elif ticket.slot.ends_at <= self.now():
            raise NotToday("This appointment has passed: its slip is not printed again.")
        if device_id is not None:
            device = self.session.get(Device, device_id)
            if device is None or not _usable_kiosk(device):
                raise NoPrinter("This device is not a paired kiosk.")
            return device
        first = self.session.scalar(
            select(PrintJob.device_id)
            .where(
                (PrintJob.ticket_id if isinstance(ticket, Ticket) else PrintJob.appointment_id)
                == ticket.id,
                PrintJob.device_id.is_not(None),
            )
            .order_by(PrintJob.id)
            .limit(1)
        )
        if first is not None:
            device = self.session.get(Device, first)
            if device is not None and _usable_kiosk(device):
                return device
        for device in self.kiosks(ticket.stop_id):
            return device
        raise NoPrinter()

    def kiosks(self, stop_id: int | None = None) -> list[Device]:
        """Paired kiosks (of one stop, plus those that follow the open stop), by name."""
        query = select(Device).where(
            Device.kind == DeviceKind.KIOSK,
            Device.paired_at.is_not(None),
            Device.revoked_at.is_(None),
        )
        if stop_id is not None:
            query = query.where((Device.stop_id == stop_id) | Device.stop_id.is_(None))
        found = list(self.session.scalars(query.order_by(Device.stop_id.is_(None), Device.name)))
        self.end_read()
        return found

    def configure_printer(
        self, device_id: int, settings: dict[str, Any] | None, *, actor: Actor = SYSTEM
    ) -> Device:
        """Give a kiosk its own printer settings (checked by the caller), or None for the
        default; the kiosk's last known printer state is cleared until it is asked again."""
        self.begin_write()
        device = self.session.get(Device, device_id, populate_existing=True)
        if device is None or device.kind != DeviceKind.KIOSK:
            self.end_read()
            raise NotFound("There is no such kiosk.")
        current = dict(device.settings or {})
        if settings is None:
            current.pop("printer", None)
        else:
            current["printer"] = dict(settings)
        device.settings = current
        device.printer_state = device.printer_detail = device.printer_checked_at = None
        self.log(
            "device.printer",
            actor,
            object_type="device",
            object_id=device.id,
            stop_id=device.stop_id,
            backend=(settings or {}).get("BACKEND", "default"),
        )
        pending = Pending()
        for stop_id in self._stop_ids(device):
            pending.add("printer_changed", {"device": device.id}, staff_room(stop_id))
        self.commit(pending)
        return device

    def log_test_print(self, device: Device | None, *, ok: bool, actor: Actor = SYSTEM) -> None:
        """Record that someone printed a test slip (on a kiosk's printer, or the default)."""
        self.begin_write()
        self.log(
            "printer.test",
            actor,
            object_type="device",
            object_id=device.id if device is not None else None,
            result="ok" if ok else "failed",
        )
        self.session.commit()

    # -- health --------------------------------------------------------------------------------

    def record_health(self, device_ids: Iterable[int], health: PrinterHealth | None) -> list[int]:
        """Store what the printer of these kiosks reported now; publishes a change of state.

        Returns the ids of the devices whose state changed. `None` clears the state (the kiosk
        has no printer any more).
        """
        ids = sorted(set(device_ids))
        if not ids:
            return []
        self.begin_write()
        now = self.now()
        changed: list[Device] = []
        devices = self.session.scalars(select(Device).where(Device.id.in_(ids)))
        for device in devices:
            state = health.state if health else None
            detail = (health.detail[:ERROR_LENGTH] if health else None) or None
            if (device.printer_state, device.printer_detail) != (state, detail):
                changed.append(device)
            device.printer_state = state
            device.printer_detail = detail
            device.printer_checked_at = now if health else None
        pending = Pending()
        for device in changed:
            self.log(
                "printer.state",
                SYSTEM,
                object_type="device",
                object_id=device.id,
                stop_id=device.stop_id,
                state=device.printer_state,
                detail=device.printer_detail,
            )
            for stop_id in self._stop_ids(device):
                pending.add("printer_changed", {"device": device.id}, staff_room(stop_id))
        self.commit(pending)
        return [d.id for d in changed]

    # -- internals -----------------------------------------------------------------------------

    def _stop_ids(self, device: Device) -> list[int]:
        if device.stop_id is not None:
            return [device.stop_id]
        return list(self.session.scalars(select(Stop.id).where(Stop.status == "open")))


def _device_stop(device: Device | None) -> int | None:
    return device.stop_id if device is not None else None


def _usable_kiosk(device: Device) -> bool:
    return (
        device.kind == DeviceKind.KIOSK
        and device.paired_at is not None
        and device.revoked_at is None
    )
