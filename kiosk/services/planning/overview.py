"""What the coordinators' front page shows: a few counts, the next stops, and the change log of
what people changed (not what the queue or the devices did)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kiosk.models import Event, Location, Product, StaffUser, Stop, StopSeries, StopStatus
from kiosk.services.planning.base import PlanningService

# The object types whose changes by people the change log shows.
AUDITED_OBJECTS = (
    "location",
    "product",
    "stop",
    "desk",
    "stop_series",
    "user",
    "device",
    "setting",
)
# Logged for security, but not changes to show in the overview.
NOT_CHANGES = ("user.login", "token.issue")


@dataclass(frozen=True)
class Change:
    """One logged change, for the overview."""

    event: Event
    who: str


@dataclass
class Overview:
    """The counts, the next stops and the latest changes."""

    locations: int
    products: int
    upcoming: list[Stop]
    series: int
    changes: list[Change] = field(default_factory=list)


class OverviewService(PlanningService):
    """Reads what the overview and the change log show."""

    def overview(self, *, changes: int = 15) -> Overview:
        """Counts, the next stops and the latest changes by coordinators and admins."""
        now = self.now()
        result = Overview(
            locations=self.session.scalar(select(func.count(Location.id))) or 0,
            products=self.session.scalar(
                select(func.count(Product.id)).where(Product.active.is_(True))
            )
            or 0,
            upcoming=list(
                self.session.scalars(
                    select(Stop)
                    .where(Stop.ends_at > now, Stop.status != StopStatus.CLOSED)
                    .options(selectinload(Stop.location))
                    .order_by(Stop.starts_at)
                    .limit(5)
                )
            ),
            series=self.session.scalar(
                select(func.count(StopSeries.id)).where(StopSeries.cancelled_at.is_(None))
            )
            or 0,
        )
        result.changes = self.changes(limit=changes)
        return result

    def changes(self, *, limit: int = 50) -> list[Change]:
        """The latest changes made by people (not by the queue or devices), newest first."""
        events = list(
            self.session.scalars(
                select(Event)
                .where(
                    Event.actor_type == "staff",
                    Event.object_type.in_(AUDITED_OBJECTS),
                    Event.action.not_in(NOT_CHANGES),
                )
                .order_by(Event.id.desc())
                .limit(limit)
            )
        )
        ids = {e.actor_id for e in events if e.actor_id is not None}
        names = {
            u.id: u.display_name or u.username
            for u in self.session.scalars(select(StaffUser).where(StaffUser.id.in_(ids)))
        }
        return [Change(e, names.get(e.actor_id or 0, "?")) for e in events]
