"""Attacks on staff sessions and device access (issue 14, items 5, 6, 7 in part, 13).

Each test does what an attacker would: copy a session cookie and use it after the login ended,
keep a socket open after losing access, guess passwords and codes from many addresses, keep a
session through a promotion, wait for an account to be switched on again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
import pytest
from flask.testing import FlaskClient

from display.namespace import NAMESPACE as NS
from kiosk.models import DeviceKind, Role, StaffUser
from kiosk.services import accounts as accounts_module
from kiosk.services.accounts import AccountService
from kiosk.services.admin_accounts import AccountAdminService, UserEdit
from tests.factories import csrf_token_in, make_user

PASSWORD = "correct horse battery"
COOKIE = "loket_session"


# Cheap Argon2id parameters (tests/conftest.py): these tests are not about hashing cost.
pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def app(make_app):
    return make_app(MFA_ROLES=["coordinator", "admin"])


@pytest.fixture
def sam(db) -> StaffUser:
    return make_user(db, "sam", password=PASSWORD)[0]


@pytest.fixture
def admin(db) -> StaffUser:
    return make_user(db, "ada", role="admin", password=PASSWORD)[0]


def login(client: FlaskClient, username: str = "sam", password: str = PASSWORD, **environ: Any):
    token = csrf_token_in(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base=environ,
    )


def logout(client: FlaskClient) -> None:
    client.post("/logout", data={"csrf_token": csrf_token_in(client.get("/").text)})


def stolen_copy(app, client: FlaskClient) -> FlaskClient:
    """Another browser with a copy of `client`'s session cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return thief


def opens_desk(client: FlaskClient) -> bool:
    return client.get("/desk").status_code == 200


def admin_service(app, db, clock) -> AccountAdminService:
    return AccountAdminService(db, app.extensions["loket.notifier"], clock)


# -- item 5: sessions end on the server ------------------------------------------------------


def test_a_copied_cookie_stops_working_at_logout(app, client, sam):
    assert login(client).status_code == 302
    thief = stolen_copy(app, client)
    assert opens_desk(thief)
    logout(client)
    assert not opens_desk(thief)
    assert thief.get("/desk").location.startswith("/login")
    assert not opens_desk(client)


def test_logout_ends_only_that_login(app, client, sam):
    login(client)
    other_desk = app.test_client()
    login(other_desk)
    logout(client)
    assert opens_desk(other_desk)


@pytest.mark.parametrize("change", ["password", "switched_off", "role"])
def test_a_password_reset_switch_off_or_role_change_ends_every_login(
    app, client, db, clock, sam, admin, change
):
    login(client)
    thief = stolen_copy(app, client)
    admins = admin_service(app, db, clock)
    if change == "password":
        admins.reset_password(sam.id, "a brand new pass phrase", by=admin)
    else:
        edit = UserEdit(sam.display_name, "staff", True)
        if change == "switched_off":
            edit.active = False
        else:
            edit.role = "coordinator"
        admins.update_user(sam.id, edit, by=admin)
    assert not opens_desk(client)
    assert not opens_desk(thief)


def test_an_idle_login_ends(client, clock, sam):
    login(client)
    clock.advance(minutes=239)
    assert opens_desk(client)
    clock.advance(minutes=241)
    assert not opens_desk(client)


def test_a_login_ends_after_a_working_day_however_busy(client, clock, sam):
    login(client)
    for _ in range(14):
        clock.advance(minutes=59)
        assert opens_desk(client)
    clock.advance(minutes=60)
    assert not opens_desk(client)


def test_the_cookie_holds_only_a_random_key(client, db, sam):
    login(client)
    with client.session_transaction() as session:
        assert set(session) >= {"staff_session"}
        key = session["staff_session"]
    assert len(key) >= 43  # 256 bits
    stored = db.execute(accounts_module.select(accounts_module.StaffSession)).scalars().all()
    assert [row.key_hash for row in stored] == [accounts_module.digest(key)]


def test_logout_closes_the_sockets_of_that_login(app, client, sam):
    login(client)
    socket = app.extensions["socketio"].test_client(app, namespace=NS, flask_test_client=client)
    assert socket.is_connected(NS)
    logout(client)
    assert not socket.is_connected(NS)


def test_a_password_reset_closes_the_users_sockets(app, client, db, clock, sam, admin):
    login(client)
    sio = app.extensions["socketio"]
    socket = sio.test_client(app, namespace=NS, flask_test_client=client)
    bystander = sio.test_client(app, namespace=NS)  # a public board or status page
    admin_service(app, db, clock).reset_password(sam.id, "a brand new pass phrase", by=admin)
    assert not socket.is_connected(NS)
    assert bystander.is_connected(NS)
    bystander.disconnect(namespace=NS)


# -- item 6: a role that needs the second step asks for it on the next request ----------------


def test_a_promotion_asks_for_the_code_on_the_next_request(app, client, db, clock, sam, admin):
    login(client)
    assert opens_desk(client)
    edit = UserEdit(sam.display_name, "coordinator", True)
    admin_service(app, db, clock).update_user(sam.id, edit, by=admin)
    assert client.get("/admin").status_code == 302
    assert client.get("/desk").location.startswith("/login")
    # Logging in again, the password alone is not enough any more.
    assert login(client).location.endswith("/login/code")
    assert client.get("/admin").status_code == 302
    assert client.get("/api/v1/research/export").status_code == 401


