"""People and devices (/admin/users, /admin/devices): staff accounts and roles, kiosks and
boards. Passwords and pairing codes are shown once, on the answer to the POST that made them
(never in a flash message: the session cookie is signed, not secret), and those pages are not
cached."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.auth import coordinator_required
from kiosk.factories import account_admin_service, mfa_service, stop_service
from kiosk.i18n import local_time
from kiosk.models import Device, DeviceKind, Role, StaffUser
from kiosk.services.accounts import MIN_PASSWORD_LENGTH, PairingCode
from kiosk.services.admin_accounts import (
    DeviceInput,
    NewPassword,
    UserEdit,
    UserInput,
    may_manage,
)
from kiosk.urls import public_url
from kiosk.views.admin.base import (
    FormPage,
    Page,
    actor,
    again,
    answer,
    bp,
    checked,
    confirmed,
    field_errors,
    form,
    me,
    no_store,
    page,
    saved,
    text_of,
    tr,
)


def role_names() -> dict[str, str]:
    return {
        Role.STAFF.value: _("Medewerker"),
        Role.COORDINATOR.value: _("Coördinator"),
        Role.ADMIN.value: _("Beheerder"),
    }


def _roles_for(by: StaffUser) -> list[tuple[str, str]]:
    """The roles `by` may give: staff for coordinators, every role for admins."""
    names = role_names()
    return [(r.value, names[r.value]) for r in Role if may_manage(by, role=r)]


# -- users --------------------------------------------------------------------------------------


@bp.get("/users")
@coordinator_required
def users() -> str:
    """Every account, the active ones first."""
    return render_template(
        "admin/users.html", users=account_admin_service().users(), roles=role_names(), by=me()
    )


@bp.route("/users/new", methods=["GET", "POST"])
@coordinator_required
def user_new() -> Page:
    """Add an account; a password left empty is made and shown once."""
    form_page = FormPage(
        "admin/user_new.html", {"roles": _roles_for(me()), "min_password": MIN_PASSWORD_LENGTH}
    )
    if request.method == "GET":
        return form_page.show({"role": Role.STAFF.value})
    data = UserInput(
        username=text_of("username"),
        display_name=text_of("display_name"),
        role=text_of("role"),
        password=text_of("password"),
    )
    return form_page.save(
        lambda: account_admin_service().create_user(data, by=me(), actor=actor()),
        lambda made: _password_page(
            made,
            _("Account %(name)s is aangemaakt.", name=made.user.username),
            url_for("admin.users"),
            new=True,
        ),
        sent=lambda: {k: v for k, v in form().items() if k != "password"},
    )


def _password_page(made: NewPassword, message: str, to: str, *, new: bool) -> Page:
    """A typed password: the message and a redirect. A made one: shown once, never cached."""
    if made.password is None:
        flash(message)
        return redirect(to)
    return no_store(
        render_template("admin/password.html", user=made.user, password=made.password, new=new)
    )


def _user_page(user: StaffUser, status: int = 200, **context: Any) -> tuple[str, int]:
    by = me()
    context.setdefault(
        "values",
        {
            "display_name": user.display_name,
            "role": user.role.value,
            "active": "1" if user.active else "",
        },
    )
    context.setdefault("errors", {})
    context.setdefault("password_errors", {})
    return page(
        "admin/user.html",
        status,
        user=user,
        roles=_roles_for(by) if by.has_role(Role.ADMIN) else [],
        role_names=role_names(),
        may_manage=may_manage(by, user),
        is_me=user.id == by.id,
        min_password=MIN_PASSWORD_LENGTH,
        **context,
    )


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@coordinator_required
def user_edit(user_id: int) -> Page:
    """Change a name or role, switch an account off or on again."""
    service = account_admin_service()
    user = service.user(user_id)
    if request.method == "GET":
        return _user_page(user)
    by = me()
    data = UserEdit(
        display_name=text_of("display_name"),
        # Only admins see the role field (and not on their own account).
        role=(text_of("role") if by.has_role(Role.ADMIN) else "") or user.role.value,
        active=checked("active"),
    )
    return answer(
        lambda: service.update_user(user_id, data, by=by, actor=actor()),
        saved(
            lambda user: _("Account %(name)s is opgeslagen.", name=user.username),
            url_for("admin.users"),
        ),
        **again(_user_page, lambda: service.user(user_id)),
    )


@bp.post("/users/<int:user_id>/password")
@coordinator_required
def user_password(user_id: int) -> Page:
    """A new password for an account (typed, or made and shown once)."""
    service = account_admin_service()
    return answer(
        lambda: service.reset_password(user_id, text_of("password"), by=me(), actor=actor()),
        lambda made: _password_page(
            made,
            _("Het wachtwoord van %(name)s is veranderd.", name=made.user.username),
            url_for("admin.user_edit", user_id=user_id),
            new=False,
        ),
        on_invalid=lambda error: _user_page(
            service.user(user_id), 422, password_errors=field_errors(error)
        ),
        on_refused=lambda error: _user_page(
            service.user(user_id), error.status, refusal=tr(error.reason)
        ),
    )


@bp.post("/users/<int:user_id>/reset-mfa")
@coordinator_required
def user_reset_mfa(user_id: int) -> Page:
    """Forget an account's authenticator app (a lost phone): it sets one up at the next login."""
    service = account_admin_service()
    user = service.user(user_id)
    by = me()
    if not may_manage(by, user) or user.id == by.id:
        return _user_page(user, 403, refusal=_("Alleen een beheerder kan dit voor dit account."))
    mfa_service().reset(user, actor=actor())
    flash(
        _(
            "De app van %(name)s is losgekoppeld. Bij het inloggen stelt hij of zij een nieuwe in.",
            name=user.username,
        )
    )
    return redirect(url_for("admin.user_edit", user_id=user_id))


