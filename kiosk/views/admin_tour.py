"""Planning the tour (/admin): the overview, locations, products, stops with their desks and
slots, and recurring series of stops. Thin: each view reads the form, calls AdminService and
shows what it says (a page with field errors, a refusal with its reason, or a flash message)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.auth import coordinator_required
from kiosk.factories import admin_service, tour_service
from kiosk.i18n import local_time
from kiosk.models import Location, Product, Stop, StopSeries, StopStatus
from kiosk.services.admin import (
    DeskInput,
    LocationInput,
    ProductInput,
    SeriesEdit,
    SeriesInput,
    StopInput,
    series_rule,
)
from kiosk.services.errors import NotFound
from kiosk.services.validation import Invalid
from kiosk.views.admin_base import (
    DESK_ROWS,
    FormPage,
    Page,
    actor,
    again,
    answer,
    bp,
    checked,
    confirmed,
    desk_rows,
    field_errors,
    form,
    list_of,
    me,
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


@bp.errorhandler(NotFound)
def _not_found(_error: NotFound) -> tuple[str, int]:
    return render_template(
        "errors/error.html", status=404, message=_("Dit bestaat niet (meer).")
    ), 404


# -- overview -----------------------------------------------------------------------------------


@bp.get("")
@coordinator_required
def overview() -> str:
    """What is coming, and the latest changes (who, what, when)."""
    return render_template("admin/overview.html", overview=admin_service().overview())


@bp.get("/changes")
@coordinator_required
def changes() -> str:
    """Every change by coordinators and admins, newest first (the last 200)."""
    return render_template("admin/changes.html", changes=admin_service().changes(limit=200))


# -- locations ----------------------------------------------------------------------------------


def _location_input() -> LocationInput:
    return LocationInput(
        name=text_of("name"),
        address=text_of("address"),
        neighbourhood=text_of("neighbourhood"),
        latitude=text_of("latitude"),
        longitude=text_of("longitude"),
        products=list_of("products"),
    )


def _location_values(location: Location) -> dict[str, Any]:
    return {
        "name": location.name,
        "address": location.address,
        "neighbourhood": location.neighbourhood,
        "latitude": "" if location.latitude is None else str(location.latitude),
        "longitude": "" if location.longitude is None else str(location.longitude),
        "products": [str(p.id) for p in location.allowed_products],
    }


def _location_form(location: Location | None) -> FormPage:
    return FormPage(
        "admin/location_form.html", {"location": location, "products": admin_service().products()}
    )


@bp.get("/locations")
@coordinator_required
def locations() -> str:
    """Every place the pop-up visits, with the products allowed there."""
    return render_template("admin/locations.html", locations=admin_service().locations())


@bp.route("/locations/new", methods=["GET", "POST"])
@coordinator_required
def location_new() -> Page:
    """Add a location."""
    service = admin_service()
    form_page = _location_form(None)
    if request.method == "GET":
        return form_page.show({})
    return form_page.save(
        lambda: service.create_location(_location_input(), actor=actor()),
        saved(
            lambda location: _("Locatie %(name)s is toegevoegd.", name=location.name),
            url_for("admin.locations"),
        ),
    )


@bp.route("/locations/<int:location_id>", methods=["GET", "POST"])
@coordinator_required
def location_edit(location_id: int) -> Page:
    """Change a location."""
    service = admin_service()
    location = service.location(location_id)
    form_page = _location_form(location)
    if request.method == "GET":
        return form_page.show(_location_values(location))
    return form_page.save(
        lambda: service.update_location(location_id, _location_input(), actor=actor()),
        saved(
            lambda location: _("Locatie %(name)s is opgeslagen.", name=location.name),
            url_for("admin.locations"),
        ),
    )


@bp.route("/locations/<int:location_id>/delete", methods=["GET", "POST"])
@coordinator_required
def location_delete(location_id: int) -> Page:
    """Remove a location, after a confirmation; refused while it has stops."""
    service = admin_service()
    name = service.location(location_id).name
    return confirmed(
        _("Locatie verwijderen"),
        _("Wilt u de locatie %(name)s verwijderen?", name=name),
        url_for("admin.location_delete", location_id=location_id),
        url_for("admin.location_edit", location_id=location_id),
        lambda: service.delete_location(location_id, actor=actor()),
        saved(_("Locatie %(name)s is verwijderd.", name=name), url_for("admin.locations")),
    )


# -- products -----------------------------------------------------------------------------------


def _product_input() -> ProductInput:
    return ProductInput(
        code=text_of("code"),
        prefix=text_of("prefix"),
        name_nl=text_of("name_nl"),
        name_en=text_of("name_en"),
        bring_nl=text_of("bring_nl"),
        bring_en=text_of("bring_en"),
        duration=text_of("duration"),
        mode=text_of("mode"),
        sort_order=text_of("sort_order"),
        active=checked("active"),
    )


def _product_values(product: Product) -> dict[str, Any]:
    mode = (
        "appointment"
        if product.appointment_required
        else ("both" if product.bookable else "walk_in")
    )
    return {
        "code": product.code,
        "prefix": product.prefix,
        "name_nl": product.names.get("nl", ""),
        "name_en": product.names.get("en", ""),
        "bring_nl": product.bring.get("nl", ""),
        "bring_en": product.bring.get("en", ""),
        "duration": str(product.duration_minutes),
        "mode": mode,
        "sort_order": str(product.sort_order),
        "active": "1" if product.active else "",
    }


@bp.get("/products")
@coordinator_required
def products() -> str:
    """Every product, in the kiosk's order."""
    return render_template("admin/products.html", products=admin_service().products())


