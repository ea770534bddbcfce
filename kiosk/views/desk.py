"""The staff desk: choose a desk of the open stop, then call, recall, start, finish, mark as
no-show and transfer tickets, with the waiting list and the stop's devices kept live.

The page renders its first state here; static/js/desk.js keeps it current from the JSON API
(``GET /api/v1/desks/<id>``, ``GET /api/v1/stops/<id>/devices``) and acts through the API's
ticket steps. `desk_state` builds the one payload both use.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from kiosk.extensions import presence_service, print_service, queue_service, tour_service
from kiosk.i18n import local_time
from kiosk.models import Desk, Role, Stop, Ticket
from kiosk.payloads import desk_payload, iso, product_ref, ticket_staff_payload
from kiosk.printing import today_start
from kiosk.services.errors import NoOpenStop, UnknownDesk
from kiosk.services.presence import presence_payload
from kiosk.services.printing import print_job_payload
from kiosk.services.queue import ALLOWED_FROM
from kiosk.urls import public_url

bp = Blueprint("desk", __name__, url_prefix="/desk")

F = TypeVar("F", bound=Callable[..., Any])
SESSION_KEY = "desk_id"
# The ticket steps a desk offers, by the name the API and desk.js use.
STEPS = ("recall", "start", "finish", "no_show", "transfer")


def role_required(
    role: Role, login_text: Callable[[], str], denied_text: Callable[[], str]
) -> Callable[[F], F]:
    """A page for logged-in staff with at least `role`; others go to the login page or get a
    plain "no access" page (403)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                flash(login_text())
                return redirect(url_for("auth.login", next=request.path))
            if not current_user.has_role(role):
                return render_template(
                    "desk/message.html", title=_("Geen toegang"), message=denied_text()
                ), 403
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


staff_required = role_required(
    Role.STAFF,
    lambda: _("Log in om de balie te gebruiken."),
    lambda: _("U heeft geen toegang tot de balie."),
)


# -- the shared payload -------------------------------------------------------------------------


def _staff_ticket(ticket: Ticket) -> dict[str, Any]:
    payload = ticket_staff_payload(ticket)
    payload["status_url"] = public_url("display.ticket_status", token=ticket.token)
    return payload


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
    actions = {
        "call_next": current is None and desk.active and bool(waiting),
        **{step: status in ALLOWED_FROM[step] for step in STEPS},
    }
    actions["transfer"] = actions["transfer"] and len(stop.products) > 1
    state = {
        "desk": desk_payload(desk),
        "stop": {
            "id": stop.id,
            "name": stop.location.name,
            "status": stop.status.value,
            "accepting_tickets": stop.accepts_walk_ins(now),
        },
        "current": _staff_ticket(current) if current is not None else None,
        "queue": [
            {
                **_staff_ticket(ticket),
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


def stop_devices(stop: Stop) -> list[dict[str, Any]]:
    """The stop's paired kiosks and boards with their presence; the open stop's list includes
    the devices that follow whichever stop is open."""
    open_stop = _open_stop()
    following = open_stop is not None and open_stop.id == stop.id
    return [
        presence_payload(p) for p in presence_service().devices(stop, include_unassigned=following)
    ]


def print_faults(stop: Stop) -> list[dict[str, Any]]:
    """Today's slips at this stop that did not come out (and were not printed since)."""
    since = today_start(current_app.config["CLOCK"], current_app.config["TIMEZONE"])
    return [print_job_payload(job) for job in print_service().faults(stop, since=since)]


# -- pages --------------------------------------------------------------------------------------


def _open_stop() -> Stop | None:
    try:
        return tour_service().current_stop()
    except NoOpenStop:
        return None


@bp.get("")
@staff_required
def choose() -> str | Response:
    """Choose a desk of the open stop; the last choice opens at once (``?choose=1`` to change)."""
    stop = _open_stop()
    if stop is None:
        return render_template(
            "desk/message.html",
            title=_("Er is nu geen stop open"),
            message=_("Er is nu geen stop open. Vraag de coördinator om de stop te openen."),
        )
    desks = [d for d in stop.desks if d.active]
    remembered = session.get(SESSION_KEY)
    if not request.args.get("choose") and remembered in {d.id for d in desks}:
        return redirect(url_for("desk.desk", desk_id=remembered))
    return render_template("desk/choose.html", stop=stop, desks=desks, remembered=remembered)


@bp.get("/<int:desk_id>")
@staff_required
def desk(desk_id: int) -> str | tuple[str, int]:
    """One desk: the current ticket, the steps, the waiting list and the stop's devices."""
    try:
        found = queue_service().desk(desk_id)
    except UnknownDesk:
        return render_template(
            "desk/message.html",
            title=_("Deze balie bestaat niet"),
            message=_("Deze balie bestaat niet (meer). Kies een andere balie."),
            choose=True,
        ), 404
    if session.get(SESSION_KEY) != found.id:
        session[SESSION_KEY] = found.id
    return render_template(
        "desk/desk.html",
        state=desk_state(found),
        devices=stop_devices(found.stop),
        print_faults=print_faults(found.stop),
        clock=_clock,
        timezone=current_app.config["TIMEZONE"],
    )


def _clock(value: str | None) -> str:
    """A payload's ISO time in the stop's time zone: HH:MM today, with the date before today."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    today = local_time(current_app.config["CLOCK"](), "yyyy-MM-dd")
    same_day = local_time(moment, "yyyy-MM-dd") == today
    return local_time(moment) if same_day else local_time(moment, "d MMM HH:mm")
