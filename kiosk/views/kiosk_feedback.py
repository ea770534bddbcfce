"""The kiosk's "Hoe bent u geholpen?" (/kiosk/feedback): a small button on the start screen
opens five faces, then the product the resident came for; one screen each, and the idle timer
takes the kiosk back to the start as on every screen.

Anonymous as the kiosk's survey (kiosk/research/survey.py): the face travels only in POST
bodies (from the first screen into the second as a form field, never in an address a server
log keeps), and the answer becomes one more person in a tally (kiosk.services.feedback).
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from kiosk.extensions import configured_limit, limiter
from kiosk.factories import feedback_service
from kiosk.models import Device, Stop
from kiosk.services.feedback import InvalidFeedback
from kiosk.views.kiosk_base import kiosk_screen, per_kiosk, screen_context

bp = Blueprint("kiosk_feedback", __name__, url_prefix="/kiosk/feedback")


def _faces(stop: Stop, error: bool = False) -> str:
    return render_template("kiosk/feedback.html", error=error, **screen_context(stop))


@bp.get("")
@kiosk_screen
def start(device: Device, stop: Stop | None) -> Response | str:
    """Step 1 of 2: the five faces."""
    if stop is None:
        return redirect(url_for("kiosk.home"))
    return _faces(stop)


@bp.post("")
@limiter.limit(configured_limit("RESEARCH_RATELIMIT"), key_func=per_kiosk)
@kiosk_screen
def rate(device: Device, stop: Stop | None) -> Response | str | tuple[str, int]:
    """Step 2 of 2: which product the resident came for (the face goes along in the form)."""
    if stop is None:
        return redirect(url_for("kiosk.home"))
    rating = request.form.get("rating", "")[:2]
    if rating not in {"1", "2", "3", "4", "5"}:
        return _faces(stop, error=True), 422
    return render_template(
        "kiosk/feedback_product.html", rating=rating, products=stop.products, **screen_context(stop)
    )


@bp.post("/product")
@limiter.limit(configured_limit("RESEARCH_RATELIMIT"), key_func=per_kiosk)
@kiosk_screen
def product(device: Device, stop: Stop | None) -> Response | str | tuple[str, int]:
    """Count the face with the product, and say thank you."""
    if stop is None:
        return redirect(url_for("kiosk.home"))
    try:
        feedback_service().rate_at_kiosk(
            stop, request.form.get("product", "")[:40], request.form.get("rating", "")[:2]
        )
    except InvalidFeedback:
        return _faces(stop, error=True), 422
    return redirect(url_for("kiosk_feedback.thanks"))


@bp.get("/bedankt")
@kiosk_screen
def thanks(device: Device, stop: Stop | None) -> str:
    """Thank you; the idle bar takes the screen back to the start."""
    return render_template("kiosk/feedback_thanks.html", **screen_context(stop))
