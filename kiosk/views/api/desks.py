"""What the desk page reads: a desk's state (current ticket, queue, allowed steps) and which of
its stop's kiosks and boards are connected. The payloads come from `kiosk.views.desk_base`, the
same the desk page renders."""

from __future__ import annotations

from typing import Any

from kiosk.auth import require_staff
from kiosk.factories import queue_service
from kiosk.views import desk_base
from kiosk.views.api.base import bp, doc_errors
from kiosk.views.api.schemas import DeskStateSchema, DevicePresenceSchema


@bp.get("/desks/<int:desk_id>")
@require_staff()
@bp.response(200, DeskStateSchema)
@doc_errors(401, 403, 404)
def desk_state(desk_id: int) -> dict[str, Any]:
    """A desk's current ticket, its waiting list in calling order and the steps allowed now."""
    return desk_base.desk_state(queue_service().desk(desk_id))


@bp.get("/stops/<int:stop_id>/devices")
@require_staff()
@bp.response(200, DevicePresenceSchema(many=True))
@doc_errors(401, 403, 404)
def stop_devices(stop_id: int) -> list[dict[str, Any]]:
    """The stop's paired kiosks and boards, each with whether it is connected now."""
    return desk_base.stop_devices(queue_service().stop(stop_id))
