"""Housekeeping inside `loket run`: mark no-shows often, erase expired personal data daily.

    every HOUSEKEEPING_SECONDS             once per purge day, from PURGE_HOUR (TIMEZONE)
    --------------------------             ----------------------------------------------
    AppointmentService.mark_no_shows()     QueueService.expire_links(RETENTION_DAYS)
    MessageService.forget_ended_contacts() QueueService.forget_request_keys()
    MessageService.write_reminders()       AppointmentService.purge_contact_data(RETENTION_DAYS)
                                           forget_resident_addresses(IP_RETENTION_DAYS)
                                           AccountService.purge_sessions(SESSION_ROWS_DAYS)

A *purge day* runs from PURGE_HOUR local time to the next day's PURGE_HOUR. Whether its purge
has run is read from the event log (the ``appointment.purge`` event that `purge_contact_data`
writes, from any process or from `loket purge`), then remembered in memory until the next
purge day. So a restart at 10:00 after the 03:00 purge does not purge again, a machine that
was off at 03:00 purges as soon as it starts, and nothing is kept in a file.

Several server processes: give all but one ``LOKET_HOUSEKEEPING_SECONDS=0``. Running it twice is
harmless anyway: a no-show is marked once (only booked appointments are), contact data is
erased once (``purged_at``), and an expired ticket link is expired once (its marked token).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kiosk.database import begin_write
from kiosk.factories import (
    account_service,
    appointment_service,
    db_session,
    message_service,
    queue_service,
    setting,
)
from kiosk.models import Event
from kiosk.services.base import Actor

log = logging.getLogger(__name__)
# Staff logins that ended (or began) longer ago than this are deleted: the event log keeps the
# audit trail, the rows are only needed while a login may still be in use (14 hours at most).
SESSION_ROWS_DAYS = 30

HOUSEKEEPING_ACTOR = Actor("system", None, "housekeeping")
PURGE_EVENT = "appointment.purge"


@dataclass(frozen=True)
class HousekeepingResult:
    """What one pass did."""

    no_shows: int = 0  # appointments marked as no-show
    purged: bool = False  # the day's purge ran in this pass
    contacts_erased: int = 0  # appointments whose name and e-mail were erased
    links_expired: int = 0  # tickets whose status link stopped working
    errors: tuple[str, ...] = ()
    addresses_erased: int = 0  # residents' events whose IP address was erased
    reminders: int = 0  # appointments' day-before reminders written to the outbox


class Housekeeping:
    """The app's housekeeping: `run_once` is one pass, `run_forever` the loop `loket run` starts."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.interval = float(app.config["HOUSEKEEPING_SECONDS"])
        self.purge_hour = int(app.config["PURGE_HOUR"])
        self.retention_days = int(app.config["RETENTION_DAYS"])
        self.ip_retention_days = int(app.config["IP_RETENTION_DAYS"])
        self.tz = ZoneInfo(app.config["TIMEZONE"])
        if not 0 <= self.purge_hour <= 23:
            raise ValueError(f"PURGE_HOUR must be 0-23, not {self.purge_hour}")
        # The start of the latest purge day whose purge is known to have run.
        self._purged_day: datetime | None = None

    def purge_day_start(self, now: datetime) -> datetime:
        """The start (UTC) of the purge day `now` falls in: today's PURGE_HOUR, or yesterday's
        when it is earlier in the day than that."""
        day = now.astimezone(self.tz).date()
        start = datetime.combine(day, time(self.purge_hour), tzinfo=self.tz).astimezone(UTC)
        if start > now:  # compared in UTC: wall times repeat the night the clocks go back
            yesterday = day - timedelta(days=1)
            start = datetime.combine(yesterday, time(self.purge_hour), tzinfo=self.tz)
        return start.astimezone(UTC)

    def run_once(self, now: datetime | None = None) -> HousekeepingResult:
        """One pass at `now` (default: the app's clock). Each step runs in its own app context
        and transaction; a step that fails is logged and returned, and the next pass tries it
        again."""
        moment = now or self.app.config["CLOCK"]()
        errors: list[str] = []
        no_shows = 0
        try:
            with self.app.app_context():
                appointments = appointment_service()
                appointments.clock = lambda: moment
                no_shows = appointments.mark_no_shows(actor=HOUSEKEEPING_ACTOR)
        except Exception as exc:
            log.exception("Housekeeping: marking no-shows failed")
            errors.append(f"no-shows: {exc}")
        reminders = 0
        try:
            with self.app.app_context():
                messages = message_service()
                messages.clock = lambda: moment
                messages.forget_ended_contacts()
                reminders = messages.write_reminders(actor=HOUSEKEEPING_ACTOR)
        except Exception as exc:
            log.exception("Housekeeping: residents' messages failed")
            errors.append(f"messages: {exc}")
        purged, erased, expired, addresses = False, 0, 0, 0
        try:
            with self.app.app_context():
                # The coordinators' setting (kiosk.factories.setting) may change while we run.
                self.retention_days = int(setting("RETENTION_DAYS"))
                day = self.purge_day_start(moment)
                if self._purge_due(day):
                    queue = queue_service()
                    queue.clock = lambda: moment
                    expired = queue.expire_links(self.retention_days, actor=HOUSEKEEPING_ACTOR)
                    queue.forget_request_keys()
                    appointments = appointment_service()
                    appointments.clock = lambda: moment
                    erased = appointments.purge_contact_data(
                        self.retention_days, actor=HOUSEKEEPING_ACTOR
                    )
                    addresses = forget_resident_addresses(
                        db_session(), moment - timedelta(days=self.ip_retention_days)
                    )
                    accounts = account_service()
                    accounts.clock = lambda: moment
                    accounts.purge_sessions(older_than=timedelta(days=SESSION_ROWS_DAYS))
                    purged = True
                    self._purged_day = day
        except Exception as exc:
            log.exception("Housekeeping: the daily purge failed")
            errors.append(f"purge: {exc}")
        return HousekeepingResult(
            no_shows, purged, erased, expired, tuple(errors), addresses, reminders
        )

    def run_forever(
        self, stop: threading.Event, *, sleep: Callable[[float], Any] | None = None
    ) -> None:
        """Pass after pass, `interval` seconds apart, until `stop` is set.

        `sleep` waits between passes (default: `stop.wait`, which a stopping server cuts short).
        """
        wait = sleep or stop.wait
        log.info(
            "Housekeeping every %s s; purge daily from %02d:00", self.interval, self.purge_hour
        )
        while not stop.is_set():
            try:
                result = self.run_once()
                if result.no_shows or result.purged:
                    log.info(
                        "Housekeeping: %d no-shows; purge %s (%d erased, %d links expired)",
                        result.no_shows,
                        "ran" if result.purged else "not due",
                        result.contacts_erased,
                        result.links_expired,
                    )
            except Exception:  # run_once catches its steps' errors; this is the last line
                log.exception("Housekeeping pass failed")
            wait(self.interval)

    def _purge_due(self, day: datetime) -> bool:
        """Has no purge at this retention (or a shorter one) run since `day` started?"""
        if self._purged_day is not None and self._purged_day >= day:
            return False
        session = db_session()
        runs = session.scalars(
            select(Event.data).where(
                Event.action == PURGE_EVENT, Event.result == "ok", Event.at >= day
            )
        ).all()
        session.commit()  # end the read
        # A purge that kept data longer (`loket purge --days 90`) does not count for this one.
        if any(int((data or {}).get("retention_days", 0)) <= self.retention_days for data in runs):
            self._purged_day = day
            return False
        return True


def forget_resident_addresses(session: Session, before: datetime) -> int:
    """Erase the IP address (``origin``) of residents' events (bookings, cancellations: the
    anonymous ``public`` actor) that happened before `before`; returns how many. It is kept a
    few days to trace abuse (a script filling a day's slots), then it is not needed. Staff and
    device events keep theirs: that is the audit trail (who did what from where)."""
    begin_write(session)
    result = session.execute(
        update(Event)
        .where(Event.actor_type == "public", Event.origin.is_not(None), Event.at < before)
        .values(origin=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
