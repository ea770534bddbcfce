"""Draining the outbox: send each due message once, retry what may work later, forget the rest.

    claim (one short transaction)          send (no transaction open)     settle (one each)
    -----------------------------          --------------------------     ------------------
    due rows, oldest first,                transport(address, text)       sent: delete the row
    FOR UPDATE SKIP LOCKED (PostgreSQL)                                   retryable: later, by
    attempts + 1, next try = now + lease                                    RETRY_SECONDS, until
                                                                            `max_attempts`
                                                                          permanent or given up:
                                                                            delete the row

Claiming moves a row's next attempt a lease ahead before anything is sent, so a second process
(PostgreSQL skips the locked rows; SQLite has one writer at a time) never takes the same row, and
a process that dies while sending leaves a row that is tried again once the lease runs out. A
message is sent at least once and, unless a process dies between the send and the settle, at
most once.

Every outcome is logged (``message.sent``, ``message.failed``, ``message.given_up``) with its
channel and kind but never its address; the address leaves the database with its row. A push
subscription the push service calls gone (404/410) is forgotten with its ticket contact.

Transports are plain callables ``(address, text) -> None`` per channel (kiosk/messaging.py
builds them from kiosk/notify/); a failure is any exception, read for ``retryable`` (default
True), ``gone`` and ``reason`` attributes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kiosk.database import begin_write
from kiosk.models import Channel, MessageKind, OutboxMessage, TicketContact
from kiosk.services.base import Actor, Clock, Service, utc_now

log = logging.getLogger(__name__)

Transport = Callable[[str, str], None]
SENDER = Actor.system("messages")


@dataclass(frozen=True)
class Claimed:
    """A claimed message, as plain data (no session needed to send it)."""

    id: int
    channel: Channel
    kind: MessageKind
    address: str
    text: str
    attempts: int
    stop_id: int | None


@dataclass
class SendReport:
    """What one pass did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    given_up: int = 0


class OutboxSender:
    """Sends the outbox's due messages through `transports`; see the module docstring."""

    def __init__(
        self,
        sessions: Callable[[], Session],
        transports: Mapping[Channel, Transport],
        clock: Clock = utc_now,
        *,
        max_attempts: int = 5,
        retry_seconds: Sequence[float] = (5, 30, 120, 600),
        lease_seconds: float = 120,
        batch: int = 20,
    ) -> None:
        self.sessions = sessions
        self.transports = dict(transports)
        self.clock = clock
        self.max_attempts = max(1, max_attempts)
        self.retry_seconds = list(retry_seconds) or [30]
        self.lease = timedelta(seconds=lease_seconds)
        self.batch = batch
        self.wakeup = threading.Event()

    def wake(self) -> None:
        """Look for due messages now instead of at the end of the interval."""
        self.wakeup.set()

    # -- one pass -----------------------------------------------------------------------------

    def send_due(self) -> SendReport:
        """Claim up to `batch` due messages, send each, settle each."""
        report = SendReport()
        with self.sessions() as session:
            claimed = self.claim(session)
            report.claimed = len(claimed)
            for message in claimed:
                self._send(session, message, report)
        return report

    def claim(self, session: Session) -> list[Claimed]:
        """Take the due messages for this process: a lease on each, committed before sending."""
        now = self.clock()
        # A plain read first: an empty outbox (nearly every pass) never takes the write lock.
        due = session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.next_attempt_at <= now).limit(1)
        )
        session.rollback()
        if due is None:
            return []
        begin_write(session)
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(self.batch)
            .with_for_update(skip_locked=True)
        ).all()
        claimed = []
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = now + self.lease
            claimed.append(
                Claimed(
                    row.id, row.channel, row.kind, row.address, row.text, row.attempts, row.stop_id
                )
            )
        session.commit()
        return claimed

    def _send(self, session: Session, message: Claimed, report: SendReport) -> None:
        transport = self.transports.get(message.channel)
        try:
            if transport is None:
                raise _NotConfigured(message.channel)
            transport(message.address, message.text)
        except Exception as error:  # a transport's failure, classified by its attributes
            self._failed(session, message, error, report)
        else:
            self._settle(session, message, "message.sent")
            report.sent += 1

    def _failed(
        self, session: Session, message: Claimed, error: Exception, report: SendReport
    ) -> None:
        reason = str(getattr(error, "reason", "") or type(error).__name__)[:200]
        retryable = bool(getattr(error, "retryable", True))
        if getattr(error, "gone", False):
            self._settle(session, message, "message.failed", reason=reason, forget=True)
            report.failed += 1
        elif not retryable:
            self._settle(session, message, "message.failed", reason=reason)
            report.failed += 1
        elif message.attempts >= self.max_attempts:
            self._settle(session, message, "message.given_up", reason=reason)
            report.given_up += 1
        else:
            wait = self.retry_seconds[min(message.attempts, len(self.retry_seconds)) - 1]
            begin_write(session)
            row = session.get(OutboxMessage, message.id, populate_existing=True)
            if row is not None:
                row.next_attempt_at = self.clock() + timedelta(seconds=wait)
                row.error = reason
            session.commit()
            report.retried += 1
            log.info(
                "message %s (%s) failed, retry in %s s: %s",
                message.id,
                message.channel,
                wait,
                reason,
            )

    def _settle(
        self,
        session: Session,
        message: Claimed,
        action: str,
        *,
        reason: str | None = None,
        forget: bool = False,
    ) -> None:
        """Delete the row (and with `forget`, the contacts with this address) and log."""
        begin_write(session)
        session.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.id == message.id)
            .execution_options(synchronize_session=False)
        )
        if forget:
            session.execute(
                delete(TicketContact)
                .where(
                    TicketContact.channel == message.channel,
                    TicketContact.address == message.address,
                )
                .execution_options(synchronize_session=False)
            )
        data: dict[str, Any] = {
            "channel": message.channel.value,
            "kind": message.kind.value,
            "attempts": message.attempts,
        }
        if reason:
            data["reason"] = reason
        Service(session, clock=self.clock).log(
            action,
            SENDER,
            object_type="message",
            object_id=message.id,
            result="ok" if action == "message.sent" else "failed",
            stop_id=message.stop_id,
            **data,
        )
        session.commit()

    # -- the loop -----------------------------------------------------------------------------

    def run_forever(self, stop: threading.Event, *, interval: float = 1.0) -> None:
        """Pass after pass until `stop` is set; waits `interval` seconds (or a `wake`) when
        there was nothing more to do."""
        log.info("Message sender: every %s s, %s channel(s)", interval, len(self.transports))
        while not stop.is_set():
            try:
                report = self.send_due()
            except Exception:  # the database away for a moment: try again next pass
                log.exception("Message sender pass failed")
                report = SendReport()
            if report.claimed < self.batch:
                self.wakeup.wait(interval)
                self.wakeup.clear()


class _NotConfigured(Exception):
    retryable = False

    def __init__(self, channel: Channel) -> None:
        super().__init__(f"{channel.value} is not configured")
        self.reason = f"{channel.value} is not configured"
