"""The public tour schedule: where and when the pop-up front office is, and what can be done
there. As a page (`/tour`, grouped by day and neighbourhood, with "where can I do X next?"), as
an iCalendar feed (`/tour.ics`, per product too) and as JSON (`/tour.json`). Plus the privacy
statement (`/privacy`) and the accessibility statement (`/toegankelijkheid`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.extensions import limiter, public_limit
from kiosk.factories import appointment_service, setting, tour_service
from kiosk.i18n import current_language
from kiosk.models import Product, Stop
from kiosk.payloads import iso, location_payload, product_ref
from kiosk.qrcodes import qr_svg
from kiosk.services.errors import NotFound
from kiosk.urls import public_url, requested_language, resident_url

bp = Blueprint("tour", __name__)

# Where the accessibility statement sends a resident who is not satisfied (the enforcement route
# of the model statement). A link, never a resource the page loads: nothing comes from elsewhere.
OMBUDSMAN_URL = "https://www.nationaleombudsman.nl"

# How far ahead the schedule looks.
SCHEDULE_DAYS = 92


@dataclass(frozen=True)
class Place:
    """The stops of one day in one neighbourhood."""

    neighbourhood: str
    stops: list[Stop]


@dataclass(frozen=True)
class Day:
    day: date
    places: list[Place]


def _chosen_product() -> tuple[Product | None, bool]:
    """The `?product=` filter (code or letter); (None, True) when it names no product."""
    code = request.args.get("product", "").strip()
    if not code:
        return None, False
    try:
        return appointment_service().product(code), False
    except NotFound:
        return None, True


def _days(stops: list[Stop]) -> list[Day]:
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    days = []
    for day, of_day in groupby(stops, key=lambda s: s.starts_at.astimezone(tz).date()):
        by_place = sorted(of_day, key=lambda s: (s.location.neighbourhood or "", s.starts_at))
        places = [
            Place(hood, list(group))
            for hood, group in groupby(by_place, key=lambda s: s.location.neighbourhood or "")
        ]
        days.append(Day(day, places))
    return days


@bp.get("/tour")
@limiter.limit(public_limit)
def schedule() -> tuple[str, int] | str:
    """The coming stops by day and neighbourhood; with `?product=` the first places for it."""
    product, unknown = _chosen_product()
    tour = tour_service()
    stops = tour.schedule(product=product, days=SCHEDULE_DAYS)
    page = render_template(
        "tour/schedule.html",
        days=_days(stops),
        product=product,
        first=stops[0] if product is not None and stops else None,
        products=tour.active_products(),
        unknown=unknown,
        now=tour.now(),
    )
    return (page, 404) if unknown else page


@bp.get("/tour.ics")
@limiter.limit(public_limit)
def schedule_ics() -> Response | tuple[Response, int]:
    """The coming stops as a calendar feed to subscribe to (per product with `?product=`)."""
    product, unknown = _chosen_product()
    if unknown:
        return jsonify(error={"code": "unknown_product", "message": "No such product."}), 404
    stops = tour_service().schedule(product=product, days=SCHEDULE_DAYS)
    language = current_language()
    title = _("Loket op locatie – Gemeente Hoorn")
    if product is not None:
        title = f"{title}: {product.name(language)}"
    from kiosk.ical import tour_ics  # icalendar (~3 MB) loads on first use

    feed = tour_ics(
        stops,
        name=title,
        language=language,
        url=public_url("tour.schedule"),
        stamp=tour_service().now(),
    )
    response = Response(feed, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="loket-op-locatie.ics"'
    response.headers["Cache-Control"] = "public, max-age=900"
    return response


@bp.get("/tour.json")
@limiter.limit(public_limit)
def schedule_json() -> Response | tuple[Response, int]:
    """The coming stops as JSON: place, window (UTC, ISO 8601), products."""
    product, unknown = _chosen_product()
    if unknown:
        return jsonify(error={"code": "unknown_product", "message": "No such product."}), 404
    stops = tour_service().schedule(product=product, days=SCHEDULE_DAYS)
    response = jsonify(stops=[_stop_json(stop) for stop in stops])
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _stop_json(stop: Stop) -> dict[str, Any]:
    return {
        "id": stop.id,
        "location": location_payload(stop.location),
        "starts_at": iso(stop.starts_at),
        "ends_at": iso(stop.ends_at),
        "status": stop.status.value,
        "products": [
            {**product_ref(p), "bookable": p.bookable, "walk_in": p.walk_in} for p in stop.products
        ],
    }


@bp.get("/tour/qr.svg")
@limiter.limit(public_limit)
def schedule_qr() -> Response:
    """A QR code to the schedule (the kiosk shows it on "not offered here"), in the language the
    kiosk shows (``?lang=``)."""
    return qr_svg(resident_url("tour.schedule", language=requested_language()))


@bp.get("/privacy")
@limiter.limit(public_limit)
def privacy() -> str:
    """What we store, why, and for how long: in plain words."""
    return render_template("tour/privacy.html", retention_days=setting("RETENTION_DAYS"))


@bp.get("/toegankelijkheid")
@limiter.limit(public_limit)
def accessibility() -> str:
    """The accessibility statement, in the format of the model statement (digitoegankelijk.nl)."""
    config = current_app.config
    return render_template(
        "tour/accessibility.html",
        organisation=config["ACCESSIBILITY_ORGANISATION"],
        phone=config["ACCESSIBILITY_PHONE"],
        email=config["ACCESSIBILITY_EMAIL"],
        response_days=int(config["ACCESSIBILITY_RESPONSE_DAYS"]),
        statement_date=date.fromisoformat(str(config["ACCESSIBILITY_STATEMENT_DATE"])),
        checked_date=date.fromisoformat(str(config["ACCESSIBILITY_CHECKED_DATE"])),
        ombudsman_url=OMBUDSMAN_URL,
    )
