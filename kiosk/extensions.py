"""The Flask extension objects, made once and bound to each app in `create_app`.

Services are wired in `kiosk.factories`; the Socket.IO server is made per app (see `create_app`)
so that each app has its own handlers, and its notifier lives in `display.namespace`.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_qualified_name, get_remote_address
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


# Doors that do the same thing share one bucket per client address, so that switching from the
# HTML form to the API (or back) buys no extra tries: logging in (password, then the second
# step, or the API's token) and booking (the booking form, or the API). Each door keeps its own
# limit as well; with the same value it never bites first. The client address is the one the
# trusted proxies reported (LOKET_TRUSTED_PROXIES, see `kiosk.security.behind_proxies`).
SHARED_BUCKETS: dict[str, tuple[Callable[[], str], tuple[str, ...]]] = {
    "login": (auth_limit, ("auth.login", "auth.second_factor", "api.create_token")),
    "booking": (book_limit, ("booking.details", "api.book_appointment")),
}
_shared_limits = {
    scope: limiter.shared_limit(value, scope=scope, methods=["POST"])
    for scope, (value, _endpoints) in SHARED_BUCKETS.items()
}


def share_buckets(app: Flask) -> None:
    """Add each shared bucket to its doors' views (after the blueprints are registered)."""
    for scope, (_value, endpoints) in SHARED_BUCKETS.items():
        for endpoint in endpoints:
            view = app.view_functions.get(endpoint)
            if view is None:
                raise RuntimeError(f"Shared rate limit {scope!r}: no view {endpoint!r}")
            # What the limiter's own decorator does, without wrapping the view again.
            limiter.limit_manager.add_decorated_limit(
                get_qualified_name(view), _shared_limits[scope]
            )
