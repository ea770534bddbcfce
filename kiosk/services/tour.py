"""The tour: which stop is open now, opening and closing stops, and the demo stop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import NamedTuple

from sqlalchemy import BindParameter, and_, bindparam, case, or_, select
from sqlalchemy.orm import selectinload

from kiosk.models import (
    BoardSlide,
    Desk,
    Location,
    Product,
    Stop,
    StopStatus,
    accepts_walk_ins,
    desk_products,
    stop_products,
)
from kiosk.payloads import StopContents, stop_payload
from kiosk.services.base import SYSTEM, Actor, LocalService, Pending
from kiosk.services.errors import NoOpenStop, NoStopToOpen, UnknownStop
from kiosk.services.rooms import stop_room
from kiosk.services.validation import is_id

# Names and "what to bring" in every resident language: Turkish, Polish and Ukrainian from the
# translators' glossaries (translations/<lang>/GLOSSARY.md); icons from PRODUCT_ICONS.
DEMO_PRODUCTS: list[dict[str, object]] = [
    {
        "code": "id-apply",
        "prefix": "A",
        "names": {
            "nl": "Paspoort of ID-kaart aanvragen",
            "en": "Apply for a passport or ID card",
            "tr": "Pasaport veya kimlik kartı başvurusu",
            "ar": "طلب جواز سفر أو بطاقة هوية",
            "pl": "Wniosek o paszport lub dowód osobisty",
            "uk": "Оформити паспорт або ID-картку",
        },
        "bring": {
            "nl": "Neem uw oude paspoort of ID-kaart mee en een pasfoto.",
            "en": "Bring your old passport or ID card and a passport photo.",
            "tr": "Eski pasaportunuzu veya kimlik kartınızı ve bir vesikalık fotoğraf getirin.",
            "ar": "أحضر جواز سفرك القديم أو بطاقة هويتك القديمة وصورة شخصية.",
            "pl": "Proszę zabrać stary paszport lub dowód osobisty oraz zdjęcie do dokumentu.",
            "uk": "Візьміть із собою старий паспорт або ID-картку і фото на паспорт.",
        },
        "duration_minutes": 15,
        "bookable": True,
        "sort_order": 1,
        "icon": "id",
    },
    {
        "code": "id-collect",
        "prefix": "H",
        "names": {
            "nl": "Paspoort of ID-kaart ophalen",
            "en": "Collect a passport or ID card",
            "tr": "Pasaport veya kimlik kartı teslim alma",
            "ar": "استلام جواز السفر أو بطاقة الهوية",
            "pl": "Odbiór paszportu lub dowodu osobistego",
            "uk": "Отримати паспорт або ID-картку",
        },
        "bring": {
            "nl": "Neem uw afhaalbewijs en uw oude document mee.",
            "en": "Bring your collection slip and your old document.",
            "tr": "Teslim alma belgenizi (afhaalbewijs) ve eski belgenizi getirin.",
            "ar": "أحضر إيصال الاستلام ووثيقتك القديمة.",
            "pl": "Proszę zabrać potwierdzenie odbioru i stary dokument.",
            "uk": "Візьміть із собою квитанцію на отримання і старий документ.",
        },
        "duration_minutes": 5,
        "sort_order": 2,
        "icon": "package",
    },
    {
        "code": "driving-licence",
        "prefix": "R",
        "names": {
            "nl": "Rijbewijs",
            "en": "Driving licence",
            "tr": "Ehliyet (sürücü belgesi)",
            "ar": "رخصة القيادة",
            "pl": "Prawo jazdy",
            "uk": "Посвідчення водія",
        },
        "bring": {
            "nl": "Neem uw oude rijbewijs en een pasfoto mee.",
            "en": "Bring your old driving licence and a passport photo.",
            "tr": "Eski ehliyetinizi ve bir vesikalık fotoğraf getirin.",
            "ar": "أحضر رخصة قيادتك القديمة وصورة شخصية.",
            "pl": "Proszę zabrać stare prawo jazdy i zdjęcie do dokumentu.",
            "uk": "Візьміть із собою старе посвідчення водія і фото на паспорт.",
        },
        "duration_minutes": 10,
        "bookable": True,
        "sort_order": 3,
        "icon": "car",
    },
]


def _fill_in_demo(product: Product, spec: dict[str, object]) -> None:
    """Give an existing demo product the languages and icon it lacks (a demo made by an older
    version); what a coordinator changed stays."""
    for key in ("names", "bring"):
        given = spec[key]
        assert isinstance(given, dict)
        current: dict[str, str] = getattr(product, key)
        if not set(given) <= set(current):
            setattr(product, key, {**given, **current})
    if product.icon is None:
        product.icon = str(spec["icon"])


# The public read of the open stop (GET /api/v1/stops/current, every kiosk and phone): statements
# built once with bound parameters, so that each run reuses its cache key and compiled form (as
# kiosk.services.queue.statements does). Those of the stop's contents select table columns, not
# mapped attributes: plain Core statements and rows, without the ORM's per-statement work.
# Products and desks come in the order of Stop.products and Stop.desks; products of equal sort
# order by id.
_NOW: BindParameter[datetime] = bindparam("now")
# Which open stop is "the" open one: the one whose window holds now, else the one that started
# last.
_OPEN_STOP_ORDER = (
    case((Stop.starts_at <= _NOW, 0), else_=1),
    case((Stop.ends_at > _NOW, 0), else_=1),
    Stop.starts_at.desc(),
)
CURRENT_STOP = (
    select(Stop).where(Stop.status == StopStatus.OPEN).order_by(*_OPEN_STOP_ORDER).limit(1)
)
_LOCATION = Location.__table__.c
_PRODUCT = Product.__table__.c
_DESK = Desk.__table__.c
_STOP = Stop.__table__.c
# The stop and its place in one row: StopRow's columns, then LocationRow's.
_STOP_AND_PLACE = select(
    _STOP.id,
    _STOP.starts_at,
    _STOP.ends_at,
    _STOP.status,
    _STOP.phone_join,
    _LOCATION.id,
    _LOCATION.name,
    _LOCATION.address,
    _LOCATION.neighbourhood,
    _LOCATION.latitude,
    _LOCATION.longitude,
).join(Location.__table__, _LOCATION.id == _STOP.location_id)
STOP_BY_ID = _STOP_AND_PLACE.where(_STOP.id == bindparam("stop_id"))
OPEN_STOP = (
    _STOP_AND_PLACE.where(_STOP.status == StopStatus.OPEN).order_by(*_OPEN_STOP_ORDER).limit(1)
)
STOP_PRODUCTS = (
    select(
        _PRODUCT.code,
        _PRODUCT.prefix,
        _PRODUCT.names,
        _PRODUCT.bring,
        _PRODUCT.icon,
        _PRODUCT.duration_minutes,
        _PRODUCT.walk_in,
        _PRODUCT.appointment_required,
    )
    .join(stop_products, stop_products.c.product_id == _PRODUCT.id)
    .where(stop_products.c.stop_id == bindparam("stop_id"))
    .order_by(_PRODUCT.sort_order, _PRODUCT.id)
)
# One row per desk and product it serves; a desk that serves none has one, with a null code.
STOP_DESKS = (
    select(_DESK.id, _DESK.name, _DESK.active, _DESK.paused_at, _PRODUCT.code)
    .outerjoin(desk_products, desk_products.c.desk_id == _DESK.id)
    .outerjoin(Product.__table__, _PRODUCT.id == desk_products.c.product_id)
    .where(_DESK.stop_id == bindparam("stop_id"))
    .order_by(_DESK.id, _PRODUCT.sort_order, _PRODUCT.id)
)


class StopRow(NamedTuple):
    """A stop as its payload shows it (`kiosk.payloads.stop_contents_payload`), without the
    ORM."""

    id: int
    starts_at: datetime
    ends_at: datetime
    status: StopStatus
    phone_join: bool

    def accepts_walk_ins(self, now: datetime) -> bool:
        """`Stop.accepts_walk_ins`: the same rule."""
        return accepts_walk_ins(self.status, self.ends_at, now)


class LocationRow(NamedTuple):
    """A stop's place as its payload shows it (`kiosk.payloads.location_payload`)."""

    id: int
    name: str
    address: str
    neighbourhood: str
    latitude: float | None
    longitude: float | None


