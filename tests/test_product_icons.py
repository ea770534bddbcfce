"""Product pictograms: the icon set shipped from npm (pinned, copied by the Makefile, never
committed), the `icon` column and its migration, the template macro, the API field, and the demo
products with icons and names in every resident language."""

from __future__ import annotations

import json
import re
from pathlib import Path

import marshmallow as ma
import pytest
import sqlalchemy as sa
from flask import render_template_string

from kiosk import migrate
from kiosk.config import DEFAULTS
from kiosk.database import make_engine
from kiosk.models import Product
from kiosk.services.planning.catalogue import (
    MORE_LANGUAGES,
    PRODUCT_ICONS,
    CatalogueService,
    ProductForm,
)
from kiosk.services.planning.forms import ProductInput
from kiosk.services.tour import DEMO_PRODUCTS, TourService
from kiosk.services.validation import Invalid

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "static" / "vendor" / "icons"


# -- the shipped set ---------------------------------------------------------------------------


def test_the_makefile_copies_exactly_the_product_icons():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("$(VENDOR):", 1)[1].split("\n\n", 1)[0]
    copied = re.findall(r"([a-z0-9-]+)\.svg", recipe)
    assert sorted(copied) == sorted(PRODUCT_ICONS)
    assert "cp node_modules/@tabler/icons/LICENSE" in recipe  # MIT: the licence travels along


def test_the_icon_package_is_pinned_exactly():
    package = json.loads((ROOT / "package.json").read_text())
    version = package["dependencies"]["@tabler/icons"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "pin with npm install --save-exact"
    lock = json.loads((ROOT / "package-lock.json").read_text())
    locked = lock["packages"]["node_modules/@tabler/icons"]
    assert locked["version"] == version and locked["license"] == "MIT"


def test_vendored_icons_are_ignored_by_git():
    assert "/static/vendor/" in (ROOT / ".gitignore").read_text().split()


@pytest.mark.skipif(not ICONS.is_dir(), reason="static/vendor/ not built: run make install")
@pytest.mark.parametrize("name", PRODUCT_ICONS)
def test_each_icon_is_installed_as_an_svg(name):
    svg = (ICONS / f"{name}.svg").read_text()
    assert svg.lstrip().startswith("<svg") and 'viewBox="0 0 24 24"' in svg
    assert "<script" not in svg


# -- the column and its migration --------------------------------------------------------------


def test_migration_0009_adds_and_removes_the_icon_column_keeping_the_products(tmp_path):
    url = f"sqlite:///{tmp_path / 'icons.db'}"
    migrate.upgrade(url, "0008")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO products (code, prefix, names, bring, duration_minutes, walk_in,"
                    " appointment_required, bookable, sort_order, active) VALUES ('x', 'X',"
                    " '{\"nl\": \"X\"}', '{}', 10, 1, 0, 0, 1, 1)"
                )
            )
        migrate.upgrade(url, "0009")
        assert migrate.current(url) == "0009"
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT icon FROM products")).scalar() is None
            conn.execute(sa.text("UPDATE products SET icon = 'car'"))
        migrate.downgrade(url, "0008")
        columns = {c["name"] for c in sa.inspect(engine).get_columns("products")}
        assert "icon" not in columns
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT code FROM products")).scalar() == "x"
    finally:
        engine.dispose()


# -- the service -------------------------------------------------------------------------------


def form(**changes: object) -> ProductForm:
    values: dict[str, object] = {
        "code": "verhuizen",
        "prefix": "V",
        "name_nl": "Verhuizing doorgeven",
        "duration": "5",
        "mode": "walk_in",
    }
    values.update(changes)
    return ProductForm(**values)  # type: ignore[arg-type]


