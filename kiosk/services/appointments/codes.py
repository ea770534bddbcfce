"""Booking codes: what a resident reads aloud, types on the kiosk's keypad or scans.

Six characters shown as ``ABC-234``, from an alphabet without look-alikes (no 0/O, 1/I/L). A new
code is random and not checked here: the database's unique constraint is (booking.py draws
again on a clash).
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
