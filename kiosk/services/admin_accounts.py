"""The coordinators' use cases for people and devices: staff accounts and their roles, and the
kiosks and boards (pair, rename, move to a stop, revoke).

Who may do what with accounts:

- a coordinator adds staff users, and resets the password of, renames, switches off and on
  staff users (role "staff");
- only an admin gives or changes roles, and manages coordinators and admins;
- nobody changes their own role or switches off their own account here, and the last active
  admin stays an active admin.

Nobody is deleted: the event log names people by id, so an account is switched off instead.
Switching an account off, giving it another role or a new password ends all its logins, API
tokens and open sockets at once; switching it on again revives none of them.
Passwords and pairing codes go through AccountService (Argon2id hashes, SHA-256 of codes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kiosk.models import Device, DeviceKind, Role, StaffUser, Stop
from kiosk.services.accounts import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    AccountService,
    PairingCode,
    generate_password,
    password_problem,
)
from kiosk.services.base import SYSTEM, Actor, Service
from kiosk.services.validation import N_, Errors, InUse, NotAllowed, rolls_back, text, text_field

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,59}$")


@dataclass
class UserInput:
    """The new-account form as typed: names and role as text, checked by `create_user`."""

    username: str
    display_name: str = ""
    role: str = Role.STAFF.value
    password: str = ""  # empty: one is made and shown once


@dataclass
class UserEdit:
    """The edit-account form as typed: checked by `update_user`."""

    display_name: str
    role: str
    active: bool


@dataclass(frozen=True)
class NewPassword:
    """An account that got a password, and that password if it was generated (shown once)."""

    user: StaffUser
    password: str | None  # the generated one, to show once; None when the coordinator typed it


@dataclass
class DeviceInput:
    """The add- or edit-device form as typed: checked by `add_device` and `update_device`."""

    name: str
    kind: str = DeviceKind.KIOSK.value
    stop: str = ""  # a stop id, or empty: follows whichever stop is open


def may_manage(by: StaffUser, user: StaffUser | None = None, role: Role | None = None) -> bool:
    """Whether `by` may manage `user` (or give `role`): admins everyone, coordinators staff."""
    if by.has_role(Role.ADMIN):
        return True
    if not by.has_role(Role.COORDINATOR):
        return False
    return (user is None or user.role == Role.STAFF) and role in (None, Role.STAFF)


class AccountAdminService(Service):
    """Staff accounts and devices, as coordinators and admins manage them."""

    # -- users --------------------------------------------------------------------------------

    def users(self) -> list[StaffUser]:
        """Every account for the people page: active ones first, then by username."""
        return list(
            self.session.scalars(
                select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.username)
            )
        )

    def user(self, user_id: int | str) -> StaffUser:
        """The account with this id (from an address or a form, active or not), or NotFound."""
        return self.fetch(StaffUser, user_id, "There is no such user.")

    @rolls_back
    def create_user(self, data: UserInput, *, by: StaffUser, actor: Actor = SYSTEM) -> NewPassword:
        """Add an account. Coordinators add staff; admins any role."""
        errors = Errors()
        username = (data.username or "").strip().lower()
        if not USERNAME.match(username):
            errors.add(
                "username",
                N_(
                    "Een gebruikersnaam heeft 2 tot 60 tekens: kleine letters, cijfers, punt, "
                    "streepje of liggend streepje."
                ),
            )
        elif self.session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
            errors.add("username", N_("Deze gebruikersnaam bestaat al."))
        display_name = text_field(errors, "display_name", data.display_name, 120)
        role = _role(errors, data.role)
        password = data.password or ""
        if password:
            _password_field(errors, password, username, display_name)
        errors.raise_if_any()
        assert role is not None
        if not may_manage(by, role=role):
            raise NotAllowed(
                text(N_("Alleen een beheerder kan coördinatoren en beheerders toevoegen."))
            )
        generated = None if password else generate_password()
        user = AccountService(self.session, self.notifier, self.clock).add_user(
            username,
            password or generated or "",
            role=role,
            display_name=display_name,
            actor=actor,
        )
        return NewPassword(user, generated)

    @rolls_back
    def update_user(
        self, user_id: int | str, data: UserEdit, *, by: StaffUser, actor: Actor = SYSTEM
    ) -> StaffUser:
        """Change a name, a role (admins only) or switch an account off or on again. Its API
        tokens stop working while it is off (AccountService checks `active`)."""
        self.begin_write()
        user = self.user(user_id)
        errors = Errors()
        display_name = text_field(errors, "display_name", data.display_name, 120)
        role = _role(errors, data.role)
        errors.raise_if_any()
        assert role is not None
        if not may_manage(by, user):
            raise NotAllowed(
                text(N_("Alleen een beheerder kan coördinatoren en beheerders wijzigen."))
            )
        if role != user.role and not by.has_role(Role.ADMIN):
            raise NotAllowed(text(N_("Alleen een beheerder kan rollen wijzigen.")))
        if user.role == Role.ADMIN and user.active and (role != Role.ADMIN or not data.active):
            admins = self.session.scalar(
                select(func.count(StaffUser.id)).where(
                    StaffUser.role == Role.ADMIN, StaffUser.active.is_(True)
                )
            )
            if (admins or 0) <= 1:
                raise InUse(
                    text(N_("Dit is de laatste beheerder. Maak eerst iemand anders beheerder."))
                )
        if user.id == by.id and (role != user.role or not data.active):
            raise NotAllowed(
                text(
                    N_(
                        "Uw eigen rol en account kunt u hier niet wijzigen. Vraag dat aan een "
                        "andere beheerder."
                    )
                )
            )
        before = _user_facts(user)
        # Another role, or switched off: whatever the old logins and tokens could do ends now
        # (a new role that needs the second step asks for it at the next login).
        ends_access = role != user.role or (user.active and not data.active)
        user.display_name = display_name or user.username
        user.role = role
        user.active = bool(data.active)
        accounts = AccountService(self.session, self.notifier, self.clock)
        if ends_access:
            accounts.revoke_access(user)
        self.log_changes(
            "user.update", actor, before, _user_facts(user), object_type="user", object_id=user.id
        )
        self.session.commit()
        if ends_access:
            accounts.access_ended(user)
        return user

    @rolls_back
    def reset_password(
        self, user_id: int | str, password: str = "", *, by: StaffUser, actor: Actor = SYSTEM
    ) -> NewPassword:
        """Give a user a new password (typed, or made and shown once); their API tokens stop."""
        user = self.user(user_id)
        if not may_manage(by, user):
            raise NotAllowed(
                text(N_("Alleen een beheerder kan coördinatoren en beheerders wijzigen."))
            )
        if password:
            errors = Errors()
            _password_field(errors, password, user.username, user.display_name)
            errors.raise_if_any()
        generated = None if password else generate_password()
        AccountService(self.session, self.notifier, self.clock).set_password(
            user, password or generated or "", actor=actor
        )
        return NewPassword(user, generated)

    # -- devices ------------------------------------------------------------------------------

    def devices(self) -> list[Device]:
        """Every device with its stop: revoked ones last, then grouped by kind, by name."""
        return list(
            self.session.scalars(
                select(Device)
                .options(selectinload(Device.stop).selectinload(Stop.location))
                .order_by(Device.revoked_at.is_not(None), Device.kind, func.lower(Device.name))
            )
        )

    def device(self, device_id: int | str) -> Device:
        """The device with this id (from an address or a form, revoked or not), or NotFound."""
        return self.fetch(Device, device_id, "There is no such device.")

    @rolls_back
    def add_device(
        self, data: DeviceInput, *, ttl: timedelta, actor: Actor = SYSTEM
    ) -> PairingCode:
        """Register a kiosk or board; its one-time pairing code is shown once."""
        errors = Errors()
        name = self._device_name(errors, data.name, None)
        if data.kind not in {k.value for k in DeviceKind}:
            errors.add("kind", N_("Kies kiosk of scherm."))
        stop = self._stop_field(errors, data.stop)
        errors.raise_if_any()
        return AccountService(self.session, self.notifier, self.clock).add_device(
            DeviceKind(data.kind), name, stop=stop, ttl=ttl, actor=actor
        )

    @rolls_back
    def update_device(
        self, device_id: int | str, data: DeviceInput, *, actor: Actor = SYSTEM
    ) -> Device:
        """Rename a device or move it to another stop (or to "whichever stop is open")."""
        self.begin_write()
        device = self.device(device_id)
        errors = Errors()
        name = self._device_name(errors, data.name, device)
        stop = self._stop_field(errors, data.stop)
        errors.raise_if_any()
        before = _device_facts(device)
        device.name = name
        device.stop_id = stop.id if stop else None
        self.log_changes(
            "device.update",
            actor,
            before,
            _device_facts(device),
            object_type="device",
            object_id=device.id,
        )
        self.session.commit()
        self.session.refresh(device)
        return device

    @rolls_back
    def new_pairing_code(
        self, device_id: int | str, *, ttl: timedelta, actor: Actor = SYSTEM
    ) -> PairingCode:
        """Pair the device again (a new browser): the old credential stops working."""
        device = self.device(device_id)
        return AccountService(self.session, self.notifier, self.clock).new_pairing_code(
            device, ttl=ttl, actor=actor
        )

    @rolls_back
    def revoke_device(self, device_id: int | str, *, actor: Actor = SYSTEM) -> Device:
        """Unpair a device for good: its credential and any pairing code stop working at once."""
        device = self.device(device_id)
        return AccountService(self.session, self.notifier, self.clock).revoke_device(
            device.id, actor=actor
        )

    def _device_name(self, errors: Errors, raw: str, current: Device | None) -> str:
        name = text_field(errors, "name", raw, 80, required=N_("Geef het apparaat een naam."))
        if "name" not in errors and self.session.scalar(
            select(Device.id).where(
                func.lower(Device.name) == name.lower(),
                Device.id != (current.id if current else -1),
            )
        ):
            errors.add("name", N_("Er is al een apparaat met deze naam."))
        return name

    def _stop_field(self, errors: Errors, raw: str) -> Stop | None:
        if not (raw or "").strip():
            return None
        stop = self.session.get(Stop, int(raw)) if raw.strip().isdigit() else None
        if stop is None:
            errors.add("stop", N_("Kies een loketdag uit de lijst."))
        return stop


def _password_field(errors: Errors, password: str, *context: str) -> None:
    problem = password_problem(password, *context)
    if problem == "short":
        errors.add(
            "password", N_("Een wachtwoord heeft minstens %(min)s tekens."), min=MIN_PASSWORD_LENGTH
        )
    elif problem == "long":
        errors.add(
            "password",
            N_("Een wachtwoord heeft hoogstens %(max)s tekens."),
            max=MAX_PASSWORD_LENGTH,
        )
    elif problem == "guessable":
        errors.add(
            "password",
            N_(
                "Dit wachtwoord is makkelijk te raden. Kies een langer wachtwoord van een paar "
                "woorden die niet bij elkaar horen."
            ),
        )


def _role(errors: Errors, raw: str) -> Role | None:
    try:
        return Role(raw)
    except ValueError:
        errors.add("role", N_("Kies een rol."))
        return None


def _user_facts(user: StaffUser) -> dict[str, object]:
    return {"display_name": user.display_name, "role": user.role.value, "active": user.active}


def _device_facts(device: Device) -> dict[str, object]:
    return {"name": device.name, "stop": device.stop_id}
