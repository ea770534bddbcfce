"""Today's figures for a desk and its stop, for the desk page: how many were served and did
not come, the median wait and the median service time.

One plain statement reads today's tickets of one stop (a few hundred rows at most: the index
on the stop serves it, on SQLite and PostgreSQL alike); the medians are taken in Python, the
same way research does (kiosk/services/research/demand.py: the wait runs from the issue, or
from an appointment's slot start, to the call; the service time is the ticket's
`service_seconds`). Staff see their own work, so no cell is suppressed here: research's
small-cell rules are for what leaves the desk.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import bindparam, select

from kiosk.models import Desk, Ticket, TicketStatus, UTCDateTime
from kiosk.payloads import iso
from kiosk.services.base import LocalService

_TODAY = select(
    Ticket.desk_id,
    Ticket.status,
    Ticket.issued_at,
    Ticket.due_at,
    Ticket.called_at,
    Ticket.service_seconds,
).where(
    Ticket.stop_id == bindparam("stop_id"),
    Ticket.issued_at >= bindparam("since", type_=UTCDateTime()),
)


@dataclass(frozen=True)
class FigureSet:
    """The figures of one desk, or of the whole stop, for today."""

    served: int
    no_shows: int
    called: int
    wait_median_seconds: int | None
    service_median_seconds: int | None


def _median(values: list[float]) -> int | None:
    return round(statistics.median(values)) if values else None


def figure_set(rows: list[Any]) -> FigureSet:
    """The figures of these ticket rows (desk_id, status, issued_at, due_at, called_at,
    service_seconds)."""
    waits: list[float] = []
    services: list[float] = []
    served = no_shows = 0
    for row in rows:
        if row.called_at is not None:
            start = max(row.issued_at, row.due_at) if row.due_at is not None else row.issued_at
            waits.append(max((row.called_at - start).total_seconds(), 0.0))
        if row.status == TicketStatus.DONE:
            served += 1
            if row.service_seconds is not None:
                services.append(float(row.service_seconds))
        elif row.status == TicketStatus.NO_SHOW:
            no_shows += 1
    return FigureSet(served, no_shows, len(waits), _median(waits), _median(services))


class FiguresService(LocalService):
    """Today's figures (the local day of the configured time zone)."""

    def day_start(self) -> datetime:
        """Local midnight of today, as an aware datetime."""
        return datetime.combine(self.today(), time(), tzinfo=self.tz)

    def desk_figures(self, desk: Desk) -> dict[str, Any]:
        """Today's figures for this desk and for its whole stop (`DeskFiguresSchema`)."""
        since = self.day_start()
        rows = self.session.execute(_TODAY, {"stop_id": desk.stop_id, "since": since}).all()
        own = [row for row in rows if row.desk_id == desk.id]
        figures = {
            "desk": asdict(figure_set(own)),
            "stop": asdict(figure_set(list(rows))),
            "since": iso(since.astimezone(UTC)),
            "at": iso(self.now()),
        }
        self.end_read()
        return figures
