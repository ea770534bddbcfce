"""What every coordinators' page shares: the blueprint and its guard, the navigation, the
plumbing between HTML forms and the services' field errors and refusals, and the helpers of the
stop and series forms.

A page's form is parsed here into the service's input, the service checks it; an `Invalid`
comes back as a text per field (shown at the field, with aria-describedby, and in a summary at
the top that links to each field), a `Refused` as one explanation. Texts from services are
Dutch msgids (kiosk.services.validation) translated here.

Every form goes the same way (`answer`): the use case runs; its field errors or refusal go back
to the page that sent the form, and what it gave is answered, mostly with a flash message and a
redirect (`saved`). `FormPage` is a page that is one form, `confirmed` a confirmation page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Response,
    flash,
    make_response,
    redirect,
    render_template,
    request,
)
from flask_babel import format_date, gettext
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from kiosk.auth import current_principal
from kiosk.factories import catalogue_service
from kiosk.i18n import current_language, local_time
from kiosk.models import Location, Product, Role, StaffUser, Stop
from kiosk.services.base import Actor
from kiosk.services.errors import NotFound
from kiosk.services.planning import DeskInput
from kiosk.services.validation import Invalid, Refused, Text, parse_id

bp = Blueprint("admin", __name__, url_prefix="/admin")

Page = str | tuple[str, int] | BaseResponse
T = TypeVar("T")


# Rows for new desks on the stop and series forms (empty rows are left out).
DESK_ROWS = 4

# The navigation's sections by the first word of the endpoint's view name.
SECTIONS = {
    "overview": "overview",
    "location": "locations",
    "locations": "locations",
    "product": "products",
    "products": "products",
    "stop": "stops",
    "stops": "stops",
    "desk": "stops",
    "series": "series",
    "user": "users",
    "users": "users",
    "device": "devices",
    "devices": "devices",
    "settings": "settings",
    "printers": "printers",
    "preview": "printers",
    "test": "printers",
    "slide": "slides",
    "slides": "slides",
}


@bp.context_processor
def _navigation() -> dict[str, Any]:
    view = (request.endpoint or "").partition(".")[2]
    return {
        "admin_section": SECTIONS.get(view.split("_")[0], ""),
        "is_admin": current_user.is_authenticated and current_user.has_role(Role.ADMIN),
        "product_options": product_options,
        "location_options": location_options,
    }


def location_options(locations: Iterable[Location]) -> list[tuple[str, str]]:
    return [(str(location.id), location.name) for location in locations]


def product_options(products: Iterable[Product]) -> list[tuple[str, str]]:
    """(id, "A – Paspoort of ID-kaart aanvragen") for checkboxes, in the page's language."""
    language = current_language()
    return [
        (str(p.id), f"{p.prefix} – {p.names.get(language) or p.names.get('nl') or p.code}")
        for p in products
    ]


@bp.errorhandler(NotFound)
def _not_found(_error: NotFound) -> tuple[str, int]:
    return render_template(
        "errors/error.html", status=404, message=gettext("Dit bestaat niet (meer).")
    ), 404


@bp.app_template_filter("change_value")
def change_value(value: Any) -> str:
    """A logged value, short and readable: lists joined, yes/no, "–" for nothing."""
    if value is None or value == "" or value == [] or value == {}:
        return "–"
    if isinstance(value, bool):
        return gettext("ja") if value else gettext("nee")
    if isinstance(value, list):
        shown = ", ".join(change_value(v) for v in value)
    elif isinstance(value, dict):
        shown = "; ".join(f"{k}: {change_value(v)}" for k, v in value.items())
    else:
        shown = str(value)
    return shown if len(shown) <= 80 else shown[:79] + "…"


@bp.app_template_filter("iso_date")
def iso_date(value: str, fmt: str = "d MMMM y") -> str:
    """An ISO date (as series keep their exceptions) in the page's language."""
    return str(format_date(date.fromisoformat(value), fmt))


def actor() -> Actor:
    return current_principal().actor


def me() -> StaffUser:
    user = current_principal().user
    assert user is not None, "coordinator_required comes first"
    return user


def tr(value: Text | str) -> str:
    """A service's text in the page's language (placeholders that are texts too, as well)."""
    if isinstance(value, str):
        return value
    params = {k: tr(v) if isinstance(v, Text) else v for k, v in value.params.items()}
    return gettext(value.msgid, **params) if params else gettext(value.msgid)


def field_errors(error: Invalid) -> dict[str, str]:
    return {name: tr(message) for name, message in error.errors.items()}


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """A page; a form with errors answers 422, a refusal 409."""
    return render_template(template, **context), status


def invalid(template: str, error: Invalid, **context: Any) -> tuple[str, int]:
    return page(template, 422, errors=field_errors(error), **context)


def refused(template: str, error: Refused, **context: Any) -> tuple[str, int]:
    return page(template, error.status, refusal=tr(error.reason), **context)


def answer(
    call: Callable[[], T],
    then: Callable[[T], Page],
    *,
    on_invalid: Callable[[Invalid], Page] | None = None,
    on_refused: Callable[[Refused], Page] | None = None,
) -> Page:
    """Run a form's use case: its field errors and its refusal go to the page that shows them
    (without one, they go up to the error handler); what it gave goes to `then`."""
    try:
        result = call()
    except Invalid as error:
        if on_invalid is None:
            raise
        return on_invalid(error)
    except Refused as error:
        if on_refused is None:
            raise
        return on_refused(error)
    return then(result)


