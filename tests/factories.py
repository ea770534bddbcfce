"""Factories with sensible defaults: `make_stop(session, products="AHR")` and friends."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import Desk, DeviceKind, Location, Product, Stop, StopStatus, Ticket
from kiosk.services.accounts import AccountService
from kiosk.services.queue import QueueService
from kiosk.services.tour import DEMO_PRODUCTS

_SPECS = {str(spec["prefix"]): spec for spec in DEMO_PRODUCTS}


def make_product(session: Session, prefix: str = "A", **kw: Any) -> Product:
    """A product by prefix; the demo's A/H/R specs, or a generic one for other letters."""
    existing = session.scalar(select(Product).where(Product.prefix == prefix))
    if existing is not None:
        return existing
    spec: dict[str, Any] = dict(
        _SPECS.get(prefix)
        or {
            "code": f"product-{prefix.lower()}",
            "prefix": prefix,
            "names": {"nl": f"Product {prefix}", "en": f"Product {prefix}"},
            "duration_minutes": 10,
        }
    )
    spec.update(kw)
    product = Product(**spec)
    session.add(product)
    session.flush()
    return product


def make_stop(
    session: Session,
    *,
    now: datetime,
    products: str = "AHR",
    desks: dict[str, str] | None = None,
    status: StopStatus = StopStatus.OPEN,
    starts_in: timedelta = timedelta(hours=-1),
    hours: float = 8,
    location: str = "Bibliotheek Hoorn",
) -> Stop:
    """An open stop around `now` with products (by prefix) and desks {name: prefixes}."""
    items = [make_product(session, p) for p in products]
    loc = session.scalar(select(Location).where(Location.name == location))
    if loc is None:
        loc = Location(name=location, address="Wisselstraat 8", neighbourhood="Binnenstad")
        loc.allowed_products = list(items)
        session.add(loc)
    desks = desks if desks is not None else {"Balie 1": products, "Balie 2": products}
    desk_products = {name: [make_product(session, p) for p in ps] for name, ps in desks.items()}
    stop = Stop(
        location=loc,
        starts_at=now + starts_in,
        ends_at=now + starts_in + timedelta(hours=hours),
        status=status,
        products=items,
    )
    stop.desks = [Desk(name=name, products=items) for name, items in desk_products.items()]
    session.add(stop)
    session.commit()
    return stop


def desk_named(stop: Stop, name: str) -> Desk:
    return next(d for d in stop.desks if d.name == name)


def make_ticket(queue: QueueService, stop: Stop, product: str = "A", **kw: Any) -> Ticket:
    return queue.issue_ticket(stop, product, **kw)


def make_user(session: Session, username: str = "anna", role: str = "staff", **kw: Any):
    from kiosk.models import Role

    password = kw.pop("password", "correct horse battery")
    return AccountService(session).add_user(username, password, role=Role(role), **kw), password


# -- HTTP helpers (Flask test client) ---------------------------------------------------------


def csrf_token_in(html: str) -> str:
    field = re.search(r'<input[^>]*\bname="csrf_token"[^>]*>', html)
    assert field, "no CSRF token in the page"
    return re.search(r'\bvalue="([^"]+)"', field.group(0)).group(1)


def pair_browser(client: Any, accounts: AccountService, stop: Any, kind: str = "kiosk") -> str:
    """Pair the test client's 'browser' by the /pair flow; returns the page's CSRF token."""
    code = accounts.add_device(DeviceKind(kind), f"Browser {kind}", stop=stop).code
    token = csrf_token_in(client.get(f"/pair/{code}").get_data(as_text=True))
    response = client.post("/pair", data={"code": code, "csrf_token": token})
    assert response.status_code == 302
    return token


def make_bookable_stop(session: Session, clock: Any) -> Stop:
    """An open stop whose products A and R are bookable, with A's times opened (H is not
    bookable, R has no times yet)."""
    from kiosk.services.appointments import AppointmentService

    for prefix in "AR":
        make_product(session, prefix, bookable=True)
    stop = make_stop(session, now=clock.now)
    AppointmentService(session, clock=clock).open_slots(stop, stop.products[0])
    return stop
