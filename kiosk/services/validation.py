"""What the coordinators' forms are told when the domain refuses: a text per field, or one
explanation for the whole request; and the readers of form fields that add those texts.

Texts are Dutch source strings marked with `N_` (a no-op that Babel extracts), with their
placeholders kept apart; the adapter translates them with ``gettext(text.msgid, **text.params)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, time
from functools import wraps
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from sqlalchemy.orm import Session

from kiosk.services.dates import BadDate, parse_date
from kiosk.services.errors import DomainError

P = ParamSpec("P")
R = TypeVar("R")


def N_(msgid: str) -> str:  # Babel extracts calls of this name
    """Mark a text for translation without translating it here (services know no language)."""
    return msgid


@dataclass(frozen=True)
class Text:
    """A text to show: its Dutch msgid and the values of its %(placeholders)s."""

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.msgid % self.params if self.params else self.msgid


def text(msgid: str, **params: Any) -> Text:
    """A `Text` written like a call of gettext: ``text(N_("Nog %(n)s plaatsen."), n=3)``."""
    return Text(msgid, params)


class Invalid(DomainError):
    """The form has fields that cannot be used; `errors` maps each field to its text."""

    code = "invalid_input"
    status = 422
    message = "Some fields are not filled in correctly."

    def __init__(self, errors: dict[str, Text]) -> None:
        super().__init__(
            "; ".join(f"{name}: {value}" for name, value in errors.items()) or self.message,
            fields={name: str(value) for name, value in errors.items()},
        )
        self.errors = errors


class Refused(DomainError):
    """A request the rules refuse as a whole, with a plain explanation (`reason`)."""

    code = "refused"
    status = 409

    def __init__(self, reason: Text) -> None:
        super().__init__(str(reason))
        self.reason = reason


class InUse(Refused):
    """Deleting (or changing) something that other data still needs."""

    code = "in_use"


class NotAllowed(Refused):
    """The acting user's role does not allow this."""

    code = "not_allowed"
    status = 403


class Errors:
    """Collects field errors; `raise_if_any` ends validation when one was found."""

    def __init__(self) -> None:
        self.fields: dict[str, Text] = {}

    def add(self, name: str, msgid: str, **params: Any) -> None:
        """Note a text for field `name`; a field keeps only the first text it is given."""
        self.fields.setdefault(name, Text(msgid, params))

    def __contains__(self, name: str) -> bool:
        return name in self.fields

    def __bool__(self) -> bool:
        return bool(self.fields)

    def raise_if_any(self) -> None:
        """Raise `Invalid` with every field's text, if any field was found wrong."""
        if self.fields:
            raise Invalid(dict(self.fields))


class _HasSession(Protocol):
    session: Session


S = TypeVar("S", bound=_HasSession)


def rolls_back(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """A use case that ends its transaction when the rules refuse: nothing half-done stays in
    the session, and SQLite's write lock is let go before the adapter renders its answer."""

    # `self` positional-only, as Concatenate types it (mypy's strict extra_checks insist).
    @wraps(method)
    def wrapped(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except DomainError:
            self.session.rollback()
            raise

    return wrapped


# -- reading form fields (each adds its own text to `errors`) ----------------------------------


def clean(value: str | None) -> str:
    """Text with its white space folded: no spaces at the ends, one between words."""
    return " ".join((value or "").split())


def check_length(errors: Errors, name: str, value: str, maximum: int) -> None:
    """At most `maximum` characters."""
    if len(value) > maximum:
        errors.add(name, N_("Gebruik hoogstens %(max)s tekens."), max=maximum)


def text_field(
    errors: Errors, name: str, raw: str, maximum: int, *, required: str | None = None
) -> str:
    """A line of text with its white space folded; `required` is the text when it is empty."""
    value = clean(raw)
    if required and not value:
        errors.add(name, required)
    check_length(errors, name, value, maximum)
    return value


def number_field(
    errors: Errors, name: str, raw: str, minimum: int, maximum: int, *, required: bool = False
) -> int | None:
    """A whole number from `minimum` to `maximum`; empty is None (or an error, if `required`)."""
    value = (raw or "").strip()
    if not value:
        if required:
            errors.add(name, N_("Vul een getal in."))
        return None
    try:
        number = int(value)
    except ValueError:
        errors.add(name, N_("Vul een heel getal in, zonder letters."))
        return None
    if not minimum <= number <= maximum:
        errors.add(
            name, N_("Kies een getal van %(min)s tot en met %(max)s."), min=minimum, max=maximum
        )
        return None
    return number


def coordinate_field(errors: Errors, name: str, raw: str, limit: float) -> float | None:
    """A latitude or longitude (a decimal comma is taken too); empty is None."""
    value = (raw or "").strip().replace(",", ".")
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        errors.add(name, N_("Vul een getal in met een punt, bijvoorbeeld 52.6425."))
        return None
    if not -limit <= number <= limit:
        errors.add(name, N_("Dit getal moet tussen -%(limit)s en %(limit)s liggen."), limit=limit)
        return None
    return number


def date_field(errors: Errors, name: str, raw: str, *, required: bool = True) -> date | None:
    """A date as people type it (24-11-2026, or ISO from a date input)."""
    value = (raw or "").strip()
    if not value:
        if required:
            errors.add(name, N_("Vul een datum in, bijvoorbeeld 24-11-2026."))
        return None
    try:
        return parse_date(value)
    except BadDate:
        errors.add(name, N_("Vul een datum in, bijvoorbeeld 24-11-2026."))
        return None


def time_field(errors: Errors, name: str, raw: str) -> time | None:
    """A time of day, 18:00 or 18.00."""
    value = (raw or "").strip().replace(".", ":")
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        errors.add(name, N_("Vul een tijd in, bijvoorbeeld 18:00."))
        return None
    return time(int(match[1]), int(match[2]))


def opening_hours(errors: Errors, start_raw: str, end_raw: str) -> tuple[time, time] | None:
    """Opening hours: a start and a later end."""
    start = time_field(errors, "start", start_raw)
    end = time_field(errors, "end", end_raw)
    if start is None or end is None:
        return None
    if end <= start:
        errors.add("end", N_("De eindtijd moet later zijn dan de begintijd."))
        return None
    return start, end


# -- ids ----------------------------------------------------------------------------------------

# The one rule for every id that comes from outside (a URL, a form field, a JSON field): a whole
# number from 1 to the largest value of the id columns. Every id column is an INTEGER: 32 bits
# on PostgreSQL (SERIAL), while SQLite refuses anything past 64 bits with an OverflowError.
# An id out of this range names nothing: the doors answer 404 or 422, never 500.
MAX_ID = 2**31 - 1


def is_id(value: object) -> bool:
    """True for a whole number (not a bool) that can be an id: 1 to `MAX_ID`."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def parse_id(raw: str | int | None) -> int | None:
    """An id from a form field or query argument ("42"), or None when it cannot be one:
    empty, not digits only, 0, or past `MAX_ID`. Digits are checked before `int()` so that a
    hostile 5,000-digit value costs nothing."""
    if isinstance(raw, int):
        return raw if is_id(raw) else None
    text = (raw or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if is_id(number) else None


def id_list(raw: Iterable[str | int]) -> list[int]:
    """The ids of ticked checkboxes, in order, once each; what cannot be an id is left out."""
    found = []
    for value in raw:
        number = parse_id(value) if isinstance(value, (str, int)) else None
        if number is not None and number not in found:
            found.append(number)
    return found
