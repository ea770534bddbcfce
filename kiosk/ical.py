"""iCalendar (RFC 5545) text by hand: a few VEVENTs need no library at run time (the tests
parse every file back with `icalendar`). The tour's feed and a booked appointment's file are
built from these pieces."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_babel import force_locale
from flask_babel import gettext as _

from kiosk.models import Appointment

PRODID = "-//Gemeente Hoorn//popup-loket//NL"


def ics_text(value: str) -> str:
    """RFC 5545 TEXT: backslash, semicolon, comma and newlines escaped."""
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def ics_time(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space."""
    data = line.encode()
    if len(data) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += encoded
    parts.append(current.decode())
    return "\r\n ".join(parts)


def calendar(events: Iterable[list[str]], *, name: str | None = None) -> str:
    """A VCALENDAR of VEVENTs, each given as its property lines (without BEGIN/END)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    if name:
        lines.append(f"X-WR-CALNAME:{ics_text(name)}")
    for event in events:
        lines += ["BEGIN:VEVENT", *event, "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(fold(line) for line in lines) + "\r\n"


def appointment_ics(appointment: Appointment, url: str) -> str:
    """The appointment as an iCalendar file (one VEVENT), in the appointment's language."""
    slot, stop = appointment.slot, appointment.stop
    with force_locale(appointment.language):
        summary = _(
            "Afspraak gemeente Hoorn: %(product)s",
            product=appointment.product.name(appointment.language),
        )
        bring = appointment.product.bring.get(
            appointment.language
        ) or appointment.product.bring.get("nl", "")
        description = "\n".join(
            line
            for line in (
                _("Uw code: %(code)s", code=appointment.code),
                bring,
                _("Bekijken of afzeggen: %(url)s", url=url),
            )
            if line
        )
    location = ", ".join(p for p in (stop.location.name, stop.location.address) if p)
    event = [
        f"UID:{appointment.token}@popup-loket",
        f"DTSTAMP:{ics_time(appointment.created_at)}",
        f"DTSTART:{ics_time(slot.starts_at)}",
        f"DTEND:{ics_time(slot.ends_at)}",
        f"SUMMARY:{ics_text(summary)}",
        f"LOCATION:{ics_text(location)}",
        f"DESCRIPTION:{ics_text(description)}",
        f"URL:{url}",
        "STATUS:" + ("CANCELLED" if appointment.status.value == "cancelled" else "CONFIRMED"),
    ]
    return calendar([event])
