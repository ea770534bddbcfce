"""The report coordinators read: every figure of the dashboard, the charts and the CSV/XLSX
exports for one scope, already suppressed (`Report`), and the service that builds it.

    ReportService.report(filters)
        -> Scope.read: the stops in scope, then its tickets and survey tallies   (scope.py)
        -> heat map, over time, waits, no-shows, origin, moments, unmet demand    (demand.py)
        -> neighbourhood x part of the week, ranked                               (where_next.py)
        -> walk-outs, ratings and wishes after the visit                          (feedback.py)
        -> Report
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.models import DayPart, Location, Product, Stop
from kiosk.services.base import DEFAULT_TIMEZONE, Clock, LocalService, Notifier, utc_now
from kiosk.services.research import demand, feedback
from kiosk.services.research.demand import CountRow, DurationRow, HeatMap, NoShowRow, TimeTable
from kiosk.services.research.feedback import RatingRow, WalkOutRow, WishRow
from kiosk.services.research.figures import Figure, perturb
from kiosk.services.research.scope import Filters, Scope, bounds
from kiosk.services.research.where_next import PlaceTime, opening_hours, where_next

# A ticket cancelled after waiting this long counts as unmet demand.
LONG_WAIT_MINUTES: Final = 30


@dataclass(frozen=True)
class StopChoice:
    """A stop the filter form offers: its id, its place's name and when it starts (UTC)."""

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
    # After the visit (kiosk.services.research.feedback): who left the queue, and the answers.
    walk_outs: list[WalkOutRow] = field(default_factory=list)
    ratings: list[RatingRow] = field(default_factory=list)
    wishes: list[WishRow] = field(default_factory=list)
    # A stop's place and local day, for the tables per stop.
    stops: dict[int, tuple[str, date]] = field(default_factory=dict)
    locations: dict[int, str] = field(default_factory=dict)
    products: dict[int, dict[str, str]] = field(default_factory=dict)
    places: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Nothing at all happened in this scope."""
        return self.tickets == 0 and self.respondents == 0 and all(r.value == 0 for r in self.unmet)


class ReportService(LocalService):
    """Builds the research report and what its filter form offers; reads only."""

    def __init__(
        self,
        session: Session,
        notifier: Notifier | None = None,
        clock: Clock = utc_now,
        *,
        timezone: str = DEFAULT_TIMEZONE,
        long_wait_minutes: int = LONG_WAIT_MINUTES,
    ) -> None:
        """Like every local service, and how long a wait makes a cancelled ticket unmet demand."""
        super().__init__(session, notifier, clock, timezone=timezone)
        self.long_wait = timedelta(minutes=long_wait_minutes)

    def default_filters(self, days: int = 28) -> Filters:
        """The last `days` local days up to today."""
        today = self.today()
        return Filters(today - timedelta(days=days - 1), today)

    def filter_choices(self, filters: Filters) -> tuple[dict[int, str], list[StopChoice]]:
        """What the filter form offers: every place, and the stops within the date range."""
        locations = {
            loc_id: name
            for loc_id, name in self.session.execute(
                select(Location.id, Location.name).order_by(Location.name, Location.id)
            )
        }
        low, high = bounds(filters, self.tz)
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

    def opening_hours(self, starts_at: datetime, ends_at: datetime) -> dict[DayPart, float]:
        """Hours of a window (UTC) in each part of the week, local time."""
        return opening_hours(starts_at, ends_at, self.tz)

    def report(self, filters: Filters) -> Report:
        """Every figure for this scope, suppressed (see `kiosk.services.research.figures`)."""
        session = self.session
        scope = Scope.read(session, filters, tz=self.tz, now=self.now())
        tickets = scope.tickets(session)
        answers = scope.answers(session)
        unmet, not_offered = demand.unmet(session, scope, tickets, long_wait=self.long_wait)
        no_shows = demand.no_shows(session, scope, tickets)
        ranking, places = where_next(session, scope, tickets, answers)
        ratings = feedback.ratings(session, scope)
        wishes = feedback.wishes(session, scope)
        stops = {
            stop_id: (location.name, scope.local(stop.starts_at).date())
            for stop_id, (stop, location) in scope.stops.items()
        }
        locations = {
            loc_id: name for loc_id, name in session.execute(select(Location.id, Location.name))
        }
        products = {p.id: dict(p.names) for p in session.scalars(select(Product))}
        self.end_read()

        durations = demand.durations(tickets)
        respondents = sum(people for *_, people in answers)
        return Report(
            filters=filters,
            tickets=perturb(len(tickets)),
            respondents=perturb(respondents),
            wait_median=durations[-1].wait_median,
            heat_map=demand.heat_map(scope, tickets),
            per_location=demand.over_time(scope, tickets, lambda t: t.location_id),
            per_product=demand.over_time(scope, tickets, lambda t: t.product_id),
            durations=durations,
            no_shows=no_shows,
            origin=demand.origin(answers),
            moments=demand.moments(answers),
            unmet=unmet,
            not_offered=not_offered,
            where_next=ranking,
            walk_outs=feedback.walk_outs(tickets),
            ratings=ratings,
            wishes=wishes,
            stops=stops,
            locations=locations,
            products=products,
            places=places,
        )
