"""A report's scope and what it reads: the filters a coordinator chose (`Filters`) and, for one
report, the stops they allow, the UTC bounds of their local days, and the tickets and survey
tallies in between (`Scope`).

Times are stored in UTC and counted in the configured time zone. Waits and service times are
computed in Python from the rows read here (the same answers on SQLite and PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import QueryableAttribute, Session

from kiosk.models import DayPart, Location, Moment, Stop, SurveyAnswer, Ticket, TicketStatus
from kiosk.services.errors import DomainError

# Up to this many days, figures over time are per day; longer ranges are per week.
DAILY_UP_TO_DAYS: Final = 31
# The longest range a report covers (about three years).
MAX_RANGE_DAYS: Final = 1100

# A survey tally: stop id, local day, part of the day, home, moment, people.
AnswerRow = tuple[int, date, DayPart, str, Moment, int]


class InvalidFilters(DomainError):
    """Filters no report can have: a backwards or too long date range."""

    code = "invalid_request"
    status = 422
    message = "The date range is not valid."


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
        """Refuse a backwards range and one longer than `MAX_RANGE_DAYS`."""
        if self.end < self.start:
            raise InvalidFilters("The end date is before the start date.")
        if (self.end - self.start).days >= MAX_RANGE_DAYS:
            raise InvalidFilters(f"Ask for at most {MAX_RANGE_DAYS} days at a time.")

    @property
    def days(self) -> int:
        """How many local days the range covers."""
        return (self.end - self.start).days + 1

    @property
    def granularity(self) -> str:
        """Figures over time per "day" up to `DAILY_UP_TO_DAYS` days, else per "week"."""
        return "day" if self.days <= DAILY_UP_TO_DAYS else "week"


def bounds(filters: Filters, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants of local midnight at the start and after the end."""
    low = datetime.combine(filters.start, time(0), tzinfo=tz).astimezone(UTC)
    high = datetime.combine(filters.end + timedelta(days=1), time(0), tzinfo=tz)
    return low, high.astimezone(UTC)


@dataclass
class TicketRow:
    """What the report needs of one ticket (and the place of its stop; 0 if unknown)."""

    issued_at: datetime
    called_at: datetime | None
    due_at: datetime | None
    status: TicketStatus
    service_seconds: int | None
    ended_at: datetime | None
    stop_id: int
    product_id: int
    location_id: int


@dataclass(frozen=True)
class Scope:
    """One report's scope, read once: the filters, every stop they allow (any date: dates are
    applied to what happened), the UTC bounds `low`..`high` of their local days, the time zone
    and the report's "now"."""

    filters: Filters
    stops: dict[int, tuple[Stop, Location]]
    low: datetime
    high: datetime
    tz: ZoneInfo
    now: datetime

    @classmethod
    def read(cls, session: Session, filters: Filters, *, tz: ZoneInfo, now: datetime) -> Scope:
        """The scope of `filters`, with the stops read from `session`."""
        query = select(Stop, Location).join(Location, Location.id == Stop.location_id)
        if filters.stop_id is not None:
            query = query.where(Stop.id == filters.stop_id)
        if filters.location_id is not None:
            query = query.where(Stop.location_id == filters.location_id)
        stops = {stop.id: (stop, location) for stop, location in session.execute(query)}
        return cls(filters, stops, *bounds(filters, tz), tz=tz, now=now)

    @property
    def narrowed(self) -> bool:
        """Whether the filters name a place or a stop (else every stop is in scope)."""
        return self.filters.stop_id is not None or self.filters.location_id is not None

    def holds(self, stop_id: int | None) -> bool:
        """Whether what happened at this stop (None: at no stop) counts in this scope."""
        return not self.narrowed or stop_id in self.stops

    def at_stops(self, column: QueryableAttribute[Any]) -> list[ColumnElement[bool]]:
        """The condition that `column` (a stop id) is a stop in scope; none if not narrowed."""
        if not self.narrowed:
            return []
        return [column.in_(list(self.stops) or [-1])]

    def of_product(self, column: QueryableAttribute[Any]) -> list[ColumnElement[bool]]:
        """The condition that `column` (a product id) is the chosen product; none if none is."""
        if self.filters.product_id is None:
            return []
        return [column == self.filters.product_id]

    def local(self, moment: datetime) -> datetime:
        """A moment in the configured time zone."""
        return moment.astimezone(self.tz)

    def tickets(self, session: Session) -> list[TicketRow]:
        """The tickets issued in scope."""
        query = select(
            Ticket.issued_at,
            Ticket.called_at,
            Ticket.due_at,
            Ticket.status,
            Ticket.service_seconds,
            Ticket.ended_at,
            Ticket.stop_id,
            Ticket.product_id,
        ).where(
            Ticket.issued_at >= self.low,
            Ticket.issued_at < self.high,
            *self.of_product(Ticket.product_id),
            *self.at_stops(Ticket.stop_id),
        )
        rows = []
        for row in session.execute(query):
            location_id = self.stops[row.stop_id][1].id if row.stop_id in self.stops else 0
            rows.append(TicketRow(*row, location_id=location_id))
        return rows

    def answers(self, session: Session) -> list[AnswerRow]:
        """Survey tallies in scope (the survey asks no product: the product filter is moot)."""
        query = select(
            SurveyAnswer.stop_id,
            SurveyAnswer.day,
            SurveyAnswer.day_part,
            SurveyAnswer.home,
            SurveyAnswer.moment,
            SurveyAnswer.people,
        ).where(
            SurveyAnswer.day >= self.filters.start,
            SurveyAnswer.day <= self.filters.end,
            SurveyAnswer.people > 0,
            *self.at_stops(SurveyAnswer.stop_id),
        )
        return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]
