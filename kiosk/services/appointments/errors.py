"""The appointment's refusals: domain errors of our own, each with a code, an HTTP status and a
plain message; the doors map them once (a JSON 404/409, a friendly kiosk screen, a CLI line).

The extra facts a refusal carries (`opens_at`, `stop`, `starts_at`, `status`) are given as
keyword arguments where it is raised, and tell the resident when or where to come instead.
"""

from __future__ import annotations

from kiosk.services.errors import DomainError, NotFound


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
