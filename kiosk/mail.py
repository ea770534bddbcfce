"""The confirmation e-mail after a booking (and after a move to another time): plain text, with
the appointment as a calendar file.

E-mail goes out only when ``LOKET_SMTP_HOST`` is set, in a background task after the commit:
a booking never waits for (or fails because of) the mail server.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from kiosk.models import Appointment
from kiosk.services.appointments.rescheduling import Revision
from kiosk.urls import public_url

log = logging.getLogger(__name__)


def after_booking(appointment: Appointment, moved: Revision | None = None) -> None:
    """Send the confirmation e-mail in the background, if the resident gave an address; after
    a move (`moved`: the appointment's revision) it says so and its calendar file replaces the
    old one."""
    if not appointment.email or not current_app.config.get("SMTP_HOST"):
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    url = public_url("appointment.show", token=appointment.token, language=appointment.language)
    message = confirmation_message(appointment, url, moved)
    app.extensions["socketio"].start_background_task(_send, app, message, appointment.id)


def after_reschedule(appointment: Appointment, revision: Revision) -> None:
    """The confirmation of a move to another time (see `after_booking`)."""
    after_booking(appointment, revision)


def confirmation_message(
    appointment: Appointment, url: str, moved: Revision | None = None
) -> EmailMessage:
    """The confirmation: plain text with the code, time, place, what to bring and the link."""
    config = current_app.config
    with force_locale(appointment.language):
        message = EmailMessage()
        subject = (
            _("Uw afspraak is verzet: %(code)s", code=appointment.code)
            if moved
            else _("Uw afspraak bij de gemeente Hoorn: %(code)s", code=appointment.code)
        )
        message["Subject"] = subject
        message["From"] = config["MAIL_FROM"]
        message["To"] = appointment.email or ""
        message.set_content(
            render_template(
                "mail/confirmation.txt", appointment=appointment, url=url, moved=bool(moved)
            )
        )
    from kiosk.ical import appointment_ics  # icalendar (~3 MB) loads on first use

    message.add_attachment(
        appointment_ics(appointment, url, revision=moved).encode(),
        maintype="text",
        subtype="calendar",
        filename="afspraak.ics",
    )
    return message


def _send(app: Any, message: EmailMessage, appointment_id: int) -> None:
    import smtplib  # on the first e-mail: a serving process without SMTP never needs it

    config = app.config
    try:
        with smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=20) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"] or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        # The booking stands; the resident has the confirmation page. Say so for the operator.
        log.warning("Confirmation e-mail for appointment %s not sent: %s", appointment_id, error)