# -- devices ------------------------------------------------------------------------------------


def _pairing_ttl() -> timedelta:
    return timedelta(minutes=int(current_app.config["DEVICE_PAIRING_TTL_MINUTES"]))


def _pairing_page(pairing: PairingCode) -> Response:
    url = public_url("auth.pair_page", code=pairing.code)
    return no_store(
        render_template(
            "admin/pairing.html",
            device=pairing.device,
            code=pairing.code,
            url=url,
            expires_at=pairing.expires_at,
            minutes=int(_pairing_ttl().total_seconds() // 60),
        )
    )


def device_state(device: Device, now: Any) -> str:
    """paired | waiting | expired | revoked"""
    if device.revoked_at is not None:
        return "revoked"
    if device.credential_hash is not None:
        return "paired"
    if device.pairing_expires_at is not None and device.pairing_expires_at > now:
        return "waiting"
    return "expired"


def _stop_choices() -> list[tuple[str, str]]:
    return [
        (
            str(s.id),
            f"{s.location.name}, {local_time(s.starts_at, 'EEEE d MMMM y HH:mm')}"
            f"–{local_time(s.ends_at)}",
        )
        for s in stop_service().stops()
    ]


def _kinds() -> list[tuple[str, str]]:
    return [
        (DeviceKind.KIOSK.value, _("Kiosk (touchscreen met printer)")),
        (DeviceKind.BOARD.value, _("Scherm in de wachtruimte")),
    ]


@bp.get("/devices")
@coordinator_required
def devices() -> str:
    """Every kiosk and board: where it belongs, whether it is paired, when it was last seen."""
    service = account_admin_service()
    now = service.now()
    found = service.devices()
    return render_template(
        "admin/devices.html",
        devices=found,
        states={d.id: device_state(d, now) for d in found},
        kinds=dict(_kinds()),
    )


@bp.route("/devices/new", methods=["GET", "POST"])
@coordinator_required
def device_new() -> Page:
    """Add a kiosk or board and show its pairing link once."""
    form_page = FormPage("admin/device_new.html", {"stops": _stop_choices(), "kinds": _kinds()})
    if request.method == "GET":
        return form_page.show({"kind": DeviceKind.KIOSK.value})
    data = DeviceInput(name=text_of("name"), kind=text_of("kind"), stop=text_of("stop"))
    return form_page.save(
        lambda: account_admin_service().add_device(data, ttl=_pairing_ttl(), actor=actor()),
        _pairing_page,
    )


def _device_page(device: Device, status: int = 200, **context: Any) -> tuple[str, int]:
    context.setdefault("values", {"name": device.name, "stop": str(device.stop_id or "")})
    context.setdefault("errors", {})
    service = account_admin_service()
    return page(
        "admin/device.html",
        status,
        device=device,
        state=device_state(device, service.now()),
        stops=_stop_choices(),
        kinds=dict(_kinds()),
        **context,
    )


@bp.route("/devices/<int:device_id>", methods=["GET", "POST"])
@coordinator_required
def device_edit(device_id: int) -> Page:
    """Rename a device or give it another stop."""
    service = account_admin_service()
    device = service.device(device_id)
    if request.method == "GET":
        return _device_page(device)
    data = DeviceInput(name=text_of("name"), kind=device.kind.value, stop=text_of("stop"))
    return answer(
        lambda: service.update_device(device_id, data, actor=actor()),
        saved(
            lambda device: _("Apparaat %(name)s is opgeslagen.", name=device.name),
            url_for("admin.devices"),
        ),
        **again(_device_page, lambda: service.device(device_id)),
    )


@bp.post("/devices/<int:device_id>/pair")
@coordinator_required
def device_pair(device_id: int) -> Response:
    """A new pairing link (a new browser on the device): the old pairing stops working."""
    pairing = account_admin_service().new_pairing_code(device_id, ttl=_pairing_ttl(), actor=actor())
    return _pairing_page(pairing)


@bp.route("/devices/<int:device_id>/revoke", methods=["GET", "POST"])
@coordinator_required
def device_revoke(device_id: int) -> Page:
    """Unpair a device for good, after a confirmation."""
    service = account_admin_service()
    name = service.device(device_id).name
    return confirmed(
        _("Apparaat intrekken"),
        _(
            "Wilt u %(name)s intrekken? Het apparaat werkt dan meteen niet meer. U kunt het "
            "later opnieuw koppelen.",
            name=name,
        ),
        url_for("admin.device_revoke", device_id=device_id),
        url_for("admin.device_edit", device_id=device_id),
        lambda: service.revoke_device(device_id, actor=actor()),
        saved(_("Apparaat %(name)s is ingetrokken.", name=name), url_for("admin.devices")),
        button=_("Ja, intrekken"),
    )
