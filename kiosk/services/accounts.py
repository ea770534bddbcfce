"""Staff accounts, API tokens and paired devices.

Passwords are hashed with Argon2id. Tokens, device credentials, login session keys and pairing
codes are random (``secrets``) and only their SHA-256 is stored: a copy of the database lets
nobody in.

Passwords follow NIST SP 800-63B (§5.1.1.2): at least 12 and at most 128 characters (the same
maximum at creation and at login), and no password that a guesser tries early: zxcvbn estimates
that, with the user's name and the words of this place ("hoorn", "loket", "gemeente") as
context.

A staff login is a row in ``staff_sessions`` (its key sits in the signed cookie): logout ends
it; a new password, an account switched off or a new role end all of the user's logins, their
API tokens and their open sockets at once (``access_ended``, see kiosk.services.rooms). Wrong
passwords and wrong codes are counted per account on the server, from the event log.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload

from kiosk.database import DatabaseBusy
from kiosk.models import ApiToken, Device, DeviceKind, Event, Role, StaffSession, StaffUser, Stop
from kiosk.services.base import SYSTEM, Actor, Service, changed_rows
from kiosk.services.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidPairingCode,
    NotFound,
)
from kiosk.services.rooms import ACCESS_ENDED, device_room, staff_session_room, user_room

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so a wrong name costs as long as a wrong
    password. Made on first use (a hash costs ~0.1 s, which every process would pay at import),
    always with the real parameters."""
    return PasswordHasher().hash("not-a-real-password")


STAFF_TOKEN_PREFIX = "lst_"
DEVICE_TOKEN_PREFIX = "ldv_"
# Pairing codes are typed by people now and then: no 0/O, 1/I/L.
PAIRING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MIN_PASSWORD_LENGTH = 12
# One maximum for creation and login (NIST SP 800-63B allows a cap of at least 64).
MAX_PASSWORD_LENGTH = 128
# zxcvbn's score 4 (about 10^10 guesses or more): "very unguessable", also offline against a
# stolen copy of the Argon2id hashes; score 3 let "hoornloket12" through.
MIN_PASSWORD_SCORE = 4
# Words an attacker of this service tries first, next to the user's own names.
CONTEXT_WORDS = ("hoorn", "loket", "gemeente", "balie", "popup", "pop-up")
# Per account, on the server: this many wrong passwords (or second-step codes) within the
# window, and the account takes no more until the window has passed since the last of them.
MAX_PASSWORD_FAILURES = 10
MAX_CODE_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
# A login's "last seen" is written at most this often (it is read on every request).
SESSION_TOUCH = timedelta(minutes=1)


# Every API request looks its caller up: built once (see kiosk.services.queue.statements), and
# with the object the caller needs next (a device's stop, a token's user) in the same statement.
_TOKEN_BY_HASH = (
    select(ApiToken)
    .where(ApiToken.token_hash == bindparam("token_hash"))
    .options(joinedload(ApiToken.user, innerjoin=True))
)
_SESSION_BY_KEY = (
    select(StaffSession)
    .where(StaffSession.key_hash == bindparam("key_hash"))
    .options(joinedload(StaffSession.user, innerjoin=True))
)
_DEVICE_BY_CREDENTIAL = (
    select(Device)
    .where(Device.credential_hash == bindparam("credential_hash"))
    # With its stop's place: a kiosk's pages and slips name it (one join, not a second query).
    .options(joinedload(Device.stop).joinedload(Stop.location))
)


def digest(secret: str) -> str:
    """The stored form of a token or code."""
    return hashlib.sha256(secret.encode()).hexdigest()


