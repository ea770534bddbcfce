"""Calendar files (iCalendar, RFC 5545), written with the `icalendar` library: a booked
appointment's (the private page's download and the confirmation e-mail's attachment) and the
tour's feed (`/tour.ics`).

    Appointment + Revision -> VEVENT (UID per appointment, SEQUENCE = its moves and cancel)
                                + VALARM the day before and an hour before (while it is booked)
    Stops                  -> one VEVENT per stop (UID per stop) in a feed to subscribe to

A calendar app keeps one copy per UID and replaces it when a file with a higher SEQUENCE comes
in, so a moved appointment's new file moves the entry instead of adding a second one. The texts
are in the appointment's own language (the feed: the page's); times are UTC, which every
calendar app shows in its own zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Alarm, Calendar, Event, vDuration
from icalendar.enums import STATUS

from kiosk.i18n import local_time
from kiosk.models import Appointment, AppointmentStatus, Stop
from kiosk.services.appointments.rescheduling import Revision

PRODID = "-//Gemeente Hoorn//popup-loket//NL"
# The reminders a booked appointment carries: before its start, each with its own text.
DAY_BEFORE = timedelta(days=1)
HOUR_BEFORE = timedelta(hours=1)
# How often a subscribed calendar app should fetch the tour's feed again.
FEED_REFRESH = timedelta(hours=12)


def _calendar(*, name: str | None = None, uid: str | None = None) -> Calendar:
    calendar = Calendar.new(prodid=PRODID, calscale="GREGORIAN", method="PUBLISH", uid=uid)
    if uid is None:  # `new` would make up a random one: a file of one event needs none
        del calendar["UID"]
    if name:
        calendar.add("x-wr-calname", name)
        calendar.add("name", name)
    return calendar


def _text(calendar: Calendar) -> str:
    return calendar.to_ical().decode()


def _place(stop: Stop) -> str:
    return ", ".join(p for p in (stop.location.name, stop.location.address) if p)


def appointment_ics(
    appointment: Appointment,
    url: str,
    *,
    revision: Revision | None = None,
    stamp: datetime | None = None,
) -> str:
    """The appointment as an iCalendar file (one VEVENT), in the appointment's language.

    `revision` (from `AppointmentService.revision`) gives SEQUENCE and LAST-MODIFIED; without it
    the file is the booking's first version. `stamp` is when the file is made (DTSTAMP;
    default: when the appointment last changed). A booked appointment carries reminders
    (VALARM) a day and an hour before; a cancelled one says CANCELLED and reminds of nothing.
    """
    revision = revision or Revision(0, appointment.created_at)
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
                _("Bekijken, verzetten of afzeggen: %(url)s", url=url),
            )
            if line
        )
        place = _place(stop)
        alarms = []
        if appointment.status is AppointmentStatus.BOOKED:
            when = local_time(slot.starts_at)
            tomorrow = _(
                "Morgen om %(time)s uur hebt u een afspraak bij de gemeente Hoorn. "
                "Waar: %(place)s. Uw code: %(code)s.",
                time=when,
                place=place,
                code=appointment.code,
            )
            soon = _(
                "Over een uur hebt u een afspraak bij de gemeente Hoorn. "
                "Waar: %(place)s. Uw code: %(code)s.",
                place=place,
                code=appointment.code,
            )
            made = stamp or revision.modified_at
            # A day-before reminder of an appointment booked for today would ring at once.
            if slot.starts_at - DAY_BEFORE > made:
                alarms.append(_alarm(-DAY_BEFORE, tomorrow))
            alarms.append(_alarm(-HOUR_BEFORE, soon))
    cancelled = appointment.status is AppointmentStatus.CANCELLED
    event = Event.new(
        uid=f"{appointment.token}@popup-loket",
        stamp=stamp or revision.modified_at,
        created=appointment.created_at,
        last_modified=revision.modified_at,
        sequence=revision.sequence,
        start=slot.starts_at,
        end=slot.ends_at,
        summary=summary,
        location=place,
        description=description,
        url=url,
        status=STATUS.CANCELLED if cancelled else STATUS.CONFIRMED,
        subcomponents=alarms,
    )
    calendar = _calendar()
    calendar.add_component(event)
    return _text(calendar)


def _alarm(trigger: timedelta, text: str) -> Alarm:
    """A reminder on the screen `trigger` from the event's start (negative: before it)."""
    alarm = Alarm.new(description=text)
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", trigger)
    return alarm


def tour_ics(stops: Iterable[Stop], *, name: str, language: str, url: str, stamp: datetime) -> str:
    """The coming stops as a feed to subscribe to: one VEVENT per stop (UID per stop, so an
    app updates a stop whose time changed), with what can be done there. Texts in the current
    language (the caller's locale); product names in `language`."""
    calendar = _calendar(name=name, uid="tour@popup-loket")
    # RFC 7986's refresh hint, and the older one Outlook reads.
    calendar.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(FEED_REFRESH))
    for stop in stops:
        location = stop.location
        offered = ", ".join(p.name(language) for p in stop.products)
        event = Event.new(
            uid=f"stop-{stop.id}@popup-loket",
            stamp=stamp,
            start=stop.starts_at,
            end=stop.ends_at,
            summary=_("Loket op locatie: %(place)s", place=location.name),
            location=_place(stop),
            description="\n".join(
                (_("Wat u hier kunt regelen: %(products)s", products=offered), url)
            ),
            url=url,
            status=STATUS.CONFIRMED,
        )
        if location.latitude is not None and location.longitude is not None:
            event.add("geo", (round(location.latitude, 6), round(location.longitude, 6)))
        calendar.add_component(event)
    return _text(calendar)
