"""Work that follows a response instead of delaying it (a kiosk's slip: rendering and the
durable spool write).

`after_response(work)` runs `work` once the WSGI server has sent the response and closes it
(Werkzeug's ``call_on_close``). Under ``loket run`` (gevent) the work gets a greenlet of its own,
so the connection reads its next request at once and blocking file I/O inside the work (sent to
the thread pool) stalls nobody; elsewhere it runs right there, on close. The work has no request
and no app context (it pushes one if it needs the database), and must catch its own errors: the
response is gone, there is nobody left to tell but the log and the database.

A work that never runs (the process dies between response and close) must be harmless; the
slip's print job row, committed with the ticket, is what `Printing.recover` finds and spools.

The test client closes every response as a WSGI server does (`ClosingClient`), so tests go
through the same path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Response, after_this_request, has_request_context
from flask.testing import FlaskClient

log = logging.getLogger(__name__)

Work = Callable[[], object]


def after_response(work: Work) -> None:
    """Run `work` after this request's response was sent; at once outside a request."""
    if not has_request_context():
        _guarded(work)
        return

    @after_this_request
    def on_close(response: Response) -> Response:
        response.call_on_close(lambda: _start(work))
        return response


def _start(work: Work) -> None:
    try:
        from gevent import monkey, spawn
    except ImportError:  # pragma: no cover - gevent is a dependency
        _guarded(work)
        return
    if monkey.is_module_patched("socket"):
        spawn(_guarded, work)
    else:
        _guarded(work)


def _guarded(work: Work) -> None:
    try:
        work()
    except Exception:
        log.exception("Work after a response failed: %r", work)


class ClosingClient(FlaskClient):
    """Flask's test client, closing each response as a WSGI server does once it has sent it
    (the body read whole, then ``close()``), so that `after_response` work runs before the
    call returns."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)
