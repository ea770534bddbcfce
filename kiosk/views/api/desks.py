"""What the desk page reads and does besides the ticket steps: a desk's state (current ticket,
queue, allowed steps), today's figures, which of its stop's kiosks and boards are connected,
and the desk's own controls: call a chosen ticket (with a reason), make a ticket for someone
at the desk, pause and resume the desk, undo a no-show. The payloads come from
`kiosk.views.desk_base`, the same the desk page renders."""

from __future__ import annotations

from typing import Any

from kiosk.auth import current_principal, request_key, require_staff
from kiosk.factories import figures_service, print_service, queue_service
from kiosk.payloads import desk_payload
from kiosk.printing.jobs import print_issued
from kiosk.views import desk_base
from kiosk.views.api.base import bp, doc_errors, idempotent
from kiosk.views.api.schemas import (
    CallTicketRequest,
    DeskFiguresSchema,
    DeskSchema,
    DeskStateSchema,
    DeskTicketRequest,
    DeskTicketSchema,
    DevicePresenceSchema,
    TicketStaffSchema,
)


@bp.get("/desks/<int:desk_id>")
@require_staff()
@bp.response(200, DeskStateSchema)
@doc_errors(401, 403, 404)
def desk_state(desk_id: int) -> dict[str, Any]:
    """A desk's current ticket, its waiting list in calling order and the steps allowed now."""
    return desk_base.desk_state(queue_service().desk(desk_id))


@bp.get("/desks/<int:desk_id>/figures")
@require_staff()
@bp.response(200, DeskFiguresSchema)
@doc_errors(401, 403, 404)
def desk_figures(desk_id: int) -> dict[str, Any]:
    """Today's figures of this desk and of its stop: served, no-shows, median wait and
    median service time (seconds)."""
    return figures_service().desk_figures(queue_service().desk(desk_id))


@bp.post("/desks/<int:desk_id>/call")
@require_staff()
@bp.arguments(CallTicketRequest)
@bp.response(200, TicketStaffSchema)
@doc_errors(401, 403, 404, 409, 422)
@idempotent
def call_ticket(body: dict[str, Any], desk_id: int) -> dict[str, Any]:
    """Call a chosen waiting ticket to this desk (not the next one), with the reason why; the
    rules of call-next hold (409 `desk_busy`, `desk_paused`, `desk_unavailable`)."""
    queue = queue_service()
    desk = queue.desk(desk_id)
    ticket = queue.call_ticket(
        desk,
        queue.ticket(body["ticket"]),
        body["reason"],
        actor=current_principal().actor,
        key=request_key(),
    )
    return desk_base.staff_ticket(ticket, queue.position(ticket))


@bp.post("/desks/<int:desk_id>/tickets")
@require_staff()
@bp.arguments(DeskTicketRequest)
@bp.response(201, DeskTicketSchema)
@bp.alt_response(
    200,
    schema=DeskTicketSchema,
    description="A retry with the same Idempotency-Key: the ticket the first request made",
    success=True,
)
@doc_errors(401, 403, 404, 409, 422)
@idempotent
def issue_at_desk(body: dict[str, Any], desk_id: int) -> tuple[dict[str, Any], int]:
    """Make a ticket for a resident at the desk who has none (a walk-in): printed by the stop's
    kiosk printer if there is one, else shown on the desk's screen; with `call`, sent to this
    desk and called at once when the desk is free."""
    queue = queue_service()
    desk = queue.desk(desk_id)
    slip, printer = desk_base.desk_slip(desk.stop, body["language"])
    issued = queue.issue_at_desk(
        desk,
        body["product"],
        call=body["call"],
        actor=current_principal().actor,
        key=request_key(),
        slip=slip,
    )
    if issued.replayed:
        job = print_service().latest_for_ticket(issued.ticket)
    else:
        job = print_issued(issued.ticket, issued.print_job, issued.position)
    payload = desk_base.staff_ticket(issued.ticket, issued.position)
    payload["print_status"] = job.status.value if job is not None else None
    payload["printer"] = printer if job is not None else None
    return payload, 200 if issued.replayed else 201


def _desk_step(action: str, summary: str) -> None:
    @require_staff()
    @bp.response(200, DeskSchema)
    @doc_errors(401, 403, 404, 409)
    def view(desk_id: int) -> dict[str, Any]:
        queue = queue_service()
        step = getattr(queue, f"{action}_desk")
        desk = step(queue.desk(desk_id), actor=current_principal().actor)
        payload = desk_payload(desk)
        queue.end_read()
        return payload

    view.__name__ = f"{action}_desk"
    view.__doc__ = summary
    bp.route(f"/desks/<int:desk_id>/{action}", methods=["POST"])(view)


_desk_step(
    "pause",
    "Pause the desk: it calls nobody (call-next: 409 `desk_paused`) and the board shows it "
    "as closed; 409 `invalid_transition` if it is paused already.",
)
_desk_step("resume", "End the desk's pause; 409 `invalid_transition` if it is not paused.")


@bp.post("/tickets/<string:token>/undo-no-show")
@require_staff()
@bp.response(200, TicketStaffSchema)
@doc_errors(401, 403, 404, 409)
@idempotent
def undo_no_show(token: str) -> dict[str, Any]:
    """Take back a no-show within 10 s: the ticket is called at its desk again (if that desk
    has nobody else); later 409 `undo_expired`."""
    queue = queue_service()
    ticket = queue.undo_no_show(
        queue.ticket(token), actor=current_principal().actor, key=request_key()
    )
    return desk_base.staff_ticket(ticket, queue.position(ticket))


@bp.get("/stops/<int:stop_id>/devices")
@require_staff()
@bp.response(200, DevicePresenceSchema(many=True))
@doc_errors(401, 403, 404)
def stop_devices(stop_id: int) -> list[dict[str, Any]]:
    """The stop's paired kiosks and boards, each with whether it is connected now."""
    return desk_base.stop_devices(queue_service().stop(stop_id))
