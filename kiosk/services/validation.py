"""What the coordinators' forms are told when the domain refuses: a text per field, or one
explanation for the whole request.

Texts are Dutch source strings marked with `N_` (a no-op that Babel extracts), with their
placeholders kept apart; the adapter translates them with ``gettext(text.msgid, **text.params)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from sqlalchemy.orm import Session

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
        self.fields.setdefault(name, Text(msgid, params))

    def __contains__(self, name: str) -> bool:
        return name in self.fields

    def __bool__(self) -> bool:
        return bool(self.fields)

    def raise_if_any(self) -> None:
        if self.fields:
            raise Invalid(dict(self.fields))


class _HasSession(Protocol):
    session: Session


S = TypeVar("S", bound=_HasSession)


def rolls_back(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """A use case that ends its transaction when the rules refuse: nothing half-done stays in
    the session, and SQLite's write lock is let go before the adapter renders its answer."""

    @wraps(method)
    def wrapped(self: S, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except DomainError:
            self.session.rollback()
            raise

    return wrapped
