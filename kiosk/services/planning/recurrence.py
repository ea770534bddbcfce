"""Recurring stops: "every Tuesday 18:00-21:00 at Kersenboogerd for 8 weeks, not on 29 December".

A `Rule` holds local wall-clock times and local dates; `expand` turns each date into a UTC
window in the stop's time zone (the app's ``TIMEZONE``, Europe/Amsterdam). Each date is
converted on its own, so a series keeps its local hours across the changes to and from daylight
saving time: 10:00 on the Sunday before the last Sunday of October is 08:00 UTC, 10:00 on the
Sunday after it is 09:00 UTC.

Two wall-clock times need a rule of their own:

- a time that does not exist that night (02:00-03:00 on the last Sunday of March, when the
  clocks go forward) is refused with `SeriesError("time_missing")`;
- a time that happens twice (02:00-03:00 on the last Sunday of October) means the first
  time, still summer time (``fold=0``).

Pure: no database, no Flask. The planning services map the error codes to texts at the form's
fields (kiosk.services.planning.shaping.rule_error).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_WEEKS = 104  # two years of weekly stops
WEEKDAYS = tuple(range(7))  # date.weekday(): 0 is Monday


class SeriesError(ValueError):
    """A rule that cannot make stops. `code` is stable; `field` names the rule's part."""

    def __init__(self, code: str, field: str, **params: object) -> None:
        super().__init__(f"{field}: {code}")
        self.code = code
        self.field = field
        self.params = params


def zone(tz: str | ZoneInfo) -> ZoneInfo:
    """A time zone from its name (or the zone itself)."""
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def local_moment(day: date, at: time, tz: str | ZoneInfo) -> datetime:
    """The UTC moment of wall-clock time `at` on `day` in `tz`.

    Raises SeriesError("time_missing") when the clocks skip that time on that day; an hour that
    repeats (clocks going back) gives its first occurrence.
    """
    tzinfo = zone(tz)
    wall = datetime.combine(day, at.replace(tzinfo=None), tzinfo=tzinfo)
    moment = wall.astimezone(UTC)
    if moment.astimezone(tzinfo).replace(tzinfo=None) != wall.replace(tzinfo=None):
        raise SeriesError("time_missing", "time", day=day, time=at)
    return moment


def local_window(
    day: date, start: time, end: time, tz: str | ZoneInfo
) -> tuple[datetime, datetime]:
    """The UTC start and end of a local opening window on `day`."""
    if end <= start:
        raise SeriesError("end_before_start", "end_time")
    starts_at = local_moment(day, start, tz)
    try:
        ends_at = local_moment(day, end, tz)
    except SeriesError as error:
        raise SeriesError("time_missing", "end_time", **error.params) from None
    if ends_at <= starts_at:  # e.g. 01:30-02:30 on the night the clocks go back
        raise SeriesError("end_before_start", "end_time")
    return starts_at, ends_at


@dataclass(frozen=True)
class Occurrence:
    """One date of a series: its UTC window, and whether it is skipped (an exception)."""

    day: date
    starts_at: datetime
    ends_at: datetime
    skipped: bool = False


@dataclass(frozen=True)
class Rule:
    """Weekdays, a local window and a period: `weeks` weeks from `first_date`, or up to and
    including `last_date` (give one of the two). `exceptions` are dates that are skipped."""

    weekdays: frozenset[int]
    start: time
    end: time
    first_date: date
    weeks: int | None = None
    last_date: date | None = None
    exceptions: frozenset[date] = field(default_factory=frozenset)

    @property
    def until(self) -> date:
        """The last date the series may fall on."""
        if self.last_date is not None:
            return self.last_date
        assert self.weeks is not None, "validate() first"
        return self.first_date + timedelta(weeks=self.weeks, days=-1)

    def validate(self) -> None:
        """Raise SeriesError for the first part of the rule that cannot work."""
        if not self.weekdays:
            raise SeriesError("no_weekday", "weekdays")
        if any(day not in WEEKDAYS for day in self.weekdays):
            raise SeriesError("bad_weekday", "weekdays")
        if self.end <= self.start:
            raise SeriesError("end_before_start", "end_time")
        if self.weeks is None and self.last_date is None:
            raise SeriesError("no_period", "weeks")
        if self.weeks is not None and not 1 <= self.weeks <= MAX_WEEKS:
            raise SeriesError("weeks_out_of_range", "weeks", max=MAX_WEEKS)
        if self.last_date is not None:
            if self.last_date < self.first_date:
                raise SeriesError("last_before_first", "last_date")
            if self.last_date > self.first_date + timedelta(weeks=MAX_WEEKS):
                raise SeriesError("period_too_long", "last_date", max=MAX_WEEKS)
        days = self.all_dates()
        if not days:
            raise SeriesError("no_dates", "weekdays")
        strays = sorted(self.exceptions - set(days))
        if strays:
            raise SeriesError("exception_not_in_series", "exceptions", day=strays[0])
        if not set(days) - self.exceptions:
            raise SeriesError("all_skipped", "exceptions")

    def all_dates(self) -> list[date]:
        """Every date on the rule's weekdays in its period, exceptions included."""
        days = []
        day = self.first_date
        until = self.until
        while day <= until:
            if day.weekday() in self.weekdays:
                days.append(day)
            day += timedelta(days=1)
        return days

    def dates(self) -> list[date]:
        """The dates that get a stop: `all_dates` without the exceptions."""
        return [day for day in self.all_dates() if day not in self.exceptions]


def expand(rule: Rule, tz: str | ZoneInfo, *, include_skipped: bool = False) -> list[Occurrence]:
    """The rule's dates with their UTC windows, in order; skipped dates only if asked for.

    Validates the rule first; a window that does not exist on one of the dates (the spring
    gap) raises SeriesError("time_missing") naming that date.
    """
    rule.validate()
    tzinfo = zone(tz)
    found = []
    for day in rule.all_dates():
        skipped = day in rule.exceptions
        if skipped and not include_skipped:
            continue
        try:
            starts_at, ends_at = local_window(day, rule.start, rule.end, tzinfo)
        except SeriesError:
            if skipped:  # a skipped date need not have a valid window
                starts_at = ends_at = datetime.combine(day, rule.start, tzinfo=tzinfo)
            else:
                raise
        found.append(Occurrence(day, starts_at, ends_at, skipped))
    return found
