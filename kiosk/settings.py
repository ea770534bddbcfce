"""`setting(name)`: a coordinator's override from the `settings` table, else the app's
configuration. Read once per request (or app context) and kept on `flask.g`."""

from __future__ import annotations

from typing import Any

from flask import current_app, g

from kiosk.extensions import db_session
from kiosk.services.settings import SPECS, SettingsService

_CACHE = "loket_settings"


def overrides() -> dict[str, Any]:
    """This request's overrides, read from the database the first time they are needed."""
    if _CACHE not in g:
        setattr(g, _CACHE, SettingsService(db_session()).overrides())
    return getattr(g, _CACHE)


def setting(name: str) -> Any:
    """The value in effect: the stored override for the settings coordinators may change
    (see kiosk.services.settings.SPECS), else ``app.config[name]``."""
    if name in SPECS:
        found = overrides()
        if name in found:
            return found[name]
    return current_app.config[name]


def defaults() -> dict[str, Any]:
    """The configured value of each changeable setting (what "back to the default" gives)."""
    return {key: current_app.config[key] for key in SPECS}


def forget() -> None:
    """Drop this request's cached overrides (after changing them)."""
    g.pop(_CACHE, None)
