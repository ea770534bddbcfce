"""Configuration: defaults, then an instance config file, then ``LOKET_*`` environment variables.

Every key has a default. Any key can be set from the environment with the ``LOKET_`` prefix
(``LOKET_DATABASE_URL``, ``LOKET_PRINTER_BACKEND=file``); values that parse as JSON
(numbers, ``true``/``false``) are taken as such, the rest as strings.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    # Storage: SQLite file in the instance folder unless set.
    "DATABASE_URL": None,
    # How long a write waits for SQLite's write lock (another process, a long transaction)
    # before it is answered 503 with Retry-After; the server keeps serving meanwhile.
    "DATABASE_WRITE_WAIT_SECONDS": 3,
    # The stop's local time zone (storage is UTC).
    "TIMEZONE": "Europe/Amsterdam",
    # Absolute base for links printed on tickets or shown as QR codes, e.g. http://192.168.1.10:5000.
    # Unset: the address the request came in on.
    "PUBLIC_BASE_URL": None,
    # Socket.IO: a redis:// URL makes events reach the clients of every server process.
    "SOCKETIO_MESSAGE_QUEUE": None,
    # The queue's channel: processes of one installation share it; give each installation its own.
    "SOCKETIO_CHANNEL": "popup-loket",
    # threading for tests and tools; `loket run` switches to gevent.
    "SOCKETIO_ASYNC_MODE": "threading",
    # Cookies get the Secure flag when the site is served over HTTPS (behind a proxy or not).
    "HTTPS": False,
    # Behind a reverse proxy: how many proxies (1) or which networks ("10.0.0.0/8,::1") to
    # believe in X-Forwarded-For/-Proto. Unset: those headers are ignored (kiosk/security.py).
    "TRUSTED_PROXIES": None,
    # Host names this site answers to (Flask: others get 400), e.g. ["loket.hoorn.nl"]; links in
    # mail and on slips use PUBLIC_BASE_URL, else such a checked host (kiosk/urls.py).
    "TRUSTED_HOSTS": None,
    # Residents' IP addresses in the event log (bookings, cancellations) are erased after this
    # many days by the daily purge (kiosk/housekeeping.py).
    "IP_RETENTION_DAYS": 7,
    # Rate limits on public endpoints (per client address); storage may be redis:// in production.
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_PUBLIC": "300/minute",
    "RATELIMIT_AUTH": "10/minute;50/hour",
    "RATELIMIT_PAIR": "10/minute",
    # Per ticket: a status page asks again when the queue moves (at most every 2 s).
    "RATELIMIT_TICKET_LIVE": "60/minute",
    # Per ticket: asking for (or stopping) "almost your turn" messages.
    "RATELIMIT_NOTIFY": "10/minute;30/hour",
    # Per address: bookings (so nobody fills a day's slots by script).
    "RATELIMIT_BOOK": "10/minute;30/hour",
    # Per kiosk: times booked for later with one tap (nobody fills a day's slots by tapping).
    "RATELIMIT_KIOSK_BOOK": "6/minute;60/hour",
    # Per address: tickets taken on a phone (/join; only tickets made count). Phones on the
    # bus's Wi-Fi share one address, so keep room for a family or a group.
    "RATELIMIT_JOIN": "10 per 10 minutes",
    # Check-in: wrong codes (unknown or refused) per kiosk or API caller, and per code across
    # kiosks; past a limit, a cool-down until its window ends (kiosk/check_in_limits.py).
    "RATELIMIT_CHECK_IN_KIOSK": "5/minute;30/hour",
    "RATELIMIT_CHECK_IN_CODE": "5/hour",
    # Roles that log in with a second step: a code from an authenticator app (TOTP).
    "MFA_ROLES": ["coordinator", "admin"],
    # Minutes between the password and the code before the login starts again.
    "MFA_PENDING_MINUTES": 5,
    # Staff logins live on the server (staff_sessions): one ends after this many minutes unused,
    # and after this many hours in any case (a working day at a stop, then log in again).
    "STAFF_SESSION_IDLE_MINUTES": 240,
    "STAFF_SESSION_MAX_HOURS": 14,
    # Research: a ticket cancelled after this many minutes of waiting counts as unmet demand.
    "RESEARCH_LONG_WAIT_MINUTES": 30,
    # The kiosk's survey answers and "I came for this" taps, per kiosk (not per address: a bus
    # may put several kiosks behind one).
    "RESEARCH_RATELIMIT": "30/minute",
    "API_TOKEN_TTL_HOURS": 12,
    "DEVICE_PAIRING_TTL_MINUTES": 30,
    "DEVICE_COOKIE_DAYS": 400,
    # Request bodies larger than this get 413 with a JSON error.
    "MAX_CONTENT_LENGTH": 64 * 1024,
    # Kiosk: seconds without a touch before a screen goes back to the start (and to Dutch).
    "KIOSK_IDLE_SECONDS": 45,
    # The last seconds of the idle time: "Bent u er nog?", shown and spoken, one tap for more.
    "KIOSK_IDLE_WARNING_SECONDS": 20,
    # Display board: every current call is shown; below them up to this many calls that ended
    # (for residents who look up late), and how many next stops in the side column.
    "DISPLAY_EARLIER_CALLS": 6,
    "DISPLAY_NEXT_STOPS": 4,
    # Seconds a device may be away (loading its next page) before desks see it as lost.
    "DISPLAY_PRESENCE_GRACE_SECONDS": 5,
    # Printing: the default printer of every kiosk (a kiosk device's settings may override it).
    # Empty or "none": no printer. Other keys: PRINTER_USB_VENDOR/_USB_PRODUCT, PRINTER_DEVICE/
    # _BAUDRATE, PRINTER_HOST/_PORT, PRINTER_QUEUE, PRINTER_PATH, PRINTER_PROFILE, PRINTER_QR_MODE,
    # PRINTER_WIDTH_DOTS, PRINTER_TIMEOUT, PRINTER_STATUS_CHECK (see printer/backends/config.py).
    "PRINTER_BACKEND": "",
    # Where print jobs wait (default: <instance>/spool); survives restarts.
    "PRINT_SPOOL_DIR": None,
    # "inline": `loket run` prints; "off": a separate `loket printer worker` process prints.
    "PRINT_WORKER": "inline",
    # A slip is tried this often, waiting these seconds in between, then staff must reprint.
    "PRINT_MAX_ATTEMPTS": 4,
    "PRINT_RETRY_SECONDS": [2, 5, 10],
    # How often the printers are asked for their state (online, paper).
    "PRINT_POLL_SECONDS": 15,
    # Appointments: check in from this many minutes before the slot to this many after it.
    "CHECKIN_EARLY_MINUTES": 30,
    "CHECKIN_LATE_MINUTES": 10,
    # 0: a checked-in appointment goes before every walk-in once its slot starts; N: N walk-ins
    # are called after each appointment.
    "APPOINTMENT_INTERLEAVE": 0,
    # Days after the slot until a booking's name and e-mail are erased.
    "RETENTION_DAYS": 30,
    # The kiosk offers "book a time for later" when the expected wait is longer than this.
    "BOOK_LATER_WAIT_MINUTES": 45,
    # How many free times the kiosk offers for "book later".
    "BOOK_LATER_SLOTS": 4,
    # `loket run` marks no-shows this often (seconds) and erases expired contact data daily
    # at this local hour; 0 seconds: no housekeeping in this process (run `loket purge`).
    # Several processes: give all but one 0 (see kiosk/housekeeping.py).
    "HOUSEKEEPING_SECONDS": 60,
    "PURGE_HOUR": 3,
    # Confirmation e-mail: only when SMTP_HOST is set; bookings work without it.
    "SMTP_HOST": None,
    "SMTP_PORT": 25,
    "SMTP_STARTTLS": False,
    "SMTP_USER": None,
    "SMTP_PASSWORD": None,
    "MAIL_FROM": "Gemeente Hoorn <noreply@hoorn.nl>",
    # Messages to residents (kiosk/notify/, kiosk/services/messages/): "almost your turn" when
    # this many people or fewer are ahead, and "you are called", by SMS, e-mail or Web Push.
    # SMS and e-mail through NotifyNL: only offered with an API key and the channel's template
    # id (each template's body is ((message))). Web Push needs no account: the VAPID key pair
    # is made in the instance folder on first use; VAPID_SUBJECT tells push services who sends.
    "NOTIFY_AHEAD": 2,
    "NOTIFY_API_KEY": None,
    "NOTIFY_BASE_URL": "https://api.notifynl.nl",
    "NOTIFY_SMS_TEMPLATE": None,
    "NOTIFY_EMAIL_TEMPLATE": None,
    "NOTIFY_PUSH": True,
    "VAPID_SUBJECT": "mailto:loket@hoorn.nl",
    # Seconds before a call to NotifyNL or a push service gives up (then it is tried again).
    "NOTIFY_TIMEOUT_SECONDS": 10,
    # A message is tried this often, these seconds apart, then given up (and deleted).
    "NOTIFY_MAX_ATTEMPTS": 5,
    "NOTIFY_RETRY_SECONDS": [5, 30, 120, 600],
    # "inline": `loket run` sends, looking for due messages this often; "off": nothing sends.
    "NOTIFY_WORKER": "inline",
    "NOTIFY_POLL_SECONDS": 1,
    # Appointments with a phone or e-mail get a reminder the day before, from this local hour.
    "NOTIFY_REMINDER_HOUR": 10,
    # Tests only: accept plain-http push endpoints (on loopback). Never in production.
    "NOTIFY_PUSH_ALLOW_HTTP": False,
    # Residents' pages (kiosk, board, status, appointment, booking, tour) speak all of these;
    # staff pages (desk, admin, research, login) only STAFF_LANGUAGES.
    "LANGUAGES": ["nl", "en", "tr", "ar", "pl", "uk"],
    "STAFF_LANGUAGES": ["nl", "en"],
    "DEFAULT_LANGUAGE": "nl",
    # The accessibility statement (/toegankelijkheid): who answers a report about a barrier,
    # within how many working days, and the dates of the statement and of its last check.
    "ACCESSIBILITY_ORGANISATION": "Gemeente Hoorn",
    "ACCESSIBILITY_PHONE": "14 0229",
    "ACCESSIBILITY_EMAIL": "toegankelijkheid@hoorn.nl",
    "ACCESSIBILITY_RESPONSE_DAYS": 5,
    "ACCESSIBILITY_STATEMENT_DATE": "2026-12-03",
    "ACCESSIBILITY_CHECKED_DATE": "2026-12-03",
}


# Settings that are text whatever they look like: from the environment they are not read as
# JSON (USB id 0e15 would become the number 0, a password of digits a number, "true" a flag).
TEXT_SETTINGS = frozenset(
    {
        "DATABASE_URL", "SECRET_KEY", "PUBLIC_BASE_URL", "SOCKETIO_MESSAGE_QUEUE",
        "SMTP_HOST", "SMTP_USER", "SMTP_PASSWORD", "NOTIFY_API_KEY", "NOTIFY_SMS_TEMPLATE",
        "NOTIFY_EMAIL_TEMPLATE", "PRINT_SPOOL_DIR", "PRINTER_USB_VENDOR", "PRINTER_USB_PRODUCT",
        "PRINTER_DEVICE", "PRINTER_HOST", "PRINTER_QUEUE", "PRINTER_PATH", "PRINTER_PROFILE",
    }
    | {key for key, value in DEFAULTS.items() if isinstance(value, str)}
)  # fmt: skip


def load(app: Any, test_config: dict[str, Any] | None) -> None:
    """Fill ``app.config`` from defaults, instance file, environment and test overrides."""
    app.config.from_mapping(DEFAULTS)
    config_file = os.environ.get("LOKET_CONFIG") or os.path.join(app.instance_path, "config.py")
    app.config.from_pyfile(config_file, silent=not os.environ.get("LOKET_CONFIG"))
    app.config.from_prefixed_env("LOKET")
    for key in TEXT_SETTINGS:
        raw = os.environ.get(f"LOKET_{key}")
        if raw is not None:
            app.config[key] = raw
    if test_config:
        app.config.update(test_config)

    if not app.config.get("DATABASE_URL"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'loket.db'}"
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(Path(app.instance_path))

    https = bool(app.config["HTTPS"])
    app.config.update(
        SESSION_COOKIE_NAME="loket_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        REMEMBER_COOKIE_SECURE=https,
        REMEMBER_COOKIE_HTTPONLY=True,
        PREFERRED_URL_SCHEME="https" if https else "http",
        WTF_CSRF_TIME_LIMIT=None,
        RATELIMIT_HEADERS_ENABLED=True,
        # Redis (the shared storage) away or restarting: each process counts in its own memory
        # meanwhile and goes back by itself, instead of failing every limited request
        # (tests/browser/test_production_drills.py restarts Redis under load).
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        API_TITLE="popup-loket API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )


def instance_secret(instance: Path) -> str:
    """A secret key kept in the instance folder, made once; set LOKET_SECRET_KEY for clusters."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()
