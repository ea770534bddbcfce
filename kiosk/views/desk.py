"""The staff desk: choose a desk of the open stop (or open today's stop first), then call,
recall, start, finish, mark as no-show (and undo it) and transfer tickets, call a chosen
ticket, make a ticket for someone at the desk, pause the desk, open or close the stop, with the
waiting list, today's figures and the stop's devices kept live.

The page renders its first state here; static/js/desk.js keeps it current from the JSON API
(``GET /api/v1/desks/<id>``, ``GET /api/v1/stops/<id>/devices``) and acts through the API's
ticket steps. `desk_state` builds the one payload both use.
"""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.auth import current_principal, staff_required
from kiosk.factories import queue_service, tour_service
from kiosk.i18n import LANGUAGE_NAMES, local_time
from kiosk.models import Stop
from kiosk.services.errors import NoStopToOpen, UnknownDesk
from kiosk.views.desk_base import (
    check_in_pauses,
    desk_state,
    open_stop,
    print_faults,
    stop_devices,
)

bp = Blueprint("desk", __name__, url_prefix="/desk")

SESSION_KEY = "desk_id"


# -- pages --------------------------------------------------------------------------------------


@bp.get("")
@staff_required
def choose() -> str | Response:
    """Choose a desk of the open stop; the last choice opens at once (``?choose=1`` to change)."""
    stop = open_stop()
    if stop is None:
        to_open = _stop_to_open()
        return render_template(
            "desk/message.html",
            title=_("Er is nu geen stop open"),
            message=_("Er is nu geen stop open. U kunt de stop van vandaag openen.")
            if to_open is not None
            else _("Er is nu geen stop open. Vraag de coördinator om de stop te openen."),
            to_open=to_open,
        )
    desks = [d for d in stop.desks if d.active]
    remembered = session.get(SESSION_KEY)
    if not request.args.get("choose") and remembered in {d.id for d in desks}:
        return redirect(url_for("desk.desk", desk_id=remembered))
    return render_template("desk/choose.html", stop=stop, desks=desks, remembered=remembered)


@bp.post("/open-stop")
@staff_required
def open_todays_stop() -> Response:
    """Open today's stop (the one running now or still to come today, also after staff closed
    it; else the next planned one) from the chooser: a form with CSRF, no script needed."""
    stop = _stop_to_open()
    if stop is not None:
        tour_service().open_stop(stop, actor=current_principal().actor)
    return redirect(url_for("desk.choose"))


def _stop_to_open() -> Stop | None:
    try:
        return tour_service().stop_to_open()
    except NoStopToOpen:
        return None


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
        check_in_pauses=check_in_pauses(found.stop),
        resident_languages=[
            (code, LANGUAGE_NAMES.get(code, code)) for code in current_app.config["LANGUAGES"]
        ],
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
