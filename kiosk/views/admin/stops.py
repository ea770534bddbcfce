"""The stop pages (/admin/stops): planning a stop, changing it, opening or closing it, its
bookable slots and its desks. Thin: each view reads the form, calls StopService (TourService
opens and closes) and shows what it says (a page with field errors, a refusal with its reason,
or a flash message)."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response

from kiosk.auth import coordinator_required
from kiosk.factories import (
    announcement_service,
    catalogue_service,
    join_service,
    stop_service,
    tour_service,
)
from kiosk.i18n import LANGUAGE_NAMES
from kiosk.models import Stop, StopStatus
from kiosk.services.planning import DeskInput, StopInput
from kiosk.views.admin.base import (
    DESK_ROWS,
    FormPage,
    Page,
    active_products,
    actor,
    again,
    answer,
    bp,
    checked,
    chosen_location,
    confirmed,
    desk_rows,
    field_errors,
    form,
    list_of,
    local_day,
    new_desk_values,
    offerable,
    page,
    saved,
    text_of,
    tr,
)

# -- stops --------------------------------------------------------------------------------------


def _stop_input(*, desks: bool) -> StopInput:
    return StopInput(
        location=text_of("location"),
        date=text_of("date"),
        start=text_of("start"),
        end=text_of("end"),
        products=list_of("products"),
        desks=desk_rows() if desks else (),
        capacity=text_of("capacity"),
        note=text_of("note"),
        open_slots=checked("open_slots"),
        slot_capacity=text_of("slot_capacity"),
    )


@bp.get("/stops")
@coordinator_required
def stops() -> str:
    """The stops to come (or, with ?past=1, those that passed)."""
    past = request.args.get("past") == "1"
    return render_template("admin/stops.html", stops=stop_service().stops(past=past), past=past)


@bp.route("/stops/new", methods=["GET", "POST"])
@coordinator_required
def stop_new() -> Page:
    """Plan a stop: first the location, then the rest (its products limited to the location's)."""
    service = stop_service()
    location = chosen_location(request.values.get("location"))
    form_page = FormPage(
        "admin/stop_new.html",
        {"location": location, "locations": catalogue_service().locations(), "rows": DESK_ROWS},
    )
    if location is None or request.method == "GET":
        return form_page.show(
            {
                "date": service.today().isoformat(),
                "products": active_products(location),
                **new_desk_values(),
            }
        )
    return form_page.save(
        lambda: service.create_stop(_stop_input(desks=True), actor=actor()),
        saved(
            lambda stop: _(
                "De loketdag in %(place)s op %(date)s is gepland.",
                place=stop.location.name,
                date=local_day(stop),
            ),
            lambda stop: url_for("admin.stop_edit", stop_id=stop.id),
        ),
    )


def _stop_values(stop: Stop) -> dict[str, Any]:
    service = stop_service()
    start, end = service.local(stop.starts_at), service.local(stop.ends_at)
    return {
        "location": str(stop.location_id),
        "date": start.date().isoformat(),
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
        "products": [str(p.id) for p in stop.products],
        "capacity": "" if stop.capacity is None else str(stop.capacity),
        "note": stop.note,
    }


def _stop_page(stop: Stop, status: int = 200, **context: Any) -> tuple[str, int]:
    service = stop_service()
    context.setdefault("values", _stop_values(stop))
    context.setdefault("errors", {})
    context.setdefault("desk_values", {})
    context.setdefault("desk_errors", {})
    return page(
        "admin/stop.html",
        status,
        stop=stop,
        usage=service.usage(stop),
        slots=service.slot_counts(stop),
        locations=catalogue_service().locations(),
        offered=offerable(stop.location, stop.products),
        also_language=announcement_service().second_language(stop.id) or "",
        language_options=[(code, LANGUAGE_NAMES.get(code, code)) for code in _languages()],
        **context,
    )


def _languages() -> list[str]:
    return list(current_app.config["LANGUAGES"])


@bp.route("/stops/<int:stop_id>", methods=["GET", "POST"])
@coordinator_required
def stop_edit(stop_id: int) -> Page:
    """A stop: change it, its desks and slots, open or close it."""
    service = stop_service()
    stop = service.stop(stop_id)
    if request.method == "GET":
        return _stop_page(stop)
    return answer(
        lambda: service.update_stop(stop_id, _stop_input(desks=False), actor=actor()),
        saved(_("De loketdag is opgeslagen."), url_for("admin.stop_edit", stop_id=stop_id)),
        **again(_stop_page, lambda: service.stop(stop_id)),
    )


@bp.post("/stops/<int:stop_id>/status")
@coordinator_required
def stop_status(stop_id: int) -> Response:
    """Open the stop now, or close it."""
    stop = stop_service().stop(stop_id)
    tour = tour_service()
    if request.form.get("status") == "open" and stop.status == StopStatus.PLANNED:
        tour.open_stop(stop, actor=actor())
        flash(_("De loketdag is open. De kiosk geeft nu nummers."))
    elif request.form.get("status") == "closed" and stop.status == StopStatus.OPEN:
        tour.close_stop(stop, actor=actor())
        flash(_("De loketdag is gesloten. Wie al wacht, wordt nog geholpen."))
    return redirect(url_for("admin.stop_edit", stop_id=stop_id))


@bp.post("/stops/<int:stop_id>/announcements")
@coordinator_required
def stop_announcements(stop_id: int) -> Response:
    """The board's second announcement language at this stop (after the board's own), or none."""
    chosen = announcement_service().set_second_language(
        stop_id, text_of("also_language") or None, languages=_languages(), actor=actor()
    )
    if chosen:
        flash(_("Elke oproep klinkt nu ook in: %(language)s.", language=LANGUAGE_NAMES[chosen]))
    else:
        flash(_("Elke oproep klinkt nu alleen in de taal van het scherm."))
    return redirect(url_for("admin.stop_edit", stop_id=stop_id, _anchor="omroepen"))


@bp.post("/stops/<int:stop_id>/phone-join")
@coordinator_required
def stop_phone_join(stop_id: int) -> Response:
    """Let residents take a ticket on their phone from the board's QR code, or not."""
    on = checked("phone_join")
    join_service().set_phone_join(stop_service().stop(stop_id), on, actor=actor())
    if on:
        flash(_("Bewoners kunnen nu een nummer trekken met hun telefoon."))
    else:
        flash(_("Nummer trekken met de telefoon staat uit. Het scherm toont geen QR-code."))
    return redirect(url_for("admin.stop_edit", stop_id=stop_id, _anchor="telefoon"))


@bp.post("/stops/<int:stop_id>/slots")
@coordinator_required
def stop_slots(stop_id: int) -> Page:
    """Open bookable slots for the stop's bookable products."""
    service = stop_service()
    return answer(
        lambda: service.open_slots(stop_id, text_of("slot_capacity"), actor=actor()),
        saved(
            lambda opened: (
                ngettext(
                    "%(num)s tijd voor afspraken is geopend.",
                    "%(num)s tijden voor afspraken zijn geopend.",
                    opened,
                )
                if opened
                else _("Er waren al tijden voor afspraken: er zijn geen nieuwe bij gekomen.")
            ),
            url_for("admin.stop_edit", stop_id=stop_id),
        ),
        on_invalid=lambda error: _stop_page(
            service.stop(stop_id), 422, slot_errors=field_errors(error), slot_values=form()
        ),
        on_refused=lambda error: _stop_page(
            service.stop(stop_id), error.status, refusal=tr(error.reason)
        ),
    )


@bp.route("/stops/<int:stop_id>/delete", methods=["GET", "POST"])
@coordinator_required
def stop_delete(stop_id: int) -> Page:
    """Remove a stop nobody used, after a confirmation."""
    service = stop_service()
    stop = service.stop(stop_id)
    return confirmed(
        _("Loketdag verwijderen"),
        _(
            "Wilt u de loketdag in %(place)s op %(date)s verwijderen?",
            place=stop.location.name,
            date=local_day(stop),
        ),
        url_for("admin.stop_delete", stop_id=stop_id),
        url_for("admin.stop_edit", stop_id=stop_id),
        lambda: service.delete_stop(stop_id, actor=actor()),
        saved(_("De loketdag is verwijderd."), url_for("admin.stops")),
    )


# -- desks --------------------------------------------------------------------------------------


def _desk_input(prefix: str = "") -> DeskInput:
    return DeskInput(
        name=text_of(f"{prefix}name"),
        products=list_of(f"{prefix}products"),
        active=checked(f"{prefix}active"),
    )


@bp.post("/stops/<int:stop_id>/desks")
@coordinator_required
def desk_new(stop_id: int) -> Page:
    """Add a desk to a stop."""
    service = stop_service()
    return answer(
        lambda: service.add_desk(stop_id, _desk_input("desk-"), actor=actor()),
        saved(
            lambda desk: _("Balie %(name)s is toegevoegd.", name=desk.name),
            _desks_of(stop_id),
        ),
        on_invalid=lambda error: _stop_page(
            service.stop(stop_id),
            422,
            desk_values=form(),
            desk_errors={f"desk-{name}": text for name, text in field_errors(error).items()},
        ),
    )


def _desks_of(stop_id: int) -> str:
    return url_for("admin.stop_edit", stop_id=stop_id) + "#balies"


@bp.route("/stops/<int:stop_id>/desks/<int:desk_id>", methods=["GET", "POST"])
@coordinator_required
def desk_edit(stop_id: int, desk_id: int) -> Page:
    """Rename a desk, change what it serves, or switch it off."""
    service = stop_service()
    stop = service.stop(stop_id)
    desk = service.desk(stop, desk_id)
    form_page = FormPage("admin/desk_form.html", {"stop": stop, "desk": desk})
    if request.method == "GET":
        return form_page.show(
            {
                "name": desk.name,
                "products": [str(p.id) for p in desk.products],
                "active": "1" if desk.active else "",
            }
        )
    return form_page.save(
        lambda: service.update_desk(stop_id, desk_id, _desk_input(), actor=actor()),
        saved(lambda desk: _("Balie %(name)s is opgeslagen.", name=desk.name), _desks_of(stop_id)),
    )


@bp.route("/stops/<int:stop_id>/desks/<int:desk_id>/delete", methods=["GET", "POST"])
@coordinator_required
def desk_delete(stop_id: int, desk_id: int) -> Page:
    """Remove a desk that never served anyone, after a confirmation."""
    service = stop_service()
    name = service.desk(service.stop(stop_id), desk_id).name
    return confirmed(
        _("Balie verwijderen"),
        _("Wilt u %(name)s verwijderen?", name=name),
        url_for("admin.desk_delete", stop_id=stop_id, desk_id=desk_id),
        url_for("admin.desk_edit", stop_id=stop_id, desk_id=desk_id),
        lambda: service.delete_desk(stop_id, desk_id, actor=actor()),
        saved(_("Balie %(name)s is verwijderd.", name=name), _desks_of(stop_id)),
    )
