"""Demand and how it was met: the report's tables of tickets, survey tallies, appointments and
demand signals, each already suppressed (see `figures`).

- `heat_map`: tickets per local weekday and hour;
- `over_time`: tickets per day or week, per place or per product;
- `durations`: waits and service times per product;
- `no_shows`: called tickets and booked appointments, and who did not come, per place;
- `origin` and `moments`: where the residents who answered live, and when they would rather come;
- `unmet`: demand we could not help, by kind, and the products asked for where not offered.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kiosk.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    DemandSignal,
    Event,
    Moment,
    SignalKind,
    Slot,
    TicketStatus,
)
from kiosk.services.research.figures import (
    Figure,
    median,
    percentile,
    perturb,
    protect,
    ratio,
    suppress,
)
from kiosk.services.research.scope import AnswerRow, Filters, Scope, TicketRow
from kiosk.services.research.vocabulary import NEIGHBOURHOODS, OTHER_HOMES, POSTCODE4, SKIPPED

# The heat map always shows at least these local hours.
HEAT_HOURS: Final = (8, 21)
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


@dataclass(frozen=True)
class Series:
    """One line of a table over time: a place's or a product's count per period."""

    key: int
    values: list[Figure]


@dataclass(frozen=True)
class TimeTable:
    """Counts per period (`granularity` "day", or "week" named by its Monday), one series per
    place or product."""

    granularity: str
    periods: list[date]
    series: list[Series]


@dataclass(frozen=True)
class HeatMap:
    """Tickets per local weekday (0 = Monday) and hour."""

    hours: list[int]
    cells: dict[tuple[int, int], Figure]

    def value(self, weekday: int, hour: int) -> Figure:
        """The figure of one weekday and hour (0 where nothing happened)."""
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
    """One counted thing (a neighbourhood, a moment, a kind of unmet demand, a product) and
    its figure."""

    key: str
    value: Figure


# -- tickets over the week and over time --------------------------------------------------------


def heat_map(scope: Scope, tickets: list[TicketRow]) -> HeatMap:
    """Tickets per local weekday and hour, over at least `HEAT_HOURS`."""
    counts: Counter[tuple[int, int]] = Counter()
    for t in tickets:
        local = scope.local(t.issued_at)
        counts[(local.weekday(), local.hour)] += 1
    used = [hour for _, hour in counts]
    first = min([HEAT_HOURS[0], *used])
    last = max([HEAT_HOURS[1], *used])
    hours = list(range(first, last + 1))
    keys = [(day, hour) for day in range(7) for hour in hours]
    shown = protect([counts[k] for k in keys])
    return HeatMap(hours, dict(zip(keys, shown, strict=True)))


def _periods(filters: Filters) -> list[date]:
    if filters.granularity == "day":
        return [filters.start + timedelta(days=i) for i in range(filters.days)]
    monday = filters.start - timedelta(days=filters.start.weekday())
    weeks = []
    while monday <= filters.end:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def _period_of(filters: Filters, day: date) -> date:
    return day if filters.granularity == "day" else day - timedelta(days=day.weekday())


def over_time(scope: Scope, tickets: list[TicketRow], key: Callable[[TicketRow], int]) -> TimeTable:
    """Tickets per period, one series per `key` (a place or a product), protected as one
    table."""
    filters = scope.filters
    periods = _periods(filters)
    counts: dict[int, Counter[date]] = defaultdict(Counter)
    for t in tickets:
        counts[key(t)][_period_of(filters, scope.local(t.issued_at).date())] += 1
    keys = sorted(counts)
    flat = [counts[k][p] for k in keys for p in periods]
    shown = protect(flat)
    width = len(periods)
    series = [Series(k, shown[i * width : (i + 1) * width]) for i, k in enumerate(keys)]
    return TimeTable(filters.granularity, periods, series)


# -- waits and service times ------------------------------------------------------------------


def durations(tickets: list[TicketRow]) -> list[DurationRow]:
    """Waits and service times per product, then of all products (the last row)."""
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
        _duration_row(k, waited[i], waits[k], served[i], services[k]) for i, k in enumerate(keys)
    ]
    all_waits = [w for k in keys for w in waits[k]]
    all_services = [s for k in keys for s in services[k]]
    rows.append(
        _duration_row(
            None,
            perturb(len(all_waits)),
            all_waits,
            perturb(len(all_services)),
            all_services,
        )
    )
    return rows


def _duration_row(
    key: int | None, waited: Figure, waits: list[float], served: Figure, services: list[float]
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


# -- who did not come ------------------------------------------------------------------------


def no_shows(session: Session, scope: Scope, tickets: list[TicketRow]) -> list[NoShowRow]:
    """Per place, then of every place (the last row): called tickets and no-shows, and
    appointments before now (not cancelled) and those missed."""
    called: Counter[int] = Counter()
    absent: Counter[int] = Counter()
    for t in tickets:
        if t.called_at is not None or t.status is TicketStatus.NO_SHOW:
            called[t.location_id] += 1
        if t.status is TicketStatus.NO_SHOW:
            absent[t.location_id] += 1
    booked: Counter[int] = Counter()
    missed: Counter[int] = Counter()
    query = (
        select(Appointment.stop_id, Appointment.status)
        .join(Slot, Slot.id == Appointment.slot_id)
        .where(
            Slot.starts_at >= scope.low,
            Slot.starts_at < scope.high,
            Slot.starts_at < scope.now,  # later ones cannot have been missed yet
            Appointment.status != AppointmentStatus.CANCELLED,
            *scope.of_product(Appointment.product_id),
        )
    )
    for stop_id, status in session.execute(query):
        if stop_id not in scope.stops:
            continue
        location_id = scope.stops[stop_id][1].id
        booked[location_id] += 1
        if status is AppointmentStatus.NO_SHOW:
            missed[location_id] += 1
    keys = sorted(set(called) | set(booked))
    columns = [protect([c[k] for k in keys]) for c in (called, absent, booked, missed)]
    rows = [_no_show_row(k, *(column[i] for column in columns)) for i, k in enumerate(keys)]
    totals = [sum(c.values()) for c in (called, absent, booked, missed)]
    rows.append(_no_show_row(None, *(perturb(n) for n in totals)))
    return rows


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


# -- the kiosk's questions ---------------------------------------------------------------------


def origin(answers: Iterable[AnswerRow]) -> list[CountRow]:
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


def moments(answers: Iterable[AnswerRow]) -> list[CountRow]:
    """When the residents who answered would rather come, in the kiosk's order."""
    counts: Counter[Moment] = Counter()
    for *_, moment, people in answers:
        if moment is not Moment.SKIPPED:
            counts[moment] += people
    keys = [m for m in Moment if m is not Moment.SKIPPED]
    shown = protect([counts[k] for k in keys])
    return [CountRow(k.value, v) for k, v in zip(keys, shown, strict=True)]


