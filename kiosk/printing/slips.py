"""What a slip says: a ticket, a time booked for later, a sample; in the resident's language.

Each slip is written in the language the resident chose at the kiosk, and its QR code opens the
status or appointment page in that language (``public_url(..., language=...)``). How each script
reaches the paper is the printer's business (:mod:`printer.codepages`, :mod:`printer.raster_text`):
Turkish, Polish and Ukrainian in the printer's own font through the right code page, Arabic as
shaped right-to-left raster lines. One exception is decided here: when this machine cannot shape
Arabic (Pillow without libraqm), an Arabic slip's texts are printed in Dutch, since unjoined
letters printed backwards are worse than a language the resident may half read, and the QR code
still opens the page in Arabic (:func:`print_language`).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from kiosk.factories import appointment_service
from kiosk.i18n import local_time
from kiosk.models import Appointment, Source, Ticket
from kiosk.payloads import Position
from kiosk.urls import public_url
from printer import SlipLine, SlipTexts, TicketSlip

#: Languages written in a script that must be shaped (joined letters, right to left).
SHAPED_LANGUAGES = frozenset({"ar"})


def print_language(language: str) -> str:
    """The language a slip's texts are printed in: the resident's, or Dutch for Arabic on a
    machine that cannot shape it (the QR code keeps the resident's language)."""
    from printer import raster_text  # Pillow: loaded when a slip is made, i.e. by printing

    if language in SHAPED_LANGUAGES and not raster_text.can_shape():
        return str(current_app.config["DEFAULT_LANGUAGE"])
    return language


def ticket_slip(
    ticket: Ticket, *, language: str = "nl", position: Position | None = None
) -> TicketSlip:
    """What the printed ticket says, in the resident's language. An appointment's ticket
    says the time, and its QR code opens the appointment's page (which follows the turn)."""
    booked = (
        appointment_service().of_ticket(ticket) if ticket.source is Source.APPOINTMENT else None
    )
    link_language, language = language, print_language(language)
    with force_locale(language):
        if booked is None:
            qr_url = public_url("display.ticket_status", token=ticket.token, language=link_language)
            lines: tuple[SlipLine, ...] = ()
            footer = _("Scan de code om te zien wanneer u aan de beurt bent.")
        else:
            qr_url = public_url("appointment.show", token=booked.token, language=link_language)
            lines = (SlipLine(_("Afspraak om %(time)s", time=local_time(booked.slot.starts_at))),)
            footer = _("Scan de code: uw afspraak, en wanneer u aan de beurt bent.")
        return TicketSlip(
            label=ticket.label,
            product=ticket.product.name(language),
            stop=ticket.stop.location.name,
            issued_at=ticket.issued_at,
            qr_url=qr_url,
            header_lines=(_("Gemeente Hoorn"), _("Loket op locatie")),
            people_ahead=position.ahead if position is not None else None,
            lines=lines,
            footer_lines=(footer,),
            tz=ZoneInfo(current_app.config["TIMEZONE"]),
            texts=slip_texts(),
        )


def booking_slip(appointment: Appointment, *, language: str = "nl") -> TicketSlip:
    """The slip of a time booked for later: the code large, then what, when and where."""
    slot, location = appointment.slot, appointment.stop.location
    link_language, language = language, print_language(language)
    with force_locale(language):
        when = local_time(slot.starts_at, "EEEE d MMMM")
        hours = f"{local_time(slot.starts_at)}–{local_time(slot.ends_at)}"
        lines = [
            SlipLine(_("Uw afspraak"), bold=True),
            SlipLine(when, bold=True),
            SlipLine(hours, bold=True, large=True),
            SlipLine(location.name),
        ]
        if location.address:
            lines.append(SlipLine(location.address))
        return TicketSlip(
            label=appointment.code,
            product=appointment.product.name(language),
            stop=location.name,
            issued_at=appointment.created_at,
            qr_url=public_url("appointment.show", token=appointment.token, language=link_language),
            header_lines=(_("Gemeente Hoorn"), _("Loket op locatie")),
            lines=tuple(lines),
            footer_lines=(
                _("Meld u op die dag bij de kiosk: scan deze bon of typ de code."),
                _("Scan de QR-code: afspraak bekijken, in uw agenda zetten of afzeggen."),
            ),
            tz=ZoneInfo(current_app.config["TIMEZONE"]),
            texts=slip_texts(number_caption=_("Uw code")),
        )


def sample_slip(label: str, *, language: str = "nl") -> TicketSlip:
    """A slip as a resident would get it, for tests and previews (no ticket is issued)."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    link = f"{base}/t/voorbeeld-{label.lower()}"
    if language != current_app.config["DEFAULT_LANGUAGE"]:
        link += f"?lang={language}"
    language = print_language(language)
    with force_locale(language):
        return TicketSlip(
            label=label,
            product=_("Paspoort of ID-kaart aanvragen"),
            stop=_("Voorbeeld: Bibliotheek Kersenboogerd"),
            issued_at=current_app.config["CLOCK"](),
            qr_url=link,
            header_lines=(_("Gemeente Hoorn"), _("Loket op locatie")),
            people_ahead=3,
            footer_lines=(_("Scan de code om te zien wanneer u aan de beurt bent."),),
            tz=ZoneInfo(current_app.config["TIMEZONE"]),
            texts=slip_texts(),
        )


def slip_texts(number_caption: str | None = None) -> SlipTexts:
    """The slip's fixed texts in the current locale."""
    return SlipTexts(
        number_caption=number_caption or _("Uw nummer"),
        people_ahead_none=_("Er is niemand voor u"),
        people_ahead_one=_("Er is 1 persoon voor u"),
        people_ahead_many=_("Er zijn %(n)s personen voor u", n="{n}"),
    )
