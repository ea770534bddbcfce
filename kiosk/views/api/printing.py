"""Printed slips: today's print jobs of a stop (or only its faults) and a reprint of a ticket or
a booking's slip."""

from __future__ import annotations

from typing import Any

from kiosk.auth import require_staff
from kiosk.factories import appointment_service, print_service, queue_service
from kiosk.printing.jobs import reprint_booking, reprint_ticket
from kiosk.services.printing import print_job_payload
from kiosk.views.api.base import bp, doc_errors, stop_for_request
from kiosk.views.api.schemas import PrintJobRequest, PrintJobSchema, PrintJobsQuery


@bp.get("/stops/<int:stop_id>/print-jobs")
@require_staff()
@bp.arguments(PrintJobsQuery, location="query")
@bp.response(200, PrintJobSchema(many=True))
@doc_errors(401, 403, 404)
def stop_print_jobs(query: dict[str, Any], stop_id: int) -> list[dict[str, Any]]:
    """Today's slips at this stop, newest first; `faults=true` for those staff must act on."""
    stop = queue_service().stop(stop_id)
    prints = print_service()
    jobs = prints.faults(stop) if query["faults"] else prints.jobs(stop)
    return [print_job_payload(job) for job in jobs]


@bp.post("/print-jobs")
@require_staff()
@bp.arguments(PrintJobRequest)
@bp.response(202, PrintJobSchema)
@doc_errors(401, 403, 404, 409, 422)
def reprint(body: dict[str, Any]) -> dict[str, Any]:
    """Print a ticket of today (or a booking's slip) again, on its kiosk's printer (or the kiosk
    given)."""
    if "appointment" in body:
        booked = appointment_service().by_token(body["appointment"])
        return print_job_payload(reprint_booking(booked, device_id=body.get("device")))
    queue = queue_service()
    if "ticket" in body:
        ticket = queue.ticket(body["ticket"])
    else:
        ticket = queue.ticket_by_label(stop_for_request(body.get("stop")), body["label"])
    job = reprint_ticket(ticket, device_id=body.get("device"))
    return print_job_payload(job)
