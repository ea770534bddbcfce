"""The staff desk: choose a desk of the open stop, then call, recall, start, finish, mark as
no-show and transfer tickets, with the waiting list and the stop's devices kept live.

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

from kiosk.auth import staff_required
from kiosk.factories import queue_service
from kiosk.i18n import local_time
from kiosk.services.errors import UnknownDesk
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
        check_in_pauses=check_in_pauses(found.stop),
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
