"""Research: which neighbourhoods, which times, which products. Counts the kiosk's anonymous
answers and unmet demand, and turns tickets, appointments, answers and signals into the figures
coordinators read (dashboard, charts, CSV/XLSX export) with small cells suppressed.

Privacy, by construction:

- Survey answers are tallies (`SurveyAnswer.people`) per stop, local day, part of the day and
  combination of answers. No row is one person, nothing holds a ticket, a device, a time or an
  order, and the answers are not written to the event log (its rows carry a time and a device).
- No figure that leaves this module describes fewer than `MIN_PEOPLE` people: `suppress` hides
  counts of 1-4 and statistics of fewer than 5 people; `protect` also hides enough further cells
  of a table with a published total that the hidden remainder is 0 or at least 5; a ratio is
  hidden when its numerator or denominator is. The dashboard, the charts and both exports only
  ever see these figures.

Times: stored in UTC, counted in the configured time zone. Waits and service times are computed
in Python from the rows (same answers on SQLite and PostgreSQL).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kiosk.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    DayPart,
    DemandSignal,
    Event,
    Location,
    Moment,
    Product,
    SignalKind,
    Slot,
    Stop,
    StopStatus,
    SurveyAnswer,
    Ticket,
    TicketStatus,
    stop_products,
)
from kiosk.research import (
    DAY_PART_HOURS,
    NEIGHBOURHOODS,
    OTHER_HOMES,
    POSTCODE4,
    SKIPPED,
    UNKNOWN_PLACE,
    day_part,
    neighbourhood_code,
    valid_home,
)
from kiosk.services.base import DEFAULT_TIMEZONE, Clock, LocalService, Notifier, utc_now
from kiosk.services.errors import DomainError, UnknownProduct

# No published figure describes fewer people than this.
MIN_PEOPLE: Final = 5
# A ticket cancelled after waiting this long counts as unmet demand.
LONG_WAIT_MINUTES: Final = 30
# Up to this many days, figures over time are per day; longer ranges are per week.
DAILY_UP_TO_DAYS: Final = 31
# The longest range a report covers (about three years).
MAX_RANGE_DAYS: Final = 1100
# The heat map always shows at least these local hours.
HEAT_HOURS: Final = (8, 21)


class Hidden:
    """A suppressed figure: it would describe fewer than `MIN_PEOPLE` people."""

    _instance: Hidden | None = None

    def __new__(cls) -> Hidden:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "HIDDEN"

    def __bool__(self) -> bool:
        return False


HIDDEN: Final = Hidden()
# A published figure: a number, HIDDEN (fewer than 5 people), or None (nothing to describe).
Figure = int | float | Hidden | None


class InvalidAnswer(DomainError):
    code = "invalid_answer"
    status = 422
    message = "This is not one of the answers the kiosk offers."


class InvalidSignal(DomainError):
    code = "invalid_signal"
    status = 422
    message = "This cannot be counted as unmet demand here."


class InvalidFilters(DomainError):
    code = "invalid_request"
    status = 422
    message = "The date range is not valid."


# -- suppression ---------------------------------------------------------------------------------


def suppress(value: Figure, *people: int) -> Figure:
    """`value`, or HIDDEN when it describes (or was computed from) 1 to 4 people.

    `people` are the numbers of people behind the figure: the count itself for a count, the
    number of tickets for a median, numerator and denominator for a rate. Zero people is no
    person: a count of 0 is shown.
    """
    if any(0 < n < MIN_PEOPLE for n in people):
        return HIDDEN
    return value


def protect(counts: Sequence[int]) -> list[Figure]:
    """The cells of a table whose total is published: counts of 1-4 are hidden, and then the
    smallest remaining cells too, until what the total minus the shown cells reveals is 0 or
    describes at least `MIN_PEOPLE` people (else one hidden cell could be worked out)."""
    shown: list[Figure] = [suppress(c, c) for c in counts]
    hidden = sum(c for c, s in zip(counts, shown, strict=True) if s is HIDDEN)
    while 0 < hidden < MIN_PEOPLE:
        candidates = [(c, i) for i, c in enumerate(counts) if shown[i] is not HIDDEN and c > 0]
        if not candidates:
            break  # the total itself is below 5: `suppress` hides it
        smallest, index = min(candidates)
        shown[index] = HIDDEN
        hidden += smallest
    return shown


def ratio(numerator: Figure, denominator: Figure, digits: int = 3) -> Figure:
    """numerator / denominator of two published figures; hidden if either is (a shown ratio
    and a shown denominator would give the hidden numerator away)."""
    if numerator is HIDDEN or denominator is HIDDEN:
        return HIDDEN
    if numerator is None or not denominator:
        return None
    return round(float(cast(float, numerator)) / float(cast(float, denominator)), digits)


def median(values: Sequence[float]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count); None if empty."""
    return round(statistics.median(values), 1) if values else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank `p`-th percentile: the smallest value with at least p % of the values
    at or below it (no interpolation, so the answer is always one of the values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(p / 100 * len(ordered)), 1)
    return round(ordered[rank - 1], 1)