# -- demand we could not help ----------------------------------------------------------------


def unmet(
    session: Session, scope: Scope, tickets: list[TicketRow], *, long_wait: timedelta
) -> tuple[list[CountRow], list[CountRow]]:
    """Unmet demand by kind (`UNMET_KINDS`), and the products asked for where they were not
    offered (key: a product id, or "" when the product is unknown). A ticket cancelled after
    waiting `long_wait` or longer counts as unmet demand."""
    counts: Counter[str] = Counter()
    asked: Counter[str] = Counter()

    signals = select(DemandSignal.kind, DemandSignal.stop_id, DemandSignal.product_id).where(
        DemandSignal.day >= scope.filters.start,
        DemandSignal.day <= scope.filters.end,
        *scope.of_product(DemandSignal.product_id),
    )
    for kind, stop_id, product_id in session.execute(signals):
        if not scope.holds(stop_id):
            continue
        counts[kind.value] += 1
        if kind is SignalKind.NOT_OFFERED:
            asked[str(product_id or "")] += 1

    if scope.filters.product_id is None:  # a refused ticket's product is not in the log
        refused = select(Event.stop_id, Event.data).where(
            Event.action == "ticket.issue",
            Event.result == "rejected",
            Event.at >= scope.low,
            Event.at < scope.high,
        )
        for stop_id, data in session.execute(refused):
            refusal = _REJECTION_KINDS.get(str((data or {}).get("error")))
            if refusal is None or not scope.holds(stop_id):
                continue
            counts[refusal] += 1
            if refusal == SignalKind.NOT_OFFERED.value:
                asked[""] += 1

    later = select(Appointment.stop_id).where(
        Appointment.source == AppointmentSource.KIOSK,
        Appointment.created_at >= scope.low,
        Appointment.created_at < scope.high,
        *scope.of_product(Appointment.product_id),
    )
    counts["book_later"] += _appointments_in(session, scope, later)
    missed = (
        select(Appointment.stop_id)
        .join(Slot, Slot.id == Appointment.slot_id)
        .where(
            Appointment.status == AppointmentStatus.NO_SHOW,
            Slot.starts_at >= scope.low,
            Slot.starts_at < scope.high,
            *scope.of_product(Appointment.product_id),
        )
    )
    counts["no_show_appointment"] += _appointments_in(session, scope, missed)

    for t in tickets:
        if t.status is TicketStatus.NO_SHOW:
            counts["no_show_ticket"] += 1
        elif (
            t.status is TicketStatus.CANCELLED
            and t.ended_at is not None
            and t.ended_at - t.issued_at >= long_wait
        ):
            counts["cancelled_long_wait"] += 1

    rows = [CountRow(k, perturb(counts[k])) for k in UNMET_KINDS]
    products = sorted(asked, key=lambda k: (k == "", k))
    not_offered = [CountRow(k, perturb(asked[k])) for k in products]
    return rows, not_offered


def _appointments_in(session: Session, scope: Scope, query: Select[int]) -> int:
    """How many of the appointments `query` finds (by their stop ids) are in scope."""
    return sum(1 for (stop_id,) in session.execute(query) if scope.holds(stop_id))