def test_a_role_newly_needing_the_code_asks_for_it_on_the_next_request(app, client, clock, sam):
    login(client)
    assert opens_desk(client)
    app.config["MFA_ROLES"] = ["staff", "coordinator", "admin"]  # the deployment changed
    page = client.get("/desk")
    assert page.status_code == 302 and page.location.startswith("/login/code")
    api = client.get("/api/v1/devices")
    assert api.status_code == 401 and "second step" in api.get_json()["error"]["message"]
    setup = client.get("/login/code").get_data(as_text=True)
    secret = setup.split('id="mfa-secret">')[1].split("<")[0]
    code_page = client.get("/login/code").get_data(as_text=True)
    done = client.post(
        "/login/code",
        data={"code": pyotp.TOTP(secret).at(clock.now), "csrf_token": csrf_token_in(code_page)},
    )
    assert done.status_code == 302
    assert opens_desk(client)


# -- item 7 (part): per-account limits on the server ------------------------------------------


def test_wrong_passwords_from_many_addresses_lock_the_account(client, clock, sam):
    for n in range(10):
        wrong = login(client, password="a wrong password", REMOTE_ADDR=f"10.0.0.{n}")
        assert wrong.status_code == 401
    right = login(client, REMOTE_ADDR="10.0.1.1")
    assert right.status_code == 401  # the right password, but the account takes none now
    assert not opens_desk(client)
    clock.advance(minutes=16)
    assert login(client, REMOTE_ADDR="10.0.1.2").status_code == 302


def test_wrong_codes_are_counted_on_the_server_not_in_the_cookie(app, client, db, clock):
    make_user(db, "carla", role="coordinator", password=PASSWORD)
    assert login(client, "carla").location.endswith("/login/code")
    page = client.get("/login/code").get_data(as_text=True)
    secret = page.split('id="mfa-secret">')[1].split("<")[0]
    before = stolen_copy(app, client)  # the cookie before any wrong code

    def code(browser: FlaskClient, typed: str):
        form = browser.get("/login/code")
        if form.status_code != 200:
            return form
        token = csrf_token_in(form.get_data(as_text=True))
        return browser.post("/login/code", data={"code": typed, "csrf_token": token})

    for _ in range(4):
        assert code(client, "123456").status_code == 401
    assert code(client, "123456").location.endswith("/login")
    # Replaying the earlier cookie gives no fresh tries ...
    assert code(before, "654321").location.endswith("/login")
    # ... and neither does a new password step: the account takes no code for a while.
    login(client, "carla")
    good = code(client, pyotp.TOTP(secret).at(clock.now))
    assert good.status_code != 302 or good.location.endswith("/login")
    assert client.get("/admin").status_code == 302
    clock.advance(minutes=16)
    login(client, "carla")
    assert code(client, pyotp.TOTP(secret).at(clock.now)).status_code == 302
    assert client.get("/admin").status_code == 200


# -- item 13: revoked devices and re-enabled users -----------------------------------------


def pair_kiosk(app, client: FlaskClient, db, clock, stop) -> int:
    pairing = AccountService(db, clock=clock).add_device(DeviceKind.KIOSK, "Kiosk 1", stop=stop)
    page = client.get(f"/pair/{pairing.code}")
    client.post("/pair", data={"code": pairing.code, "csrf_token": csrf_token_in(page.text)})
    return pairing.device.id


def test_a_revoked_kiosks_open_socket_is_closed_at_once(app, client, db, clock, stop):
    device_id = pair_kiosk(app, client, db, clock, stop)
    sio = app.extensions["socketio"]
    socket = sio.test_client(app, namespace=NS, flask_test_client=client)
    board = sio.test_client(app, namespace=NS)  # another screen at the stop
    assert socket.is_connected(NS)
    admin_service(app, db, clock).revoke_device(device_id)
    assert not socket.is_connected(NS)
    assert board.is_connected(NS)
    board.disconnect(namespace=NS)


def test_a_kiosk_paired_again_closes_the_old_browsers_socket(app, client, db, clock, stop):
    device_id = pair_kiosk(app, client, db, clock, stop)
    socket = app.extensions["socketio"].test_client(app, namespace=NS, flask_test_client=client)
    AccountService(db, app.extensions["loket.notifier"], clock).new_pairing_code(
        db.get(accounts_module.Device, device_id)
    )
    assert not socket.is_connected(NS)


def test_switching_a_user_on_again_revives_no_token_and_no_login(
    app, client, db, clock, sam, admin
):
    login(client)
    thief = stolen_copy(app, client)
    issued = client.post("/api/v1/auth/token", json={"username": "sam", "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {issued.get_json()['token']}"}
    assert app.test_client().get("/api/v1/devices", headers=bearer).status_code == 200
    admins = admin_service(app, db, clock)
    admins.update_user(sam.id, UserEdit(sam.display_name, "staff", False), by=admin)
    admins.update_user(sam.id, UserEdit(sam.display_name, "staff", True), by=admin)
    db.expire_all()
    assert app.test_client().get("/api/v1/devices", headers=bearer).status_code == 401
    assert not opens_desk(thief)
    assert not opens_desk(client)
    assert db.get(StaffUser, sam.id).role == Role.STAFF


def test_a_socket_whose_close_was_missed_closes_at_its_next_event(app, client, db, clock, stop):
    """With several processes only the one holding the socket closes it; the others' sockets
    find out at their next heartbeat. Revoke here without closing, as another process would."""
    device_id = pair_kiosk(app, client, db, clock, stop)
    socket = app.extensions["socketio"].test_client(app, namespace=NS, flask_test_client=client)
    AccountService(db, clock=clock).revoke_device(device_id)  # no notifier: nothing closed
    assert socket.is_connected(NS)
    socket.emit("heartbeat", {}, namespace=NS)
    assert not socket.is_connected(NS)


def test_old_logins_can_be_purged(client, db, clock, sam):
    login(client)
    accounts = AccountService(db, clock=clock)
    assert accounts.purge_sessions(older_than=timedelta(days=1)) == 0
    clock.advance(days=2)
    assert accounts.purge_sessions(older_than=timedelta(days=1)) == 1
