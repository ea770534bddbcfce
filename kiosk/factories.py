"""The one place where services are wired for Flask: each factory builds a service for this
request (or app context) from its database session, the app's notifier, clock and settings.

    view / API resource / socket handler / CLI command
        -> queue_service() ...                       (here)
            -> QueueService(db_session(), notifier, clock, ...)   (kiosk/services/, no Flask)

`setting(name)` is here too: the value in effect for a setting a coordinator may change (a
stored override, else the app's configuration), read once per request and kept on `flask.g`.
Services never read configuration themselves; what they need is passed in below.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, g
from sqlalchemy.orm import Session

from kiosk.messaging import message_texts, offered_channels
from kiosk.services.accounts import AccountService
from kiosk.services.admin_accounts import AccountAdminService
from kiosk.services.appointments import AppointmentService, CheckInWindow
from kiosk.services.feedback import FeedbackService
from kiosk.services.joining import JoinService
from kiosk.services.messages import MessageService, Outbox
from kiosk.services.mfa import MfaService
from kiosk.services.planning import CatalogueService, OverviewService, SeriesService, StopService
from kiosk.services.presence import PresenceService
from kiosk.services.printing import PrintService
from kiosk.services.queue import QueueService
from kiosk.services.queue.figures import FiguresService
from kiosk.services.research import ResearchService
from kiosk.services.settings import SPECS, SettingsService
from kiosk.services.slides import SlideService
from kiosk.services.speech import AnnouncementService
from kiosk.services.tour import TourService

# -- the request's database session -------------------------------------------------------------


def db_session() -> Session:
    """The request's (or app context's) session; closed when the context ends."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["loket.sessionmaker"]()
    return g.db_session


def close_db_session(_exc: BaseException | None = None) -> None:
    """Close the context's session (registered with `teardown_appcontext`)."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


# -- settings coordinators may change ----------------------------------------------------------

_SETTINGS_CACHE = "loket_settings"


def overrides() -> dict[str, Any]:
    """This request's overrides, read from the database the first time they are needed."""
    if _SETTINGS_CACHE not in g:
        setattr(g, _SETTINGS_CACHE, settings_service().overrides())
    return getattr(g, _SETTINGS_CACHE)


def setting(name: str) -> Any:
    """The value in effect: the stored override for the settings coordinators may change
    (see kiosk.services.settings.SPECS), else ``app.config[name]``."""
    if name in SPECS:
        found = overrides()
        if name in found:
            return found[name]
    return current_app.config[name]


def setting_defaults() -> dict[str, Any]:
    """The configured value of each changeable setting (what "back to the default" gives)."""
    return {key: current_app.config[key] for key in SPECS}


def forget_settings() -> None:
    """Drop this request's cached overrides (after changing them)."""
    g.pop(_SETTINGS_CACHE, None)


# -- services ---------------------------------------------------------------------------------


def _common() -> dict[str, Any]:
    return {
        "notifier": current_app.extensions["loket.notifier"],
        "clock": current_app.config["CLOCK"],
    }


def _timezone() -> str:
    return str(current_app.config["TIMEZONE"])


def outbox() -> Outbox:
    """Where the queue writes residents' messages (kiosk/services/messages/outbox.py)."""
    return Outbox(message_texts(), ahead=int(current_app.config["NOTIFY_AHEAD"]))


def queue_service() -> QueueService:
    return QueueService(
        db_session(),
        **_common(),
        interleave=int(current_app.config["APPOINTMENT_INTERLEAVE"]),
        outbox=outbox(),
    )


def message_service() -> MessageService:
    config = current_app.config
    return MessageService(
        db_session(),
        **_common(),
        outbox=outbox(),
        offered=offered_channels(),
        allow_http_push=bool(config["NOTIFY_PUSH_ALLOW_HTTP"]),
        reminder_hour=int(config["NOTIFY_REMINDER_HOUR"]),
        timezone=_timezone(),
    )


def appointment_service() -> AppointmentService:
    window = CheckInWindow(
        early=timedelta(minutes=int(setting("CHECKIN_EARLY_MINUTES"))),
        late=timedelta(minutes=int(setting("CHECKIN_LATE_MINUTES"))),
    )
    return AppointmentService(db_session(), **_common(), window=window, timezone=_timezone())


def feedback_service() -> FeedbackService:
    return FeedbackService(db_session(), **_common(), timezone=_timezone())


def join_service() -> JoinService:
    return JoinService(db_session(), **_common())


def account_service() -> AccountService:
    return AccountService(db_session(), **_common())


def account_admin_service() -> AccountAdminService:
    return AccountAdminService(db_session(), **_common())


def mfa_service() -> MfaService:
    return MfaService(db_session(), **_common())


def research_service() -> ResearchService:
    return ResearchService(
        db_session(),
        **_common(),
        timezone=_timezone(),
        long_wait_minutes=int(current_app.config["RESEARCH_LONG_WAIT_MINUTES"]),
    )


def presence_service() -> PresenceService:
    return PresenceService(db_session(), **_common())


def tour_service() -> TourService:
    return TourService(db_session(), **_common(), timezone=_timezone())


def overview_service() -> OverviewService:
    return OverviewService(db_session(), **_common(), timezone=_timezone())


def catalogue_service() -> CatalogueService:
    return CatalogueService(db_session(), **_common(), timezone=_timezone())


def stop_service() -> StopService:
    return StopService(db_session(), **_common(), timezone=_timezone())


def series_service() -> SeriesService:
    return SeriesService(db_session(), **_common(), timezone=_timezone())


def print_service() -> PrintService:
    return PrintService(db_session(), **_common(), timezone=_timezone())


def figures_service() -> FiguresService:
    """Today's figures of a desk and its stop (the desk page)."""
    return FiguresService(db_session(), **_common(), timezone=_timezone())


def settings_service() -> SettingsService:
    return SettingsService(db_session(), **_common())


def announcement_service() -> AnnouncementService:
    return AnnouncementService(db_session(), **_common())


def slide_service() -> SlideService:
    return SlideService(db_session(), **_common(), timezone=_timezone())
