"""Join codes: the rotating QR code on the board that lets a resident take a ticket on a phone.

A code names its stop and a one-minute window, signed with the app's secret (HMAC-SHA256), so
nothing is stored: the board shows the current window's code and a code is accepted during its
own window and the next one. Whoever scans it has seen the board within the last two minutes;
a code copied off a photo stops working soon after.

    join_code(secret, stop_id, now)   -> "12-k3v9q2m4tz7wqa5x"
    check_join_code(secret, code, now) -> 12, or None when forged, malformed or expired
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime

# A code changes every PERIOD seconds and is accepted for VALID_WINDOWS windows: 60-120 s.
PERIOD = 60
VALID_WINDOWS = 2

_CODE = re.compile(r"^(\d{1,10})-([a-z2-7]{16})$")


def _window(now: datetime) -> int:
    return int(now.timestamp()) // PERIOD


def _signature(secret: bytes, stop_id: int, window: int) -> str:
    mac = hmac.new(secret, f"join:{stop_id}:{window}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac[:10]).decode().lower()


def join_code(secret: bytes, stop_id: int, now: datetime) -> str:
    """The code the board shows now for this stop."""
    return f"{stop_id}-{_signature(secret, stop_id, _window(now))}"


def seconds_left(now: datetime) -> float:
    """Seconds until the board should show the next code."""
    return PERIOD - (now.timestamp() % PERIOD)


def check_join_code(secret: bytes, code: str, now: datetime) -> int | None:
    """The stop a code was made for, if it is genuine and still valid; otherwise None."""
    match = _CODE.match(code or "")
    if match is None:
        return None
    stop_id = int(match.group(1))
    current = _window(now)
    for window in range(current, current - VALID_WINDOWS, -1):
        if hmac.compare_digest(match.group(2), _signature(secret, stop_id, window)):
            return stop_id
    return None
