"""Idempotency keys: a request that a kiosk or a desk sends again gets its first answer.

A device makes one key per tap (the ``Idempotency-Key`` header) and sends it with every retry
of that tap. A use case that takes a key claims it in its own write transaction, before it
changes anything, and stores its answer in that same transaction:

    begin_write()
    claim = self.claim(key, actor, "ticket.issue")     # answered before? -> claim.ticket
    ... the change ...
    claim.answer(ticket=ticket)                        # same transaction as the change
    commit()

So a request that was committed but whose reply was lost (a dropped connection, a crash
between commit and reply) is answered from its key when the device retries, and never carried
out twice. A refused request rolls its claim back with everything else: a retry is judged
afresh.

A key belongs to its sender ("device:<id>", "staff:<id>") and lives a day (`KEY_LIFETIME`);
after that the same key starts afresh, and housekeeping deletes old keys (`forget_keys`). Two
retries racing each other meet at the unique (scope, key): on PostgreSQL the second insert
waits for the first transaction and then finds its answer; on SQLite the write lock (``BEGIN
IMMEDIATE``) orders them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kiosk.models import Appointment, RequestKey, Ticket
from kiosk.services.base import Actor, changed_rows
from kiosk.services.errors import DomainError

KEY_LIFETIME = timedelta(days=1)
# What a device may send: long enough to be unguessable among its own keys, plain characters.
KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{8,100}$")


class InvalidKey(DomainError):
    """Raised when an ``Idempotency-Key`` is too short, too long or has other characters."""

    code = "invalid_idempotency_key"
    status = 422
    message = "An Idempotency-Key has 8 to 100 letters, digits or . _ : -"


class KeyReused(DomainError):
    """Raised when a key that answered one kind of request comes with another kind."""

    code = "idempotency_key_reused"
    status = 422
    message = "This Idempotency-Key was used for another request."


@dataclass
class Claim:
    """A claimed key: either new (`answer` stores what this request made) or answered before
    (`replayed`; `ticket` / `appointment` is that first answer)."""

    row: RequestKey | None
    session: Session | None = None
    replayed: bool = False

    @property
    def ticket(self) -> Ticket | None:
        """The ticket the first request with this key made or changed (on a replay)."""
        if self.row is None or self.row.ticket_id is None or self.session is None:
            return None
        return self.session.get(Ticket, self.row.ticket_id)

    @property
    def appointment(self) -> Appointment | None:
        """The booking the first request with this key made (on a replay)."""
        if self.row is None or self.row.appointment_id is None or self.session is None:
            return None
        return self.session.get(Appointment, self.row.appointment_id)

    def answer(
        self, *, ticket: Ticket | None = None, appointment: Appointment | None = None
    ) -> None:
        """Store this request's answer with the key, in the use case's own transaction."""
        if self.row is None or self.replayed:
            return
        if ticket is not None:
            self.row.ticket_id = ticket.id
        if appointment is not None:
            self.row.appointment_id = appointment.id


NO_KEY = Claim(None)


def scope_of(actor: Actor) -> str | None:
    """Whose keys these are: a device's or a staff member's own; None for anyone else."""
    if actor.id is None or actor.kind not in ("device", "staff"):
        return None
    return f"{actor.kind}:{actor.id}"


def claim_key(session: Session, key: str | None, actor: Actor, action: str, now: datetime) -> Claim:
    """Claim `key` for `action` in the current (write) transaction; see the module docstring.

    No key, or an actor without keys of its own: `NO_KEY` (the request is simply carried
    out). Raises `InvalidKey` for a malformed key and `KeyReused` when the key answered
    another kind of request.
    """
    if key is None:
        return NO_KEY
    if not KEY_PATTERN.match(key):
        raise InvalidKey()
    scope = scope_of(actor)
    if scope is None:
        return NO_KEY
    found = _find(session, scope, key)
    if found is not None:
        if found.created_at > now - KEY_LIFETIME:
            return _replay(session, found, action)
        session.delete(found)  # expired: the same key starts afresh
        session.flush()
    row = RequestKey(scope=scope, key=key, action=action, created_at=now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # A request with the same key committed while this one waited for the row.
        found = _find(session, scope, key)
        if found is None:
            raise
        return _replay(session, found, action)
    return Claim(row, session)


def answered(
    session: Session, key: str | None, actor: Actor, action: str, now: datetime
) -> Claim | None:
    """The earlier answer to `key` for `action`, read without claiming anything: for a use
    case that must know it is a retry before its own checks (they would refuse what the first
    request already did). None when the key has no answer yet."""
    scope = scope_of(actor)
    if key is None or scope is None or not KEY_PATTERN.match(key):
        return None
    found = _find(session, scope, key)
    if found is None or found.created_at <= now - KEY_LIFETIME:
        return None
    return _replay(session, found, action)


def forget_keys(session: Session, now: datetime) -> int:
    """Delete the keys older than `KEY_LIFETIME` (in the caller's transaction); how many."""
    return changed_rows(
        session.execute(delete(RequestKey).where(RequestKey.created_at <= now - KEY_LIFETIME))
    )


def _find(session: Session, scope: str, key: str) -> RequestKey | None:
    return session.scalar(
        select(RequestKey).where(RequestKey.scope == scope, RequestKey.key == key)
    )


def _replay(session: Session, found: RequestKey, action: str) -> Claim:
    if found.action != action:
        raise KeyReused(action=found.action)
    return Claim(found, session, replayed=True)
