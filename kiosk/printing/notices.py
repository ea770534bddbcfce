"""What the kiosk screen says about its slip, in plain words for residents."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from kiosk.models import Device, PrintJob, PrintStatus
from kiosk.services.printing import FAULT_STATES
from printer import PrinterState


@dataclass(frozen=True)
class PrintNotice:
    """What the kiosk screen says about the slip: a state word and the reason of a fault."""

    state: str  # none | printing | printed | fault
    reason: str = ""


def print_notice(job: PrintJob | None, device: Device | None) -> PrintNotice:
    """The slip's state for the resident, from its job and the printer's last known health."""
    if job is None:
        return PrintNotice("none")
    printer_state = device.printer_state if device is not None else None
    if job.status is PrintStatus.PRINTED:
        return PrintNotice("printed")
    if job.status is PrintStatus.FAILED or job.status is PrintStatus.RETRYING:
        # What the printer says now, else why this job failed.
        known = printer_state if printer_state in FAULT_STATES else job.fault
        return PrintNotice("fault", fault_reason(known))
    if printer_state in FAULT_STATES:
        return PrintNotice("fault", fault_reason(printer_state))
    return PrintNotice("printing")


def fault_reason(printer_state: str | None) -> str:
    """A printer fault in plain words for residents (B1)."""
    if printer_state == PrinterState.PAPER_OUT.value:
        return _("Het papier van de printer is op.")
    if printer_state == PrinterState.OFFLINE.value:
        return _("De printer staat uit of is niet aangesloten.")
    return _("De printer heeft een storing.")
