"""Slips asked for by a request: after a kiosk issued a ticket or booked a time, and staff's
reprints (which the print service allows only for today's tickets and coming bookings)."""

from __future__ import annotations

from flask_babel import get_locale

from kiosk.auth import current_principal
from kiosk.factories import print_service, queue_service
from kiosk.models import Appointment, DeviceKind, PrintJob, PrintKind, Ticket
from kiosk.payloads import Position
from kiosk.printing.stations import printing
from kiosk.services.printing import NoPrinter, SlipRequest

# -- the kiosk's side ----------------------------------------------------------------------------


def slip_request() -> SlipRequest | None:
    """The slip a kiosk's ticket request asks for: this kiosk's printer, in the resident's
    language; None when the caller is no kiosk or the kiosk prints nothing. The queue makes
    its print job in the ticket's own transaction."""
    device = current_principal().device
    if device is None or device.kind != DeviceKind.KIOSK:
        return None
    if printing().config_for(device) is None:
        return None
    return SlipRequest(device.id, _language())


def print_issued(
    ticket: Ticket, job: PrintJob | None, position: Position | None
) -> PrintJob | None:
    """After a new ticket was committed with a `slip_request`: send its slip (whose `job` the
    queue made in the ticket's transaction) to the kiosk's printer. Not for a retry answered
    with the same ticket: its slip was sent by the first request, or by the print worker's
    recovery after a crash (`Printing.recover`)."""
    if job is None:
        return None
    return printing().spool_ticket(job, ticket, position)


def print_booked(appointment: Appointment) -> PrintJob | None:
    """After a kiosk booked a time for later (committed): queue the slip that carries it."""
    principal = current_principal()
    device = principal.device
    if device is None or device.kind != DeviceKind.KIOSK:
        return None
    return printing().submit_booking(
        appointment, device, language=_language(), actor=principal.actor
    )


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "nl"


# -- staff's side --------------------------------------------------------------------------------


def reprint_ticket(ticket: Ticket, *, device_id: int | None = None) -> PrintJob:
    """Print a ticket of today again (staff); `NoPrinter` or `NotToday` when that cannot be."""
    prints = print_service()
    device = prints.reprint_device(ticket, device_id)
    earlier = prints.latest_for_ticket(ticket)
    job = printing().submit(
        ticket,
        device,
        kind=PrintKind.REPRINT,
        language=earlier.language if earlier is not None else "nl",
        position=queue_service().position(ticket),
        actor=current_principal().actor,
    )
    if job is None:
        raise NoPrinter(f"The kiosk {device.name} has no printer.")
    return job


def reprint_booking(appointment: Appointment, *, device_id: int | None = None) -> PrintJob:
    """Print a booking's slip again (staff), while its appointment is still to come."""
    prints = print_service()
    device = prints.reprint_device(appointment, device_id)
    earlier = prints.latest_for_booking(appointment)
    job = printing().submit_booking(
        appointment,
        device,
        kind=PrintKind.REPRINT,
        language=earlier.language if earlier is not None else appointment.language,
        actor=current_principal().actor,
    )
    if job is None:
        raise NoPrinter(f"The kiosk {device.name} has no printer.")
    return job