def test_the_service_saves_an_icon_and_names_in_every_language(db):
    service = CatalogueService(db)
    made = service.create_product(
        form(icon="home-move", names={"ar": "الإبلاغ عن الانتقال", "xx": "ignored"})
    )
    assert made.icon == "home-move"
    assert made.names == {"nl": "Verhuizing doorgeven", "ar": "الإبلاغ عن الانتقال"}
    # A plain ProductInput (no icon or other languages) keeps what the product has.
    service.update_product(
        made.id,
        ProductInput(code="", prefix="V", name_nl="Verhuizen", duration="5", mode="walk_in"),
    )
    assert made.icon == "home-move" and made.names["ar"] == "الإبلاغ عن الانتقال"


@pytest.mark.parametrize("icon", ["rocket", "../../secret", "car.svg", "CAR"])
def test_the_service_refuses_an_icon_it_does_not_ship(db, icon):
    with pytest.raises(Invalid) as caught:
        CatalogueService(db).create_product(form(icon=icon))
    assert caught.value.errors["icon"].msgid == "Kies een van de pictogrammen, of geen pictogram."


def test_the_product_languages_follow_the_residents_languages():
    assert ("nl", "en", *MORE_LANGUAGES) == tuple(DEFAULTS["LANGUAGES"])


# -- the macro ---------------------------------------------------------------------------------

MACRO = '{% from "_icons.html" import product_icon %}[{{ product_icon(p, size=48) }}]'


def test_the_macro_draws_a_decorative_image_or_nothing(app):
    with app.test_request_context("/"):
        drawn = render_template_string(MACRO, p=Product(code="r", icon="car"))
        nothing = render_template_string(MACRO, p=Product(code="r", icon=None))
        from_payload = render_template_string(MACRO, p={"code": "r", "icon": "parking"})
    assert re.fullmatch(
        r'\[<img src="/static/vendor/icons/car\.svg\?v=[0-9a-f]{12}" alt="" class="product-icon"'
        r' width="48" height="48">\]',
        drawn,
    )
    assert nothing == "[]"
    assert 'src="/static/vendor/icons/parking.svg?v=' in from_payload


# -- the API -----------------------------------------------------------------------------------


def test_the_api_product_has_a_read_only_icon(app):
    from kiosk.views.api.schemas import ProductSchema

    with app.app_context():
        dumped = ProductSchema().dump({"code": "r", "prefix": "R", "names": {}, "icon": "car"})
    assert dumped["icon"] == "car"
    assert "icon" in ProductSchema().dump_fields and "icon" not in ProductSchema().load_fields


@pytest.mark.parametrize(
    ("language", "ok"), [("tr", True), ("ar", True), ("uk", True), ("xx", False)]
)
def test_a_booking_may_be_in_any_resident_language(app, language, ok):
    from kiosk.views.api.schemas import AppointmentRequest

    field = AppointmentRequest().fields["language"]
    with app.app_context():
        if ok:
            field.deserialize(language)
        else:
            with pytest.raises(ma.ValidationError, match="Must be one of: nl, en, tr, ar, pl, uk"):
                field.deserialize(language)


# -- the demo ----------------------------------------------------------------------------------


def test_demo_products_have_an_icon_and_every_resident_language():
    for spec in DEMO_PRODUCTS:
        assert spec["icon"] in PRODUCT_ICONS
        for key in ("names", "bring"):
            texts = spec[key]
            assert isinstance(texts, dict)
            assert set(texts) == set(DEFAULTS["LANGUAGES"]), (spec["code"], key)
            assert all(text.strip() for text in texts.values())


def test_the_demo_fills_in_icons_and_languages_an_older_demo_lacks(db, clock):
    old = Product(
        code="driving-licence",
        prefix="R",
        names={"nl": "Rijbewijs (eigen naam)", "en": "Driving licence"},
        bring={"nl": "Neem uw oude rijbewijs mee."},
    )
    db.add(old)
    db.commit()
    TourService(db, clock=clock).create_demo()
    db.refresh(old)
    assert old.icon == "car"
    assert old.names["nl"] == "Rijbewijs (eigen naam)"  # what a coordinator wrote stays
    assert old.names["uk"] == "Посвідчення водія"
    assert old.bring["nl"] == "Neem uw oude rijbewijs mee."
