"""Flask extensions and the per-request wiring of services.

The SocketIO server is made per app (see `create_app`) so that each app has its own handlers.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, g
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_socketio import SocketIO
from flask_wtf import CSRFProtect
from sqlalchemy.orm import Session

from kiosk.services.accounts import AccountService
from kiosk.services.appointments import AppointmentService, CheckInWindow
from kiosk.services.mfa import MfaService
from kiosk.services.presence import PresenceService
from kiosk.services.printing import PrintService
from kiosk.services.queue import QueueService
from kiosk.services.research import ResearchService
from kiosk.services.tour import TourService

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

BOARD_NAMESPACE = "/board"


class SocketIONotifier:
    """Publishes service events through Flask-SocketIO (and its Redis queue, if configured)."""

    def __init__(self, socketio: SocketIO) -> None:
        self.socketio = socketio

    def publish(self, event: str, payload: dict[str, Any], *, room: str) -> None:
        self.socketio.emit(event, payload, namespace=BOARD_NAMESPACE, to=room)
        # Let the websocket writers send now, not after this request has built its response.
        self.socketio.sleep(0)


def db_session() -> Session:
    """The request's (or app context's) session; closed when the context ends."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["loket.sessionmaker"]()
    return g.db_session


def close_db_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def socketio() -> SocketIO:
    return current_app.extensions["socketio"]


def _kwargs() -> dict[str, Any]:
    return {
        "notifier": current_app.extensions["loket.notifier"],
        "clock": current_app.config["CLOCK"],
    }


def queue_service() -> QueueService:
    return QueueService(
        db_session(), **_kwargs(), interleave=int(current_app.config["APPOINTMENT_INTERLEAVE"])
    )


def appointment_service() -> AppointmentService:
    from kiosk.settings import setting  # here: kiosk.settings imports this module

    config = current_app.config
    window = CheckInWindow(
        early=timedelta(minutes=int(setting("CHECKIN_EARLY_MINUTES"))),
        late=timedelta(minutes=int(setting("CHECKIN_LATE_MINUTES"))),
    )
    return AppointmentService(db_session(), **_kwargs(), window=window, timezone=config["TIMEZONE"])


def account_service() -> AccountService:
    return AccountService(db_session(), **_kwargs())


def mfa_service() -> MfaService:
    return MfaService(db_session(), **_kwargs())


def research_service() -> ResearchService:
    return ResearchService(
        db_session(),
        **_kwargs(),
        timezone=current_app.config["TIMEZONE"],
        long_wait_minutes=int(current_app.config["RESEARCH_LONG_WAIT_MINUTES"]),
    )


def presence_service() -> PresenceService:
    return PresenceService(db_session(), **_kwargs())


def tour_service() -> TourService:
    return TourService(db_session(), timezone=current_app.config["TIMEZONE"], **_kwargs())


def print_service() -> PrintService:
    return PrintService(db_session(), **_kwargs())
