"""A second factor for the accounts that can change the tour: a time-based one-time code (TOTP,
RFC 6238) from an authenticator app, as the government baseline (BIO2) asks for admin accounts.

Which roles need it is configuration (`MFA_ROLES`, default coordinator and admin). A user who
needs it and has none sets it up right after the password step: the app scans a QR code, the
user types one code to prove it works. A code is accepted within one 30-second step either side
of the server's clock, and only once: the last step used is stored, so a code seen over a
shoulder cannot be replayed. Wrong codes are counted per account on the server (the event log):
after `MAX_CODE_FAILURES` within a quarter of an hour the account takes no code, right or
wrong, until that time has passed.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable

import pyotp

from kiosk.models import StaffUser
from kiosk.services.accounts import MAX_CODE_FAILURES, AccountService
from kiosk.services.base import SYSTEM, Actor, Service

ISSUER = "Gemeente Hoorn - Loket op locatie"
STEP_SECONDS = 30
DRIFT_STEPS = 1


def normalise_code(typed: str) -> str:
    """Digits only ("123 456" and "123-456" as typed from an app); "" unless six digits."""
    digits = re.sub(r"[\s\-]", "", typed or "")
    return digits if re.fullmatch(r"\d{6}", digits) else ""


class MfaService(Service):
    """Set up, check and reset a staff user's authenticator app."""

    @staticmethod
    def required(user: StaffUser, roles: Iterable[str]) -> bool:
        """Whether this user must give a code: their role needs one, or they set one up."""
        return user.role.value in set(roles) or user.totp_confirmed_at is not None

    @staticmethod
    def enrolled(user: StaffUser) -> bool:
        """Whether the user has a confirmed app: set up and proven with one good code."""
        return user.totp_confirmed_at is not None and bool(user.totp_secret)

    def secret_for_enrolment(self, user: StaffUser) -> str:
        """The secret the app must scan: made once per enrolment, kept until confirmed."""
        if user.totp_secret and user.totp_confirmed_at is None:
            return user.totp_secret
        self.begin_write()
        user.totp_secret = pyotp.random_base32()
        user.totp_confirmed_at = None
        user.totp_last_step = None
        self.session.commit()
        return user.totp_secret

    @staticmethod
    def provisioning_uri(user: StaffUser, secret: str) -> str:
        """The otpauth:// URI an authenticator app reads from the QR code."""
        return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)

    def locked(self, user: StaffUser) -> bool:
        """Whether the account had too many wrong codes lately to take another one."""
        accounts = AccountService(self.session, self.notifier, self.clock)
        return accounts.recent_failures("user.mfa", user.id) >= MAX_CODE_FAILURES

    def verify(self, user: StaffUser, typed: str, *, origin: str | None = None) -> bool:
        """Check a code (and confirm the enrolment with the first good one); logged, never the
        code itself. A locked account (`locked`) takes no code."""
        self.begin_write()
        code = normalise_code(typed)
        actor = Actor("staff", user.id, origin)
        if self.locked(user):
            self.log("user.mfa", actor, object_type="user", object_id=user.id, result="locked")
            self.session.commit()
            return False
        step = self._matching_step(user, code) if code and user.totp_secret else None
        if step is None:
            self.log("user.mfa", actor, object_type="user", object_id=user.id, result="denied")
            self.session.commit()
            return False
        user.totp_last_step = step
        if user.totp_confirmed_at is None:
            user.totp_confirmed_at = self.now()
            self.log("user.mfa_enrol", actor, object_type="user", object_id=user.id)
        self.log("user.mfa", actor, object_type="user", object_id=user.id)
        self.session.commit()
        return True

    def _matching_step(self, user: StaffUser, code: str) -> int | None:
        totp = pyotp.TOTP(user.totp_secret or "")
        now = int(self.now().timestamp()) // STEP_SECONDS
        for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                continue  # used already: no replay
            if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
                return step
        return None

    def reset(self, user: StaffUser, *, actor: Actor = SYSTEM) -> None:
        """Forget the app (a lost phone): the user sets it up again at the next login."""
        self.begin_write()
        user.totp_secret = None
        user.totp_confirmed_at = None
        user.totp_last_step = None
        self.log("user.mfa_reset", actor, object_type="user", object_id=user.id)
        self.session.commit()
