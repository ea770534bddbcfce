"""Recurring series of stops ("every Tuesday 18:00-21:00 at Kersenboogerd for 8 weeks"): the
preview of a series' dates, storing it with its stops, and changing, skipping a date of or
stopping the stops still to come. The date rules themselves are in recurrence.py; stops that
opened or passed are never changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kiosk.models import Desk, Location, Stop, StopSeries, StopStatus, Ticket
from kiosk.services.base import SYSTEM, Actor, diff
from kiosk.services.dates import BadDate, parse_date
from kiosk.services.planning.base import Audited, day_text, product_codes
from kiosk.services.planning.forms import SeriesEdit, SeriesInput
from kiosk.services.planning.recurrence import MAX_WEEKS, Rule, SeriesError, expand, local_window
from kiosk.services.planning.shaping import Offer, StopShaping, rule_error
from kiosk.services.validation import (
    N_,
    Errors,
    InUse,
    Refused,
    date_field,
    number_field,
    opening_hours,
    rolls_back,
    text,
    time_field,
)


@dataclass(frozen=True)
class PlannedDate:
    """One date of a planned series, as the preview shows it."""

    day: date
    starts_at: datetime
    ends_at: datetime
    skipped: bool
    clash: Stop | None = None  # another stop at this location at the same time


@dataclass
class SeriesPlan:
    """A checked series that is not stored yet: the preview shows it, `create_series` makes it."""

    location: Location
    rule: Rule
    dates: list[PlannedDate]
    offer: Offer
    open_slots: bool

    @property
    def stop_dates(self) -> list[PlannedDate]:
        """The dates that get a stop (not skipped)."""
        return [d for d in self.dates if not d.skipped]

    @property
    def clashes(self) -> list[PlannedDate]:
        """The dates where the location already has a stop at that time."""
        return [d for d in self.stop_dates if d.clash is not None]


def _refuse_if_stopped(series: StopSeries) -> None:
    """A stopped series cannot change any more."""
    if series.cancelled_at is not None:
        raise Refused(text(N_("Deze reeks is gestopt. U kunt hem niet meer wijzigen.")))


def series_rule(series: StopSeries) -> Rule:
    """The stored series as a rule (its dates, with the exceptions)."""
    return Rule(
        frozenset(series.weekdays),
        series.start_time,
        series.end_time,
        series.first_date,
        None,
        series.last_date,
        frozenset(date.fromisoformat(d) for d in series.exceptions),
    )


def _series_facts(series: StopSeries) -> dict[str, Any]:
    return {
        "location": series.location.name if series.location else None,
        "weekdays": list(series.weekdays),
        "start_time": series.start_time.strftime("%H:%M"),
        "end_time": series.end_time.strftime("%H:%M"),
        "first_date": series.first_date.isoformat(),
        "last_date": series.last_date.isoformat(),
        "weeks": series.weeks,
        "exceptions": list(series.exceptions),
        "products": product_codes(series.products),
        "desks": [dict(d) for d in series.desks],
        "capacity": series.capacity,
        "note": series.note,
    }


SERIES = Audited[StopSeries]("series", "stop_series", _series_facts)


class SeriesService(StopShaping):
    """Plans recurring series of stops and changes the stops of a series still to come."""

    def series_list(self) -> list[StopSeries]:
        """Every series, the running ones first, the latest first date first."""
        return list(
            self.session.scalars(
                select(StopSeries)
                .options(selectinload(StopSeries.location))
                .order_by(StopSeries.cancelled_at.is_not(None), StopSeries.first_date.desc())
            )
        )

    def series(self, series_id: int | str) -> StopSeries:
        """The series with this id (NotFound if there is none)."""
        return self.fetch(StopSeries, series_id, "There is no such series.")

    def remaining_stops(self, series: StopSeries) -> list[Stop]:
        """The stops of a series still to come and not opened yet: what an edit changes."""
        now = self.now()
        return [s for s in series.stops if s.status == StopStatus.PLANNED and s.starts_at > now]

    def plan_series(self, data: SeriesInput) -> SeriesPlan:
        """Check a series and work out its dates, without storing anything (the preview).
        Dates where the location already has a stop at that time are marked as clashes."""
        errors = Errors()
        location = self._location_field(errors, data.location)
        weekdays = frozenset(int(d) for d in data.weekdays if str(d).isdigit())
        start = time_field(errors, "start", data.start)
        end = time_field(errors, "end", data.end)
        first = date_field(errors, "first_date", data.first_date)
        if first is not None and first < self.today():
            errors.add("first_date", N_("De eerste datum is al voorbij."))
        weeks = number_field(errors, "weeks", data.weeks, 1, MAX_WEEKS)
        last = date_field(errors, "last_date", data.last_date, required=False)
        if weeks is None and last is None and not ("weeks" in errors or "last_date" in errors):
            errors.add("weeks", N_("Vul het aantal weken in, of de laatste datum."))
        if weeks is not None and last is not None:
            errors.add(
                "last_date", N_("Vul het aantal weken of de laatste datum in, niet allebei.")
            )
        exceptions: set[date] = set()
        for piece in re.split(r"[,;\s]+", data.exceptions or ""):
            if not piece:
                continue
            try:
                exceptions.add(parse_date(piece))
            except BadDate:
                errors.add(
                    "exceptions",
                    N_("%(text)s is geen datum. Schrijf datums zoals 29-12-2026."),
                    text=piece,
                )
        for raw in data.skip:
            try:
                exceptions.add(date.fromisoformat(raw))
            except ValueError:
                continue
        offer = self._offer(errors, location, data, slot_capacity=data.slot_capacity)
        if not weekdays or any(d > 6 for d in weekdays):
            errors.add("weekdays", N_("Kies minstens één dag van de week."))
        if start is not None and end is not None and end <= start:
            errors.add("end", N_("De eindtijd moet later zijn dan de begintijd."))
        errors.raise_if_any()
        assert location is not None and start is not None and end is not None
        assert first is not None
        rule = Rule(weekdays, start, end, first, weeks, last, frozenset(exceptions))
        try:
            occurrences = expand(rule, self.tz, include_skipped=True)
        except SeriesError as error:
            rule_error(errors, error)
            errors.raise_if_any()
            raise
        dates = [
            PlannedDate(
                o.day,
                o.starts_at,
                o.ends_at,
                o.skipped,
                None if o.skipped else self._clash(location, o.starts_at, o.ends_at),
            )
            for o in occurrences
        ]
        return SeriesPlan(location, rule, dates, offer, data.open_slots)

    @rolls_back
    def create_series(
        self, data: SeriesInput, *, actor: Actor = SYSTEM, created_by: int | None = None
    ) -> StopSeries:
        """Store a series and make its stops (and slots, when asked). Refused while a date
        clashes with another stop at the location: skip that date, or change the times."""
        self.begin_write()
        plan = self.plan_series(data)
        if plan.clashes:
            raise Refused(
                text(
                    N_(
                        "Op %(dates)s is op deze locatie al een loketdag op die tijd. Sla die "
                        "datums over, of kies andere tijden."
                    ),
                    dates=", ".join(day_text(d.day) for d in plan.clashes),
                )
            )
        rule, offer = plan.rule, plan.offer
        series = StopSeries(
            location=plan.location,
            weekdays=sorted(rule.weekdays),
            start_time=rule.start,
            end_time=rule.end,
            first_date=rule.first_date,
            last_date=rule.until,
            weeks=rule.weeks,
            exceptions=sorted(d.isoformat() for d in rule.exceptions),
            desks=offer.stored_desks(),
            capacity=offer.capacity,
            open_slots=plan.open_slots,
            slot_capacity=offer.slot_capacity,
            note=offer.note,
            created_by=created_by,
            created_at=self.now(),
            products=list(offer.products),
        )
        self.session.add(series)
        stops = [
            self._build_stop(plan.location, (d.starts_at, d.ends_at), offer)
            for d in plan.stop_dates
        ]
        series.stops = stops
        self.session.flush()
        self._log(
            SERIES,
            "create",
            series,
            actor,
            values=SERIES.facts(series),
            stops=[s.id for s in stops],
        )
        self.session.commit()
        if plan.open_slots:
            self._open_slots(stops, offer.slot_capacity, actor)
        return series

    @rolls_back
    def update_series(
        self, series_id: int | str, data: SeriesEdit, *, actor: Actor = SYSTEM
    ) -> StopSeries:
        """Change the stops of a series that are still to come: their window, products, desks,
        capacity and note, and where the series ends (later: new stops; earlier: the stops after
        the new end go, if nobody booked them). Stops that opened or passed stay as they were."""
        self.begin_write()
        series = self.series(series_id)
        _refuse_if_stopped(series)
        errors = Errors()
        times = opening_hours(errors, data.start, data.end)
        last = date_field(errors, "last_date", data.last_date)
        if last is not None and last < series.first_date:
            errors.add("last_date", N_("De laatste datum ligt voor de eerste datum."))
        elif last is not None and last > series.first_date + timedelta(weeks=MAX_WEEKS):
            errors.add("last_date", N_("Een reeks duurt hoogstens %(max)s weken."), max=MAX_WEEKS)
        offer = self._offer(errors, series.location, data)
        errors.raise_if_any()
        assert times is not None and last is not None
        start, end = times

        before = SERIES.facts(series)
        exceptions = frozenset(
            d for d in (date.fromisoformat(x) for x in series.exceptions) if d <= last
        )
        rule = Rule(
            frozenset(series.weekdays), start, end, series.first_date, None, last, exceptions
        )
        wanted: dict[date, tuple[datetime, datetime]] = {}
        now = self.now()
        for day in rule.dates():
            try:
                window = local_window(day, start, end, self.tz)
            except SeriesError as error:
                rule_error(errors, error)
                errors.raise_if_any()
                raise
            if window[0] > now:
                wanted[day] = window
        remaining = {self.local(s.starts_at).date(): s for s in self.remaining_stops(series)}
        kept_days = {self.local(s.starts_at).date() for s in series.stops}
        dropped = [s for day, s in remaining.items() if day not in wanted]
        for stop in dropped:
            if self.usage(stop).used:
                raise Refused(
                    text(
                        N_(
                            "Voor de loketdag van %(date)s zijn al afspraken gemaakt. Zeg die "
                            "eerst af, of laat de reeks langer duren."
                        ),
                        date=self._day_of(stop.starts_at),
                    )
                )
        changed: list[Stop] = []
        for day, stop in remaining.items():
            if day not in wanted:
                continue
            window = wanted[day]
            if (stop.starts_at, stop.ends_at) == window and Offer.of(stop).key() == offer.key():
                continue
            clash = self._clash(series.location, *window, besides=stop)
            if clash is not None:
                raise Refused(self._clash_text(clash))
            try:
                self._reshape(stop, window, offer.products)
            except Refused as refused:
                raise Refused(
                    text(
                        N_("De loketdag van %(date)s kan zo niet veranderen. %(reason)s"),
                        date=day_text(day),
                        reason=refused.reason,
                    )
                ) from None
            if Offer.of(stop).desk_ids() != offer.desk_ids():
                if self.session.scalar(select(Ticket.id).where(Ticket.stop_id == stop.id).limit(1)):
                    raise Refused(
                        text(N_("De loketdag van %(date)s heeft al nummers."), date=day_text(day))
                    )
                for desk in list(stop.desks):
                    self.session.delete(desk)
                # The old desks go before the new ones come: names are unique per stop.
                self.session.flush()
                stop.desks = [Desk(name=n, products=list(ps)) for n, ps in offer.desks]
            stop.capacity, stop.note = offer.capacity, offer.note
            changed.append(stop)
        for stop in dropped:
            self._remove_stop(stop)
        added = []
        for day, window in sorted(wanted.items()):
            if day in kept_days:
                continue
            clash = self._clash(series.location, *window)
            if clash is not None:
                raise Refused(self._clash_text(clash))
            added.append(self._build_stop(series.location, window, offer))
        series.stops.extend(added)
        series.start_time, series.end_time = start, end
        if last != series.last_date:
            series.weeks = None
        series.last_date = last
        series.exceptions = sorted(d.isoformat() for d in exceptions)
        series.products = list(offer.products)
        series.desks = offer.stored_desks()
        series.capacity, series.note = offer.capacity, offer.note
        self.session.flush()
        self._log(
            SERIES,
            "update",
            series,
            actor,
            changes=diff(before, SERIES.facts(series)),
            changed_stops=[s.id for s in changed],
            added_stops=[s.id for s in added],
            removed_stops=[s.id for s in dropped],
        )
        self.session.commit()
        if series.open_slots and (changed or added):
            self._open_slots([*changed, *added], series.slot_capacity, actor)
        return series

    @rolls_back
    def skip_date(self, series_id: int | str, raw: str, *, actor: Actor = SYSTEM) -> StopSeries:
        """Add an exception: the series skips this date, and its stop on that date goes, if
        nobody has a ticket or booking for it yet."""
        self.begin_write()
        series = self.series(series_id)
        errors = Errors()
        day = date_field(errors, "day", raw)
        errors.raise_if_any()
        assert day is not None
        _refuse_if_stopped(series)
        rule = series_rule(series)
        if day not in rule.all_dates():
            errors.add("day", N_("Deze datum hoort niet bij de reeks."))
        elif day.isoformat() in series.exceptions:
            errors.add("day", N_("Deze datum wordt al overgeslagen."))
        errors.raise_if_any()
        stop = next((s for s in series.stops if self.local(s.starts_at).date() == day), None)
        if stop is not None:
            if stop.status != StopStatus.PLANNED or stop.ends_at <= self.now():
                raise Refused(text(N_("De loketdag van die datum is al open geweest of voorbij.")))
            if self.usage(stop).used:
                raise InUse(
                    text(
                        N_(
                            "Voor %(date)s zijn al afspraken gemaakt. Zeg die eerst af, of laat "
                            "de datum staan."
                        ),
                        date=day_text(day),
                    )
                )
            self._remove_stop(stop)
        series.exceptions = sorted({*series.exceptions, day.isoformat()})
        self._log(
            SERIES,
            "skip",
            series,
            actor,
            day=day.isoformat(),
            removed_stop=stop.id if stop is not None else None,
        )
        self.session.commit()
        return series

    @rolls_back
    def cancel_series(self, series_id: int | str, *, actor: Actor = SYSTEM) -> int:
        """Stop a series: its remaining stops go (refused while any has bookings); the stops
        that were open or passed stay. Returns how many stops were removed."""
        self.begin_write()
        series = self.series(series_id)
        if series.cancelled_at is not None:
            return 0
        remaining = self.remaining_stops(series)
        booked = [s for s in remaining if self.usage(s).used]
        if booked:
            raise InUse(
                text(
                    N_(
                        "Voor %(dates)s zijn al afspraken gemaakt. Zeg die eerst af, of sla de "
                        "andere datums één voor één over."
                    ),
                    dates=", ".join(self._day_of(s.starts_at) for s in booked),
                )
            )
        for stop in remaining:
            self._remove_stop(stop)
        series.cancelled_at = self.now()
        self._log(
            SERIES,
            "cancel",
            series,
            actor,
            removed_stops=[s.id for s in remaining],
        )
        self.session.commit()
        return len(remaining)
