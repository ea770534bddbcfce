"""Checking and normalising what a resident leaves: a mobile number, an e-mail address, a Web
Push subscription. Each returns the form that is stored, or raises `InvalidAddress`."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any
from urllib.parse import urlsplit

from kiosk.services.messages.errors import InvalidAddress

# Written the way people type them: spaces, dashes, dots and brackets are dropped first.
_SEPARATORS = re.compile(r"[\s\-.()/]")
_E164 = re.compile(r"\+[1-9]\d{7,14}")
_DUTCH_MOBILE = re.compile(r"\+316\d{8}")
# Deliberately plain: one @, a dot in the domain, no spaces or angle brackets. NotifyNL checks
# deliverability; this keeps obvious typing errors (and anything that is not an address) out.
_EMAIL = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]{2,}")
EMAIL_MAX = 254
SUBSCRIPTION_MAX = 3000


def normalise_phone(text: str) -> str:
    """A mobile number in E.164 (``+31612345678``): Dutch ``06 12345678``, ``+31 6 …`` and
    ``0031 6 …`` forms, or any international number written with ``+``. A Dutch number must
    be a mobile (06): a landline cannot receive the text message."""
    number = _SEPARATORS.sub("", text or "")
    if number.startswith("00"):
        number = "+" + number[2:]
    elif number.startswith("06"):
        number = "+31" + number[1:]
    if not _E164.fullmatch(number):
        raise InvalidAddress("Not a mobile phone number.", field="phone")
    if number.startswith("+31") and not _DUTCH_MOBILE.fullmatch(number):
        raise InvalidAddress("Not a Dutch mobile number (06).", field="phone")
    return number


def normalise_email(text: str) -> str:
    """An e-mail address, trimmed; its domain in lower case."""
    address = (text or "").strip()
    if len(address) > EMAIL_MAX or not _EMAIL.fullmatch(address):
        raise InvalidAddress("Not an e-mail address.", field="email")
    local, _at, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def _b64url(value: Any, *, length: int | None = None) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise InvalidAddress("Not a push subscription.", field="push")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise InvalidAddress("Not a push subscription.", field="push") from None
    if length is not None and len(raw) != length:
        raise InvalidAddress("Not a push subscription.", field="push")
    return value


def normalise_subscription(subscription: Any, *, allow_http: bool = False) -> str:
    """A browser's PushSubscription (``subscription.toJSON()``) as compact JSON: an https
    endpoint (http only when `allow_http`, for tests on loopback) and its two keys.

    Only https endpoints: the server posts to whatever endpoint it is given, so a plain-http
    address on the local network would let anyone make it send requests there.
    """
    if not isinstance(subscription, dict):
        raise InvalidAddress("Not a push subscription.", field="push")
    endpoint = subscription.get("endpoint")
    keys = subscription.get("keys")
    if not isinstance(endpoint, str) or not isinstance(keys, dict) or len(endpoint) > 2000:
        raise InvalidAddress("Not a push subscription.", field="push")
    parts = urlsplit(endpoint)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname or parts.username or parts.password:
        raise InvalidAddress("A push endpoint must be an https address.", field="push")
    clean = {
        "endpoint": endpoint,
        "keys": {
            "p256dh": _b64url(keys.get("p256dh"), length=65),
            "auth": _b64url(keys.get("auth"), length=16),
        },
    }
    stored = json.dumps(clean, separators=(",", ":"))
    if len(stored) > SUBSCRIPTION_MAX:
        raise InvalidAddress("Not a push subscription.", field="push")
    return stored