def password_problem(password: str, *context: str) -> str | None:
    """Why a new password is refused ("short", "long", "guessable"), or None when it is good.

    `context` holds the user's own words (username, name): a password built from them, or from
    the words of this service, is guessable.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return "short"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "long"
    # zxcvbn's dictionaries take ~12 MB: load them when a password is set, not in every server.
    from zxcvbn import zxcvbn

    words = [w for w in context if w] + list(CONTEXT_WORDS)
    if zxcvbn(password, user_inputs=words, max_length=MAX_PASSWORD_LENGTH)["score"] < (
        MIN_PASSWORD_SCORE
    ):
        return "guessable"
    return None


PASSWORD_PROBLEMS = {
    "short": f"A password needs at least {MIN_PASSWORD_LENGTH} characters.",
    "long": f"A password has at most {MAX_PASSWORD_LENGTH} characters.",
    "guessable": "This password is easy to guess; choose a longer one of several unusual words.",
}


def check_password(password: str, *context: str) -> None:
    """Raise DomainError (in English, for the CLI and the API) unless the password is good."""
    problem = password_problem(password, *context)
    if problem is not None:
        raise DomainError(PASSWORD_PROBLEMS[problem])


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
        check_password(password, username, display_name)
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
        """Give a user a new password; their logins, API tokens and sockets end at once."""
        self.begin_write()
        check_password(password, user.username, user.display_name)
        user.password_hash = _hasher.hash(password)
        self.revoke_access(user)
        self.log("user.password", actor, object_type="user", object_id=user.id)
        self.session.commit()
        self.access_ended(user)

    def revoke_access(self, user: StaffUser, *, tokens: bool = True) -> None:
        """End every login (and the API tokens) of `user`, in the caller's transaction; after
        the commit, call `access_ended` to close their sockets."""
        now = self.now()
        for row in self.session.scalars(
            select(StaffSession).where(
                StaffSession.user_id == user.id, StaffSession.revoked_at.is_(None)
            )
        ):
            row.revoked_at = now
        if tokens:
            for token in self.session.scalars(
                select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            ):
                token.revoked_at = now

    def access_ended(self, user: StaffUser) -> None:
        """Tell (and so disconnect) every open socket of `user`; after the commit."""
        self.notifier.publish(ACCESS_ENDED, {"reason": "session"}, room=user_room(user.id))

    # -- login sessions -----------------------------------------------------------------------

    def start_session(self, user: StaffUser) -> str:
        """A new login of `user` in one browser, before any second step (`second_step_done`);
        the key goes into its signed cookie, once."""
        self.begin_write()
        key = secrets.token_urlsafe(32)
        now = self.now()
        self.session.add(
            StaffSession(
                key_hash=digest(key),
                user_id=user.id,
                created_at=now,
                last_seen_at=now,
                mfa_done=False,
            )
        )
        self.session.commit()
        return key

    def session_for_key(
        self, key: str, *, idle: timedelta, longest: timedelta
    ) -> StaffSession | None:
        """The live login behind a cookie's key: not ended, not idle for longer than `idle`,
        not older than `longest`, of an active user. Its user is loaded with it."""
        if not key:
            return None
        row = self.session.scalar(_SESSION_BY_KEY, {"key_hash": digest(key)})
        now = self.now()
        if (
            row is None
            or row.revoked_at is not None
            or not row.user.active
            or now - row.last_seen_at > idle
            or now - row.created_at > longest
        ):
            return None
        return row

    def touch_session(self, row: StaffSession) -> None:
        """Note that the login is in use (at most once a minute); never fails the request."""
        now = self.now()
        if now - row.last_seen_at > SESSION_TOUCH:
            row.last_seen_at = now
            try:
                self.session.commit()
            except (OperationalError, DatabaseBusy):  # busy: the next request notes it
                self.session.rollback()

    def second_step_done(self, row: StaffSession) -> None:
        """The login gave its second-step code."""
        self.begin_write()
        row.mfa_done = True
        row.last_seen_at = self.now()
        self.session.commit()

    def end_session(self, row: StaffSession | None, *, actor: Actor = SYSTEM) -> None:
        """Log out: this login ends (other browsers of the same user stay logged in); its
        sockets close."""
        if row is None:
            return
        self.begin_write()
        row.revoked_at = row.revoked_at or self.now()
        self.log("user.logout", actor, object_type="user", object_id=row.user_id)
        self.session.commit()
        self.notifier.publish(ACCESS_ENDED, {"reason": "logout"}, room=staff_session_room(row.id))

    def purge_sessions(self, *, older_than: timedelta) -> int:
        """Delete logins that ended, or began, more than `older_than` ago (for housekeeping);
        how many went."""
        self.begin_write()
        cutoff = self.now() - older_than
        gone = self.session.execute(
            delete(StaffSession).where(
                (StaffSession.created_at < cutoff) | (StaffSession.revoked_at < cutoff)
            )
        )
        self.session.commit()
        return changed_rows(gone)

    def recent_failures(self, action: str, user_id: int) -> int:
        """Wrong tries of `action` ("user.login", "user.mfa") for this account in the window,
        counted since its last good one: kept on the server, so no cookie can reset them."""
        since = self.now() - FAILURE_WINDOW
        recent = (Event.action == action, Event.object_id == user_id, Event.at >= since)
        last_ok = self.session.scalar(
            select(func.max(Event.id)).where(*recent, Event.result == "ok")
        )
        failures = self.session.scalar(
            select(func.count(Event.id)).where(
                *recent, Event.result.in_(("denied", "locked")), Event.id > (last_ok or 0)
            )
        )
        return failures or 0

    def user(self, user_id: int) -> StaffUser | None:
        """An active user by id (for the login session), else None."""
        user = self.session.get(StaffUser, user_id)
        return user if user is not None and user.active else None

    def by_username(self, username: str) -> StaffUser | None:
        """A user by login name (any case), active or not."""
        name = (username or "").strip().lower()
        return self.session.scalar(select(StaffUser).where(StaffUser.username == name))

    def authenticate(self, username: str, password: str, *, origin: str | None = None) -> StaffUser:
        """Check a username and password; every attempt is logged without the password.

        After `MAX_PASSWORD_FAILURES` wrong passwords within `FAILURE_WINDOW` the account takes
        none, right or wrong, until the window has passed (logged as "locked"): the limit per
        account holds whichever addresses the guesses come from.
        """
        self.begin_write()
        username = (username or "").strip().lower()
        user = self.session.scalar(select(StaffUser).where(StaffUser.username == username))
        password = password or ""
        actor = Actor("staff", user.id if user else None, origin)
        if user is not None and (
            self.recent_failures("user.login", user.id) >= MAX_PASSWORD_FAILURES
        ):
            _hasher.hash(password[:MAX_PASSWORD_LENGTH])  # the same cost as a real check
            self.log("user.login", actor, object_type="user", object_id=user.id, result="locked")
            self.session.commit()
            raise AuthenticationFailed()
        try:
            # Longer than any password we accept: refused, without hashing 5,000 characters.
            if len(password) > MAX_PASSWORD_LENGTH:
                raise VerificationError()
            _hasher.verify(user.password_hash if user else _dummy_hash(), password)
            ok = user is not None and user.active
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or user is None:
            self.log(
                "user.login",
                actor,
                object_type="user",
                object_id=user.id if user else None,
                result="denied",
            )
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
        self.notifier.publish(ACCESS_ENDED, {"reason": "device"}, room=device_room(device.id))
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
        # Its open sockets close now, not at their next reconnect.
        self.notifier.publish(ACCESS_ENDED, {"reason": "device"}, room=device_room(device.id))
        return device
