"""Who is calling: a logged-in staff member, a staff bearer token, or a paired device.

Staff log in to a server-side session (``staff_sessions``): the signed cookie carries only its
random key (``STAFF_SESSION``), so logout, a new password, an account switched off or a new role
end it on the server, and a copied cookie opens nothing afterwards. A login whose role needs the
second step (``MFA_ROLES``) and has not given it in this session counts as not logged in: the
pages send it to the code page, the API answers 401.

Devices authenticate with a long-lived credential, either as an HttpOnly cookie (their browser)
or as ``Authorization: Bearer ldv_…`` (API clients). Requests authenticated by a cookie must
carry a CSRF token on unsafe methods; bearer requests need none, as browsers never add them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError

from kiosk.database import DatabaseBusy
from kiosk.extensions import csrf, login_manager
from kiosk.factories import account_service, db_session
from kiosk.models import Device, DeviceKind, Role, StaffSession, StaffUser
from kiosk.services.accounts import DEVICE_TOKEN_PREFIX, STAFF_TOKEN_PREFIX
from kiosk.services.base import Actor
from kiosk.services.errors import DomainError
from kiosk.services.mfa import MfaService

log = logging.getLogger(__name__)

DEVICE_COOKIE = "loket_device"
# The key of this browser's staff login, inside the signed session cookie.
STAFF_SESSION = "staff_session"
F = TypeVar("F", bound=Callable[..., Any])


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401
    message = "Log in or send a valid token."


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    message = "You may not do this."


@dataclass(frozen=True)
class Principal:
    user: StaffUser | None = None
    device: Device | None = None
    via: str = "none"  # session | bearer | cookie | none

    @property
    def actor(self) -> Actor:
        origin = request.remote_addr
        if self.user is not None:
            return Actor("staff", self.user.id, origin)
        if self.device is not None:
            return Actor("device", self.device.id, origin)
        return Actor("public", None, origin)


@login_manager.user_loader
def _load_user(user_id: str) -> StaffUser | None:
    """The user of this browser's live login; None when it ended or still owes the code."""
    row = staff_session()
    if row is None or str(row.user_id) != user_id:
        return None
    if not row.mfa_done and MfaService.required(row.user, current_app.config["MFA_ROLES"]):
        # Promoted (or MFA_ROLES changed) since the login: the code first, on this request.
        g.mfa_owed = True
        return None
    account_service().touch_session(row)
    return row.user


def staff_session() -> StaffSession | None:
    """This browser's live staff login (ended, idle or too old ones are None), once a request."""
    if "staff_session_row" not in g:
        key = session.get(STAFF_SESSION)
        config = current_app.config
        g.staff_session_row = (
            account_service().session_for_key(
                key,
                idle=timedelta(minutes=config["STAFF_SESSION_IDLE_MINUTES"]),
                longest=timedelta(hours=config["STAFF_SESSION_MAX_HOURS"]),
            )
            if isinstance(key, str)
            else None
        )
    row: StaffSession | None = g.staff_session_row
    return row


def mfa_owed() -> bool:
    """Whether this browser's login needs the second-step code before it may go on."""
    current_user._get_current_object()  # loading the user notes a code owed
    return bool(g.get("mfa_owed"))


def current_principal() -> Principal:
    """Resolve (once per request) who is calling; a bad bearer token is an error, not anonymity."""
    if "principal" in g:
        return g.principal
    principal = _resolve()
    g.principal = principal
    return principal


def _resolve() -> Principal:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Use 'Authorization: Bearer <token>'.")
        accounts = account_service()
        if token.startswith(STAFF_TOKEN_PREFIX):
            user = accounts.user_for_token(token)
            if user is not None:
                return Principal(user=user, via="bearer")
        elif token.startswith(DEVICE_TOKEN_PREFIX):
            device = accounts.device_for_credential(token)
            if device is not None:
                _seen(device)
                return Principal(device=device, via="bearer")
        raise Unauthorized("The token is unknown, expired or revoked.")
    if current_user.is_authenticated:
        return Principal(user=current_user._get_current_object(), via="session")
    credential = request.cookies.get(DEVICE_COOKIE)
    if credential:
        device = account_service().device_for_credential(credential)
        if device is not None:
            _seen(device)
            return Principal(device=device, via="cookie")
    return Principal()


def _seen(device: Device) -> None:
    """Note the device's last contact, at most once a minute (it feeds the health view).

    Never fails the request: when the database is busy (or away) the note waits for the
    next contact.
    """
    service = account_service()
    now = service.now()
    if device.last_seen_at is None or now - device.last_seen_at > timedelta(minutes=1):
        session = db_session()
        device.last_seen_at = now
        try:
            session.commit()
        except (OperationalError, DatabaseBusy) as error:
            session.rollback()
            log.info("Device %s last seen not stored now: %s", device.id, error)


def _check_csrf(principal: Principal) -> None:
    if principal.via in ("session", "cookie") and request.method not in ("GET", "HEAD", "OPTIONS"):
        try:
            csrf.protect()
        except CSRFError as error:
            raise Forbidden("The CSRF token is missing or invalid. Reload the page.") from error


def require_staff(role: Role = Role.STAFF) -> Callable[[F], F]:
    """API guard: a staff member with at least `role`, by session or bearer token."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal.user is None:
                if principal.device is not None:
                    raise Forbidden("A device cannot do this; log in as staff.")
                if mfa_owed():
                    raise Unauthorized("Your role needs the second step: log in again.")
                raise Unauthorized()
            if not principal.user.has_role(role):
                raise Forbidden(f"This needs the role '{role.value}'.")
            _check_csrf(principal)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def require_device_or_staff(kind: DeviceKind) -> Callable[[F], F]:
    """API guard: a paired device of `kind`, or any staff member."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal.user is not None and principal.user.has_role(Role.STAFF):
                pass
            elif principal.device is not None:
                if principal.device.kind != kind:
                    raise Forbidden(f"Only a {kind.value} device or staff may do this.")
            else:
                raise Unauthorized()
            _check_csrf(principal)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


# -- pages for staff ---------------------------------------------------------------------------


def role_required(
    role: Role, login_text: Callable[[], str], denied_text: Callable[[], str]
) -> Callable[[F], F]:
    """A page for logged-in staff with at least `role`; others go to the login page or get a
    plain "no access" page (403)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                if mfa_owed():
                    return redirect(url_for("auth.second_factor", next=request.path))
                flash(login_text())
                return redirect(url_for("auth.login", next=request.path))
            if not current_user.has_role(role):
                return render_template(
                    "desk/message.html", title=_("Geen toegang"), message=denied_text()
                ), 403
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


staff_required = role_required(
    Role.STAFF,
    lambda: _("Log in om de balie te gebruiken."),
    lambda: _("U heeft geen toegang tot de balie."),
)

coordinator_required = role_required(
    Role.COORDINATOR,
    lambda: _("Log in om deze pagina te zien."),
    lambda: _("Deze pagina is voor coördinatoren."),
)


def request_key() -> str | None:
    """The ``Idempotency-Key`` a kiosk or desk made for this request (one per tap, the same
    on every retry of it); the services check its form (kiosk.services.idempotency)."""
    return request.headers.get("Idempotency-Key") or None
