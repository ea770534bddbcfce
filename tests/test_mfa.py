"""The second login step for the accounts that can change the tour (BIO2: MFA on admin
accounts): set up with a QR code the first time, a code from the app after that, never the same
code twice, a limited number of tries, and the API token asking for the code too."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from kiosk.models import Event, StaffUser
from tests.factories import csrf_token_in, make_user

MFA = {"MFA_ROLES": ["coordinator", "admin"]}


@pytest.fixture
def app(make_app):
    return make_app(**MFA)


@pytest.fixture
def coordinator(db):
    user, password = make_user(db, "carla", role="coordinator")
    return user, password


def password_step(client, username: str, password: str, next_page: str = ""):
    token = csrf_token_in(client.get("/login").get_data(as_text=True))
    target = f"/login?next={next_page}" if next_page else "/login"
    return client.post(
        target, data={"username": username, "password": password, "csrf_token": token}
    )


def code_step(client, code: str):
    page = client.get("/login/code").get_data(as_text=True)
    return client.post("/login/code", data={"code": code, "csrf_token": csrf_token_in(page)})


def secret_on(page: str) -> str:
    return re.search(r'id="mfa-secret">([A-Z2-7]+)<', page).group(1)


def enrol(client, clock, username: str, password: str) -> str:
    assert password_step(client, username, password).location.endswith("/login/code")
    secret = secret_on(client.get("/login/code").get_data(as_text=True))
    assert code_step(client, pyotp.TOTP(secret).at(clock.now)).status_code == 302
    return secret


def test_a_coordinator_sets_up_the_app_then_logs_in_with_its_code(client, coordinator, clock, db):
    user, password = coordinator
    first = password_step(client, user.username, password, next_page="/admin/printers")
    assert first.status_code == 302 and first.location.endswith("/login/code")
    assert client.get("/admin/printers").status_code in (302, 401)  # not logged in yet

    page = client.get("/login/code").get_data(as_text=True)
    assert "Stel de tweede stap in" in page and 'src="/login/code/qr.svg"' in page
    secret = secret_on(page)
    qr = client.get("/login/code/qr.svg")
    assert qr.mimetype == "image/svg+xml" and qr.headers["Cache-Control"] == "no-store"

    wrong = code_step(client, "000000")
    assert wrong.status_code == 401 and "Deze code klopt niet" in wrong.get_data(as_text=True)
    done = code_step(client, pyotp.TOTP(secret).at(clock.now))
    assert done.status_code == 302 and done.location.endswith("/admin/printers")
    assert client.get("/admin/printers").status_code == 200
    db.rollback()
    db.expire_all()  # the fixture's copy of the user was loaded before the login
    stored = db.get(StaffUser, user.id)
    assert stored.totp_confirmed_at is not None and stored.totp_secret == secret

    # Next time: no QR code and no secret on the page, only the code.
    client.post("/logout", data={"csrf_token": csrf_token_in(client.get("/").text)})
    password_step(client, user.username, password)
    page = client.get("/login/code").get_data(as_text=True)
    assert "Code uit uw app" in page and secret not in page
    assert client.get("/login/code/qr.svg").status_code == 404
    clock.advance(seconds=30)
    assert code_step(client, pyotp.TOTP(secret).at(clock.now)).status_code == 302


def test_a_code_is_good_once(client, coordinator, clock):
    user, password = coordinator
    secret = enrol(client, clock, user.username, password)
    client.post("/logout", data={"csrf_token": csrf_token_in(client.get("/").text)})
    password_step(client, user.username, password)
    replay = code_step(client, pyotp.TOTP(secret).at(clock.now))  # the same 30 seconds
    assert replay.status_code == 401


def test_a_code_from_a_slightly_wrong_phone_clock_still_works(client, coordinator, clock):
    user, password = coordinator
    password_step(client, user.username, password)
    secret = secret_on(client.get("/login/code").get_data(as_text=True))
    late_phone = pyotp.TOTP(secret).at(clock.now - timedelta(seconds=30))
    assert code_step(client, late_phone).status_code == 302


def test_too_many_wrong_codes_start_the_login_again(client, coordinator):
    user, password = coordinator
    password_step(client, user.username, password)
    for _ in range(4):
        assert code_step(client, "123456").status_code == 401
    last = code_step(client, "123456")
    assert last.status_code == 302 and last.location.endswith("/login")
    assert client.get("/login/code").location.endswith("/login")


def test_the_password_step_expires(client, coordinator, clock):
    user, password = coordinator
    password_step(client, user.username, password)
    clock.advance(minutes=6)
    assert client.get("/login/code").location.endswith("/login")


def test_staff_log_in_with_the_password_alone(client, db):
    user, password = make_user(db, "sam", role="staff")
    response = password_step(client, user.username, password)
    assert response.status_code == 302 and not response.location.endswith("/login/code")


def test_the_code_page_needs_the_password_first(client):
    assert client.get("/login/code").location.endswith("/login")
    assert client.get("/login/code/qr.svg").status_code == 404


def test_an_api_token_needs_the_code_too(client, coordinator, clock):
    user, password = coordinator
    body = {"username": user.username, "password": password}
    not_set_up = client.post("/api/v1/auth/token", json=body)
    assert not_set_up.status_code == 403
    assert not_set_up.get_json()["error"]["code"] == "mfa_not_set_up"

    secret = enrol(client, clock, user.username, password)
    clock.advance(seconds=30)
    missing = client.post("/api/v1/auth/token", json=body)
    assert missing.status_code == 401 and missing.get_json()["error"]["code"] == "mfa_required"
    good = client.post(
        "/api/v1/auth/token", json={**body, "code": pyotp.TOTP(secret).at(clock.now)}
    )
    assert good.status_code == 200 and good.get_json()["token"].startswith("lst_")


def test_every_step_is_logged_without_the_code(client, coordinator, clock, db):
    user, password = coordinator
    password_step(client, user.username, password)
    code_step(client, "000000")
    secret = secret_on(client.get("/login/code").get_data(as_text=True))
    code = pyotp.TOTP(secret).at(clock.now)
    code_step(client, code)
    db.rollback()
    events = db.scalars(select(Event).where(Event.action.like("user.mfa%")).order_by(Event.id))
    seen = [(e.action, e.result) for e in events]
    assert seen == [("user.mfa", "denied"), ("user.mfa_enrol", "ok"), ("user.mfa", "ok")]
    for event in db.scalars(select(Event)):
        assert code not in str(event.data) and secret not in str(event.data)


def test_a_lost_phone_is_reset_from_the_command_line(client, coordinator, clock, runner, db):
    user, password = coordinator
    enrol(client, clock, user.username, password)
    result = runner.invoke(args=["user", "reset-mfa", user.username])
    assert result.exit_code == 0, result.output
    db.rollback()
    db.expire_all()
    assert db.get(StaffUser, user.id).totp_secret is None
    assert runner.invoke(args=["user", "reset-mfa", "nobody"]).exit_code != 0
