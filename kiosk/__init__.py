"""popup-loket: kiosk, queue tickets and live display board for a pop-up front office.

Imports happen inside `create_app` on purpose: `loket run` must apply gevent's monkey patching
before Flask, SQLAlchemy or the socket libraries are first imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__version__ = "0.1.0"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, database, auth, API, sockets and pages."""
    import os
    from pathlib import Path

    from flask import Flask
    from flask_babel import lazy_gettext
    from flask_socketio import SocketIO

    from display import events as display_events
    from display import views as display_views
    from display.namespace import SocketIONotifier
    from display.queue import client_manager
    from kiosk import config, errors, i18n, security, static_files
    from kiosk.after_response import ClosingClient
    from kiosk.cli import register_cli
    from kiosk.database import make_engine, make_sessionmaker
    from kiosk.extensions import babel, csrf, limiter, login_manager, share_buckets
    from kiosk.factories import close_db_session
    from kiosk.i18n import select_locale
    from kiosk.printing.cli import printer_group
    from kiosk.printing.stations import Printing
    from kiosk.research import dashboard as research_views
    from kiosk.research import survey as survey_views
    from kiosk.services.base import utc_now
    from kiosk.views import IdConverter, admin, appointment, auth, booking, kiosk_appointments
    from kiosk.views import desk as desk_views
    from kiosk.views import join as join_views
    from kiosk.views import kiosk as kiosk_views
    from kiosk.views import kiosk_feedback as kiosk_feedback_views
    from kiosk.views import notify as notify_views
    from kiosk.views import offline as offline_views
    from kiosk.views import speech as speech_views
    from kiosk.views import tour as tour_views
    from kiosk.views.api import init_api

    root = Path(__file__).resolve().parent.parent
    # The instance folder (SQLite file, spool, keys, speech cache): beside the code unless
    # LOKET_INSTANCE_PATH names another, e.g. /var/lib/popup-loket (deploy/systemd/).
    instance = os.environ.get("LOKET_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=str(Path(instance).resolve()) if instance else None,
        instance_relative_config=True,
        template_folder=str(root / "templates"),
        static_folder=str(root / "static"),
    )
    app.url_map.converters["int"] = IdConverter  # every <int:...> is a bounded id (views/)
    app.test_client_class = ClosingClient  # closes responses as servers do (after_response)
    app.config["CLOCK"] = utc_now
    config.load(app, test_config)
    if isinstance(app.config["TRUSTED_HOSTS"], str):  # LOKET_TRUSTED_HOSTS=a.example,b.example
        app.config["TRUSTED_HOSTS"] = [h.strip() for h in app.config["TRUSTED_HOSTS"].split(",")]
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(root / "translations"))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", app.config["DEFAULT_LANGUAGE"])

    engine = make_engine(
        app.config["DATABASE_URL"], write_wait=float(app.config["DATABASE_WRITE_WAIT_SECONDS"])
    )
    app.extensions["loket.engine"] = engine
    app.extensions["loket.sessionmaker"] = make_sessionmaker(engine)
    app.teardown_appcontext(close_db_session)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    login_manager.login_message = lazy_gettext("Log in om deze pagina te zien.")
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    i18n.init_app(app)
    limiter.init_app(app)

    app.register_blueprint(auth.bp)
    app.register_blueprint(kiosk_views.bp)
    app.register_blueprint(kiosk_appointments.bp)
    app.register_blueprint(survey_views.bp)
    app.register_blueprint(kiosk_feedback_views.bp)
    app.register_blueprint(desk_views.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(research_views.bp)
    app.register_blueprint(display_views.bp)
    app.register_blueprint(appointment.bp)
    app.register_blueprint(booking.bp)
    app.register_blueprint(join_views.bp)
    app.register_blueprint(tour_views.bp)
    app.register_blueprint(offline_views.bp)
    app.register_blueprint(notify_views.bp)
    app.register_blueprint(speech_views.bp)
    init_api(app)
    share_buckets(app)
    errors.init_app(app)
    security.init_app(app)
    static_files.init_app(app)
    register_cli(app)
    app.cli.add_command(printer_group)

    sio = SocketIO()
    display_events.register(sio)  # handlers before init_app, see shared/NOTES.md
    # Several processes: Redis carries the events, and a process whose listener lost Redis has
    # its clients take a fresh snapshot when it is back (display/queue.py).
    queue = client_manager(app.config["SOCKETIO_MESSAGE_QUEUE"], app.config["SOCKETIO_CHANNEL"])
    sio.init_app(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        logger=False,
        engineio_logger=False,
        **({"client_manager": queue} if queue is not None else {}),
    )
    app.wsgi_app = security.without_websocket_compression(app.wsgi_app)  # type: ignore[method-assign,assignment]
    # Only when LOKET_TRUSTED_PROXIES is set: else X-Forwarded-* headers are ignored.
    app.wsgi_app = security.behind_proxies(app.wsgi_app, app.config["TRUSTED_PROXIES"])  # type: ignore[method-assign,assignment]
    app.extensions["loket.notifier"] = SocketIONotifier(sio)
    app.extensions["loket.printing"] = Printing(app)
    return app
