"""The catalogue the tour draws on: locations (the places the pop-up may visit, and the products
allowed at each) and products (what residents come for).

Something still in use is never deleted: a location with stops or a series stays for the
record, a product with tickets, bookings or stops is switched off instead (`active`).

A product has a name and a "what to bring" text per resident language (Dutch required, the
others optional: an empty one shows the Dutch text) and, optionally, a pictogram: one of
:data:`PRODUCT_ICONS`, SVG files of the MIT-licensed Tabler Icons (npm ``@tabler/icons``, pinned
in package-lock.json) that `make install` copies into ``static/vendor/icons/<name>.svg``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import selectinload

from kiosk.config import DEFAULTS
from kiosk.models import (
    Appointment,
    Location,
    Product,
    Slot,
    Stop,
    StopSeries,
    StopStatus,
    Ticket,
    TicketCounter,
    location_products,
    stop_products,
    stop_series_products,
)
from kiosk.payloads import location_payload, product_payload
from kiosk.services.base import SYSTEM, Actor
from kiosk.services.planning.base import Audited, PlanningService, product_codes
from kiosk.services.planning.forms import LocationInput, ProductInput
from kiosk.services.validation import (
    N_,
    Errors,
    InUse,
    coordinate_field,
    number_field,
    rolls_back,
    text,
    text_field,
)

CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
PREFIX = re.compile(r"^[A-Z]{1,2}$")
PRODUCT_MODES = ("walk_in", "both", "appointment")

#: The languages a product's name and "what to bring" can be written in (the residents' ones).
PRODUCT_LANGUAGES: tuple[str, ...] = tuple(DEFAULTS["LANGUAGES"])
#: Languages beyond the two that ProductInput has fields for (name_nl/en, bring_nl/en).
MORE_LANGUAGES: tuple[str, ...] = tuple(
    lang for lang in PRODUCT_LANGUAGES if lang not in ("nl", "en")
)

#: The pictograms a product can have: Tabler Icons' outline names. The Makefile's vendor recipe
#: copies exactly these (tests/test_product_icons.py holds the two lists together).
PRODUCT_ICONS: tuple[str, ...] = (
    "id",  # identity card, passport
    "package",  # collect a document
    "car",  # driving licence
    "steering-wheel",
    "parking",  # parking permit
    "baby-carriage",  # birth registration
    "rings",  # marriage, partnership
    "wheelchair",  # special assistance
    "home-move",  # moving house, change of address
    "file-text",  # a document, an extract
    "certificate",
    "calendar",  # appointments
    "trash",  # waste, bulky refuse
    "info-circle",  # questions, information
)


@dataclass
class ProductForm(ProductInput):
    """A product as the admin form sends it: ProductInput, plus the name and the "what to bring"
    text in the other resident languages (``{"tr": ...}``) and the pictogram ("" for none)."""

    names: Mapping[str, str] = field(default_factory=dict)
    bring: Mapping[str, str] = field(default_factory=dict)
    icon: str = ""


def _location_facts(location: Location) -> dict[str, Any]:
    """What the location's payload shows (the id is the event's own), and its products."""
    facts = location_payload(location)
    del facts["id"]
    return {**facts, "products": product_codes(location.allowed_products)}


def _product_facts(product: Product) -> dict[str, Any]:
    """What residents see of a product (its payload), and what only coordinators set."""
    return {
        **product_payload(product),
        "bookable": product.bookable,
        "sort_order": product.sort_order,
        "active": product.active,
        "icon": product.icon,
    }


LOCATION = Audited[Location]("location", "location", _location_facts)
PRODUCT = Audited[Product]("product", "product", _product_facts, lambda p: {"product_id": p.id})


class CatalogueService(PlanningService):
    """Adds, changes and removes locations and products."""

    def locations(self) -> list[Location]:
        """Every location, by name, with the products allowed there."""
        return list(
            self.session.scalars(
                select(Location)
                .options(selectinload(Location.allowed_products))
                .order_by(func.lower(Location.name))
            )
        )

    def location(self, location_id: int | str) -> Location:
        """The location with this id (NotFound if there is none)."""
        return self.fetch(Location, location_id, "There is no such location.")

    def products(self, *, active_only: bool = False) -> list[Product]:
        """Every product (or the active ones), in the kiosk's order."""
        query = select(Product).order_by(Product.sort_order, Product.id)
        if active_only:
            query = query.where(Product.active.is_(True))
        return list(self.session.scalars(query))

    def product(self, product_id: int | str) -> Product:
        """The product with this id (NotFound if there is none)."""
        return self.fetch(Product, product_id, "There is no such product.")

    # -- locations ----------------------------------------------------------------------------

    @rolls_back
    def create_location(self, data: LocationInput, *, actor: Actor = SYSTEM) -> Location:
        """A new place the pop-up may visit, with the products that may be offered there."""
        self.begin_write()
        return self._create(LOCATION, Location(**self._location_values(data, None)), actor)

    @rolls_back
    def update_location(
        self, location_id: int | str, data: LocationInput, *, actor: Actor = SYSTEM
    ) -> Location:
        """Change a location. A product still planned at one of its coming stops (or series)
        cannot be taken off its list."""
        self.begin_write()
        location = self.location(location_id)
        before = LOCATION.facts(location)
        values = self._location_values(data, location)
        removed = [p for p in location.allowed_products if p not in values["allowed_products"]]
        errors = Errors()
        for product in removed:
            stop = self.session.scalar(
                select(Stop)
                .join(stop_products, stop_products.c.stop_id == Stop.id)
                .where(
                    Stop.location_id == location.id,
                    stop_products.c.product_id == product.id,
                    Stop.ends_at > self.now(),
                    Stop.status != StopStatus.CLOSED,
                )
                .order_by(Stop.starts_at)
                .limit(1)
            )
            if stop is not None:
                errors.add(
                    "products",
                    N_(
                        "%(product)s staat nog op de loketdag van %(date)s hier. "
                        "Haal het product daar eerst weg."
                    ),
                    product=product.name("nl"),
                    date=self._day_of(stop.starts_at),
                )
        errors.raise_if_any()
        for key, value in values.items():
            setattr(location, key, value)
        return self._update(LOCATION, location, before, actor)

    @rolls_back
    def delete_location(self, location_id: int | str, *, actor: Actor = SYSTEM) -> None:
        """Remove a location that was never used; one with stops stays for the record."""
        self.begin_write()
        location = self.location(location_id)
        if self.session.scalar(select(func.count(Stop.id)).where(Stop.location_id == location.id)):
            raise InUse(
                text(
                    N_(
                        "Deze locatie heeft loketdagen (ook eerdere). Die blijven bewaard, "
                        "daarom kan de locatie niet weg. U kunt de gegevens wel aanpassen."
                    )
                )
            )
        if self.session.scalar(select(StopSeries.id).where(StopSeries.location_id == location.id)):
            raise InUse(
                text(N_("Deze locatie hoort bij een reeks loketdagen. Daarom kan zij niet weg."))
            )
        self._delete(LOCATION, location, actor)

    def _location_values(self, data: LocationInput, current: Location | None) -> dict[str, Any]:
        errors = Errors()
        name = text_field(
            errors, "name", data.name, 120, required=N_("Vul de naam van de locatie in.")
        )
        address = text_field(errors, "address", data.address, 200)
        neighbourhood = text_field(errors, "neighbourhood", data.neighbourhood, 80)
        latitude = coordinate_field(errors, "latitude", data.latitude, 90)
        longitude = coordinate_field(errors, "longitude", data.longitude, 180)
        if (latitude is None) != (longitude is None) and not (
            "latitude" in errors or "longitude" in errors
        ):
            missing = "longitude" if longitude is None else "latitude"
            errors.add(missing, N_("Vul de breedtegraad en de lengtegraad allebei in, of geen."))
        products = self._products_by_id(data.products)
        if name and "name" not in errors:
            clash = self.session.scalar(
                select(Location.id).where(
                    func.lower(Location.name) == name.lower(),
                    Location.id != (current.id if current else -1),
                )
            )
            if clash:
                errors.add("name", N_("Er is al een locatie met deze naam."))
        errors.raise_if_any()
        return {
            "name": name,
            "address": address,
            "neighbourhood": neighbourhood,
            "latitude": latitude,
            "longitude": longitude,
            "allowed_products": products,
        }

    # -- products -----------------------------------------------------------------------------

    @rolls_back
    def create_product(self, data: ProductInput, *, actor: Actor = SYSTEM) -> Product:
        """A new product: code, ticket letter, names and what to bring, length, how residents
        come (walk-in, appointment or both)."""
        self.begin_write()
        return self._create(PRODUCT, Product(**self._product_values(data, None)), actor)

    @rolls_back
    def update_product(
        self, product_id: int | str, data: ProductInput, *, actor: Actor = SYSTEM
    ) -> Product:
        """Change a product; its code stays (links and history use it). Switching it off keeps
        its history and hides it from new stops, the kiosk and booking."""
        self.begin_write()
        product = self.product(product_id)
        before = PRODUCT.facts(product)
        for key, value in self._product_values(data, product).items():
            setattr(product, key, value)
        return self._update(PRODUCT, product, before, actor)

    @rolls_back
    def delete_product(self, product_id: int | str, *, actor: Actor = SYSTEM) -> None:
        """Remove a product that was never used. One with tickets, bookings or stops stays:
        switch it off instead."""
        self.begin_write()
        product = self.product(product_id)
        used = (
            self.session.scalar(
                select(Ticket.id)
                .where(or_(Ticket.product_id == product.id, Ticket.series_product_id == product.id))
                .limit(1)
            )
            or self.session.scalar(
                select(TicketCounter.stop_id).where(TicketCounter.product_id == product.id).limit(1)
            )
            or self.session.scalar(
                select(Appointment.id).where(Appointment.product_id == product.id).limit(1)
            )
        )
        if used:
            raise InUse(
                text(
                    N_(
                        "Voor dit product zijn al nummers of afspraken gemaakt. Die blijven "
                        "bewaard, daarom kan het product niet weg. Zet het op niet actief: dan "
                        "ziet niemand het meer."
                    )
                )
            )
        planned = self.session.scalar(
            select(func.count())
            .select_from(stop_products)
            .where(stop_products.c.product_id == product.id)
        ) or self.session.scalar(
            select(func.count())
            .select_from(stop_series_products)
            .where(stop_series_products.c.product_id == product.id)
        )
        if planned:
            raise InUse(
                text(
                    N_(
                        "Dit product staat op loketdagen of in een reeks. Haal het daar eerst "
                        "weg, of zet het op niet actief."
                    )
                )
            )
        self._delete(PRODUCT, product, actor, remove=self._remove_product)

    def _product_values(self, data: ProductInput, current: Product | None) -> dict[str, Any]:
        errors = Errors()
        values: dict[str, Any] = {}
        if current is None:
            code = (data.code or "").strip().lower()
            if not CODE.match(code):
                errors.add(
                    "code",
                    N_(
                        "Een code heeft 2 tot 40 tekens: kleine letters, cijfers en streepjes, "
                        "bijvoorbeeld parkeervergunning."
                    ),
                )
            elif self.session.scalar(select(Product.id).where(Product.code == code)):
                errors.add("code", N_("Er is al een product met deze code."))
            values["code"] = code
        prefix = (data.prefix or "").strip().upper()
        if not PREFIX.match(prefix):
            errors.add("prefix", N_("Kies één of twee letters, bijvoorbeeld P."))
        elif self.session.scalar(
            select(Product.id).where(
                Product.prefix == prefix, Product.id != (current.id if current else -1)
            )
        ):
            errors.add("prefix", N_("Een ander product gebruikt deze letter al."))
        name_nl = text_field(
            errors, "name_nl", data.name_nl, 80, required=N_("Vul de naam in het Nederlands in.")
        )
        name_en = text_field(errors, "name_en", data.name_en, 80)
        bring_nl = text_field(errors, "bring_nl", data.bring_nl, 300)
        bring_en = text_field(errors, "bring_en", data.bring_en, 300)
        more_names, more_bring, icon = self._more_values(errors, data, current)
        duration = number_field(errors, "duration", data.duration, 1, 240, required=True)
        if data.mode not in PRODUCT_MODES:
            errors.add("mode", N_("Kies hoe bewoners voor dit product komen."))
        sort_order = number_field(errors, "sort_order", data.sort_order, 0, 999)
        errors.raise_if_any()
        if sort_order is None:
            sort_order = (
                current.sort_order
                if current is not None
                else (self.session.scalar(select(func.max(Product.sort_order))) or 0) + 1
            )
        names = {"nl": name_nl, **({"en": name_en} if name_en else {}), **more_names}
        bring = {
            **({"nl": bring_nl} if bring_nl else {}),
            **({"en": bring_en} if bring_en else {}),
            **more_bring,
        }
        values.update(
            prefix=prefix,
            names=names,
            bring=bring,
            duration_minutes=duration,
            walk_in=data.mode in ("walk_in", "both"),
            bookable=data.mode in ("both", "appointment"),
            appointment_required=data.mode == "appointment",
            sort_order=sort_order,
            active=bool(data.active),
            icon=icon,
        )
        return values

    def _more_values(
        self, errors: Errors, data: ProductInput, current: Product | None
    ) -> tuple[dict[str, str], dict[str, str], str | None]:
        """Names and "bring" texts in the languages beyond nl/en, and the icon. A plain
        ProductInput (no such fields) keeps what the product has."""
        if not isinstance(data, ProductForm):
            if current is None:
                return {}, {}, None
            keep = {k: v for k, v in current.names.items() if k in MORE_LANGUAGES}
            keep_bring = {k: v for k, v in current.bring.items() if k in MORE_LANGUAGES}
            return keep, keep_bring, current.icon
        names: dict[str, str] = {}
        bring: dict[str, str] = {}
        for lang in MORE_LANGUAGES:
            name = text_field(errors, f"name_{lang}", data.names.get(lang, ""), 80)
            if name:
                names[lang] = name
            what = text_field(errors, f"bring_{lang}", data.bring.get(lang, ""), 300)
            if what:
                bring[lang] = what
        icon = (data.icon or "").strip() or None
        if icon is not None and icon not in PRODUCT_ICONS:
            errors.add("icon", N_("Kies een van de pictogrammen, of geen pictogram."))
        return names, bring, icon

    def _remove_product(self, product: Product) -> None:
        """Delete a product with the locations' lists that name it and its (empty) slots."""
        self.session.execute(
            delete(location_products).where(location_products.c.product_id == product.id)
        )
        self.session.execute(delete(Slot).where(Slot.product_id == product.id))
        self.session.delete(product)
