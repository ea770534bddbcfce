"""Check-in cannot be guessed: wrong codes are limited per kiosk and per code.

    kiosk form / POST /api/v1/appointments/check-in
      -> cooldown(typed)      a kiosk (or API caller) or a code past its limit: wait until
                              the window ends (the kiosk shows when; the API answers 429)
      -> AppointmentService.check_in
      -> failed(typed, stop)  an unknown code or a refusal counts, once per kiosk and per code;
                              the kiosk's first cool-down tells the stop's desks

Only failures count: a resident who checks in is never slowed down by others. The counters live
in the rate limiter's storage (``RATELIMIT_STORAGE_URI``: memory:// for one process, redis:// in
production), so every server process sees the same counts. A code is counted under a hash, so
the storage holds no booking codes; malformed text (never looked up) and an empty field count
for the kiosk only, or not at all. The limits are ``RATELIMIT_CHECK_IN_KIOSK`` (per kiosk, or
per staff member or address for other API callers) and ``RATELIMIT_CHECK_IN_CODE`` (per code,
across kiosks).

Between `cooldown` and `failed` another process may count too, so a burst of parallel requests
may get a wrong code or two past the limit; it stops right after.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import current_app
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many

from kiosk.auth import current_principal
from kiosk.extensions import limiter
from kiosk.services.appointments.codes import lookup_key
from kiosk.services.errors import DomainError
from kiosk.services.rooms import staff_room

log = logging.getLogger(__name__)
T = TypeVar("T")

# The event a stop's desks get when one of its kiosks starts a cool-down; like the other events
# of the (public) stop room it names the device only, the desks fetch the rest.
FAILURES_EVENT = "check_in_failures"


class CheckInPaused(DomainError):
    """Raised (by the API) when a kiosk or a code has had too many wrong tries: `retry_after`."""

    code = "check_in_paused"
    status = 429
    message = "Too many wrong codes. Wait until the pause is over and try again."


@dataclass(frozen=True)
class Cooldown:
    """A pause: no check-in from this kiosk (or with this code) until `until` (UTC)."""

    until: datetime
    seconds: int


def _items(key: str) -> list[RateLimitItem]:
    return list(parse_many(str(current_app.config[key])))


def _caller() -> str:
    principal = current_principal()
    if principal.device is not None:
        return f"device:{principal.device.id}"
    if principal.user is not None:
        return f"staff:{principal.user.id}"
    return f"address:{get_remote_address()}"


def _code(typed: str) -> str | None:
    """The code's bucket: what it would be looked up as, hashed; None for malformed text (never
    looked up, so nothing to protect: it counts for the kiosk only)."""
    key = lookup_key(typed)
    if key is None:
        return None
    return hashlib.sha256(f"{key[0]}:{key[1]}".encode()).hexdigest()[:32]


def _buckets(typed: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    kiosk: tuple[str, ...] = ("check-in", "kiosk", _caller())
    buckets = [(item, kiosk) for item in _items("RATELIMIT_CHECK_IN_KIOSK")]
    code = _code(typed)
    if code is not None:
        buckets += [
            (item, ("check-in", "code", code)) for item in _items("RATELIMIT_CHECK_IN_CODE")
        ]
    return buckets


def _counted(step: Callable[[], T], fallback: T) -> T:
    """A step on the counters; when their storage (Redis) is away, the check-in still works
    (logged): a resident is never refused because a counter cannot be read."""
    try:
        return step()
    except Exception:
        log.warning("Check-in counters unavailable; checking in without them", exc_info=True)
        return fallback


def cooldown(typed: str) -> Cooldown | None:
    """The pause this kiosk (or this code) is in, or None: then it may try."""
    if not limiter.enabled:
        return None
    return _counted(lambda: _cooldown(typed), None)


def _cooldown(typed: str) -> Cooldown | None:
    strategy = limiter.limiter
    ends = [
        strategy.get_window_stats(item, *ids).reset_time
        for item, ids in _buckets(typed)
        if not strategy.test(item, *ids)
    ]
    if not ends:
        return None
    until = max(ends)
    now = datetime.now(UTC).timestamp()
    return Cooldown(datetime.fromtimestamp(until, UTC), max(1, int(until - now + 0.999)))


def failed(typed: str, stop_id: int | None) -> None:
    """Count a wrong code for this kiosk and for the code; when the kiosk has just reached a
    limit, its stop's desks hear of it."""
    if not limiter.enabled or not typed.strip():  # an empty field is no guess
        return
    _counted(lambda: _failed(typed, stop_id), None)


def _failed(typed: str, stop_id: int | None) -> None:
    strategy = limiter.limiter
    for item, ids in _buckets(typed):
        strategy.hit(item, *ids)
    device = current_principal().device
    if device is None or stop_id is None:
        return
    for item in _items("RATELIMIT_CHECK_IN_KIOSK"):
        ids = ("check-in", "kiosk", _caller())
        if strategy.get_window_stats(item, *ids).remaining == 0:
            notifier = current_app.extensions["loket.notifier"]
            notifier.publish(FAILURES_EVENT, {"device": device.id}, room=staff_room(stop_id))
            return


def kiosk_failures(device_id: int) -> dict[str, Any] | None:
    """For the desk: a kiosk in a pause, as ``{count, minutes, until}`` ("5 wrong codes in 1
    minute, paused until 14:32"), or None."""
    if not limiter.enabled:
        return None
    return _counted(lambda: _kiosk_failures(device_id), None)


def _kiosk_failures(device_id: int) -> dict[str, Any] | None:
    strategy = limiter.limiter
    paused = []
    for item in _items("RATELIMIT_CHECK_IN_KIOSK"):
        stats = strategy.get_window_stats(item, "check-in", "kiosk", f"device:{device_id}")
        if stats.remaining == 0:
            paused.append((stats.reset_time, item))
    if not paused:
        return None
    reset, item = max(paused, key=lambda found: found[0])
    return {
        "count": item.amount,
        "minutes": max(1, item.get_expiry() // 60),
        "until": datetime.fromtimestamp(reset, UTC).isoformat(),
    }
