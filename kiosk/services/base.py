"""What every service shares: a clock, a notifier, an actor, the event log and look-ups by id;
and, for the services that work with local days, the time zone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, Executable, Result, Table, insert
from sqlalchemy.orm import Session

from kiosk.database import begin_write
from kiosk.models import Event
from kiosk.services.errors import NotFound
from kiosk.services.validation import parse_id

Clock = Callable[[], datetime]
M = TypeVar("M")
DEFAULT_TIMEZONE = "Europe/Amsterdam"

# On the table, not the mapped class: a plain Core INSERT, without the ORM's bulk-insert steps.
_INSERT_EVENT = insert(cast(Table, Event.__table__))


def utc_now() -> datetime:
    """The real clock: an aware UTC datetime."""
    return datetime.now(UTC)


def row_id(value: int | str) -> int:
    """An id from an address or a form; one that cannot be an id (not a number, or out of the
    range of `kiosk.services.validation.MAX_ID`) finds nothing (NotFound)."""
    number = parse_id(value) if isinstance(value, (int, str)) else None
    if number is None:
        raise NotFound()
    return number


def changed_rows(result: Result[*tuple[Any, ...]]) -> int:
    """How many rows an UPDATE or DELETE run through `Session.execute` changed.

    A guarded UPDATE (`... WHERE status = 'waiting'`) tells by this count whether it won a race.
    `Session.execute` is typed as returning a `Result`, which has no `rowcount`; for these
    statements SQLAlchemy returns its subclass `CursorResult`, which has.
    """
    return cast("CursorResult[*tuple[Any, ...]]", result).rowcount


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """What changed between two sets of facts, as the log keeps it: {"name": [old, new]}."""
    return {key: [before.get(key), after[key]] for key in after if before.get(key) != after[key]}


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff member, a paired device, the system or an anonymous visitor."""

    kind: str
    id: int | None = None
    origin: str | None = None

    @classmethod
    def system(cls, origin: str = "system") -> Actor:
        """The application itself (CLI, start-up, housekeeping); `origin` says which part."""
        return cls("system", None, origin)


SYSTEM = Actor.system()


class Notifier(Protocol):
    """Publishes a named event with a JSON-ready payload to a room of listeners."""

    def publish(self, event: str, payload: dict[str, Any], *, room: str) -> None:
        """Send `event` with `payload` to everyone in `room` (see kiosk.services.rooms)."""
        ...


@dataclass
class RecordingNotifier:
    """Keeps what was published: for tests and for the CLI when no server listens."""

    published: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)

    def publish(self, event: str, payload: dict[str, Any], *, room: str) -> None:
        """Keep the event, in order, instead of sending it."""
        self.published.append((event, payload, room))

    def names(self, room: str | None = None) -> list[str]:
        """The names of the events kept so far, oldest first; only those for `room` if given."""
        return [name for name, _, r in self.published if room is None or r == room]


class NullNotifier:
    """Publishes nothing: the default when a service is built without a notifier.

    `Service.publish` sees this notifier and skips building the payloads at all.
    """

    def publish(self, event: str, payload: dict[str, Any], *, room: str) -> None:
        """Drop the event."""
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
        """Queue `event` for `room`; it is published, in order, by `Service.publish`."""
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
        """The current moment from the injected clock (aware, UTC): tests pass a fake one."""
        return self.clock()

    def fetch(self, model: type[M], key: int | str, message: str) -> M:
        """The row of `model` with this id, or NotFound with `message`."""
        found = self.session.get(model, row_id(key))
        if found is None:
            raise NotFound(message)
        return found

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
        self.run(
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

    def run(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> CursorResult[*tuple[Any, ...]]:
        """Run a Core statement (it selects columns, or writes rows without mapped objects) in
        this use case's transaction: what `Session.execute` does for it (pending objects
        flushed first), without the ORM's execution path, which costs ~50 µs a statement.
        Not for statements that load mapped objects or an ORM-enabled UPDATE or DELETE
        (their session bookkeeping is the ORM's)."""
        self.session.flush()
        return self.session.connection().execute(statement, params)

    def log_changes(
        self, action: str, actor: Actor, before: dict[str, Any], after: dict[str, Any], **kw: Any
    ) -> None:
        """Append an update event with the fields that changed; none changed, no event."""
        changes = diff(before, after)
        if changes:
            self.log(action, actor, changes=changes, **kw)

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


class LocalService(Service):
    """Base for services that work with local days and times (`timezone`); storage is UTC."""

    def __init__(
        self,
        session: Session,
        notifier: Notifier | None = None,
        clock: Clock = utc_now,
        *,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> None:
        super().__init__(session, notifier, clock)
        self.tz = ZoneInfo(timezone)

    def local(self, moment: datetime) -> datetime:
        """A moment in the configured time zone."""
        return moment.astimezone(self.tz)

    def today(self) -> date:
        """The local date now."""
        return self.local(self.now()).date()