# -- filters and results -----------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """A report's scope: local dates `start`..`end` (both included), optionally one place
    (location), one stop and one product."""

    start: date
    end: date
    location_id: int | None = None
    stop_id: int | None = None
    product_id: int | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidFilters("The end date is before the start date.")
        if (self.end - self.start).days >= MAX_RANGE_DAYS:
            raise InvalidFilters(f"Ask for at most {MAX_RANGE_DAYS} days at a time.")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def granularity(self) -> str:
        return "day" if self.days <= DAILY_UP_TO_DAYS else "week"


@dataclass(frozen=True)
class AnswerKey:
    """Which tally an answer went to: kept by the kiosk's own session between the two
    questions (never on the server), so that the second answer joins the first."""

    stop_id: int
    day: date
    day_part: DayPart
    home: str
    moment: Moment

    def as_dict(self) -> dict[str, Any]:
        return {
            "stop_id": self.stop_id,
            "day": self.day.isoformat(),
            "day_part": self.day_part.value,
            "home": self.home,
            "moment": self.moment.value,
        }

    @classmethod
    def from_dict(cls, data: Any) -> AnswerKey | None:
        try:
            return cls(
                stop_id=int(data["stop_id"]),
                day=date.fromisoformat(data["day"]),
                day_part=DayPart(data["day_part"]),
                home=str(data["home"]),
                moment=Moment(data["moment"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Series:
    """One line of a table over time: a place's or a product's count per period."""

    key: int
    values: list[Figure]


@dataclass(frozen=True)
class TimeTable:
    granularity: str  # "day" or "week" (a week is named by its Monday)
    periods: list[date]
    series: list[Series]


@dataclass(frozen=True)
class HeatMap:
    """Tickets per local weekday (0 = Monday) and hour."""

    hours: list[int]
    cells: dict[tuple[int, int], Figure]

    def value(self, weekday: int, hour: int) -> Figure:
        return self.cells.get((weekday, hour), 0)


@dataclass(frozen=True)
class DurationRow:
    """Waits (issue, or an appointment's start if later, to the call) and service times
    (start to finish) of one product, in minutes; `product_id` None: all products."""

    product_id: int | None
    waited: Figure
    wait_median: Figure
    wait_p90: Figure
    served: Figure
    service_median: Figure
    service_p90: Figure


@dataclass(frozen=True)
class NoShowRow:
    """Called tickets and no-shows, appointments and missed appointments, of one place;
    `location_id` None: every place."""

    location_id: int | None
    called: Figure
    no_shows: Figure
    no_show_rate: Figure
    appointments: Figure
    missed: Figure
    missed_rate: Figure


@dataclass(frozen=True)
class CountRow:
    key: str
    value: Figure


@dataclass(frozen=True)
class PlaceTime:
    """A neighbourhood in a part of the week: visitors at stops there, opening hours, visitors
    per opening hour, and survey answers from residents of it who would rather come then."""

    place: str
    day_part: DayPart
    visitors: Figure
    hours: float
    per_hour: Figure
    wishes: Figure
    rank: int | None


@dataclass(frozen=True)
class StopChoice:
    id: int
    location: str
    starts_at: datetime


@dataclass(frozen=True)
class Report:
    """Every figure of the dashboard and the exports, already suppressed."""

    filters: Filters
    tickets: Figure
    respondents: Figure
    wait_median: Figure
    heat_map: HeatMap
    per_location: TimeTable
    per_product: TimeTable
    durations: list[DurationRow]
    no_shows: list[NoShowRow]
    origin: list[CountRow]
    moments: list[CountRow]
    unmet: list[CountRow]
    not_offered: list[CountRow]  # key: a product id, or "" when the product is unknown
    where_next: list[PlaceTime]
    locations: dict[int, str] = field(default_factory=dict)
    products: dict[int, dict[str, str]] = field(default_factory=dict)
    places: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Nothing at all happened in this scope."""
        return self.tickets == 0 and self.respondents == 0 and all(r.value == 0 for r in self.unmet)


@dataclass
class _TicketRow:
    issued_at: datetime
    called_at: datetime | None
    due_at: datetime | None
    status: TicketStatus
    service_seconds: int | None
    ended_at: datetime | None
    stop_id: int
    product_id: int
    location_id: int


def _tally_upsert(insert: Any, values: dict[str, Any]) -> Any:
    table = cast(Table, SurveyAnswer.__table__)
    keys = ("stop_id", "day", "day_part", "home", "moment")
    return (
        insert(table)
        .values(**values, people=1)
        .on_conflict_do_update(
            index_elements=[table.c[k] for k in keys],
            set_={"people": table.c.people + 1},
        )
    )


_UPSERTS = {"postgresql": pg_insert, "sqlite": sqlite_insert}
UNMET_KINDS: Final = (
    SignalKind.NOT_OFFERED.value,
    SignalKind.CLOSED_TAP.value,
    "book_later",
    "no_show_ticket",
    "no_show_appointment",
    "cancelled_long_wait",
)
# Refused tickets in the event log that are unmet demand too (a tap just after closing time,
# an API client asking for a product this stop does not offer).
_REJECTION_KINDS: Final = {
    "stop_closed": SignalKind.CLOSED_TAP.value,
    "product_not_offered": SignalKind.NOT_OFFERED.value,
}
_WISH_PARTS: Final = {
    Moment.WEEKDAY: DayPart.WEEKDAY,
    Moment.EVENING: DayPart.EVENING,
    Moment.WEEKEND: DayPart.WEEKEND,
}


class ResearchService(LocalService):
    """Counts the kiosk's anonymous answers and unmet demand, and reports the figures."""

    def __init__(
        self,
        session: Session,
        notifier: Notifier | None = None,
        clock: Clock = utc_now,
        *,
        timezone: str = DEFAULT_TIMEZONE,
        long_wait_minutes: int = LONG_WAIT_MINUTES,
    ) -> None:
        super().__init__(session, notifier, clock, timezone=timezone)
        self.long_wait = timedelta(minutes=long_wait_minutes)

    def local_now(self) -> datetime:
        """Now, in the configured time zone."""
        return self.local(self.now())

    # -- the kiosk's questions -------------------------------------------------------------------

    def record_answer(
        self, stop: Stop, *, home: str | None = None, moment: str | None = None
    ) -> AnswerKey | None:
        """Count one resident's answers (either may be None: skipped) at this stop, today, in
        this part of the day. Returns where it was counted, or None if nothing was answered."""
        home_code = self._home(home)
        moment_value = self._moment(moment)
        if home_code == SKIPPED and moment_value is Moment.SKIPPED:
            return None
        local = self.local_now()
        key = AnswerKey(stop.id, local.date(), day_part(local), home_code, moment_value)
        self.begin_write()
        self._bump(key)
        self.session.commit()
        return key

    def add_moment(self, earlier: AnswerKey, moment: str) -> AnswerKey:
        """The second answer of a resident whose first answer was counted as `earlier` (with the
        moment skipped): move that one count to the tally with both answers, in one step."""
        moment_value = self._moment(moment)
        key = AnswerKey(earlier.stop_id, earlier.day, earlier.day_part, earlier.home, moment_value)
        if moment_value is Moment.SKIPPED or earlier.moment is not Moment.SKIPPED:
            return earlier
        table = cast(Table, SurveyAnswer.__table__)
        self.begin_write()
        self.session.execute(
            update(table)
            .where(
                table.c.stop_id == earlier.stop_id,
                table.c.day == earlier.day,
                table.c.day_part == earlier.day_part,
                table.c.home == earlier.home,
                table.c.moment == earlier.moment,
                table.c.people > 0,
            )
            .values(people=table.c.people - 1)
        )
        self._bump(key)
        self.session.commit()
        return key

    def _bump(self, key: AnswerKey) -> None:
        insert = _UPSERTS[self.session.get_bind().dialect.name]
        values = {
            "stop_id": key.stop_id,
            "day": key.day,
            "day_part": key.day_part,
            "home": key.home,
            "moment": key.moment,
        }
        self.session.execute(_tally_upsert(insert, values))

    @staticmethod
    def _home(answer: str | None) -> str:
        if answer is None or answer == "":
            return SKIPPED
        answer = answer.strip().lower()
        if not valid_home(answer):
            raise InvalidAnswer(question="home")
        return answer

    @staticmethod
    def _moment(answer: str | None) -> Moment:
        if answer is None or answer == "":
            return Moment.SKIPPED
        try:
            return Moment(answer)
        except ValueError:
            raise InvalidAnswer(question="moment") from None

    # -- unmet demand ----------------------------------------------------------------------------

    def record_signal(
        self, kind: str, stop: Stop | None, product_code: str | None = None
    ) -> DemandSignal:
        """Count a tap for something the kiosk could not give: a product this stop does not
        offer (`not_offered`), or anything while the kiosk is closed (`closed_tap`)."""
        try:
            signal_kind = SignalKind(kind)
        except ValueError:
            raise InvalidSignal(kind=kind) from None
        product = self._product(product_code) if product_code else None
        if signal_kind is SignalKind.NOT_OFFERED:
            if product is None or (stop is not None and product in stop.products):
                raise InvalidSignal("Count only products this stop does not offer.")
        elif stop is not None and stop.accepts_walk_ins(self.now()):
            raise InvalidSignal("The kiosk is open.")
        local = self.local_now()
        self.begin_write()
        signal = DemandSignal(
            kind=signal_kind,
            stop_id=stop.id if stop is not None else None,
            product_id=product.id if product is not None else None,
            day=local.date(),
            hour=local.hour,
        )
        self.session.add(signal)
        self.session.commit()
        return signal

    def _product(self, code: str) -> Product:
        product = self.session.scalar(
            select(Product).where(Product.code == code.strip(), Product.active.is_(True))
        )
        if product is None:
            raise UnknownProduct()
        return product

    # -- the report -------------------------------------------------------------------------------

    def default_filters(self, days: int = 28) -> Filters:
        """The last `days` local days up to today."""
        today = self.local_now().date()
        return Filters(today - timedelta(days=days - 1), today)

    def filter_choices(self, filters: Filters) -> tuple[dict[int, str], list[StopChoice]]:
        """What the filter form offers: every place, and the stops within the date range."""
        locations = {
            loc_id: name
            for loc_id, name in self.session.execute(
                select(Location.id, Location.name).order_by(Location.name, Location.id)
            )
        }
        low, high = self._bounds(filters)
        stops = [
            StopChoice(stop_id, name, starts_at)
            for stop_id, name, starts_at in self.session.execute(
                select(Stop.id, Location.name, Stop.starts_at)
                .join(Location, Location.id == Stop.location_id)
                .where(Stop.starts_at < high, Stop.ends_at > low)
                .order_by(Stop.starts_at, Stop.id)
            )
        ]
        self.end_read()
        return locations, stops

    def products(self) -> list[Product]:
        """Every product, in the kiosk's order (for the filter form)."""
        found = list(self.session.scalars(select(Product).order_by(Product.sort_order)))
        self.end_read()
        return found

    def report(self, filters: Filters) -> Report:
        """Every figure for this scope, suppressed (see the module docstring)."""
        stops = self._stops(filters)
        tickets = self._tickets(filters, stops)
        answers = self._answers(filters, stops)
        unmet, not_offered = self._unmet(filters, stops, tickets)
        no_shows = self._no_shows(filters, stops, tickets)
        where_next, places = self._where_next(filters, stops, tickets, answers)
        locations = {
            loc_id: name
            for loc_id, name in self.session.execute(select(Location.id, Location.name))
        }
        products = {p.id: dict(p.names) for p in self.session.scalars(select(Product))}
        self.end_read()

        durations = self._durations(tickets)
        respondents = sum(people for *_, people in answers)
        return Report(
            filters=filters,
            tickets=suppress(len(tickets), len(tickets)),
            respondents=suppress(respondents, respondents),
            wait_median=durations[-1].wait_median,
            heat_map=self._heat_map(tickets),
            per_location=self._over_time(filters, tickets, lambda t: t.location_id),
            per_product=self._over_time(filters, tickets, lambda t: t.product_id),
            durations=durations,
            no_shows=no_shows,
            origin=self._origin(answers),
            moments=self._moments(answers),
            unmet=unmet,
            not_offered=not_offered,
            where_next=where_next,
            locations=locations,
            products=products,
            places=places,
        )

    # -- reading ------------------------------------------------------------------------------

    def _bounds(self, filters: Filters) -> tuple[datetime, datetime]:
        """The UTC instants of local midnight at the start and after the end."""
        low = datetime.combine(filters.start, time(0), tzinfo=self.tz).astimezone(UTC)
        high = datetime.combine(filters.end + timedelta(days=1), time(0), tzinfo=self.tz)
        return low, high.astimezone(UTC)

    def _stops(self, filters: Filters) -> dict[int, tuple[Stop, Location]]:
        """Every stop the filters allow (any date: dates are applied to what happened)."""
        query = select(Stop, Location).join(Location, Location.id == Stop.location_id)
        if filters.stop_id is not None:
            query = query.where(Stop.id == filters.stop_id)
        if filters.location_id is not None:
            query = query.where(Stop.location_id == filters.location_id)
        return {stop.id: (stop, location) for stop, location in self.session.execute(query)}

    def _tickets(
        self, filters: Filters, stops: dict[int, tuple[Stop, Location]]
    ) -> list[_TicketRow]:
        low, high = self._bounds(filters)
        query = select(
            Ticket.issued_at,
            Ticket.called_at,
            Ticket.due_at,
            Ticket.status,
            Ticket.service_seconds,
            Ticket.ended_at,
            Ticket.stop_id,
            Ticket.product_id,
        ).where(Ticket.issued_at >= low, Ticket.issued_at < high)
        if filters.product_id is not None:
            query = query.where(Ticket.product_id == filters.product_id)
        if filters.stop_id is not None or filters.location_id is not None:
            query = query.where(Ticket.stop_id.in_(list(stops) or [-1]))
        rows = []
        for row in self.session.execute(query):
            location_id = stops[row.stop_id][1].id if row.stop_id in stops else 0
            rows.append(_TicketRow(*row, location_id=location_id))
        return rows

    def _answers(
        self, filters: Filters, stops: dict[int, tuple[Stop, Location]]
    ) -> list[tuple[int, date, DayPart, str, Moment, int]]:
        """Survey tallies in scope (the survey asks no product: the product filter is moot)."""
        query = select(
            SurveyAnswer.stop_id,
            SurveyAnswer.day,
            SurveyAnswer.day_part,
            SurveyAnswer.home,
            SurveyAnswer.moment,
            SurveyAnswer.people,
        ).where(
            SurveyAnswer.day >= filters.start,
            SurveyAnswer.day <= filters.end,
            SurveyAnswer.people > 0,
        )
        if filters.stop_id is not None or filters.location_id is not None:
            query = query.where(SurveyAnswer.stop_id.in_(list(stops) or [-1]))
        return [tuple(row) for row in self.session.execute(query)]  # type: ignore[misc]

    # -- figures -------------------------------------------------------------------------------

    def _heat_map(self, tickets: list[_TicketRow]) -> HeatMap:
        counts: Counter[tuple[int, int]] = Counter()
        for t in tickets:
            local = self.local(t.issued_at)
            counts[(local.weekday(), local.hour)] += 1
        used = [hour for _, hour in counts]
        first = min([HEAT_HOURS[0], *used])
        last = max([HEAT_HOURS[1], *used])
        hours = list(range(first, last + 1))
        keys = [(day, hour) for day in range(7) for hour in hours]
        shown = protect([counts[k] for k in keys])
        return HeatMap(hours, dict(zip(keys, shown, strict=True)))

    def _periods(self, filters: Filters) -> list[date]:
        if filters.granularity == "day":
            return [filters.start + timedelta(days=i) for i in range(filters.days)]
        monday = filters.start - timedelta(days=filters.start.weekday())
        weeks = []
        while monday <= filters.end:
            weeks.append(monday)
            monday += timedelta(days=7)
        return weeks

    def _period_of(self, filters: Filters, day: date) -> date:
        return day if filters.granularity == "day" else day - timedelta(days=day.weekday())

    def _over_time(self, filters: Filters, tickets: list[_TicketRow], key: Any) -> TimeTable:
        periods = self._periods(filters)
        counts: dict[int, Counter[date]] = defaultdict(Counter)
        for t in tickets:
            counts[key(t)][self._period_of(filters, self.local(t.issued_at).date())] += 1
        keys = sorted(counts)
        flat = [counts[k][p] for k in keys for p in periods]
        shown = protect(flat)
        width = len(periods)
        series = [Series(k, shown[i * width : (i + 1) * width]) for i, k in enumerate(keys)]
        return TimeTable(filters.granularity, periods, series)

    def _durations(self, tickets: list[_TicketRow]) -> list[DurationRow]:
        waits: dict[int, list[float]] = defaultdict(list)
        services: dict[int, list[float]] = defaultdict(list)
        products: set[int] = set()
        for t in tickets:
            products.add(t.product_id)
            if t.called_at is not None:
                start = max(t.issued_at, t.due_at) if t.due_at is not None else t.issued_at
                waits[t.product_id].append(max((t.called_at - start).total_seconds(), 0) / 60)
            if t.status is TicketStatus.DONE and t.service_seconds is not None:
                services[t.product_id].append(t.service_seconds / 60)
        keys = sorted(products)
        waited = protect([len(waits[k]) for k in keys])
        served = protect([len(services[k]) for k in keys])
        rows = [
            self._duration_row(k, waited[i], waits[k], served[i], services[k])
            for i, k in enumerate(keys)
        ]
        all_waits = [w for k in keys for w in waits[k]]
        all_services = [s for k in keys for s in services[k]]
        rows.append(
            self._duration_row(
                None,
                suppress(len(all_waits), len(all_waits)),
                all_waits,
                suppress(len(all_services), len(all_services)),
                all_services,
            )
        )
        return rows

    @staticmethod
    def _duration_row(
        key: int | None,
        waited: Figure,
        waits: list[float],
        served: Figure,
        services: list[float],
    ) -> DurationRow:
        return DurationRow(
            product_id=key,
            waited=waited,
            wait_median=suppress(median(waits), len(waits)),
            wait_p90=suppress(percentile(waits, 90), len(waits)),
            served=served,
            service_median=suppress(median(services), len(services)),
            service_p90=suppress(percentile(services, 90), len(services)),
        )

    def _no_shows(
        self,
        filters: Filters,
        stops: dict[int, tuple[Stop, Location]],
        tickets: list[_TicketRow],
    ) -> list[NoShowRow]:
        called: Counter[int] = Counter()
        no_shows: Counter[int] = Counter()
        for t in tickets:
            if t.called_at is not None or t.status is TicketStatus.NO_SHOW:
                called[t.location_id] += 1
            if t.status is TicketStatus.NO_SHOW:
                no_shows[t.location_id] += 1
        booked: Counter[int] = Counter()
        missed: Counter[int] = Counter()
        low, high = self._bounds(filters)
        query = (
            select(Appointment.stop_id, Appointment.status)
            .join(Slot, Slot.id == Appointment.slot_id)
            .where(
                Slot.starts_at >= low,
                Slot.starts_at < high,
                Slot.starts_at < self.now(),  # later ones cannot have been missed yet
                Appointment.status != AppointmentStatus.CANCELLED,
            )
        )
        if filters.product_id is not None:
            query = query.where(Appointment.product_id == filters.product_id)
        for stop_id, status in self.session.execute(query):
            if stop_id not in stops:
                continue
            location_id = stops[stop_id][1].id
            booked[location_id] += 1
            if status is AppointmentStatus.NO_SHOW:
                missed[location_id] += 1
        keys = sorted(set(called) | set(booked))
        columns = [protect([c[k] for k in keys]) for c in (called, no_shows, booked, missed)]
        rows = [
            self._no_show_row(k, *(column[i] for column in columns)) for i, k in enumerate(keys)
        ]
        totals = [sum(c.values()) for c in (called, no_shows, booked, missed)]
        rows.append(self._no_show_row(None, *(suppress(n, n) for n in totals)))
        return rows

    @staticmethod
    def _no_show_row(
        key: int | None, called: Figure, no_shows: Figure, booked: Figure, missed: Figure
    ) -> NoShowRow:
        return NoShowRow(
            location_id=key,
            called=called,
            no_shows=no_shows,
            no_show_rate=ratio(no_shows, called),
            appointments=booked,
            missed=missed,
            missed_rate=ratio(missed, booked),
        )

    def _origin(self, answers: Iterable[tuple[Any, ...]]) -> list[CountRow]:
        """Where the residents who answered live: every neighbourhood (0 included), then
        "outside Hoorn" and "rather not say", then the postcodes given."""
        counts: Counter[str] = Counter()
        for *_, home, _moment, people in answers:
            if home != SKIPPED:
                counts[home] += people
        postcodes = sorted(k for k in counts if POSTCODE4.fullmatch(k))
        keys = [*NEIGHBOURHOODS, *OTHER_HOMES, *postcodes]
        shown = protect([counts[k] for k in keys])
        return [CountRow(k, v) for k, v in zip(keys, shown, strict=True)]

    def _moments(self, answers: Iterable[tuple[Any, ...]]) -> list[CountRow]:
        counts: Counter[Moment] = Counter()
        for *_, moment, people in answers:
            if moment is not Moment.SKIPPED:
                counts[moment] += people
        keys = [m for m in Moment if m is not Moment.SKIPPED]
        shown = protect([counts[k] for k in keys])
        return [CountRow(k.value, v) for k, v in zip(keys, shown, strict=True)]

    def _unmet(
        self,
        filters: Filters,
        stops: dict[int, tuple[Stop, Location]],
        tickets: list[_TicketRow],
    ) -> tuple[list[CountRow], list[CountRow]]:
        """Unmet demand by kind, and the products asked for where they were not offered."""
        counts: Counter[str] = Counter()
        asked: Counter[str] = Counter()
        scoped = filters.stop_id is not None or filters.location_id is not None

        signals = select(DemandSignal.kind, DemandSignal.stop_id, DemandSignal.product_id).where(
            DemandSignal.day >= filters.start, DemandSignal.day <= filters.end
        )
        if filters.product_id is not None:
            signals = signals.where(DemandSignal.product_id == filters.product_id)
        for kind, stop_id, product_id in self.session.execute(signals):
            if scoped and stop_id not in stops:
                continue
            counts[kind.value] += 1
            if kind is SignalKind.NOT_OFFERED:
                asked[str(product_id or "")] += 1

        low, high = self._bounds(filters)
        if filters.product_id is None:  # a refused ticket's product is not in the log
            refused = select(Event.stop_id, Event.data).where(
                Event.action == "ticket.issue",
                Event.result == "rejected",
                Event.at >= low,
                Event.at < high,
            )
            for stop_id, data in self.session.execute(refused):
                refusal = _REJECTION_KINDS.get(str((data or {}).get("error")))
                if refusal is None or (scoped and stop_id not in stops):
                    continue
                counts[refusal] += 1
                if refusal == SignalKind.NOT_OFFERED.value:
                    asked[""] += 1

        later = select(Appointment.stop_id).where(
            Appointment.source == AppointmentSource.KIOSK,
            Appointment.created_at >= low,
            Appointment.created_at < high,
        )
        if filters.product_id is not None:
            later = later.where(Appointment.product_id == filters.product_id)
        for (stop_id,) in self.session.execute(later):
            if not scoped or stop_id in stops:
                counts["book_later"] += 1

        missed = (
            select(Appointment.stop_id)
            .join(Slot, Slot.id == Appointment.slot_id)
            .where(
                Appointment.status == AppointmentStatus.NO_SHOW,
                Slot.starts_at >= low,
                Slot.starts_at < high,
            )
        )
        if filters.product_id is not None:
            missed = missed.where(Appointment.product_id == filters.product_id)
        for (stop_id,) in self.session.execute(missed):
            if not scoped or stop_id in stops:
                counts["no_show_appointment"] += 1

        for t in tickets:
            if t.status is TicketStatus.NO_SHOW:
                counts["no_show_ticket"] += 1
            elif (
                t.status is TicketStatus.CANCELLED
                and t.ended_at is not None
                and t.ended_at - t.issued_at >= self.long_wait
            ):
                counts["cancelled_long_wait"] += 1

        unmet = [CountRow(k, suppress(counts[k], counts[k])) for k in UNMET_KINDS]
        products = sorted(asked, key=lambda k: (k == "", k))
        not_offered = [CountRow(k, suppress(asked[k], asked[k])) for k in products]
        return unmet, not_offered

    # -- where and when next ----------------------------------------------------------------------

    def _place(self, location: Location) -> tuple[str, str]:
        """A location's neighbourhood as a key and its (untranslated) label."""
        code = neighbourhood_code(location.neighbourhood)
        if code is not None:
            return code, NEIGHBOURHOODS[code]
        name = location.neighbourhood.strip()
        return (f"place:{name.casefold()}", name) if name else ("unknown", UNKNOWN_PLACE)

    def opening_hours(self, starts_at: datetime, ends_at: datetime) -> dict[DayPart, float]:
        """Hours of a window (UTC) in each part of the week, local time."""
        begin, end = self.local(starts_at), self.local(ends_at)
        hours: dict[DayPart, float] = defaultdict(float)
        day = begin.date()
        while day <= end.date():
            parts = [DayPart.WEEKEND] if day.weekday() >= 5 else [DayPart.WEEKDAY, DayPart.EVENING]
            for part in parts:
                first, last = DAY_PART_HOURS[part]
                low = max(datetime.combine(day, first, tzinfo=self.tz), begin)
                high = min(datetime.combine(day, last, tzinfo=self.tz), end)
                if high > low:
                    hours[part] += (high - low).total_seconds() / 3600
            day += timedelta(days=1)
        return dict(hours)

    def _where_next(
        self,
        filters: Filters,
        stops: dict[int, tuple[Stop, Location]],
        tickets: list[_TicketRow],
        answers: list[tuple[int, date, DayPart, str, Moment, int]],
    ) -> tuple[list[PlaceTime], dict[str, str]]:
        """Neighbourhood x part of the week, ranked by visitors per opening hour.

        Visitors: tickets issued at stops in that neighbourhood in that part of the week.
        Opening hours: the windows of those stops (opened, not only planned; up to now) in that
        part of the week. Wishes: residents of that neighbourhood who would rather come then.
        """
        low, high = self._bounds(filters)
        now = self.now()
        offering: set[int] | None = None
        if filters.product_id is not None:
            offering = set(
                self.session.scalars(
                    select(stop_products.c.stop_id).where(
                        stop_products.c.product_id == filters.product_id
                    )
                )
            )
        places: dict[str, str] = {}
        place_of: dict[int, str] = {}
        hours: dict[tuple[str, DayPart], float] = defaultdict(float)
        for stop_id, (stop, location) in stops.items():
            key, label = self._place(location)
            places[key] = label
            place_of[stop_id] = key
            if stop.status is StopStatus.PLANNED:
                continue  # never opened
            if offering is not None and stop_id not in offering:
                continue
            begin, end = max(stop.starts_at, low), min(stop.ends_at, high, now)
            if end <= begin:
                continue
            for part, amount in self.opening_hours(begin, end).items():
                hours[(key, part)] += amount

        visitors: Counter[tuple[str, DayPart]] = Counter()
        for t in tickets:
            part = day_part(self.local(t.issued_at))
            if part is not DayPart.OTHER and t.stop_id in place_of:
                visitors[(place_of[t.stop_id], part)] += 1

        wishes: Counter[tuple[str, DayPart]] = Counter()
        for *_, home, moment, people in answers:
            if home in NEIGHBOURHOODS and moment in _WISH_PARTS:
                wishes[(home, _WISH_PARTS[moment])] += people
                places.setdefault(home, NEIGHBOURHOODS[home])

        rows = []
        for cell in set(hours) | set(visitors) | set(wishes):
            seen = suppress(visitors[cell], visitors[cell])
            amount = round(hours.get(cell, 0.0), 2)
            rows.append(
                PlaceTime(
                    place=cell[0],
                    day_part=cell[1],
                    visitors=seen,
                    hours=amount,
                    per_hour=ratio(seen, amount, digits=2) if amount else None,
                    wishes=suppress(wishes[cell], wishes[cell]),
                    rank=None,
                )
            )
        return _ranked(rows, places), places


def _ranked(rows: list[PlaceTime], places: dict[str, str]) -> list[PlaceTime]:
    """Shown rates first, highest first; then places not visited at that time with the most
    wishes; hidden rows last, by name (their order must not hint at their size)."""
    parts = list(DayPart)

    def name(row: PlaceTime) -> tuple[str, int]:
        return places.get(row.place, row.place).casefold(), parts.index(row.day_part)

    rated = [r for r in rows if isinstance(r.per_hour, (int, float))]
    rated.sort(key=lambda r: (-cast(float, r.per_hour), name(r)))
    wished = [
        r
        for r in rows
        if r not in rated and not r.hours and isinstance(r.wishes, int) and r.wishes > 0
    ]
    wished.sort(key=lambda r: (-cast(int, r.wishes), name(r)))
    rest = sorted((r for r in rows if r not in rated and r not in wished), key=name)
    ranked = [
        PlaceTime(r.place, r.day_part, r.visitors, r.hours, r.per_hour, r.wishes, i)
        for i, r in enumerate(rated, start=1)
    ]
    return ranked + wished + rest
