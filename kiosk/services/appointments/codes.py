"""Booking codes: what a resident reads aloud, types on the kiosk's keypad or scans.

Six characters shown as ``ABC-234``, from an alphabet without look-alikes (no 0/O, 1/I/L). A new
code is random and not checked here: the database's unique constraint is (booking.py draws
again on a clash).

What the kiosk and the API look up is one of three well-formed things (`lookup_key`): a booking
code, the appointment's link, or a reference of the municipality's system in its import format
(`REFERENCE_PATTERN`). Anything else is never matched against the database.
"""

from __future__ import annotations

import re
import secrets

# Codes are read aloud and typed on a keypad: no 0/O, 1/I/L, and 6 characters as "ABC-234".
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6


def normalise_code(text: str) -> str:
    """A code as typed or scanned (any case, with or without spaces and dashes) -> ``ABC-234``;
    "" when it cannot be one of our codes."""
    raw = re.sub(r"[\s\-_.]", "", text).upper()
    if len(raw) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in raw):
        return ""
    return f"{raw[:3]}-{raw[3:]}"


def new_code() -> str:
    """A random booking code like ``ABC-234`` (not checked for uniqueness: the database is)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:3]}-{raw[3:]}"


# References of the municipality's own appointment system in their import format: letters, digits
# and - _ . / (at most 64), starting with a letter or digit. The same pattern as the import's
# `REFERENCE_FORMAT` (importing.py; a test holds them equal): the kiosk and the API look up a
# reference only in this form, so free text never finds a booking.
REFERENCE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")

# The appointment's own link, as a scanner types the QR code of a slip or a confirmation.
LINK_PATTERN = re.compile(r"/a/([A-Za-z0-9_-]{16,64})/?$")


def is_reference(text: str) -> bool:
    """Whether `text` (stripped) has the form of an imported reference (`REFERENCE_PATTERN`)."""
    return REFERENCE_PATTERN.fullmatch(text.strip()) is not None


def lookup_key(typed: str) -> tuple[str, str] | None:
    """What a typed or scanned text can be: ``("link", token)``, ``("code", "ABC-234")`` or
    ``("reference", "HRN-77")``; None when it is none of them (malformed: never looked up)."""
    link = LINK_PATTERN.search(typed.strip())
    if link is not None:
        return "link", link.group(1)
    code = normalise_code(typed)
    if code:
        return "code", code
    if is_reference(typed):
        return "reference", typed.strip()
    return None
