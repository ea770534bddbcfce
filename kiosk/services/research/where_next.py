"""Where and when next: each neighbourhood in each part of the week, ranked by visitors per
opening hour, with the wishes of its residents beside it.

Visitors: tickets issued at stops in that neighbourhood in that part of the week. Opening hours:
the windows of those stops (opened, not only planned; up to now) in that part of the week.
Wishes: residents of that neighbourhood who would rather come then (the kiosk's second question).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final, cast
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import DayPart, Location, Moment, StopStatus, stop_products
from kiosk.services.research.figures import Figure, perturb, ratio
from kiosk.services.research.scope import AnswerRow, Scope, TicketRow
from kiosk.services.research.vocabulary import (
    DAY_PART_HOURS,
    NEIGHBOURHOODS,
    UNKNOWN_PLACE,
    day_part,
    neighbourhood_code,
)

# The moments residents can choose that are a part of the week.
_WISH_PARTS: Final = {
    Moment.WEEKDAY: DayPart.WEEKDAY,
    Moment.EVENING: DayPart.EVENING,
    Moment.WEEKEND: DayPart.WEEKEND,
}


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


def opening_hours(starts_at: datetime, ends_at: datetime, tz: ZoneInfo) -> dict[DayPart, float]:
    """Hours of a window (UTC) in each part of the week, local time (`tz`)."""
    begin, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    hours: dict[DayPart, float] = defaultdict(float)
    day = begin.date()
    while day <= end.date():
        parts = [DayPart.WEEKEND] if day.weekday() >= 5 else [DayPart.WEEKDAY, DayPart.EVENING]
        for part in parts:
            first, last = DAY_PART_HOURS[part]
            low = max(datetime.combine(day, first, tzinfo=tz), begin)
            high = min(datetime.combine(day, last, tzinfo=tz), end)
            if high > low:
                hours[part] += (high - low).total_seconds() / 3600
        day += timedelta(days=1)
    return dict(hours)


def place(location: Location) -> tuple[str, str]:
    """A location's neighbourhood as a key and its (untranslated) label."""
    code = neighbourhood_code(location.neighbourhood)
    if code is not None:
        return code, NEIGHBOURHOODS[code]
    name = location.neighbourhood.strip()
    return (f"place:{name.casefold()}", name) if name else ("unknown", UNKNOWN_PLACE)


def where_next(
    session: Session, scope: Scope, tickets: list[TicketRow], answers: list[AnswerRow]
) -> tuple[list[PlaceTime], dict[str, str]]:
    """Neighbourhood x part of the week, ranked (see `ranked`); and the label of each place."""
    filters = scope.filters
    offering: set[int] | None = None
    if filters.product_id is not None:
        offering = set(
            session.scalars(
                select(stop_products.c.stop_id).where(
                    stop_products.c.product_id == filters.product_id
                )
            )
        )
    places: dict[str, str] = {}
    place_of: dict[int, str] = {}
    hours: dict[tuple[str, DayPart], float] = defaultdict(float)
    for stop_id, (stop, location) in scope.stops.items():
        key, label = place(location)
        places[key] = label
        place_of[stop_id] = key
        if stop.status is StopStatus.PLANNED:
            continue  # never opened
        if offering is not None and stop_id not in offering:
            continue
        begin, end = max(stop.starts_at, scope.low), min(stop.ends_at, scope.high, scope.now)
        if end <= begin:
            continue
        for part, amount in opening_hours(begin, end, scope.tz).items():
            hours[(key, part)] += amount

    visitors: Counter[tuple[str, DayPart]] = Counter()
    for t in tickets:
        part = day_part(scope.local(t.issued_at))
        if part is not DayPart.OTHER and t.stop_id in place_of:
            visitors[(place_of[t.stop_id], part)] += 1

    wishes: Counter[tuple[str, DayPart]] = Counter()
    for *_, home, moment, people in answers:
        if home in NEIGHBOURHOODS and moment in _WISH_PARTS:
            wishes[(home, _WISH_PARTS[moment])] += people
            places.setdefault(home, NEIGHBOURHOODS[home])

    rows = []
    for cell in set(hours) | set(visitors) | set(wishes):
        seen = perturb(visitors[cell])
        amount = round(hours.get(cell, 0.0), 2)
        rows.append(
            PlaceTime(
                place=cell[0],
                day_part=cell[1],
                visitors=seen,
                hours=amount,
                per_hour=ratio(seen, amount, digits=2) if amount else None,
                wishes=perturb(wishes[cell]),
                rank=None,
            )
        )
    return ranked(rows, places), places


def ranked(rows: list[PlaceTime], places: dict[str, str]) -> list[PlaceTime]:
    """Shown rates first, highest first (numbered from 1); then places not visited at that time
    with the most wishes; hidden rows last, by name (their order must not hint at their size)."""
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
    numbered = [replace(r, rank=i) for i, r in enumerate(rated, start=1)]
    return numbered + wished + rest
