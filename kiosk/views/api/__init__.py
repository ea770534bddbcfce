"""JSON API v1 (/api/v1): thin adapters over the services. Schemas validate requests and
responses and generate the OpenAPI document at /api/v1/openapi.json.

    base.py          the blueprint `bp`, its JSON parser, rate limits, documented errors,
                     the caller's stop and a new ticket's answer
    schemas.py       every request and response schema (named OpenAPI components)
    queue.py         the open stop, tickets and their steps, the board
    devices.py       pairing a kiosk or board; the device list
    desks.py         a desk's state; which of a stop's devices are connected
    printing.py      a stop's print jobs; reprint
    appointments.py  slots, booking, cancel, check-in, import
    tokens.py        staff bearer tokens
    tour.py          open and close a stop
    research.py      the research export (CSV, XLSX)
    notify.py        a ticket's messages: "almost your turn" by SMS, e-mail or push

Resource modules import `base` and `schemas` only. flask-smorest lists paths (and names the
schema components) in the order the routes were registered: `init_api` imports the resource
modules in a fixed order, so the document reads the same from run to run.
"""

from __future__ import annotations

import importlib
from typing import Any

from flask import Flask
from flask_smorest import Api

from kiosk.extensions import csrf
from kiosk.views.api.base import bp
from kiosk.views.api.schemas import ErrorSchema

# The order of the OpenAPI document's paths.
RESOURCES = (
    "queue",
    "devices",
    "desks",
    "printing",
    "appointments",
    "tokens",
    "tour",
    "research",
    "notify",
)


class LoketApi(Api):
    """flask-smorest's Api, with our error format (`kiosk.errors` handles every error)."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        return None

    # The OpenAPI document of ~90 operations takes longer to build than the rest of the app,
    # and only /api/v1/openapi.json (and `flask openapi`) read it: the blueprint's routes are
    # registered at once, its documentation when the spec is first read.

    def register_blueprint(self, blp: Any, *, parameters: Any = None, **options: Any) -> None:
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self.__dict__.setdefault("_undocumented", []).append((blp, name, parameters))

    @property
    def spec(self) -> Any:
        spec = self.__dict__["_spec"]
        undocumented = self.__dict__.get("_undocumented", [])
        while undocumented:
            blp, name, parameters = undocumented.pop(0)
            blp.register_views_in_doc(self, self._app, spec, name=name, parameters=parameters)
            spec.tag({"name": name, "description": blp.description})
        return spec

    @spec.setter
    def spec(self, value: Any) -> None:
        self.__dict__["_spec"] = value


def init_api(app: Flask) -> None:
    for resource in RESOURCES:  # registers their routes on `bp` (once per process)
        importlib.import_module(f"{__name__}.{resource}")
    api = LoketApi(
        app,
        spec_kwargs={
            "info": {"description": "Queue tickets, desks and boards of popup-loket."},
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer"},
                }
            },
        },
    )
    api.register_blueprint(bp)
    app.extensions["loket.api"] = api
    # Bearer-token and device clients send no CSRF token; cookie callers are checked in kiosk.auth.
    csrf.exempt(bp)
