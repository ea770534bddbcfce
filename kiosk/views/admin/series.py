"""The series pages (/admin/series): planning a recurring series in two steps (the form, then
its dates to check and skip), changing the stops still to come, skipping a date, stopping a
series. Thin: each view reads the form, calls SeriesService and shows what it says."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _

from kiosk.auth import coordinator_required
from kiosk.factories import catalogue_service, series_service
from kiosk.models import StopSeries
from kiosk.services.planning import SeriesEdit, SeriesInput, series_rule
from kiosk.services.validation import Invalid
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
    me,
    new_desk_values,
    offerable,
    page,
    refused,
    saved,
    text_of,
    tr,
)


def weekday_names() -> list[tuple[str, str]]:
    """(value, name) for Monday to Sunday in the page's language."""
    monday = date(2026, 11, 30)
    return [(str(i), format_date(monday + timedelta(days=i), "EEEE")) for i in range(7)]


def _series_input() -> SeriesInput:
    return SeriesInput(
        location=text_of("location"),
        weekdays=list_of("weekdays"),
        start=text_of("start"),
        end=text_of("end"),
        first_date=text_of("first_date"),
        weeks=text_of("weeks"),
        last_date=text_of("last_date"),
        exceptions=text_of("exceptions"),
        skip=list_of("skip"),
        products=list_of("products"),
        desks=desk_rows(),
        capacity=text_of("capacity"),
        note=text_of("note"),
        open_slots=checked("open_slots"),
        slot_capacity=text_of("slot_capacity"),
    )


@bp.get("/series")
@coordinator_required
def series_list() -> str:
    """Every series, the running ones first."""
    return render_template(
        "admin/series_list.html", series=series_service().series_list(), weekdays=weekday_names()
    )


@bp.route("/series/new", methods=["GET", "POST"])
@coordinator_required
def series_new() -> Page:
    """A new series in two steps: the form, then its dates to check (and skip) before saving.

    The second step posts the same fields again with ``step=create``; ``step=edit`` goes back
    to the form with what was filled in."""
    service = series_service()
    location = chosen_location(request.values.get("location"))
    context = {
        "location": location,
        "locations": catalogue_service().locations(),
        "rows": DESK_ROWS,
        "weekdays": weekday_names(),
    }
    form_page = FormPage("admin/series_form.html", context)
    step = request.form.get("step", "preview")
    if location is None or request.method == "GET" or step == "edit":
        if request.method == "POST":
            return form_page.show(_series_form_values())
        return form_page.show(
            {
                "first_date": service.today().isoformat(),
                "weeks": "8",
                "products": active_products(location),
                **new_desk_values(),
            }
        )
    data = _series_input()

    def back_to_form(error: Invalid) -> Page:
        return form_page.invalid(error, _series_form_values())

    if step != "create":
        return answer(
            lambda: service.plan_series(data),
            lambda plan: render_template(
                "admin/series_preview.html", plan=plan, values=_preview_values(), **context
            ),
            on_invalid=back_to_form,
        )
    data.exceptions = ""  # the preview's ticks are the exceptions now
    return answer(
        lambda: service.create_series(data, actor=actor(), created_by=me().id),
        saved(
            lambda series: ngettext(
                "De reeks is opgeslagen: %(num)s loketdag gepland.",
                "De reeks is opgeslagen: %(num)s loketdagen gepland.",
                len(series.stops),
            ),
            lambda series: url_for("admin.series_edit", series_id=series.id),
        ),
        on_invalid=back_to_form,
        # A date clashes with another stop: the preview again, with the reason.
        on_refused=lambda error: answer(
            lambda: service.plan_series(data),
            lambda plan: refused(
                "admin/series_preview.html", error, plan=plan, values=_preview_values(), **context
            ),
            on_invalid=back_to_form,
        ),
    )


def _series_form_values() -> dict[str, Any]:
    """The series form as sent, with the dates ticked on the preview back as typed exceptions."""
    values = form()
    skipped = [d for d in list_of("skip") if _iso(d)]
    if skipped:
        typed = values.get("exceptions", "")
        ticked = ", ".join(date.fromisoformat(d).strftime("%d-%m-%Y") for d in skipped)
        values["exceptions"] = f"{typed}, {ticked}" if typed else ticked
    return values


def _preview_values() -> dict[str, Any]:
    """The form's fields to carry through the preview (the exceptions become its ticks)."""
    left_out = ("csrf_token", "step", "skip", "exceptions")
    return {k: v for k, v in form().items() if k not in left_out}