def saved(
    message: str | Callable[[T], str], to: str | Callable[[T], str]
) -> Callable[[T], BaseResponse]:
    """The answer to a form that did its work: a flash message and a redirect, either of which
    may read what the use case gave (a new row's id, a changed name)."""

    def then(result: T) -> BaseResponse:
        flash(message(result) if callable(message) else message)
        return redirect(to(result) if callable(to) else to)

    return then


def again(show: Callable[..., Page], reload: Callable[[], Any]) -> dict[str, Callable[..., Page]]:
    """`answer`'s handlers for a page that shows its own form again, with what was typed and
    the field errors or the refusal: `show(row, status, **context)`, the row read anew by
    `reload` (the use case rolled back)."""
    return {
        "on_invalid": lambda error: show(reload(), 422, values=form(), errors=field_errors(error)),
        "on_refused": lambda error: show(
            reload(), error.status, values=form(), refusal=tr(error.reason)
        ),
    }


@dataclass(frozen=True)
class FormPage:
    """A page that is one form: shown with `values` (GET), or sent back with the field errors
    or the refusal and what was typed (`sent`), or saved."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)

    def show(self, values: dict[str, Any]) -> str:
        return render_template(self.template, values=values, errors={}, **self.context)

    def invalid(self, error: Invalid, values: dict[str, Any]) -> Page:
        return invalid(self.template, error, values=values, **self.context)

    def refused(self, error: Refused, values: dict[str, Any]) -> Page:
        return refused(self.template, error, values=values, errors={}, **self.context)

    def save(
        self,
        call: Callable[[], T],
        then: Callable[[T], Page],
        *,
        sent: Callable[[], dict[str, Any]] | None = None,
    ) -> Page:
        """Run the use case; on field errors or a refusal, the form again with `sent()` (by
        default the form as it was sent)."""
        typed = sent or form
        return answer(
            call,
            then,
            on_invalid=lambda error: self.invalid(error, typed()),
            on_refused=lambda error: self.refused(error, typed()),
        )


def confirmed(
    title: str,
    question: str,
    action: str,
    back: str,
    call: Callable[[], T],
    then: Callable[[T], Page],
    *,
    button: str | None = None,
) -> Page:
    """A confirmation page (admin/confirm.html): GET asks `question`, POST does it (`call`) or
    shows the refusal there."""
    context = {
        "title": title,
        "question": question,
        "action": action,
        "back": back,
        "button": button or gettext("Ja, verwijderen"),
    }
    if request.method == "GET":
        return render_template("admin/confirm.html", **context)
    return answer(
        call, then, on_refused=lambda error: refused("admin/confirm.html", error, **context)
    )


def form() -> dict[str, Any]:
    """The submitted form as the templates read it back: one value, or a list for checkboxes."""
    values: dict[str, Any] = {}
    for key in request.form:
        items = request.form.getlist(key)
        listed = key in LIST_FIELDS or key.endswith("-products")
        values[key] = items if len(items) > 1 or listed else items[0]
    return values


LIST_FIELDS = {"products", "weekdays", "skip"}


def text_of(name: str) -> str:
    return request.form.get(name, "")


def list_of(name: str) -> list[str]:
    return request.form.getlist(name)


def checked(name: str) -> bool:
    return request.form.get(name) in ("1", "on", "true")


def desk_rows(prefix: str = "desks") -> list[DeskInput]:
    """The desk rows of a stop or series form: desks-0-name, desks-0-products, …"""
    rows = []
    index = 0
    while f"{prefix}-{index}-name" in request.form and index < 20:
        rows.append(
            DeskInput(
                name=request.form.get(f"{prefix}-{index}-name", ""),
                products=request.form.getlist(f"{prefix}-{index}-products"),
            )
        )
        index += 1
    return rows


def no_store(response: Response | tuple[str, int] | str) -> Response:
    """A page with a secret shown once (a password, a pairing code): never cached."""
    made = make_response(response)
    made.headers["Cache-Control"] = "no-store"
    return made


# -- the stop and series forms ------------------------------------------------------------------


def chosen_location(raw: str | None) -> Location | None:
    """The location a new stop or series is for (?location=<id>), if it exists."""
    location_id = parse_id(raw)
    if location_id is None:
        return None
    try:
        return catalogue_service().location(location_id)
    except NotFound:
        return None


def active_products(location: Location | None) -> list[str]:
    """A new stop or series at a location offers its active products unless unticked."""
    return [str(p.id) for p in location.allowed_products if p.active] if location else []


def new_desk_values() -> dict[str, Any]:
    """The desk rows a new stop or series starts with."""
    return {"desks-0-name": gettext("Balie 1"), "desks-1-name": gettext("Balie 2")}


def offerable(location: Location, chosen: Iterable[Product]) -> list[Product]:
    """The products an edit form offers: those allowed at the location, and those a stop or
    series has now (even if the location no longer allows them)."""
    found = {p.id: p for p in location.allowed_products}
    found.update({p.id: p for p in chosen})
    return sorted(found.values(), key=lambda p: (p.sort_order, p.id))


def local_day(stop: Stop) -> str:
    """A stop's local day, written out ("dinsdag 1 december 2026")."""
    return local_time(stop.starts_at, "EEEE d MMMM y")
