"""Staff accounts, API tokens and paired devices.

Passwords are hashed with Argon2id. Tokens, device credentials and pairing codes are random
(``secrets``) and only their SHA-256 is stored: a copy of the database lets nobody in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload

from kiosk.models import ApiToken, Device, DeviceKind, Role, StaffUser, Stop
from kiosk.services.base import SYSTEM, Actor, Service
from kiosk.services.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidPairingCode,
    NotFound,
)

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

STAFF_TOKEN_PREFIX = "lst_"
DEVICE_TOKEN_PREFIX = "ldv_"
# Pairing codes are typed by people now and then: no 0/O, 1/I/L.
PAIRING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MIN_PASSWORD_LENGTH = 12


# Every API request looks its caller up: built once (see kiosk.services.queue.statements), and
# with the object the caller needs next (a device's stop, a token's user) in the same statement.
_TOKEN_BY_HASH = (
    select(ApiToken)
    .where(ApiToken.token_hash == bindparam("token_hash"))
    .options(joinedload(ApiToken.user, innerjoin=True))
)
_DEVICE_BY_CREDENTIAL = (
    select(Device)
    .where(Device.credential_hash == bindparam("credential_hash"))
    .options(joinedload(Device.stop))
)


def digest(secret: str) -> str:
    """The stored form of a token or code."""
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_password() -> str:
    """A random password to print once."""
    return secrets.token_urlsafe(15)


@dataclass(frozen=True)
class IssuedToken:
    """A new staff API token: `token` is shown to its user once and never stored in clear."""

    token: str
    expires_at: datetime


@dataclass(frozen=True)
class PairingCode:
    """A one-time code that pairs `device` (typed on its screen); valid until `expires_at`.

    Only its hash is stored: show `code` to the coordinator now, it cannot be read back.
    """

    device: Device
    code: str
    expires_at: datetime


class AccountService(Service):
    """Who may do what: staff users, their API tokens, and paired kiosks and boards."""

    # -- staff --------------------------------------------------------------------------------

    def add_user(
        self,
        username: str,
        password: str,
        *,
        role: Role = Role.STAFF,
        display_name: str = "",
        actor: Actor = SYSTEM,
    ) -> StaffUser:
        """Create a staff user; the password is hashed, never stored."""
        self.begin_write()
        username = username.strip().lower()
        if not username or len(username) > 60:
            raise DomainError("A username needs 1 to 60 characters.")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise DomainError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
        if self.session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
            raise Conflict(f"User '{username}' exists already.")
        user = StaffUser(
            username=username,
            display_name=display_name or username,
            password_hash=_hasher.hash(password),
            role=role,
            created_at=self.now(),
        )
        self.session.add(user)
        self.session.flush()
        self.log("user.add", actor, object_type="user", object_id=user.id, role=role.value)
        self.session.commit()
        return user

    def set_password(self, user: StaffUser, password: str, *, actor: Actor = SYSTEM) -> None:
        """Give a user a new password; their API tokens stop working."""
        self.begin_write()
        if len(password) < MIN_PASSWORD_LENGTH:
            raise DomainError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
        user.password_hash = _hasher.hash(password)
        for token in self.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        ):
            token.revoked_at = self.now()
        self.log("user.password", actor, object_type="user", object_id=user.id)
        self.session.commit()

    def user(self, user_id: int) -> StaffUser | None:
        """An active user by id (for the login session), else None."""
        user = self.session.get(StaffUser, user_id)
        return user if user is not None and user.active else None

    def by_username(self, username: str) -> StaffUser | None:
        """A user by login name (any case), active or not."""
        name = (username or "").strip().lower()
        return self.session.scalar(select(StaffUser).where(StaffUser.username == name))

    def authenticate(self, username: str, password: str, *, origin: str | None = None) -> StaffUser:
        """Check a username and password; every attempt is logged without the password."""
        self.begin_write()
        username = (username or "").strip().lower()
        user = self.session.scalar(select(StaffUser).where(StaffUser.username == username))
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
            ok = user is not None and user.active
        except (VerificationError, InvalidHashError):
            ok = False
        actor = Actor("staff", user.id if user else None, origin)
        if not ok or user is None:
            self.log("user.login", actor, object_type="user", result="denied")
            self.session.commit()
            raise AuthenticationFailed()
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        user.last_login_at = self.now()
        self.log("user.login", actor, object_type="user", object_id=user.id)
        self.session.commit()
        return user

    def issue_token(
        self, user: StaffUser, *, ttl: timedelta, origin: str | None = None
    ) -> IssuedToken:
        """A bearer token for API clients; shown once, stored as a hash."""
        self.begin_write()
        token = STAFF_TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires = self.now() + ttl
        self.session.add(
            ApiToken(
                user_id=user.id, token_hash=digest(token), created_at=self.now(), expires_at=expires
            )
        )
        self.log(
            "token.issue", Actor("staff", user.id, origin), object_type="user", object_id=user.id
        )
        self.session.commit()
        return IssuedToken(token, expires)

    def user_for_token(self, token: str) -> StaffUser | None:
        """The active user behind a valid, unexpired bearer token."""
        if not token.startswith(STAFF_TOKEN_PREFIX):
            return None
        row = self.session.scalar(_TOKEN_BY_HASH, {"token_hash": digest(token)})
        if row is None or row.revoked_at is not None or row.expires_at <= self.now():
            return None
        return row.user if row.user.active else None

    # -- devices ------------------------------------------------------------------------------

    def add_device(
        self,
        kind: DeviceKind,
        name: str,
        *,
        stop: Stop | None = None,
        ttl: timedelta = timedelta(minutes=30),
        actor: Actor = SYSTEM,
    ) -> PairingCode:
        """Register a kiosk or board and give it a one-time pairing code."""
        self.begin_write()
        name = name.strip()
        if not name or len(name) > 80:
            raise DomainError("A device name needs 1 to 80 characters.")
        if self.session.scalar(select(Device.id).where(func.lower(Device.name) == name.lower())):
            raise Conflict(f"A device called '{name}' exists already.")
        code = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(10))
        expires = self.now() + ttl
        device = Device(
            name=name,
            kind=kind,
            stop_id=stop.id if stop else None,
            pairing_code_hash=digest(code),
            pairing_expires_at=expires,
            created_at=self.now(),
        )
        self.session.add(device)
        self.session.flush()
        self.log("device.add", actor, object_type="device", object_id=device.id, kind=kind.value)
        self.session.commit()
        return PairingCode(device, code, expires)

    def new_pairing_code(
        self, device: Device, *, ttl: timedelta = timedelta(minutes=30), actor: Actor = SYSTEM
    ) -> PairingCode:
        """Re-pair a device (a new browser, a wiped kiosk): the old credential stops working."""
        self.begin_write()
        code = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(10))
        device.pairing_code_hash = digest(code)
        device.pairing_expires_at = self.now() + ttl
        device.credential_hash = None
        device.revoked_at = None
        self.log("device.repair", actor, object_type="device", object_id=device.id)
        self.session.commit()
        return PairingCode(device, code, device.pairing_expires_at)

    def pair(self, code: str, *, origin: str | None = None) -> tuple[Device, str]:
        """Exchange a pairing code, once, for the device's long-lived credential."""
        self.begin_write()
        normalised = "".join(ch for ch in (code or "").upper() if ch.isalnum())
        device = self.session.scalar(
            select(Device).where(Device.pairing_code_hash == digest(normalised))
        )
        actor = Actor("device", device.id if device else None, origin)
        if (
            device is None
            or device.revoked_at is not None
            or device.pairing_expires_at is None
            or device.pairing_expires_at <= self.now()
        ):
            self.log("device.pair", actor, object_type="device", result="denied")
            self.session.commit()
            raise InvalidPairingCode()
        credential = DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)
        device.credential_hash = digest(credential)
        device.pairing_code_hash = None
        device.pairing_expires_at = None
        device.paired_at = self.now()
        device.last_seen_at = self.now()
        self.log("device.pair", actor, object_type="device", object_id=device.id)
        self.session.commit()
        return device, credential

    def device_for_credential(self, credential: str) -> Device | None:
        """The paired, unrevoked device behind a credential."""
        if not credential or not credential.startswith(DEVICE_TOKEN_PREFIX):
            return None
        device = self.session.scalar(_DEVICE_BY_CREDENTIAL, {"credential_hash": digest(credential)})
        if device is None or device.revoked_at is not None:
            return None
        return device

    def revoke_device(self, device_id: int, *, actor: Actor = SYSTEM) -> Device:
        """Unpair a device for good: its credential stops working at once."""
        self.begin_write()
        device = self.session.get(Device, device_id)
        if device is None:
            raise NotFound("There is no such device.")
        device.revoked_at = self.now()
        device.credential_hash = None
        device.pairing_code_hash = None
        self.log("device.revoke", actor, object_type="device", object_id=device.id)
        self.session.commit()
        return device
