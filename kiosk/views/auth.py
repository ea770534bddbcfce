"""Staff login and logout, and pairing a kiosk or board with its one-time code."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from kiosk.auth import DEVICE_COOKIE, STAFF_SESSION, current_principal, staff_session
from kiosk.extensions import auth_limit, limiter, pair_limit
from kiosk.factories import account_service, mfa_service
from kiosk.models import DeviceKind, StaffSession, StaffUser
from kiosk.qrcodes import qr_svg
from kiosk.services.accounts import MAX_PASSWORD_LENGTH
from kiosk.services.errors import AuthenticationFailed, InvalidPairingCode
from kiosk.services.mfa import MfaService

bp = Blueprint("auth", __name__)

# The session key of a login that waits for its second step: where it goes afterwards. The
# login itself, and the count of wrong codes, live on the server (kiosk/services/accounts.py).
PENDING = "mfa_pending"


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired(), Length(max=60)])
    password = PasswordField(
        "password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )


class CodeForm(FlaskForm):
    code = StringField("code", validators=[DataRequired(), Length(max=20)])


class PairForm(FlaskForm):
    code = StringField("code", validators=[DataRequired(), Length(max=40)])


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: an open redirect would let a phishing link borrow our login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.get("/")
def home() -> str:
    """Start page: where each screen lives."""
    return render_template("home.html", principal=current_principal())


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(auth_limit, methods=["POST"])
def login() -> str | Response:
    """Staff log in with username and password."""
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = account_service().authenticate(
                form.username.data or "", form.password.data or "", origin=request.remote_addr
            )
        except AuthenticationFailed:
            error = _("Deze combinatie van gebruikersnaam en wachtwoord klopt niet.")
        else:
            target = _safe_next(request.args.get("next"))
            needs_code = MfaService.required(user, current_app.config["MFA_ROLES"])
            _start_session(user)
            if needs_code:
                # The password was right; the app's code completes the login.
                session[PENDING] = {"next": target}
                return redirect(url_for("auth.second_factor"))
            return redirect(target or url_for("desk.choose"))
    elif request.method == "POST":
        error = _("Vul uw gebruikersnaam en wachtwoord in.")
    status = 401 if error and request.method == "POST" else 200
    return render_template("auth/login.html", form=form, error=error), status  # type: ignore[return-value]


def _start_session(user: StaffUser) -> None:
    """A new server-side login for this browser, with a new key; an earlier one in it ends."""
    accounts = account_service()
    accounts.end_session(staff_session(), actor=current_principal().actor)
    session.pop(PENDING, None)
    session[STAFF_SESSION] = accounts.start_session(user)
    login_user(user)


def _pending() -> StaffSession | None:
    """The login that gave the right password (or was promoted) and still owes the code; the
    password step is good for MFA_PENDING_MINUTES since the login was last used."""
    row = staff_session()
    if row is None or row.mfa_done:
        return None
    limit = timedelta(minutes=current_app.config["MFA_PENDING_MINUTES"])
    if account_service().now() - row.last_seen_at > limit:
        account_service().end_session(row)
        return None
    return row


def _pending_user() -> StaffUser | None:
    """The user who gave the right password a moment ago and still owes the code."""
    row = _pending()
    return row.user if row is not None else None


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(auth_limit, methods=["POST"])
def second_factor() -> str | Response:
    """The second step: a code from the authenticator app, set up here the first time."""
    user = _pending_user()
    if user is None:
        flash(_("Log opnieuw in met uw gebruikersnaam en wachtwoord."))
        return redirect(url_for("auth.login"))
    mfa = mfa_service()
    enrol = not mfa.enrolled(user)
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        if mfa.verify(user, form.code.data or "", origin=request.remote_addr):
            pending = session.pop(PENDING, None)
            target = pending.get("next") if isinstance(pending, dict) else None
            row = _pending()
            if row is not None:
                account_service().second_step_done(row)
            if enrol:
                flash(_("Uw app is gekoppeld. Na uw wachtwoord vraagt het loket nu een code."))
            return redirect(
                _safe_next(target) or _safe_next(request.args.get("next")) or url_for("desk.choose")
            )
        if mfa.locked(user):
            # Counted per account on the server: a copied cookie or a new login cannot reset it.
            account_service().end_session(_pending())
            session.pop(PENDING, None)
            flash(_("Te vaak een verkeerde code. Log opnieuw in."))
            return redirect(url_for("auth.login"))
        error = _("Deze code klopt niet. Kijk in de app en typ de code die er nu staat.")
    elif request.method == "POST":
        error = _("Typ de code van 6 cijfers uit de app.")
    secret = mfa.secret_for_enrolment(user) if enrol else None
    status = 401 if error else 200
    page = render_template("auth/code.html", form=form, enrol=enrol, secret=secret, error=error)
    return page, status  # type: ignore[return-value]


@bp.get("/login/code/qr.svg")
def second_factor_qr() -> Response | tuple[str, int]:
    """The QR code the app scans to add the account (during set-up only)."""
    user = _pending_user()
    mfa = mfa_service()
    if user is None or mfa.enrolled(user):
        return "", 404
    response = qr_svg(mfa.provisioning_uri(user, mfa.secret_for_enrolment(user)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/logout")
@login_required
def logout() -> Response:
    """End the staff session, on the server: a copy of the cookie opens nothing afterwards."""
    account_service().end_session(staff_session(), actor=current_principal().actor)
    logout_user()
    session.pop(STAFF_SESSION, None)
    flash(_("U bent uitgelogd."))
    return redirect(url_for("auth.login"))


@bp.get("/pair")
@bp.get("/pair/<code>")
def pair_page(code: str = "") -> str:
    """The pairing URL: a button (pressed by the page script) that pairs this browser."""
    return render_template("auth/pair.html", form=PairForm(code=code), code=code)


@bp.post("/pair")
@limiter.limit(pair_limit)
def pair() -> str | Response:
    """Exchange the code for the device credential, kept in an HttpOnly cookie."""
    form = PairForm()
    if not form.validate_on_submit():
        return render_template("auth/pair.html", form=form, code="", error=True), 400  # type: ignore[return-value]
    landing = {DeviceKind.KIOSK: "kiosk.home", DeviceKind.BOARD: "display.board"}
    try:
        device, credential = account_service().pair(
            form.code.data or "", origin=request.remote_addr
        )
    except InvalidPairingCode:
        paired = current_principal().device
        if paired is not None:
            # A paired screen that opens its used pairing link again (a mini-PC whose start
            # address is still that link, deploy/kiosk/) goes on as what it is.
            return redirect(url_for(landing.get(paired.kind, "auth.device")))
        return render_template("auth/pair.html", form=form, code="", error=True), 400  # type: ignore[return-value]
    response = redirect(url_for(landing.get(device.kind, "auth.device")))
    response.set_cookie(
        DEVICE_COOKIE,
        credential,
        max_age=int(timedelta(days=current_app.config["DEVICE_COOKIE_DAYS"]).total_seconds()),
        httponly=True,
        secure=bool(current_app.config["HTTPS"]),
        samesite="Lax",
    )
    return response


@bp.get("/device")
def device() -> str:
    """What this browser is paired as."""
    principal = current_principal()
    return render_template("auth/device.html", device=principal.device)