def _series_edit_values(series: StopSeries) -> dict[str, Any]:
    values: dict[str, Any] = {
        "start": series.start_time.strftime("%H:%M"),
        "end": series.end_time.strftime("%H:%M"),
        "last_date": series.last_date.isoformat(),
        "products": [str(p.id) for p in series.products],
        "capacity": "" if series.capacity is None else str(series.capacity),
        "note": series.note,
    }
    every = {p.id for p in series.products}
    for index, desk in enumerate(series.desks):
        values[f"desks-{index}-name"] = desk["name"]
        # A desk that does everything shows no ticks ("none: all"), so it follows the products.
        serves = [] if set(desk["products"]) == every else desk["products"]
        values[f"desks-{index}-products"] = [str(i) for i in serves]
    return values


def _series_page(series: StopSeries, status: int = 200, **context: Any) -> tuple[str, int]:
    service = series_service()
    context.setdefault("values", _series_edit_values(series))
    context.setdefault("errors", {})
    context.setdefault("skip_errors", {})
    remaining = service.remaining_stops(series)
    skippable = [
        day
        for day in series_rule(series).dates()
        if day >= service.today()
        and not any(
            service.local(s.starts_at).date() == day and s not in remaining for s in series.stops
        )
    ]
    return page(
        "admin/series.html",
        status,
        series=series,
        stops=series.stops,
        remaining=remaining,
        usage={s.id: service.usage(s) for s in series.stops},
        skippable=skippable,
        skippable_options=[(d.isoformat(), format_date(d, "EEEE d MMMM y")) for d in skippable],
        weekdays=weekday_names(),
        rows=max(DESK_ROWS, len(series.desks) + 1),
        offered=offerable(series.location, series.products),
        **context,
    )


@bp.route("/series/<int:series_id>", methods=["GET", "POST"])
@coordinator_required
def series_edit(series_id: int) -> Page:
    """A series: its stops, and changing the ones still to come."""
    service = series_service()
    series = service.series(series_id)
    if request.method == "GET":
        return _series_page(series)
    data = SeriesEdit(
        start=text_of("start"),
        end=text_of("end"),
        last_date=text_of("last_date"),
        products=list_of("products"),
        desks=desk_rows(),
        capacity=text_of("capacity"),
        note=text_of("note"),
    )
    return answer(
        lambda: service.update_series(series_id, data, actor=actor()),
        saved(
            _("De komende loketdagen van de reeks zijn aangepast."),
            url_for("admin.series_edit", series_id=series_id),
        ),
        **again(_series_page, lambda: service.series(series_id)),
    )


@bp.post("/series/<int:series_id>/skip")
@coordinator_required
def series_skip(series_id: int) -> Page:
    """Skip one date of a series (its stop goes, if nobody booked it)."""
    service = series_service()
    day = text_of("day")
    shown = format_date(date.fromisoformat(day), "EEEE d MMMM y") if _iso(day) else day
    return answer(
        lambda: service.skip_date(series_id, day, actor=actor()),
        saved(
            _("De reeks slaat %(date)s over.", date=shown),
            url_for("admin.series_edit", series_id=series_id),
        ),
        on_invalid=lambda error: _series_page(
            service.series(series_id), 422, skip_errors=field_errors(error)
        ),
        on_refused=lambda error: _series_page(
            service.series(series_id), error.status, refusal=tr(error.reason)
        ),
    )


def _iso(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


@bp.route("/series/<int:series_id>/cancel", methods=["GET", "POST"])
@coordinator_required
def series_cancel(series_id: int) -> Page:
    """Stop a series: its stops still to come go, after a confirmation."""
    service = series_service()
    series = service.series(series_id)
    return confirmed(
        _("Reeks stoppen"),
        _(
            "Wilt u de reeks in %(place)s stoppen? De loketdagen die nog komen, worden "
            "verwijderd. Loketdagen die al geweest zijn, blijven bewaard.",
            place=series.location.name,
        ),
        url_for("admin.series_cancel", series_id=series_id),
        url_for("admin.series_edit", series_id=series_id),
        lambda: service.cancel_series(series_id, actor=actor()),
        saved(
            lambda removed: ngettext(
                "De reeks is gestopt. %(num)s loketdag is verwijderd.",
                "De reeks is gestopt. %(num)s loketdagen zijn verwijderd.",
                removed,
            ),
            url_for("admin.series_edit", series_id=series_id),
        ),
        button=_("Ja, reeks stoppen"),
    )
