"""Appointments, the rules (no Flask): slots per stop and product, booking the last place
race-free, check-in at the kiosk inside a window around the slot, no-shows, cancelling,
importing, and erasing contact data. Its doors are the booking pages (kiosk/views/booking.py),
the resident's page (kiosk/views/appointment.py), the kiosk's check-in
(kiosk/views/kiosk_appointments.py), the JSON API (kiosk/views/api/appointments.py) and the
housekeeping CLI; kiosk/factories.py builds the service.

    AppointmentService (service.py)    check-in (CheckInWindow -> CheckedIn), no-shows, purge
      on ReschedulingService (rescheduling.py)  move to another slot; the calendar's Revision
      on ImportingService (importing.py)  bookings from the municipality's system -> ImportResult
      on BookingService (booking.py)      book (guarded UPDATEs on `booked`), find, cancel
      on SlotService (slots.py)           open slots, free slots, later options, products

    errors.py  the refusals: UnknownAppointment, UnknownSlot, SlotFull, SlotPast, NotBookable,
               AppointmentClosed, CheckInTooEarly, CheckInTooLate, WrongStop
    codes.py   booking codes as "ABC-234": CODE_ALPHABET, normalise_code, new_code

Each base adds one side and uses the ones below it (the import books through `book`, check-in
finds through `find`); the app builds only `AppointmentService`. Capacity is taken and given
back by guarded UPDATEs in the booking's own transaction, so two residents never both get the
last place (booking.py). Contact data (name, e-mail) is erased `retention_days` after the slot;
the anonymous facts stay for research (service.py).
"""

from kiosk.services.appointments.codes import CODE_ALPHABET, new_code, normalise_code
from kiosk.services.appointments.errors import (
    AppointmentClosed,
    CheckInTooEarly,
    CheckInTooLate,
    NotBookable,
    SlotFull,
    SlotPast,
    UnknownAppointment,
    UnknownSlot,
    WrongStop,
)
from kiosk.services.appointments.importing import ImportResult
from kiosk.services.appointments.service import AppointmentService, CheckedIn, CheckInWindow

__all__ = [
    "CODE_ALPHABET",
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
    "new_code",
    "normalise_code",
]
