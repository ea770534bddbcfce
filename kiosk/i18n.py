"""Language choice and helpers for templates.

Dutch first: public devices (kiosk, board) speak Dutch unless a resident chooses otherwise;
personal screens (a phone that scanned a QR code) follow the browser's language. Residents' pages
speak every language in ``LANGUAGES`` (Arabic right-to-left); staff pages (desk, admin, research,
login) only ``STAFF_LANGUAGES``, so a staff member who looked at a public page in Turkish still
gets their own pages in Dutch or English.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_request_context, request, session, url_for
from flask_babel import format_date, format_datetime, get_locale

# Each language named in itself: a resident looks for their own language's name.
LANGUAGE_NAMES = {
    "nl": "Nederlands",
    "en": "English",
    "tr": "Türkçe",
    "ar": "العربية",
    "pl": "Polski",
    "uk": "Українська",
}
RIGHT_TO_LEFT = frozenset({"ar"})
STAFF_BLUEPRINTS = frozenset({"desk", "admin", "research", "auth"})
# Screens on a public device (kiosk, board): their own layout, no footer of links.
DEVICE_BLUEPRINTS = frozenset({"kiosk", "kiosk_appointments"})
DEVICE_ENDPOINTS = frozenset({"display.board"})
# Day patterns in the order a language reads them (Babel's patterns follow Dutch otherwise):
# Turkish puts the weekday last ("1 Aralık 2026 Salı").
DAY_PATTERNS = {
    "tr": {
        "EEEE d MMMM y": "d MMMM y EEEE",
        "EEEE d MMMM": "d MMMM EEEE",
        "EEEE d MMMM y, HH:mm": "d MMMM y EEEE, HH:mm",
    },
}


def staff_page() -> bool:
    """Is this request for a staff page (which speaks only the staff languages)?"""
    return request.blueprint in STAFF_BLUEPRINTS or request.path.startswith(("/desk", "/admin"))


def resident_page() -> bool:
    """Is this a resident's page on their own screen (status, appointment, booking, tour,
    privacy, accessibility, error pages), as opposed to a staff page or a kiosk/board screen?"""
    if not has_request_context() or staff_page() or request.blueprint in DEVICE_BLUEPRINTS:
        return False
    return request.endpoint not in DEVICE_ENDPOINTS and not request.path.startswith("/kiosk")


def page_languages() -> list[str]:
    """The languages this page can be shown in."""
    key = "STAFF_LANGUAGES" if staff_page() else "LANGUAGES"
    return list(current_app.config[key])


def select_locale() -> str:
    languages = page_languages()
    chosen = request.args.get("lang")
    if chosen is not None and chosen in languages:
        session["lang"] = chosen
        return chosen
    kept = session.get("lang")
    if isinstance(kept, str) and kept in languages:
        return kept
    if request.blueprint in ("kiosk", "board") or request.path.startswith(("/kiosk", "/board")):
        return str(current_app.config["DEFAULT_LANGUAGE"])
    best: str | None = request.accept_languages.best_match(languages)
    return best or current_app.config["DEFAULT_LANGUAGE"]


def current_language() -> str:
    return str(get_locale() or current_app.config["DEFAULT_LANGUAGE"])


def text_direction(code: str | None = None) -> str:
    """The direction of a language (the current one by default): "rtl" or "ltr"."""
    return "rtl" if (code or current_language()) in RIGHT_TO_LEFT else "ltr"


def language_choices() -> dict[str, str]:
    """The languages this page offers, each by its own name, in the configured order."""
    return {code: LANGUAGE_NAMES.get(code, code) for code in page_languages()}


def url_with_lang(code: str) -> str:
    """This page in another language (a page without an endpoint, such as a 404: its own path)."""
    args: dict[str, Any] = {**request.args.to_dict(), "lang": code}
    if request.endpoint is None:
        return f"{request.path}?{urlencode(args)}"
    return url_for(request.endpoint, **{**(request.view_args or {}), **args})


def _pattern(fmt: str) -> str:
    return DAY_PATTERNS.get(current_language(), {}).get(fmt, fmt)


def local_time(value: datetime | None, fmt: str = "HH:mm") -> str:
    """A UTC time shown in the stop's time zone, formatted for the current language."""
    if value is None:
        return ""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    # rebase=False: Flask-Babel would otherwise convert back to its own default zone (UTC).
    return str(format_datetime(value.astimezone(tz), _pattern(fmt), rebase=False))


def format_day(value: date, fmt: str = "EEEE d MMMM y") -> str:
    """A calendar day (already local) in the current language: "dinsdag 1 december 2026"."""
    return str(format_date(value, _pattern(fmt)))


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        get_locale=get_locale,
        current_language=current_language,
        url_with_lang=url_with_lang,
        text_direction=text_direction,
        language_choices=language_choices,
        resident_page=resident_page,
    )
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["format_day"] = format_day
