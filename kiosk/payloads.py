"""One function per kind of payload, shared by the JSON API, the sockets and the templates.

Public payloads (board, status page) never carry a ticket's token or anything that identifies
another ticket's holder; staff payloads add the token so that staff clients can act on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.models import (
    Appointment,
    BoardSlide,
    Desk,
    Device,
    Location,
    Product,
    Slot,
    Stop,
    Ticket,
)


@dataclass(frozen=True)
class Position:
    """Where a ticket stands: people ahead and the expected wait in whole minutes."""

    ahead: int
    wait_minutes: int | None


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def product_payload(product: Product) -> dict[str, Any]:
    return {
        "code": product.code,
        "prefix": product.prefix,
        "names": dict(product.names),
        "bring": dict(product.bring),
        "icon": product.icon,
        "duration_minutes": product.duration_minutes,
        "walk_in": product.walk_in,
        "appointment_required": product.appointment_required,
    }


def product_ref(product: Product) -> dict[str, Any]:
    return {
        "code": product.code,
        "prefix": product.prefix,
        "names": dict(product.names),
        "icon": product.icon,
    }


def desk_payload(desk: Desk, product_codes: Sequence[str] | None = None) -> dict[str, Any]:
    """A desk and the codes of the products it serves (`product_codes` when they were read
    already, as `StopContents` holds them; else from `desk.products`)."""
    codes = [p.code for p in desk.products] if product_codes is None else list(product_codes)
    return {
        "id": desk.id,
        "name": desk.name,
        "active": desk.active,
        "paused": desk.paused_at is not None,
        "paused_at": iso(desk.paused_at),
        "products": codes,
    }


def desk_board_payload(desk: Desk) -> dict[str, Any]:
    """A desk as the board shows it: paused desks read "Balie 2: gesloten"."""
    return {"id": desk.id, "name": desk.name, "paused": desk.paused_at is not None}


def slide_payload(slide: BoardSlide) -> dict[str, Any]:
    """A board's information slide: its text per language (Dutch always) and pictogram."""
    return {"id": slide.id, "icon": slide.icon, "texts": dict(slide.texts)}


def location_payload(location: Location) -> dict[str, Any]:
    return {
        "id": location.id,
        "name": location.name,
        "address": location.address,
        "neighbourhood": location.neighbourhood,
        "latitude": location.latitude,
        "longitude": location.longitude,
    }


@dataclass(frozen=True)
class StopContents:
    """A stop with everything its payload shows, read as plain rows in a few statements
    (`TourService.stop_contents`) instead of lazy loads, one per desk. The rows have the
    attribute names of the ORM objects, so the same payload functions build both."""

    stop: Any  # a Stop, or a row with its id, times, status, phone_join and accepts_walk_ins
    location: Any  # a row with Location's columns
    products: Sequence[Any]  # rows with Product's columns, in the kiosk's order
    desks: Sequence[tuple[Any, Sequence[str]]]  # (a row with Desk's columns, product codes)


def stop_payload(stop: Stop, *, now: datetime | None = None) -> dict[str, Any]:
    """A stop with its place, products and desks; `accepting_tickets` when `now` is given."""
    contents = StopContents(
        stop,
        stop.location,
        stop.products,
        [(desk, [p.code for p in desk.products]) for desk in stop.desks],
    )
    return stop_contents_payload(contents, now=now)


def stop_contents_payload(contents: StopContents, *, now: datetime | None = None) -> dict[str, Any]:
    """`stop_payload` from what `TourService.stop_contents` read: the same answer."""
    stop = contents.stop
    payload = {
        "id": stop.id,
        "location": location_payload(contents.location),
        "starts_at": iso(stop.starts_at),
        "ends_at": iso(stop.ends_at),
        "status": stop.status.value,
        "phone_join": stop.phone_join,
        "products": [product_payload(p) for p in contents.products],
        "desks": [desk_payload(desk, codes) for desk, codes in contents.desks],
    }
    if now is not None:
        payload["accepting_tickets"] = stop.accepts_walk_ins(now)
    return payload


def position_payload(position: Position | None) -> dict[str, Any] | None:
    if position is None:
        return None
    return {"ahead": position.ahead, "wait_minutes": position.wait_minutes}


def ticket_public_payload(ticket: Ticket) -> dict[str, Any]:
    """What a board may show: no token, no id."""
    return {
        "label": ticket.label,
        "product": product_ref(ticket.product),
        "status": ticket.status.value,
        "desk": {"id": ticket.desk.id, "name": ticket.desk.name} if ticket.desk else None,
        "issued_at": iso(ticket.issued_at),
        "called_at": iso(ticket.last_called_at),
        "recall_count": ticket.recall_count,
    }


def ticket_status_payload(ticket: Ticket, position: Position | None) -> dict[str, Any]:
    """What the holder of a ticket's token sees on its status page."""
    return {
        **ticket_public_payload(ticket),
        "source": ticket.source.value,
        "position": position_payload(position),
        "finished_at": iso(ticket.finished_at or ticket.ended_at),
    }


def ticket_staff_payload(ticket: Ticket, position: Position | None = None) -> dict[str, Any]:
    """What staff see: every step's time and the token to act on the ticket."""
    return {
        **ticket_status_payload(ticket, position),
        "id": ticket.id,
        "token": ticket.token,
        "number": ticket.number,
        "priority": ticket.priority,
        "stop_id": ticket.stop_id,
        "started_at": iso(ticket.started_at),
        "ended_at": iso(ticket.ended_at),
        "transfer_count": ticket.transfer_count,
        "target_desk_id": ticket.target_desk_id,
    }


def device_payload(device: Device) -> dict[str, Any]:
    return {
        "id": device.id,
        "name": device.name,
        "kind": device.kind.value,
        "stop_id": device.stop_id,
        "paired": device.paired_at is not None and device.revoked_at is None,
        "paired_at": iso(device.paired_at),
        "last_seen_at": iso(device.last_seen_at),
        "printer": printer_payload(device),
    }


def printer_payload(device: Device) -> dict[str, Any] | None:
    """A kiosk's printer health for staff; None for boards and for kiosks without a printer.

    `state` is a PrinterState word (online, paper_ok, paper_low, paper_out, offline, unknown)
    or `config_error`; `checked_at` tells how fresh it is.
    """
    if device.kind.value != "kiosk" or device.printer_state is None:
        return None
    return {
        "state": device.printer_state,
        "detail": device.printer_detail or "",
        "checked_at": iso(device.printer_checked_at),
    }


def place_payload(stop: Stop) -> dict[str, Any]:
    """Where a stop is, for residents: no internal fields."""
    return {
        "id": stop.id,
        "name": stop.location.name,
        "address": stop.location.address,
        "neighbourhood": stop.location.neighbourhood,
    }


def slot_payload(slot: Slot) -> dict[str, Any]:
    return {
        "id": slot.id,
        "starts_at": iso(slot.starts_at),
        "ends_at": iso(slot.ends_at),
        "free": slot.free,
        "product": product_ref(slot.product),
        "stop": place_payload(slot.stop),
    }


def appointment_payload(appointment: Appointment) -> dict[str, Any]:
    """An appointment for the holder of its private link (token): their own details only."""
    slot = appointment.slot
    return {
        "code": appointment.code,
        "status": appointment.status.value,
        "starts_at": iso(slot.starts_at),
        "ends_at": iso(slot.ends_at),
        "product": product_payload(appointment.product),
        "stop": place_payload(appointment.stop),
        "name": appointment.name,
        "email": appointment.email,
        "language": appointment.language,
        "ticket": appointment.ticket.token if appointment.ticket is not None else None,
    }
