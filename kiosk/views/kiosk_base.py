"""What every kiosk screen shares: only a paired kiosk sees them, each knows its stop."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import render_template
from flask_limiter.util import get_remote_address

from kiosk.auth import current_principal
from kiosk.extensions import queue_service, tour_service
from kiosk.models import Device, DeviceKind, Stop
from kiosk.services.errors import NoOpenStop
from kiosk.settings import setting

# A confirmation screen is shown for a fresh ticket only: the kiosk is no lookup terminal.
CONFIRMATION_WINDOW = timedelta(minutes=10)


def kiosk_device() -> Device | None:
    device = current_principal().device
    return device if device is not None and device.kind == DeviceKind.KIOSK else None


def kiosk_stop(device: Device) -> Stop | None:
    if device.stop_id is not None:
        return queue_service().stop(device.stop_id)
    try:
        return tour_service().current_stop()
    except NoOpenStop:
        return None


def unpaired_page() -> tuple[str, int]:
    return render_template("kiosk/unpaired.html"), 403


def kiosk_screen(view: Callable[..., Any]) -> Callable[..., Any]:
    """Only a paired kiosk sees the screen; the view gets the device and its stop (or None)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        device = kiosk_device()
        if device is None:
            return unpaired_page()
        return view(device, kiosk_stop(device), *args, **kwargs)

    return wrapped


def screen_context(stop: Stop | None) -> dict[str, object]:
    tour = tour_service()
    upcoming = tour.next_opening(stop) if stop else next(iter(tour.next_stops(limit=1)), None)
    return {
        "stop": stop,
        "idle_seconds": setting("KIOSK_IDLE_SECONDS"),
        "next_opening": upcoming,
    }


def per_kiosk() -> str:
    """Rate limits on kiosk screens count per kiosk: several kiosks may share one address on
    the bus's LAN."""
    device = kiosk_device()
    return f"kiosk:{device.id}" if device is not None else get_remote_address()
