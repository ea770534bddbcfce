"""What every planning service shares: the base class `PlanningService`, the change log's
helpers (`_create`, `_update`, `_delete`, `_log` with an `Audited` kind of row), the look-up of
products by id, and the way the texts show dates and times.

Every change appends an event with the actor, the action (``location.create``), the object and
its facts: all of them when it is made or removed (``values``), the changed ones when it is
updated (``changes``: {"name": [old, new]}); the time is the event's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kiosk.models import Desk, Location, Product, Stop, StopSeries
from kiosk.services.base import Actor, LocalService, diff
from kiosk.services.validation import N_, InUse, id_list, text

Row = TypeVar("Row", Location, Product, Stop, Desk, StopSeries)


def day_text(value: date) -> str:
    """A date as the texts show it (24-11-2026)."""
    return value.strftime("%d-%m-%Y")


def product_codes(products: Iterable[Product]) -> list[str]:
    """The products' codes, as the change log keeps lists of products."""
    return [p.code for p in products]


@dataclass(frozen=True)
class Audited(Generic[Row]):
    """How the change log names a kind of row: `name` in its actions (location.create), its
    object type, the facts it keeps of it, and the stop or product it belongs to."""

    name: str
    object_type: str
    facts: Callable[[Row], dict[str, Any]]
    scope: Callable[[Row], dict[str, Any]] = lambda _row: {}


class PlanningService(LocalService):
    """Base of the services that plan the tour. Local dates and times use `timezone`; storage
    is UTC."""

    def _day_of(self, moment: datetime) -> str:
        """A moment's local date as the texts show it (24-11-2026)."""
        return day_text(self.local(moment).date())

    def _time_of(self, moment: datetime) -> str:
        """A moment's local time as the texts show it (18:00)."""
        return self.local(moment).strftime("%H:%M")

    def _products_by_id(self, raw: Sequence[str]) -> list[Product]:
        """The products with these ids (unknown ones left out), in the kiosk's order."""
        ids = id_list(raw)
        if not ids:
            return []
        found = {p.id: p for p in self.session.scalars(select(Product).where(Product.id.in_(ids)))}
        return sorted((found[i] for i in ids if i in found), key=lambda p: (p.sort_order, p.id))

    # -- the change log -----------------------------------------------------------------------

    def _log(
        self,
        kind: Audited[Row],
        verb: str,
        row: Row,
        actor: Actor,
        *,
        scope: dict[str, Any] | None = None,
        **data: Any,
    ) -> None:
        """Log `verb` (create, update…) of one row, with the stop or product it belongs to."""
        self.log(
            f"{kind.name}.{verb}",
            actor,
            object_type=kind.object_type,
            object_id=row.id,
            **(kind.scope(row) if scope is None else scope),
            **data,
        )

    def _create(self, kind: Audited[Row], row: Row, actor: Actor) -> Row:
        """Store a new row, log it with its facts, commit."""
        self.session.add(row)
        self.session.flush()
        self._log(kind, "create", row, actor, values=kind.facts(row))
        self.session.commit()
        return row

    def _update(self, kind: Audited[Row], row: Row, before: dict[str, Any], actor: Actor) -> Row:
        """Log the fields of a changed row that differ from `before` (if any), commit."""
        changes = diff(before, kind.facts(row))
        if changes:
            self._log(kind, "update", row, actor, changes=changes)
        self.session.commit()
        return row

    def _delete(
        self,
        kind: Audited[Row],
        row: Row,
        actor: Actor,
        *,
        remove: Callable[[Row], None] | None = None,
        **data: Any,
    ) -> None:
        """Remove a row (`remove`, or a plain delete), log what it was, commit."""
        facts, scope = kind.facts(row), kind.scope(row)  # read while the row is still there
        (remove or self.session.delete)(row)
        self._log(kind, "delete", row, actor, scope=scope, values=facts, **data)
        self._commit_delete()

    def _commit_delete(self) -> None:
        """Commit a delete; a row elsewhere that still points at it (a table this service
        does not know about) turns into a refusal, not an error page."""
        try:
            self.session.commit()
        except IntegrityError:
            self.session.rollback()
            raise InUse(
                text(N_("Dit wordt nog gebruikt door andere gegevens. Daarom kan het niet weg."))
            ) from None
