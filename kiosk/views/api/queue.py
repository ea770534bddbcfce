"""The queue: the open stop (and its phone-join switch), taking a number, a ticket's public
status, the resident's own steps (leave, feedback), the desk's steps on a ticket (call next,
recall, start, finish, no-show, cancel, transfer) and the display board."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app

from kiosk.auth import current_principal, request_key, require_device_or_staff, require_staff
from kiosk.extensions import limiter, public_limit
from kiosk.factories import (
    feedback_service,
    join_service,
    print_service,
    queue_service,
    tour_service,
)
from kiosk.models import DeviceKind, Ticket
from kiosk.payloads import stop_contents_payload, stop_payload, ticket_status_payload
from kiosk.printing.jobs import print_issued, slip_request
from kiosk.views.api.base import (
    bp,
    created_ticket,
    doc_errors,
    idempotent,
    stop_for_request,
    stop_id_for_request,
)
from kiosk.views.api.schemas import (
    BoardQuery,
    BoardSchema,
    FeedbackRequest,
    FeedbackSchema,
    StopChangeRequest,
    StopSchema,
    TicketCreatedSchema,
    TicketRequest,
    TicketStaffSchema,
    TicketStatusSchema,
    TransferRequest,
)
from kiosk.views.desk_base import staff_ticket


@bp.get("/stops/current")
@limiter.limit(public_limit)
@bp.response(200, StopSchema)
@doc_errors(404)
def current_stop() -> Response:
    """The open stop with its products and desks."""
    tour = tour_service()
    contents = tour.stop_contents(stop_id_for_request())
    # Already in StopSchema's shape: answered as is, not dumped through the schema again.
    return current_app.json.response(stop_contents_payload(contents, now=tour.now()))


@bp.patch("/stops/<int:stop_id>")
@require_staff()
@bp.arguments(StopChangeRequest)
@bp.response(200, StopSchema)
@doc_errors(401, 403, 404, 422)
def change_stop(body: dict[str, Any], stop_id: int) -> dict[str, Any]:
    """Switch joining from a phone (the board's QR code, /join) on or off for a stop."""
    stop = join_service().set_phone_join(
        queue_service().stop(stop_id), body["phone_join"], actor=current_principal().actor
    )
    return stop_payload(stop, now=tour_service().now())


@bp.post("/tickets")
@require_device_or_staff(DeviceKind.KIOSK)
@bp.arguments(TicketRequest)
@bp.response(201, TicketCreatedSchema)
@bp.alt_response(
    200,
    schema=TicketCreatedSchema,
    description="A retry with the same Idempotency-Key: the ticket the first request made",
    success=True,
)
@doc_errors(401, 403, 404, 409, 422)
@idempotent
def issue_ticket(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Take a number (a paired kiosk for its own stop, or staff)."""
    stop = stop_for_request(body.get("stop"))
    issued = queue_service().issue_ticket_with_position(
        stop,
        body["product"],
        actor=current_principal().actor,
        key=request_key(),
        slip=slip_request(),  # a kiosk's own printer; staff calls print nothing
    )
    if issued.replayed:
        job = print_service().latest_for_ticket(issued.ticket)
        return created_ticket(issued.ticket, issued.position, job), 200
    job = print_issued(issued.ticket, issued.print_job, issued.position)
    return created_ticket(issued.ticket, issued.position, job), 201


@bp.get("/tickets/<string:token>")
@limiter.limit(public_limit)
@bp.response(200, TicketStatusSchema)
@doc_errors(404)
def ticket_status(token: str) -> dict[str, Any]:
    """Public status of one ticket: the token is the key."""
    queue = queue_service()
    ticket = queue.ticket(token)
    return ticket_status_payload(ticket, queue.position(ticket))


@bp.post("/tickets/<string:token>/leave")
@limiter.limit(public_limit)
@bp.response(200, TicketStatusSchema)
@doc_errors(404, 409)
def leave(token: str) -> dict[str, Any]:
    """The resident leaves the queue ("Ik ga weg"): the token is the key. 409
    `invalid_transition` when the ticket already ended (finished, left, no-show)."""
    queue = queue_service()
    ticket = queue.leave(queue.ticket(token), actor=current_principal().actor)
    return ticket_status_payload(ticket, None)


@bp.post("/tickets/<string:token>/feedback")
@limiter.limit(public_limit)
@bp.arguments(FeedbackRequest)
@bp.response(200, FeedbackSchema)
@doc_errors(404, 409, 422)
def feedback(body: dict[str, Any], token: str) -> dict[str, bool]:
    """One anonymous answer after a finished ticket: `rating` (1-5) or `wish` (a product
    code; null skips). Each once per ticket (409 `already_answered`); 409
    `ticket_not_finished` before the ticket is finished. Counted in tallies without the
    ticket or a time. Answers which questions are still open."""
    ticket = queue_service().ticket(token)
    service = feedback_service()
    if "rating" in body:
        questions = service.rate(ticket, body["rating"])
    else:
        questions = service.wish(ticket, body["wish"])
    return questions._asdict()


@bp.post("/desks/<int:desk_id>/call-next")
@require_staff()
@bp.response(200, TicketStaffSchema)
@doc_errors(401, 403, 404, 409)
@idempotent
def call_next(desk_id: int) -> dict[str, Any]:
    """Call the next waiting ticket to this desk; 409 `queue_empty` when nobody waits."""
    queue = queue_service()
    desk = queue.desk(desk_id)
    ticket = queue.call_next(desk, actor=current_principal().actor, key=request_key())
    return _staff_ticket(ticket)


def _ticket_step(action: str, method_name: str, summary: str) -> None:
    @require_staff()
    @bp.response(200, TicketStaffSchema)
    @doc_errors(401, 403, 404, 409)
    @idempotent
    def view(token: str) -> dict[str, Any]:
        queue = queue_service()
        step = getattr(queue, method_name)
        ticket = step(queue.ticket(token), actor=current_principal().actor, key=request_key())
        return _staff_ticket(ticket)

    view.__name__ = f"ticket_{method_name}"
    view.__doc__ = summary
    bp.route(f"/tickets/<string:token>/{action}", methods=["POST"])(view)


_ticket_step("recall", "recall", "Call the ticket again to the same desk.")
_ticket_step("start", "start", "The resident is at the desk: service starts.")
_ticket_step("finish", "finish", "Service is done; the desk is free.")
_ticket_step("no-show", "no_show", "The called resident did not come.")
_ticket_step("cancel", "cancel", "Take a waiting or called ticket out of the queue.")


@bp.post("/tickets/<string:token>/transfer")
@require_staff()
@bp.arguments(TransferRequest)
@bp.response(200, TicketStaffSchema)
@doc_errors(401, 403, 404, 409, 422)
@idempotent
def transfer(body: dict[str, Any], token: str) -> dict[str, Any]:
    """Back to the queue for another product, or to one desk of the stop (only that desk
    calls it while it is live: 409 `desk_unavailable` if it is paused, off or does not serve
    the product), or both; keeping the original issue time."""
    queue = queue_service()
    desk = queue.desk(body["desk"]) if body.get("desk") else None
    ticket = queue.transfer(
        queue.ticket(token),
        body.get("product"),
        desk=desk,
        actor=current_principal().actor,
        key=request_key(),
    )
    return _staff_ticket(ticket)


@bp.get("/board")
@limiter.limit(public_limit)
@bp.arguments(BoardQuery, location="query")
@bp.response(200, BoardSchema)
@doc_errors(404)
def board(query: dict[str, Any]) -> dict[str, Any]:
    """What the display board shows: recent calls and who waits for what."""
    stop = stop_for_request(query.get("stop"))
    return queue_service().board_state(stop, earlier=current_app.config["DISPLAY_EARLIER_CALLS"])


def _staff_ticket(ticket: Ticket) -> dict[str, Any]:
    return staff_ticket(ticket, queue_service().position(ticket))
