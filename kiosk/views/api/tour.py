"""A stop's day: staff open it for tickets (also before the planned time) and close it."""

from __future__ import annotations

from typing import Any

from kiosk.auth import current_principal, require_staff
from kiosk.factories import queue_service, tour_service
from kiosk.payloads import stop_payload
from kiosk.views.api.base import bp, doc_errors
from kiosk.views.api.schemas import StopSchema


def _stop_step(action: str, summary: str) -> None:
    @require_staff()
    @bp.response(200, StopSchema)
    @doc_errors(401, 403, 404)
    def view(stop_id: int) -> dict[str, Any]:
        tour = tour_service()
        stop = getattr(tour, f"{action}_stop")(
            queue_service().stop(stop_id), actor=current_principal().actor
        )
        return stop_payload(stop, now=tour.now())

    view.__name__ = f"{action}_stop"
    view.__doc__ = summary
    bp.route(f"/stops/<int:stop_id>/{action}", methods=["POST"])(view)


_stop_step("open", "Open a stop for tickets now (staff may open before the planned time).")
_stop_step("close", "Close a stop: no new tickets; the people waiting are still served.")