@bp.route("/products/new", methods=["GET", "POST"])
@coordinator_required
def product_new() -> Page:
    """Add a product."""
    form_page = FormPage("admin/product_form.html", {"product": None})
    if request.method == "GET":
        return form_page.show({"duration": "10", "mode": "walk_in", "active": "1"})
    return form_page.save(
        lambda: admin_service().create_product(_product_input(), actor=actor()),
        saved(
            lambda product: _("Product %(name)s is toegevoegd.", name=product.name("nl")),
            url_for("admin.products"),
        ),
    )


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
@coordinator_required
def product_edit(product_id: int) -> Page:
    """Change a product (its code stays)."""
    service = admin_service()
    product = service.product(product_id)
    form_page = FormPage("admin/product_form.html", {"product": product})
    if request.method == "GET":
        return form_page.show(_product_values(product))
    data = _product_input()
    data.code = product.code
    return form_page.save(
        lambda: service.update_product(product_id, data, actor=actor()),
        saved(
            lambda product: _("Product %(name)s is opgeslagen.", name=product.name("nl")),
            url_for("admin.products"),
        ),
        sent=lambda: {**form(), "code": product.code},
    )


@bp.route("/products/<int:product_id>/delete", methods=["GET", "POST"])
@coordinator_required
def product_delete(product_id: int) -> Page:
    """Remove a product that was never used, after a confirmation."""
    service = admin_service()
    name = service.product(product_id).name("nl")
    return confirmed(
        _("Product verwijderen"),
        _("Wilt u het product %(name)s verwijderen?", name=name),
        url_for("admin.product_delete", product_id=product_id),
        url_for("admin.product_edit", product_id=product_id),
        lambda: service.delete_product(product_id, actor=actor()),
        saved(_("Product %(name)s is verwijderd.", name=name), url_for("admin.products")),
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


def _chosen_location(raw: str | None) -> Location | None:
    if not raw or not raw.isdigit():
        return None
    try:
        return admin_service().location(int(raw))
    except NotFound:
        return None


def _new_desk_values() -> dict[str, Any]:
    return {"desks-0-name": _("Balie 1"), "desks-1-name": _("Balie 2")}


@bp.get("/stops")
@coordinator_required
def stops() -> str:
    """The stops to come (or, with ?past=1, those that passed)."""
    past = request.args.get("past") == "1"
    return render_template("admin/stops.html", stops=admin_service().stops(past=past), past=past)


@bp.route("/stops/new", methods=["GET", "POST"])
@coordinator_required
def stop_new() -> Page:
    """Plan a stop: first the location, then the rest (its products limited to the location's)."""
    service = admin_service()
    location = _chosen_location(request.values.get("location"))
    form_page = FormPage(
        "admin/stop_new.html",
        {"location": location, "locations": service.locations(), "rows": DESK_ROWS},
    )
    if location is None or request.method == "GET":
        return form_page.show(
            {
                "date": service.today().isoformat(),
                "products": _active_products(location),
                **_new_desk_values(),
            }
        )
    return form_page.save(
        lambda: service.create_stop(_stop_input(desks=True), actor=actor()),
        saved(
            lambda stop: _(
                "De loketdag in %(place)s op %(date)s is gepland.",
                place=stop.location.name,
                date=_local_day(stop),
            ),
            lambda stop: url_for("admin.stop_edit", stop_id=stop.id),
        ),
    )


def _active_products(location: Location | None) -> list[str]:
    """A new stop or series at a location offers its active products unless unticked."""
    return [str(p.id) for p in location.allowed_products if p.active] if location else []


def _local_day(stop: Stop) -> str:
    return local_time(stop.starts_at, "EEEE d MMMM y")


def _stop_values(stop: Stop) -> dict[str, Any]:
    service = admin_service()
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
    service = admin_service()
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
        locations=service.locations(),
        offered=_offerable(stop),
        **context,
    )


