"""The catalogue pages (/admin/locations, /admin/products): the places the pop-up visits with
the products allowed there, and the products themselves. Thin: each view reads the form, calls
CatalogueService and shows what it says."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _

from kiosk.auth import coordinator_required
from kiosk.factories import catalogue_service
from kiosk.models import Location, Product
from kiosk.services.planning import LocationInput
from kiosk.services.planning.catalogue import MORE_LANGUAGES, PRODUCT_ICONS, ProductForm
from kiosk.views.admin.base import (
    FormPage,
    Page,
    actor,
    bp,
    checked,
    confirmed,
    form,
    list_of,
    saved,
    text_of,
)

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
        "admin/location_form.html",
        {"location": location, "products": catalogue_service().products()},
    )


@bp.get("/locations")
@coordinator_required
def locations() -> str:
    """Every place the pop-up visits, with the products allowed there."""
    return render_template("admin/locations.html", locations=catalogue_service().locations())


@bp.route("/locations/new", methods=["GET", "POST"])
@coordinator_required
def location_new() -> Page:
    """Add a location."""
    service = catalogue_service()
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
    service = catalogue_service()
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
    service = catalogue_service()
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


def _product_input() -> ProductForm:
    return ProductForm(
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
        names={lang: text_of(f"name_{lang}") for lang in MORE_LANGUAGES},
        bring={lang: text_of(f"bring_{lang}") for lang in MORE_LANGUAGES},
        icon=text_of("icon"),
    )


def _icon_labels() -> dict[str, str]:
    """What each pictogram shows, in words (the label next to it in the form)."""
    labels = {
        "id": _("Identiteitskaart of paspoort"),
        "package": _("Pakketje: iets ophalen"),
        "car": _("Auto: rijbewijs"),
        "steering-wheel": _("Stuur: rijbewijs"),
        "parking": _("Parkeren"),
        "baby-carriage": _("Kinderwagen: geboorte"),
        "rings": _("Ringen: trouwen of partnerschap"),
        "wheelchair": _("Rolstoel: hulp en zorg"),
        "home-move": _("Huis met pijl: verhuizen"),
        "file-text": _("Document"),
        "certificate": _("Akte of verklaring"),
        "calendar": _("Kalender: afspraak"),
        "trash": _("Afvalbak: afval"),
        "info-circle": _("Informatie"),
    }
    return {name: labels.get(name, name) for name in PRODUCT_ICONS}


def _language_labels() -> dict[str, str]:
    """The other resident languages, named in the staff's language."""
    return {
        "tr": _("Turks"),
        "ar": _("Arabisch"),
        "pl": _("Pools"),
        "uk": _("Oekraïens"),
    }


def _product_page(product: Product | None) -> FormPage:
    return FormPage(
        "admin/product_form.html",
        {
            "product": product,
            "icons": _icon_labels(),
            "more_languages": {lang: _language_labels().get(lang, lang) for lang in MORE_LANGUAGES},
        },
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
        "icon": product.icon or "",
        **{f"name_{lang}": product.names.get(lang, "") for lang in MORE_LANGUAGES},
        **{f"bring_{lang}": product.bring.get(lang, "") for lang in MORE_LANGUAGES},
    }


@bp.get("/products")
@coordinator_required
def products() -> str:
    """Every product, in the kiosk's order."""
    return render_template("admin/products.html", products=catalogue_service().products())


@bp.route("/products/new", methods=["GET", "POST"])
@coordinator_required
def product_new() -> Page:
    """Add a product."""
    form_page = _product_page(None)
    if request.method == "GET":
        return form_page.show({"duration": "10", "mode": "walk_in", "active": "1"})
    return form_page.save(
        lambda: catalogue_service().create_product(_product_input(), actor=actor()),
        saved(
            lambda product: _("Product %(name)s is toegevoegd.", name=product.name("nl")),
            url_for("admin.products"),
        ),
    )


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
@coordinator_required
def product_edit(product_id: int) -> Page:
    """Change a product (its code stays)."""
    service = catalogue_service()
    product = service.product(product_id)
    form_page = _product_page(product)
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
    service = catalogue_service()
    name = service.product(product_id).name("nl")
    return confirmed(
        _("Product verwijderen"),
        _("Wilt u het product %(name)s verwijderen?", name=name),
        url_for("admin.product_delete", product_id=product_id),
        url_for("admin.product_edit", product_id=product_id),
        lambda: service.delete_product(product_id, actor=actor()),
        saved(_("Product %(name)s is verwijderd.", name=name), url_for("admin.products")),
    )
