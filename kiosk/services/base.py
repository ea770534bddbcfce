"""What every service shares: a clock, a notifier, an actor and the event log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from kiosk.database import begin_write
from kiosk.models import Event

Clock = Callable[[], datetime]

# On the table, not the mapped class: a plain Core INSERT, without the ORM's bulk-insert steps.
_INSERT_EVENT = insert(cast(Table, Event.__table__))


def utc_now() -> datetime:
    """The real clock: an aware UTC datetime."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff member, a paired device, the system or an anonymous visitor."""

    kind: str
    id: int | None = None
    origin: str | None = None

    @classmethod
    def system(cls, origin: str = "system") -> Actor:
        return cls("system", None, origin)


SYSTEM = Actor.system()


class Notifier(Protocol):
    """Publishes a named event with a JSON-ready payload to a room of listeners."""

    def publish(self, event: str, payload: dict[str, Any], *, room: str) -> None: ...


@dataclass
class RecordingNotifier:
    """Keeps what was published: for tests and for the CLI when no server listens."""

    published: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)

    def publish(self, event: str, payload: dict[str, Any], *, room: str) -> None:
        self.published.append((event, payload, room))

    def names(self, room: str | None = None) -> list[str]:
        return [name for name, _, r in self.published if room is None or r == room]


class NullNotifier:
    """Publishes nothing."""

    def publish(self, event: str, payload: dict[str, Any], *, room: str) -> None:
        return None


Payload = dict[str, Any] | Callable[[], dict[str, Any] | None]


@dataclass
class Pending:
    """Events to publish once the transaction that caused them has committed.

    A payload may be a callable: it is built after the commit, outside the write lock, and
    may return None to publish nothing.
    """

    items: list[tuple[str, Payload, str]] = field(default_factory=list)

    def add(self, event: str, payload: Payload, room: str) -> None:
        self.items.append((event, payload, room))


class Service:
    """Base for use-case classes: one public method is one transaction."""

    def __init__(
        self, session: Session, notifier: Notifier | None = None, clock: Clock = utc_now
    ) -> None:
        self.session = session
        self.notifier: Notifier = notifier or NullNotifier()
        self.clock = clock

    def now(self) -> datetime:
        return self.clock()

    def log(
        self,
        action: str,
        actor: Actor,
        *,
        object_type: str,
        object_id: int | None = None,
        result: str = "ok",
        stop_id: int | None = None,
        product_id: int | None = None,
        **data: Any,
    ) -> None:
        """Append an audit and research event to the current transaction."""
        # A plain INSERT: the log is append-only, nobody needs the row back as an object, and
        # this skips the unit of work's bookkeeping for it.
        self.session.execute(
            _INSERT_EVENT,
            {
                "at": self.now(),
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                "result": result,
                "actor_type": actor.kind,
                "actor_id": actor.id,
                "origin": actor.origin,
                "stop_id": stop_id,
                "product_id": product_id,
                "data": data,
            },
        )

    def begin_write(self) -> None:
        """Open this use case's write transaction before its first read (see kiosk.database)."""
        begin_write(self.session)

    def log_rejection(self, action: str, actor: Actor, error: Exception, **kw: Any) -> None:
        """Record a refused attempt in its own transaction after the failed one rolled back."""
        self.session.rollback()
        self.begin_write()
        code = getattr(error, "code", type(error).__name__)
        self.log(action, actor, result="rejected", error=code, **kw)
        self.session.commit()

    def commit(self, pending: Pending) -> None:
        """Commit, then publish: listeners never see what did not happen."""
        self.session.commit()
        self.publish(pending)
        self.end_read()

    def publish(self, pending: Pending) -> None:
        """Publish what a committed transaction caused; callable payloads read the new state."""
        if isinstance(self.notifier, NullNotifier):
            return
        for event, payload, room in pending.items:
            body = payload() if callable(payload) else payload
            if body is not None:
                self.notifier.publish(event, body, room=room)

    def end_read(self) -> None:
        """End the read that built the payloads: no snapshot is held past the use case."""
        if self.session.in_transaction():
            self.session.commit()
