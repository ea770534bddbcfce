"""Stops, one at a time: planning a stop (a location on a date with an opening window, its
products and desks), changing or removing it, opening its bookable slots; and its desks.

A stop with tickets or bookings stays for the record; a desk that served someone is switched
off (`active`) instead of removed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kiosk.models import ACTIVE_AT_DESK, Desk, Product, Slot, Stop, StopStatus, Ticket
from kiosk.services.base import SYSTEM, Actor
from kiosk.services.errors import NotFound
from kiosk.services.planning.base import Audited, product_codes
from kiosk.services.planning.forms import DeskInput, StopInput
from kiosk.services.planning.shaping import StopShaping
from kiosk.services.validation import (
    N_,
    Errors,
    InUse,
    Refused,
    date_field,
    id_list,
    number_field,
    rolls_back,
    text,
    text_field,
)


def _stop_facts(stop: Stop) -> dict[str, Any]:
    return {
        "location": stop.location.name if stop.location else None,
        "starts_at": stop.starts_at.isoformat(),
        "ends_at": stop.ends_at.isoformat(),
        "products": product_codes(stop.products),
        "desks": [d.name for d in stop.desks],
        "capacity": stop.capacity,
        "note": stop.note,
    }


def _desk_facts(desk: Desk) -> dict[str, Any]:
    return {"name": desk.name, "products": product_codes(desk.products), "active": desk.active}


STOP = Audited[Stop]("stop", "stop", _stop_facts, lambda s: {"stop_id": s.id})
DESK = Audited[Desk]("desk", "desk", _desk_facts, lambda d: {"stop_id": d.stop_id})


class StopService(StopShaping):
    """Plans single stops, their desks and their bookable slots."""

    # -- reads --------------------------------------------------------------------------------

    def stops(self, *, past: bool = False, limit: int = 200) -> list[Stop]:
        """Stops still to come (or running), soonest first; or the ones that ended, latest first."""
        now = self.now()
        query = select(Stop).options(
            selectinload(Stop.location), selectinload(Stop.products), selectinload(Stop.desks)
        )
        if past:
            query = query.where(Stop.ends_at <= now).order_by(Stop.starts_at.desc())
        else:
            query = query.where(Stop.ends_at > now).order_by(Stop.starts_at)
        return list(self.session.scalars(query.limit(limit)))

    def stop(self, stop_id: int | str) -> Stop:
        """The stop with this id (NotFound if there is none)."""
        return self.fetch(Stop, stop_id, "There is no such stop.")

    def desk(self, stop: Stop, desk_id: int | str) -> Desk:
        """The desk with this id at this stop (NotFound if there is none)."""
        found = self.fetch(Desk, desk_id, "There is no such desk.")
        if found.stop_id != stop.id:
            raise NotFound("There is no such desk.")
        return found

    def slot_counts(self, stop: Stop) -> dict[int, tuple[int, int]]:
        """Per product id: (slots, places booked) at this stop."""
        rows = self.session.execute(
            select(Slot.product_id, func.count(Slot.id), func.coalesce(func.sum(Slot.booked), 0))
            .where(Slot.stop_id == stop.id)
            .group_by(Slot.product_id)
        ).all()
        return {product_id: (count, int(booked)) for product_id, count, booked in rows}

    # -- stops --------------------------------------------------------------------------------

    @rolls_back
    def create_stop(self, data: StopInput, *, actor: Actor = SYSTEM) -> Stop:
        """Plan a stop: a location on a date with a local opening window, its products (only
        those allowed at the location) and desks. Bookable slots are opened when asked."""
        self.begin_write()
        errors = Errors()
        location = self._location_field(errors, data.location)
        day = date_field(errors, "date", data.date)
        if day is not None and day < self.today():
            errors.add("date", N_("Deze datum is al voorbij."))
        window = self._window(errors, day, data.start, data.end)
        offer = self._offer(errors, location, data, slot_capacity=data.slot_capacity)
        self._check_clash(errors, location, window)
        errors.raise_if_any()
        assert location is not None and window is not None
        stop = self._create(STOP, self._build_stop(location, window, offer), actor)
        if data.open_slots:
            self._open_slots([stop], offer.slot_capacity, actor)
        return stop

    @rolls_back
    def update_stop(self, stop_id: int | str, data: StopInput, *, actor: Actor = SYSTEM) -> Stop:
        """Change a stop's place, date, window, products, capacity or note. A closed stop stays
        as it was; nothing is changed that people waiting or booked depend on."""
        self.begin_write()
        stop = self.stop(stop_id)
        if stop.status == StopStatus.CLOSED:
            raise Refused(
                text(N_("Deze loketdag is gesloten. Een gesloten loketdag kunt u niet wijzigen."))
            )
        errors = Errors()
        location = self._location_field(errors, data.location)
        day = date_field(errors, "date", data.date)
        old_day = self.local(stop.starts_at).date()
        if day is not None and day != old_day and day < self.today():
            errors.add("date", N_("Deze datum is al voorbij."))
        window = self._window(errors, day, data.start, data.end)
        offer = self._offer(errors, location, data, desks=False)
        self._check_clash(errors, location, window, besides=stop)
        errors.raise_if_any()
        assert location is not None and window is not None
        if location.id != stop.location_id and self.usage(stop).used:
            raise Refused(
                text(
                    N_(
                        "Voor deze loketdag zijn al nummers of afspraken gemaakt. Daarom kan de "
                        "locatie niet meer veranderen."
                    )
                )
            )
        before = STOP.facts(stop)
        self._reshape(stop, window, offer.products)
        stop.location = location
        stop.capacity = offer.capacity
        stop.note = offer.note
        return self._update(STOP, stop, before, actor)

    @rolls_back
    def delete_stop(self, stop_id: int | str, *, actor: Actor = SYSTEM) -> None:
        """Remove a stop nobody used. A stop of a series leaves its date as an exception, so an
        edit of the series does not bring it back."""
        self.begin_write()
        stop = self.stop(stop_id)
        if stop.status == StopStatus.OPEN:
            raise Refused(text(N_("Deze loketdag is open. Sluit hem eerst.")))
        if self.usage(stop).used:
            raise InUse(
                text(
                    N_(
                        "Voor deze loketdag zijn al nummers of afspraken gemaakt. Die blijven "
                        "bewaard, daarom kan de loketdag niet weg. Zeg de afspraken af en sluit "
                        "de loketdag, of pas hem aan."
                    )
                )
            )
        series = stop.series
        if series is not None:
            day = self.local(stop.starts_at).date().isoformat()
            series.exceptions = sorted({*series.exceptions, day})
        self._delete(
            STOP, stop, actor, remove=self._remove_stop, series=series.id if series else None
        )

    @rolls_back
    def open_slots(self, stop_id: int | str, capacity: str = "", *, actor: Actor = SYSTEM) -> int:
        """Open bookable slots for the stop's bookable products (places: `capacity`, or the
        desks serving each product); returns how many new slots there are."""
        stop = self.stop(stop_id)
        errors = Errors()
        places = number_field(errors, "slot_capacity", capacity, 1, 50)
        errors.raise_if_any()
        if stop.status == StopStatus.CLOSED or stop.ends_at <= self.now():
            raise Refused(text(N_("Deze loketdag is voorbij of gesloten.")))
        if not [p for p in stop.products if p.bookable or p.appointment_required]:
            raise Refused(
                text(N_("Op deze loketdag is geen product waarvoor men een afspraak maakt."))
            )
        return self._open_slots([stop], places, actor)

    # -- desks --------------------------------------------------------------------------------

    @rolls_back
    def add_desk(self, stop_id: int | str, data: DeskInput, *, actor: Actor = SYSTEM) -> Desk:
        """A new desk at a stop, serving some (or, left empty, all) of the stop's products."""
        self.begin_write()
        stop = self.stop(stop_id)
        name, serves = self._desk_values(stop, data, None)
        desk = Desk(stop=stop, name=name, products=serves, active=bool(data.active))
        return self._create(DESK, desk, actor)

    @rolls_back
    def update_desk(
        self, stop_id: int | str, desk_id: int | str, data: DeskInput, *, actor: Actor = SYSTEM
    ) -> Desk:
        """Rename a desk, change what it serves, or switch it off (not while it serves)."""
        self.begin_write()
        stop = self.stop(stop_id)
        desk = self.desk(stop, desk_id)
        before = DESK.facts(desk)
        name, serves = self._desk_values(stop, data, desk)
        if desk.active and not data.active and self._at_desk(desk):
            raise Refused(text(N_("Aan deze balie wordt nu iemand geholpen. Rond dat eerst af.")))
        desk.name, desk.products, desk.active = name, serves, bool(data.active)
        return self._update(DESK, desk, before, actor)

    @rolls_back
    def delete_desk(self, stop_id: int | str, desk_id: int | str, *, actor: Actor = SYSTEM) -> None:
        """Remove a desk that never called a ticket; otherwise switch it off instead."""
        self.begin_write()
        stop = self.stop(stop_id)
        desk = self.desk(stop, desk_id)
        if self.session.scalar(select(Ticket.id).where(Ticket.desk_id == desk.id).limit(1)):
            raise InUse(
                text(
                    N_(
                        "Aan deze balie zijn al mensen geholpen. Dat blijft bewaard, daarom kan "
                        "de balie niet weg. Zet de balie op niet actief."
                    )
                )
            )
        self._delete(DESK, desk, actor, remove=self._remove_desk)

    def _desk_values(
        self, stop: Stop, data: DeskInput, current: Desk | None
    ) -> tuple[str, list[Product]]:
        """The desk form's name (unique at the stop) and products (the stop's; none: all)."""
        errors = Errors()
        name = text_field(errors, "name", data.name, 40, required=N_("Geef deze balie een naam."))
        if name and any(d.name.lower() == name.lower() and d is not current for d in stop.desks):
            errors.add("name", N_("Er is op deze loketdag al een balie met deze naam."))
        offered = {p.id: p for p in stop.products}
        ids = id_list(data.products)
        if any(i not in offered for i in ids):
            errors.add("products", N_("Een balie doet alleen producten die op de loketdag staan."))
        errors.raise_if_any()
        return name, [offered[i] for i in ids] or list(stop.products)

    def _at_desk(self, desk: Desk) -> bool:
        """Whether someone is being called or served at this desk now."""
        return bool(
            self.session.scalar(
                select(Ticket.id)
                .where(Ticket.desk_id == desk.id, Ticket.status.in_(ACTIVE_AT_DESK))
                .limit(1)
            )
        )

    def _remove_desk(self, desk: Desk) -> None:
        desk.stop.desks.remove(desk)
        self.session.delete(desk)