class DeskRow(NamedTuple):
    """A desk as its payload shows it (`kiosk.payloads.desk_payload`), without the ORM."""

    id: int
    name: str
    active: bool
    paused_at: datetime | None


@dataclass(frozen=True)
class DemoResult:
    """The demo stop `create_demo` left open today; `created` is False when it reused one."""

    stop: Stop
    created: bool


class TourService(LocalService):
    """Plans and runs stops. Local days use the configured time zone; storage is UTC."""

    def current_stop(self) -> Stop:
        """The open stop: the one whose window holds now, else the one that started last."""
        stop = self.session.scalar(CURRENT_STOP, {"now": self.now()})
        if stop is None:
            raise NoOpenStop()
        return stop

    def stop_contents(self, stop_id: int | None = None) -> StopContents:
        """The stop with this id (`UnknownStop`), else the open one as `current_stop` chooses it
        (`NoOpenStop`), with its place, its products and each desk's product codes, for its
        payload (`kiosk.payloads.stop_contents_payload`): three statements whatever the number
        of desks, as plain rows, read now, so another process's change shows in the next read."""
        if stop_id is None:
            row = self.run(OPEN_STOP, {"now": self.now()}).first()
            if row is None:
                raise NoOpenStop()
        else:
            row = self.run(STOP_BY_ID, {"stop_id": stop_id}).first() if is_id(stop_id) else None
            if row is None:
                raise UnknownStop()
        stop, location = StopRow(*row[:5]), LocationRow(*row[5:])
        products = self.run(STOP_PRODUCTS, {"stop_id": stop.id}).all()
        desks: list[tuple[DeskRow, list[str]]] = []
        for desk_id, name, active, paused_at, code in self.run(STOP_DESKS, {"stop_id": stop.id}):
            if not desks or desks[-1][0].id != desk_id:
                desks.append((DeskRow(desk_id, name, active, paused_at), []))
            if code is not None:
                desks[-1][1].append(code)
        return StopContents(stop, location, products, desks)

    def stop_to_open(self) -> Stop:
        """The stop "open" means when none is named: the one running now or still to come
        today, even if staff closed it (a break, a mistake), else the next planned stop.
        `NoStopToOpen` when there is neither."""
        now = self.now()
        tomorrow = datetime.combine(self.today() + timedelta(days=1), time(), tzinfo=self.tz)
        stop = self.session.scalar(
            select(Stop)
            .where(
                Stop.ends_at > now,
                or_(
                    Stop.status == StopStatus.PLANNED,
                    and_(Stop.status == StopStatus.CLOSED, Stop.starts_at < tomorrow),
                ),
            )
            .order_by(case((Stop.starts_at <= now, 0), else_=1), Stop.starts_at)
            .limit(1)
        )
        if stop is None:
            raise NoStopToOpen()
        return stop

    def next_stops(self, limit: int = 5) -> list[Stop]:
        """Stops still to come or running now, soonest first."""
        return list(
            self.session.scalars(
                select(Stop)
                .where(Stop.ends_at > self.now(), Stop.status != StopStatus.CLOSED)
                .order_by(Stop.starts_at)
                .limit(limit)
            )
        )

    def schedule(
        self, *, product: Product | None = None, days: int = 92, limit: int = 500
    ) -> list[Stop]:
        """The public tour: stops still to come or running now within `days`, soonest first,
        with their place and products loaded; only those offering `product` if given."""
        now = self.now()
        query = (
            select(Stop)
            .where(
                Stop.ends_at > now,
                Stop.starts_at < now + timedelta(days=days),
                Stop.status != StopStatus.CLOSED,
            )
            .options(selectinload(Stop.location), selectinload(Stop.products))
            .order_by(Stop.starts_at, Stop.id)
            .limit(limit)
        )
        if product is not None:
            query = query.join(stop_products, stop_products.c.stop_id == Stop.id).where(
                stop_products.c.product_id == product.id
            )
        found = list(self.session.scalars(query))
        self.end_read()
        return found

    def next_stops_offering(self, product: Product, *, limit: int = 3) -> list[Stop]:
        """The coming (or running) stops where this product is offered, soonest first."""
        return list(
            self.session.scalars(
                select(Stop)
                .join(stop_products, stop_products.c.stop_id == Stop.id)
                .where(
                    stop_products.c.product_id == product.id,
                    Stop.ends_at > self.now(),
                    Stop.status != StopStatus.CLOSED,
                )
                .order_by(Stop.starts_at)
                .limit(limit)
            )
        )

    def next_opening(self, stop: Stop | None) -> Stop | None:
        """When and where the pop-up is open next, for a closed kiosk: its own stop if that
        opens later (today's later hours), else the next stop at the same place, else the
        next stop anywhere. Stops closed by staff do not count."""
        now = self.now()
        later = [s for s in self.next_stops(limit=20) if s.starts_at > now]
        if stop is not None:
            if any(s.id == stop.id for s in later):
                return stop
            here = [s for s in later if s.location_id == stop.location_id]
            later = here or later
        return next(iter(later), None)

    def opens_today(self, stop: Stop) -> bool:
        """Whether `stop` opens on today's local date (a closed kiosk says "today" then)."""
        return self.local(stop.starts_at).date() == self.today()

    def active_products(self) -> list[Product]:
        """The products residents can come for, in the kiosk's order."""
        return list(
            self.session.scalars(
                select(Product).where(Product.active.is_(True)).order_by(Product.sort_order)
            )
        )

    def products_elsewhere(self, stop: Stop) -> list[Product]:
        """Active products that this stop does not offer (for "Niet gevonden wat u zoekt?")."""
        offered = {p.id for p in stop.products}
        return [p for p in self.active_products() if p.id not in offered]

    def open_stop(self, stop: Stop, *, actor: Actor = SYSTEM) -> Stop:
        """Open a stop for tickets now (staff may open before the planned time)."""
        return self._set_status(stop, StopStatus.OPEN, "stop.open", actor)

    def close_stop(self, stop: Stop, *, actor: Actor = SYSTEM) -> Stop:
        """Close a stop: no new tickets; the people already waiting are still served."""
        return self._set_status(stop, StopStatus.CLOSED, "stop.close", actor)

    def _set_status(self, stop: Stop, status: StopStatus, action: str, actor: Actor) -> Stop:
        self.begin_write()
        stop.status = status
        self.log(action, actor, object_type="stop", object_id=stop.id, stop_id=stop.id)
        pending = Pending()
        pending.add("stop_updated", stop_payload(stop, now=self.now()), stop_room(stop.id))
        self.commit(pending)
        return stop

    def create_demo(self, *, hours: int = 8, actor: Actor = SYSTEM) -> DemoResult:
        """The README's demo: Bibliotheek Hoorn, open now, products A/H/R, Balie 1 and 2.

        Running it again reuses what exists and keeps one demo stop open today.
        """
        self.begin_write()
        products = []
        for spec in DEMO_PRODUCTS:
            product = self.session.scalar(select(Product).where(Product.code == spec["code"]))
            if product is None:
                product = Product(**spec)
                self.session.add(product)
            else:
                _fill_in_demo(product, spec)
            products.append(product)
        location = self.session.scalar(select(Location).where(Location.name == "Bibliotheek Hoorn"))
        if location is None:
            location = Location(
                name="Bibliotheek Hoorn",
                address="Wisselstraat 8, 1621 CS Hoorn",
                neighbourhood="Binnenstad",
                latitude=52.6413,
                longitude=5.0594,
                allowed_products=products,
            )
            self.session.add(location)
        self.session.flush()

        now = self.now()
        existing = self.session.scalar(
            select(Stop).where(
                Stop.location_id == location.id, Stop.starts_at <= now, Stop.ends_at > now
            )
        )
        if existing is not None:
            if existing.status != StopStatus.OPEN:
                existing.status = StopStatus.OPEN
            self.session.commit()
            return DemoResult(existing, created=False)

        local = now.astimezone(self.tz)
        starts = local.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        stop = Stop(
            location=location,
            starts_at=starts,
            ends_at=starts + timedelta(hours=hours + 1),
            status=StopStatus.OPEN,
            products=products,
            note="Demo",
        )
        stop.desks = [
            Desk(name="Balie 1", products=list(products)),
            Desk(name="Balie 2", products=list(products)),
        ]
        self.session.add(stop)
        self.session.flush()
        self.log("stop.create", actor, object_type="stop", object_id=stop.id, stop_id=stop.id)
        self._demo_slide(actor)
        self.session.commit()
        return DemoResult(stop, created=True)

    def _demo_slide(self, actor: Actor) -> None:
        """The board's first information slide, for every stop: what to bring for a passport."""
        if self.session.scalar(select(BoardSlide.id).limit(1)) is not None:
            return
        spec = DEMO_PRODUCTS[0]
        slide = BoardSlide(
            stop_id=None,
            icon=spec["icon"],
            texts=dict(spec["bring"]),  # type: ignore[call-overload]
            sort_order=1,
            active=True,
            created_at=self.now(),
        )
        self.session.add(slide)
        self.session.flush()
        self.log("slide.create", actor, object_type="slide", object_id=slide.id)
