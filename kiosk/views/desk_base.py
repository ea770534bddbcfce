"""What a desk shows, shared by the desk page (kiosk/views/desk.py) and the desk's JSON API
(kiosk/views/api): one payload for both, so static/js/desk.js renders the same state the page
started with."""

from __future__ import annotations

from typing import Any

from kiosk import check_in_limits
from kiosk.factories import (
    announcement_service,
    presence_service,
    print_service,
    queue_service,
    tour_service,
)
from kiosk.models import Desk, DeviceKind, Stop, Ticket
from kiosk.payloads import Position, desk_payload, iso, product_ref, ticket_staff_payload
from kiosk.printing.stations import printing
from kiosk.services.errors import NoOpenStop
from kiosk.services.presence import presence_payload
from kiosk.services.printing import SlipRequest, print_job_payload
from kiosk.services.queue import ALLOWED_FROM
from kiosk.urls import public_url

# The ticket steps a desk offers, by the name the API and desk.js use.
STEPS = ("recall", "start", "finish", "no_show", "transfer")


def status_url(token: str) -> str:
    """The public address of a ticket's status page (what its QR code opens)."""
    return public_url("display.ticket_status", token=token)


def staff_ticket(ticket: Ticket, position: Position | None = None) -> dict[str, Any]:
    """A ticket as staff see it, with the address of its status page."""
    payload = ticket_staff_payload(ticket, position)
    payload["status_url"] = status_url(ticket.token)
    return payload


def open_stop() -> Stop | None:
    """The stop that is open now, if any."""
    try:
        return tour_service().current_stop()
    except NoOpenStop:
        return None


def desk_state(desk: Desk) -> dict[str, Any]:
    """What a desk works with: its current ticket, the queue it calls from (in calling order,
    each with the seconds it has waited), the stop's products (transfer targets) and which
    steps are possible now."""
    queue = queue_service()
    current = queue.current_ticket(desk)
    waiting = queue.desk_queue(desk)
    now = queue.now()
    stop = desk.stop
    status = current.status if current is not None else None
    paused = desk.paused_at is not None
    can_call = current is None and desk.active and not paused and bool(waiting)
    accepting = stop.accepts_walk_ins(now)
    desks = sorted(stop.desks, key=lambda d: d.id)
    actions = {
        "call_next": can_call,
        **{step: status in ALLOWED_FROM[step] for step in STEPS},
        "call_chosen": can_call,
        "issue": accepting,
        "pause": not paused,
        "resume": paused,
        "open_stop": stop.status.value != "open",
        "close_stop": stop.status.value == "open",
    }
    # To another product, or to another desk that could take the ticket.
    others = [d for d in desks if d.id != desk.id and d.active and d.paused_at is None]
    actions["transfer"] = actions["transfer"] and (len(stop.products) > 1 or bool(others))
    state = {
        "desk": desk_payload(desk),
        "stop": {
            "id": stop.id,
            "name": stop.location.name,
            "status": stop.status.value,
            "accepting_tickets": accepting,
            "waiting": sum(queue.waiting_counts(stop.id).values()),
        },
        "desks": [desk_payload(d) for d in desks],
        "current": staff_ticket(current) if current is not None else None,
        "queue": [
            {
                **staff_ticket(ticket),
                "waited_seconds": max(int((now - ticket.issued_at).total_seconds()), 0),
            }
            for ticket in waiting
        ],
        "products": [product_ref(p) for p in stop.products],
        "actions": actions,
        "at": iso(now),
    }
    queue.end_read()
    return state


def desk_slip(stop: Stop, language: str) -> tuple[SlipRequest | None, str | None]:
    """Where a ticket made at the desk prints: the first of the stop's paired kiosks that has
    a printer (the kiosk's own print job path), in the resident's language; (None, None) when
    no kiosk prints, and the desk shows the ticket on screen instead."""
    for device in print_service().kiosks(stop.id):
        if printing().config_for(device) is not None:
            return SlipRequest(device.id, language), device.name
    return None, None


def stop_devices(stop: Stop) -> list[dict[str, Any]]:
    """The stop's paired kiosks and boards with their presence; the open stop's list includes
    the devices that follow whichever stop is open."""
    current = open_stop()
    following = current is not None and current.id == stop.id
    found = presence_service().devices(stop, include_unassigned=following)
    # Boards that said they play no sound (turned off, or audio blocked by the browser).
    boards = [p.device.id for p in found if p.device.kind == DeviceKind.BOARD]
    muted = announcement_service().muted(boards) if boards else set()
    return [
        {
            **presence_payload(p),
            "muted": p.device.id in muted if p.device.kind == DeviceKind.BOARD else None,
        }
        for p in found
    ]


def check_in_pauses(stop: Stop) -> list[dict[str, Any]]:
    """The stop's kiosks that pause check-in after too many wrong codes ("Kiosk 2: 5 wrong codes
    in 1 min., paused until 14:32"), for staff; see kiosk/check_in_limits.py."""
    current = open_stop()
    following = current is not None and current.id == stop.id
    pauses = []
    for found in presence_service().devices(stop, include_unassigned=following):
        device = found.device
        if device.kind != DeviceKind.KIOSK:
            continue
        paused = check_in_limits.kiosk_failures(device.id)
        if paused is not None:
            pauses.append({"device": device.id, "name": device.name, **paused})
    return pauses


def print_faults(stop: Stop) -> list[dict[str, Any]]:
    """Today's slips at this stop that did not come out (and were not printed since)."""
    return [print_job_payload(job) for job in print_service().faults(stop)]
