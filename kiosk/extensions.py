"""The Flask extension objects, made once and bound to each app in `create_app`.

Services are wired in `kiosk.factories`; the Socket.IO server is made per app (see `create_app`)
so that each app has its own handlers, and its notifier lives in `display.namespace`.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def configured_limit(key: str) -> Callable[[], str]:
    """A rate limit read from ``app.config[key]`` whenever it is checked, so each app (a test,
    a deployment's ``LOKET_RATELIMIT_*``) has its own."""

    def limit() -> str:
        return str(current_app.config[key])

    return limit


# The limits of the public doors, per client address (see kiosk/config.py).
public_limit = configured_limit("RATELIMIT_PUBLIC")
auth_limit = configured_limit("RATELIMIT_AUTH")
pair_limit = configured_limit("RATELIMIT_PAIR")
book_limit = configured_limit("RATELIMIT_BOOK")