def _offerable(stop: Stop) -> list[Product]:
    """The products the edit form offers: those allowed at the location, and those on the stop."""
    found = {p.id: p for p in stop.location.allowed_products}
    found.update({p.id: p for p in stop.products})
    return sorted(found.values(), key=lambda p: (p.sort_order, p.id))


@bp.route("/stops/<int:stop_id>", methods=["GET", "POST"])
@coordinator_required
def stop_edit(stop_id: int) -> Page:
    """A stop: change it, its desks and slots, open or close it."""
    service = admin_service()
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
    stop = admin_service().stop(stop_id)
    tour = tour_service()
    if request.form.get("status") == "open" and stop.status == StopStatus.PLANNED:
        tour.open_stop(stop, actor=actor())
        flash(_("De loketdag is open. De kiosk geeft nu nummers."))
    elif request.form.get("status") == "closed" and stop.status == StopStatus.OPEN:
        tour.close_stop(stop, actor=actor())
        flash(_("De loketdag is gesloten. Wie al wacht, wordt nog geholpen."))
    return redirect(url_for("admin.stop_edit", stop_id=stop_id))


@bp.post("/stops/<int:stop_id>/slots")
@coordinator_required
def stop_slots(stop_id: int) -> Page:
    """Open bookable slots for the stop's bookable products."""
    service = admin_service()
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
    service = admin_service()
    stop = service.stop(stop_id)
    return confirmed(
        _("Loketdag verwijderen"),
        _(
            "Wilt u de loketdag in %(place)s op %(date)s verwijderen?",
            place=stop.location.name,
            date=_local_day(stop),
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
    service = admin_service()
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
    service = admin_service()
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
    service = admin_service()
    name = service.desk(service.stop(stop_id), desk_id).name
    return confirmed(
        _("Balie verwijderen"),
        _("Wilt u %(name)s verwijderen?", name=name),
        url_for("admin.desk_delete", stop_id=stop_id, desk_id=desk_id),
        url_for("admin.desk_edit", stop_id=stop_id, desk_id=desk_id),
        lambda: service.delete_desk(stop_id, desk_id, actor=actor()),
        saved(_("Balie %(name)s is verwijderd.", name=name), _desks_of(stop_id)),
    )


# -- series -------------------------------------------------------------------------------------


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
        "admin/series_list.html", series=admin_service().series_list(), weekdays=weekday_names()
    )


@bp.route("/series/new", methods=["GET", "POST"])
@coordinator_required
def series_new() -> Page:
    """A new series in two steps: the form, then its dates to check (and skip) before saving.

    The second step posts the same fields again with ``step=create``; ``step=edit`` goes back
    to the form with what was filled in."""
    service = admin_service()
    location = _chosen_location(request.values.get("location"))
    context = {
        "location": location,
        "locations": service.locations(),
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
                "products": _active_products(location),
                **_new_desk_values(),
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
    service = admin_service()
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
        offered=_series_offerable(series),
        **context,
    )


def _series_offerable(series: StopSeries) -> list[Product]:
    found = {p.id: p for p in series.location.allowed_products}
    found.update({p.id: p for p in series.products})
    return sorted(found.values(), key=lambda p: (p.sort_order, p.id))


@bp.route("/series/<int:series_id>", methods=["GET", "POST"])
@coordinator_required
def series_edit(series_id: int) -> Page:
    """A series: its stops, and changing the ones still to come."""
    service = admin_service()
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
    service = admin_service()
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
    service = admin_service()
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
