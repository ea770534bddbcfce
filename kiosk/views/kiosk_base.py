"""What every kiosk screen shares: only a paired kiosk sees them, each knows its stop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import current_app, render_template, request, url_for
from flask_limiter.util import get_remote_address

from kiosk.auth import current_principal
from kiosk.factories import appointment_service, queue_service, setting, tour_service
from kiosk.i18n import url_with_lang
from kiosk.models import Device, DeviceKind, Product, Slot, Stop
from kiosk.services.errors import NoOpenStop

# The printer faults a confirmation screen may have to explain (see kiosk/printing/notices.py).
FAULT_REASONS = ("paper_out", "offline", "fault")
# A confirmation screen is shown for a fresh ticket only: the kiosk is no lookup terminal.
CONFIRMATION_WINDOW = timedelta(minutes=10)
# Seconds the "are you still there?" warning gives before the screen starts afresh (EAA Annex I
# §2(o): time can be extended; EN 301 549 asks for at least 20 s to respond).
IDLE_WARNING_SECONDS = 20
# A screen answered to a tap (a POST) has no address of its own: another language shows the
# screen that tap was made on.
SCREEN_OF_TAP = {
    "kiosk.take_ticket": "kiosk.home",
    "kiosk_appointments.check_in": "kiosk_appointments.check_in_screen",
    "kiosk_appointments.book_later": "kiosk.home",
    "kiosk_survey.answer_home": "kiosk_survey.start",
    "kiosk_survey.answer_moment": "kiosk_survey.moment",
    "kiosk_survey.missed": "kiosk.home",
    "kiosk_feedback.rate": "kiosk_feedback.start",
    "kiosk_feedback.product": "kiosk_feedback.start",
}


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
    upcoming = tour.next_opening(stop)
    return {
        "stop": stop,
        "idle_seconds": setting("KIOSK_IDLE_SECONDS"),
        "idle_warning_seconds": int(
            current_app.config.get("KIOSK_IDLE_WARNING_SECONDS", IDLE_WARNING_SECONDS)
        ),
        "next_opening": upcoming,
        "opens_today": upcoming is not None and tour.opens_today(upcoming),
    }


def kiosk_language_url(code: str) -> str:
    """This kiosk screen in another language (for a screen answered to a tap: the screen the
    tap was made on)."""
    if request.method == "GET" or request.endpoint not in SCREEN_OF_TAP:
        return url_with_lang(code)
    return url_for(SCREEN_OF_TAP[request.endpoint], lang=code)


def per_kiosk() -> str:
    """Rate limits on kiosk screens count per kiosk: several kiosks may share one address on
    the bus's LAN."""
    device = kiosk_device()
    return f"kiosk:{device.id}" if device is not None else get_remote_address()


# -- when the queue is long: come back at a set time --------------------------------------


@dataclass(frozen=True)
class LaterOptions:
    """Times to come back for one product: later today at this stop, and at the next stops."""

    product: Product
    here: list[Slot]
    elsewhere: list[Slot]

    def __bool__(self) -> bool:
        return bool(self.here or self.elsewhere)


def later_options(stop: Stop | None, product: Product) -> LaterOptions:
    slots = appointment_service().later_options(
        product, stop, limit=current_app.config["BOOK_LATER_SLOTS"]
    )
    here = [s for s in slots if stop is not None and s.stop_id == stop.id]
    return LaterOptions(product, here, [s for s in slots if s not in here])


def long_wait_offer(stop: Stop, product_code: str) -> tuple[str, int] | None:
    """The "it is busy: wait, or come back at a set time?" screen, when the expected wait for a
    new ticket is over `BOOK_LATER_WAIT_MINUTES` and the product has free times; else None."""
    limit = setting("BOOK_LATER_WAIT_MINUTES")
    product = next((p for p in stop.products if p.code == product_code), None)
    if product is None or not limit or not product.bookable:
        return None
    wait = queue_service().expected_wait(stop, product)
    if wait.wait_minutes is None or wait.wait_minutes <= limit:
        return None
    options = later_options(stop, product)
    if not options:
        return None
    page = render_template(
        "kiosk/long_wait.html", options=options, wait=wait, **screen_context(stop)
    )
    return page, 200
