"""Every error becomes a clear answer: JSON ``{"error": {"code", "message"}}`` under /api/,
a friendly page elsewhere. Never a stack trace, never a 500 for bad input."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify, make_response, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from kiosk.database import DatabaseBusy
from kiosk.services.errors import DomainError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: ("bad_request", "The request is not valid."),
    401: ("unauthorized", "Log in or send a valid token."),
    403: ("forbidden", "You may not do this."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "This method is not allowed here."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Send JSON with 'Content-Type: application/json'."),
    422: ("invalid_request", "The request has invalid or missing fields."),
    429: ("rate_limited", "Too many requests; wait a moment and try again."),
    500: ("internal_error", "Something went wrong on our side. Nothing was changed."),
    503: ("busy", "The database is busy or away for a moment; nothing was changed. Try again."),
}
# How long a client should wait before it tries again after a 503 (seconds).
RETRY_AFTER_BUSY = 2
RETRY_AFTER_UNAVAILABLE = 3


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.is_json


def api_error(status: int, code: str, message: str, /, **details: Any) -> Response:
    # Positional-only: a detail may itself be called "status", "code" or "message"
    # (InvalidTransition reports the ticket's status).
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    response = jsonify(error=body)
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    # Runs after every other after-request hook (Flask calls them in reverse order): the rate
    # limiter's would replace a 503's short Retry-After with its own window (60 s), and a kiosk
    # would then wait a minute to retry a tap.
    app.after_request_funcs.setdefault(None, []).insert(0, _keep_retry_after)

    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> Any:
        if wants_json():
            return api_error(error.status, error.code, error.message, **error.details)
        return _page(error.status)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> Any:
        message = "The form has expired or its CSRF token is missing. Reload the page."
        if wants_json():
            return api_error(400, "csrf_failed", message)
        return _page(400)

    @app.errorhandler(RateLimitExceeded)
    def _limited(error: RateLimitExceeded) -> Any:
        code, message = HTTP_CODES[429]
        return api_error(429, code, message) if wants_json() else _page(429)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Any:
        status = error.code or 500
        code, message = HTTP_CODES.get(status, ("error", error.description or "Error."))
        data = getattr(error, "data", None) or {}
        details: dict[str, Any] = {}
        if status == 400 and "messages" in data:  # webargs: the body did not parse
            code, message = "invalid_json", "The request body is not valid JSON."
        elif "messages" in data:  # webargs/marshmallow validation
            messages = data["messages"]
            details["fields"] = messages.get("json", messages.get("query", messages))
        elif data.get("message"):
            message = data["message"]
        response = api_error(status, code, message, **details) if wants_json() else _page(status)
        if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(DatabaseBusy)
    def _busy(error: DatabaseBusy) -> Any:
        return _unavailable("busy", RETRY_AFTER_BUSY)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeoutError)
    def _database_away(error: Exception) -> Any:
        # The database is locked by a write outside `begin_write`, restarting, or unreachable:
        # the request changed nothing (its transaction rolled back). Say so; no stack trace.
        locked = "locked" in str(error).lower()
        if not locked:
            log.warning("database unavailable on %s %s: %s", request.method, request.path, error)
        return _unavailable("busy" if locked else "unavailable", RETRY_AFTER_UNAVAILABLE)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        code, message = HTTP_CODES[500]
        return api_error(500, code, message) if wants_json() else _page(500)


def _unavailable(code: str, retry_after: int) -> Response:
    """503 with ``Retry-After``: JSON for the API and the kiosk's script, a page otherwise."""
    _code, message = HTTP_CODES[503]
    response = api_error(503, code, message) if wants_json() else _page(503)
    response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    g.loket_retry_after = retry_after
    return response


def _keep_retry_after(response: Response) -> Response:
    retry_after = g.pop("loket_retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _page(status: int) -> Response:
    """The page people see: in plain words what the status means. The technical English
    message is for the API and the logs (views that render the template themselves may pass a
    friendly, translated `message`)."""
    return make_response(render_template("errors/error.html", status=status), status)
