"""Language choice and helpers for templates.

Dutch first: public devices (kiosk, board) speak Dutch unless a resident chooses otherwise;
personal screens (a phone that scanned a QR code) follow the browser's language.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request, session, url_for
from flask_babel import format_date, format_datetime, get_locale

LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English"}


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
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


def url_with_lang(code: str) -> str:
    """This page in another language."""
    values: dict[str, Any] = {**(request.view_args or {}), **request.args.to_dict(), "lang": code}
    return url_for(request.endpoint or "auth.home", **values)


def local_time(value: datetime | None, fmt: str = "HH:mm") -> str:
    """A UTC time shown in the stop's time zone, formatted for the current language."""
    if value is None:
        return ""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    # rebase=False: Flask-Babel would otherwise convert back to its own default zone (UTC).
    return str(format_datetime(value.astimezone(tz), fmt, rebase=False))


def format_day(value: date, fmt: str = "EEEE d MMMM y") -> str:
    """A calendar day (already local) in the current language: "dinsdag 1 december 2026"."""
    return str(format_date(value, fmt))


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        get_locale=get_locale,
        current_language=current_language,
        url_with_lang=url_with_lang,
        language_names={code: LANGUAGE_NAMES.get(code, code) for code in app.config["LANGUAGES"]},
    )
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["format_day"] = format_day
