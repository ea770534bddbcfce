"""Absolute links for QR codes and pairing URLs.

Links leave the site (an e-mail, a printed slip, a QR code), so their host is never taken on
trust from a request: a forged ``Host`` header must not make the municipality's mail point
elsewhere. A link's base is ``PUBLIC_BASE_URL`` when set; else the request's host only when
Flask has checked it against ``TRUSTED_HOSTS`` or it is this machine (localhost, 127.0.0.1,
::1: a developer's browser); else ``FALLBACK_BASE``. `loket run` on another address without
``LOKET_PUBLIC_BASE_URL`` warns at start-up.

A resident's page (a ticket's status page, an appointment's page) opens in the language the
resident chose at the kiosk: its link carries ``?lang=xx`` for every language but the default
(Dutch), so a Dutch link is the same as ever. ``resident_url`` builds such links; the QR code on
the kiosk's screen and on the slip both come from it.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request, session, url_for
from flask_babel import get_locale
from werkzeug.exceptions import SecurityError
from werkzeug.sansio.utils import host_is_trusted

# Where links point when there is neither a request nor PUBLIC_BASE_URL (a worker's pass).
FALLBACK_BASE = "http://127.0.0.1:5000"


def public_url(endpoint: str, *, language: str | None = None, **values: Any) -> str:
    """An absolute URL: on PUBLIC_BASE_URL when set (a phone must reach it), else this host
    when it is trusted (see the module's docstring), else on `FALLBACK_BASE`.

    With ``language`` (a resident's language) the link opens the page in it: ``?lang=xx`` is
    added unless it is the default language, which needs none.
    Outside a request (the print worker re-rendering a slip after a crash) the link is built
    from PUBLIC_BASE_URL alone, without Flask's request-bound `url_for`.
    """
    lang = _link_language(language)
    if lang is not None:
        values["lang"] = lang
    base = current_app.config.get("PUBLIC_BASE_URL")
    if has_request_context():
        if base:
            return base.rstrip("/") + url_for(endpoint, **values)
        if trusted_request_host():
            return url_for(endpoint, _external=True, **values)
    parts = urlsplit(base or FALLBACK_BASE)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path.rstrip("/") or "/", url_scheme=parts.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


def trusted_request_host() -> bool:
    """May this request's ``Host`` header go into a link? Yes when Flask checked it against
    ``TRUSTED_HOSTS`` (it answers 400 to any other host), or when it names this machine."""
    try:
        host = request.host  # Flask checks it against TRUSTED_HOSTS when that is set
    except SecurityError:
        return False
    trusted = current_app.config.get("TRUSTED_HOSTS")
    if trusted:
        return host_is_trusted(host, trusted)
    return is_loopback_host(host)


def is_loopback_host(host: str) -> bool:
    """``localhost``, ``127.0.0.1:5000``, ``[::1]:8000``: an address only this machine reaches."""
    try:
        name = urlsplit(f"//{host}").hostname or ""
    except ValueError:  # a malformed Host header ("[x")
        return False
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def resident_url(endpoint: str, *, language: str | None = None, **values: Any) -> str:
    """A resident's page, absolute, in ``language`` (by default the language of this page: the
    one the resident chose; outside a request and without a forced locale, the default)."""
    return public_url(endpoint, language=language or _current_language(), **values)


def ticket_url(token: str, *, language: str | None = None) -> str:
    """A ticket's status page (what the QR code on its screen and slip opens)."""
    return resident_url("display.ticket_status", token=token, language=language)


def appointment_url(token: str, *, language: str | None = None) -> str:
    """An appointment's private page (what the QR code of its confirmation and slip opens)."""
    return resident_url("appointment.show", token=token, language=language)


def requested_language() -> str:
    """The language a QR image request asks for: its ``?lang=``, else the one this browser chose
    (its session), else the default. Never the browser's Accept-Language: a kiosk's browser
    may be set to English while its screen shows Dutch."""
    default = str(current_app.config["DEFAULT_LANGUAGE"])
    if not has_request_context():
        return default
    languages = current_app.config["LANGUAGES"]
    for candidate in (request.args.get("lang"), session.get("lang")):
        if isinstance(candidate, str) and candidate in languages:
            return candidate
    return default


def _current_language() -> str | None:
    """The locale of this request or of a ``force_locale`` block; None when there is neither."""
    try:
        locale = get_locale()
    except RuntimeError:  # no request: the locale selector cannot look at one
        return None
    return locale.language if locale is not None else None


def _link_language(language: str | None) -> str | None:
    """The ``lang`` value a link needs: None for the default language or an unknown one."""
    config = current_app.config
    if language is None or language == config["DEFAULT_LANGUAGE"]:
        return None
    return language if language in config["LANGUAGES"] else None
