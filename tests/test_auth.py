"""Staff login and tokens, device pairing, the event log of both, and rate limits."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import MetaData, select
from sqlalchemy.orm import Session

from kiosk.models import ApiToken, Device, DeviceKind, Event, StaffUser
from kiosk.services import accounts as accounts_module
from kiosk.services.accounts import AccountService
from kiosk.services.errors import DomainError
from tests.factories import desk_named, make_stop, make_user

PASSWORD = "correct horse battery"
WRONG_LOGIN = "Deze combinatie van gebruikersnaam en wachtwoord klopt niet."
BAD_CODE = "Deze koppelcode is onbekend, al gebruikt of verlopen."
REAL_HASHER = accounts_module._hasher


# -- helpers and fixtures ---------------------------------------------------------------------


def error_of(response: Any) -> dict[str, Any]:
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:200]
    error = response.get_json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    return error


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def csrf_token_in(html: str) -> str:
    field = re.search(r'<input[^>]*\bname="csrf_token"[^>]*>', html)
    assert field, "no CSRF token in the page"
    return re.search(r'\bvalue="([^"]+)"', field.group(0)).group(1)


def device_credential(response: Any) -> str:
    return set_cookie(response, "loket_device").split(";")[0].removeprefix("loket_device=")


def set_cookie(response: Any, name: str) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    return headers[0]


def cookie_attributes(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


def database_text(session: Session) -> str:
    """Every row of every table as text: what a stolen copy of the database would show."""
    session.rollback()
    metadata = MetaData()
    metadata.reflect(session.get_bind())
    rows = []
    for table in metadata.sorted_tables:
        rows += [repr(tuple(row)) for row in session.execute(select(table))]
    session.rollback()
    return "\n".join(rows)


def login(client: Any, username: str = "anna", password: str = PASSWORD, **query: str) -> Any:
    token = csrf_token_in(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login",
        query_string=query,
        data={"username": username, "password": password, "csrf_token": token},
    )


def login_error(response: Any) -> str:
    match = re.search(r'<p class="error"[^>]*>(.*?)</p>', response.get_data(as_text=True))
    assert match, "no error on the page"
    return match.group(1)


def pairing_code(accounts: AccountService, stop: Any, kind: str = "kiosk", name: str = "K1") -> str:
    return accounts.add_device(DeviceKind(kind), name, stop=stop).code


def pair_by_page(client: Any, code: str) -> Any:
    """What the browser does: open the pairing URL, the page script submits its form."""
    page = client.get(f"/pair/{code}")
    return client.post("/pair", data={"code": code, "csrf_token": csrf_token_in(page.text)})


# Cheap Argon2id parameters (tests/conftest.py): these tests are not about hashing cost.
pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def real_hashing(fast_hashing, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts_module, "_hasher", REAL_HASHER)


@pytest.fixture
def accounts(db, clock) -> AccountService:
    """Accounts on the app's database, with the test clock."""
    return AccountService(db, clock=clock)


@pytest.fixture
def anna(db) -> StaffUser:
    user, _password = make_user(db, "anna", password=PASSWORD)
    return user


def deactivate(db: Session, user: StaffUser) -> None:
    user.active = False
    db.commit()


# -- login form -------------------------------------------------------------------------------


def test_login_page_shows_a_form_with_a_csrf_token(client):
    response = client.get("/login")

    assert response.status_code == 200
    html = response.text
    assert "Inloggen voor medewerkers" in html
    assert 'name="username"' in html
    assert 'name="password" type="password"' in html
    assert csrf_token_in(html)


@pytest.mark.parametrize("username", ["anna", "Anna", " anna "])
def test_login_redirects_to_the_desk_and_starts_a_session(client, anna, username):
    response = login(client, username)

    assert response.status_code == 302
    assert response.headers["Location"] == "/desk"
    assert "U bent ingelogd als anna" in client.get("/").text


def test_a_login_session_works_for_api_reads(client, anna):
    login(client)

    response = client.get("/api/v1/devices")

    assert response.status_code == 200
    assert response.get_json() == []


def test_a_login_session_posts_to_the_api_with_the_csrf_header(client, anna, stop):
    login(client)
    token = csrf_token_in(client.get("/login").text)

    response = client.post("/api/v1/tickets", json={"product": "A"}, headers={"X-CSRFToken": token})

    assert response.status_code == 201
    assert response.get_json()["label"] == "A001"


def test_a_login_session_without_the_csrf_header_is_forbidden_on_api_posts(client, anna, stop):
    login(client)

    responses = [
        client.post("/api/v1/tickets", json={"product": "A"}),
        client.post(f"/api/v1/desks/{desk_named(stop, 'Balie 1').id}/call-next"),
    ]

    for response in responses:
        assert response.status_code == 403
        assert error_of(response)["code"] == "forbidden"


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("anna", "wrong password!", WRONG_LOGIN),
        ("nobody", PASSWORD, WRONG_LOGIN),
        ("anna", "", "Vul uw gebruikersnaam en wachtwoord in."),
        ("", PASSWORD, "Vul uw gebruikersnaam en wachtwoord in."),
    ],
    ids=["wrong-password", "unknown-user", "no-password", "no-username"],
)
def test_a_failed_login_is_401_with_friendly_dutch_text(client, anna, username, password, message):
    response = login(client, username, password)

    assert response.status_code == 401
    assert response.mimetype == "text/html"
    assert login_error(response) == message
    assert client.get("/api/v1/devices").status_code == 401


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client, anna):
    wrong_password = login(client, "anna", "wrong password!")
    unknown_user = login(client, "nobody", "wrong password!")

    assert wrong_password.status_code == unknown_user.status_code == 401
    assert login_error(wrong_password) == login_error(unknown_user) == WRONG_LOGIN


def test_an_inactive_user_cannot_log_in(client, db, anna):
    deactivate(db, anna)

    response = login(client)

    assert response.status_code == 401
    assert login_error(response) == WRONG_LOGIN


def test_a_deactivated_user_loses_a_running_session(client, db, anna):
    login(client)
    deactivate(db, anna)

    assert client.get("/api/v1/devices").status_code == 401


@pytest.mark.parametrize("csrf", [None, "forged-token"], ids=["missing", "forged"])
def test_login_without_a_valid_csrf_token_is_400(client, anna, csrf):
    client.get("/login")
    data = {"username": "anna", "password": PASSWORD}
    if csrf is not None:
        data["csrf_token"] = csrf

    response = client.post("/login", data=data)

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert client.get("/api/v1/devices").status_code == 401


@pytest.mark.parametrize(
    "target", ["/api/v1/devices", "/t/abc?lang=en", "/pair"], ids=["api", "query", "page"]
)
def test_login_follows_a_same_site_next_path(client, anna, target):
    response = login(client, next=target)

    assert response.status_code == 302
    assert response.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "https://evil.com",
        "http://evil.com/login",
        "//evil.com/%2F..",
        "/\\evil.com",
        "\\\\evil.com",
        "/\t/evil.com",
        " //evil.com",
        "https:evil.com",
        "javascript:alert(1)",
        "evil.com",
    ],
)
def test_login_never_redirects_off_site(client, anna, target):
    response = login(client, next=target)

    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert parts.scheme == parts.netloc == ""
    assert location.startswith("/")
    assert not location.startswith("//")
    assert "\\" not in location


def test_logout_is_not_a_get(client, anna):
    login(client)

    response = client.get("/logout")

    assert response.status_code == 405
    assert client.get("/api/v1/devices").status_code == 200


def test_logout_without_csrf_token_is_400_and_keeps_the_session(client, anna):
    login(client)

    response = client.post("/logout")

    assert response.status_code == 400
    assert client.get("/api/v1/devices").status_code == 200


def test_logout_with_csrf_token_ends_the_session(client, anna):
    login(client)
    token = csrf_token_in(client.get("/").text)

    response = client.post("/logout", data={"csrf_token": token})

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert client.get("/api/v1/devices").status_code == 401
    assert "U bent uitgelogd." in client.get("/login").text


# -- passwords --------------------------------------------------------------------------------


def test_passwords_are_stored_as_argon2id_hashes(db, real_hashing):
    user, password = make_user(db, "bert", password="a much longer secret")

    assert user.password_hash.startswith("$argon2id$")
    assert password not in user.password_hash
    params = extract_parameters(user.password_hash)
    assert params.time_cost >= 2
    assert params.memory_cost >= 19 * 1024  # OWASP's minimum for Argon2id
    assert PasswordHasher().verify(user.password_hash, password)
    assert password not in database_text(db)


def test_login_and_token_requests_never_store_the_password(client, db, anna):
    login(client, "anna", "a wrong password")
    login(client)
    client.post("/api/v1/auth/token", json={"username": "anna", "password": PASSWORD})

    text = database_text(db)

    assert PASSWORD not in text
    assert "a wrong password" not in text


@pytest.mark.parametrize(
    ("password", "refusal"),
    [
        ("", "at least 12 characters"),
        ("rivier-gans", "at least 12 characters"),
        ("aaaaaaaaaaaa", "easy to guess"),
        ("password1234", "easy to guess"),
        ("bertbertbert", "easy to guess"),  # the username
        ("hoornloket12", "easy to guess"),  # the words of this service
        ("Gemeente2026", "easy to guess"),
        ("x" * 129, "at most 128 characters"),
        ("rivier gans fluit", None),
        ("kwartel-" * 15 + "ab", None),  # 122 characters of something odd
    ],
)
def test_a_password_follows_nist_800_63b(db, password, refusal):
    accounts = AccountService(db)
    if refusal is None:
        assert accounts.add_user("bert", password).username == "bert"
    else:
        with pytest.raises(DomainError, match=refusal):
            accounts.add_user("bert", password)


def test_one_maximum_for_creating_and_logging_in(client, db):
    longest = "kwartel fluit " * 9 + "ab"  # 128 characters: accepted everywhere
    assert len(longest) == 128
    make_user(db, "bert", password=longest)
    assert login(client, "bert", longest).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token_in(client.get("/").text)})
    # 5,000 characters are refused at once (never hashed), as at creation.
    assert login(client, "bert", "x" * 5000).status_code == 401


def test_a_new_password_needs_at_least_12_characters_too(db, anna):
    with pytest.raises(DomainError, match="at least 12 characters"):
        AccountService(db).set_password(anna, "too short")


def test_the_cli_refuses_a_short_password(runner):
    result = runner.invoke(args=["user", "add", "bert"], input="too short\n")

    assert result.exit_code != 0
    assert "at least 12 characters" in result.output


# -- API tokens -------------------------------------------------------------------------------


def request_token(client: Any, username: str = "anna", password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def test_auth_token_returns_a_staff_bearer_token(client, anna):
    response = request_token(client)

    assert response.status_code == 200
    body = response.get_json()
    assert body["token"].startswith("lst_")
    assert len(body["token"]) > 40
    assert body["expires_at"] == "2026-06-02T22:00:00+00:00"
    assert client.get("/api/v1/devices", headers=bearer(body["token"])).status_code == 200


def test_each_token_request_gives_a_new_token(client, anna):
    assert request_token(client).get_json()["token"] != request_token(client).get_json()["token"]


@pytest.mark.parametrize(
    ("username", "password"),
    [("anna", "wrong password!"), ("nobody", PASSWORD), ("ANNA", "Correct Horse Battery")],
    ids=["wrong-password", "unknown-user", "password-case"],
)
def test_auth_token_with_wrong_credentials_is_401(client, anna, username, password):
    response = request_token(client, username, password)

    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"


def test_an_inactive_user_gets_no_token(client, db, anna):
    deactivate(db, anna)

    response = request_token(client)

    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"


def test_a_deactivated_users_token_stops_working(client, db, anna):
    token = request_token(client).get_json()["token"]
    deactivate(db, anna)

    response = client.get("/api/v1/devices", headers=bearer(token))

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("minutes", "status"), [(0, 200), (12 * 60 - 1, 200), (12 * 60, 401), (13 * 60, 401)]
)
def test_a_token_expires_after_12_hours(client, clock, anna, minutes, status):
    token = request_token(client).get_json()["token"]
    clock.advance(minutes=minutes)

    response = client.get("/api/v1/devices", headers=bearer(token))

    assert response.status_code == status


def test_a_new_password_revokes_the_tokens(client, db, anna):
    token = request_token(client).get_json()["token"]

    AccountService(db).set_password(anna, "another long password")

    assert client.get("/api/v1/devices", headers=bearer(token)).status_code == 401


def test_only_the_sha256_of_a_token_is_stored(client, db, anna):
    token = request_token(client).get_json()["token"]

    db.rollback()
    rows = db.scalars(select(ApiToken)).all()
    assert [row.token_hash for row in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in database_text(db)
    assert token.removeprefix("lst_") not in database_text(db)


@pytest.mark.parametrize(
    "body",
    [{}, {"username": "anna"}, {"username": "anna", "password": PASSWORD, "role": "admin"}],
    ids=["empty", "no-password", "unknown-field"],
)
def test_auth_token_validates_its_body(client, anna, body):
    response = client.post("/api/v1/auth/token", json=body)

    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_request"


# -- device pairing ---------------------------------------------------------------------------


def test_cli_device_add_prints_a_pairing_url(runner, db, clock):
    make_stop(db, now=clock.now)

    result = runner.invoke(args=["device", "add", "kiosk", "K1"])

    assert result.exit_code == 0, result.output
    urls = re.findall(r"^\s*(http://loket\.test/pair/[A-Z2-9]{10})$", result.output, re.M)
    assert len(urls) == 1
    assert "within 30 minutes" in result.output


def test_cli_device_add_needs_an_open_stop(runner):
    result = runner.invoke(args=["device", "add", "kiosk", "K1"])

    assert result.exit_code != 0
    assert "No stop is open now." in result.output


def test_a_cli_pairing_url_pairs_the_browser(runner, client, db, clock):
    make_stop(db, now=clock.now)
    output = runner.invoke(args=["device", "add", "kiosk", "K1"]).output
    code = re.search(r"http://loket\.test/pair/(\w+)", output).group(1)

    response = pair_by_page(client, code)

    assert response.status_code == 302
    assert "K1" in client.get("/device").text


def test_the_pairing_page_shows_a_self_submitting_form(client, accounts, stop):
    code = pairing_code(accounts, stop)

    response = client.get(f"/pair/{code}")

    assert response.status_code == 200
    html = response.text
    assert re.search(r'<form[^>]*action="/pair"', html)
    assert 'id="pair-form"' in html
    assert 'data-auto-submit="true"' in html
    assert f'value="{code}"' in html
    assert csrf_token_in(html)
    assert re.search(r'<script src="/static/js/pair\.js\?v=[0-9a-f]{12}"></script>', html)
    with client.get("/static/js/pair.js") as script:
        assert "requestSubmit" in script.text
        assert "autoSubmit" in script.text


def test_opening_the_pairing_page_does_not_use_up_the_code(client, accounts, stop):
    code = pairing_code(accounts, stop)
    client.get(f"/pair/{code}")  # a link preview or prefetch

    assert pair_by_page(client, code).status_code == 302


def test_pairing_sets_an_httponly_lax_device_cookie_and_redirects(client, accounts, stop):
    code = pairing_code(accounts, stop)

    response = pair_by_page(client, code)

    assert response.status_code == 302
    assert response.headers["Location"] == "/kiosk"  # a kiosk lands on its own page
    header = set_cookie(response, "loket_device")
    assert header.startswith("loket_device=ldv_")
    attributes = cookie_attributes(header)
    assert {"httponly", "path", "max-age"} <= attributes
    assert "samesite=lax" in header.lower()
    assert "secure" not in attributes  # served over plain HTTP in this config
    page = client.get("/device").text
    assert "Apparaat gekoppeld" in page
    assert "K1" in page


def test_pairing_without_csrf_token_is_refused_and_keeps_the_code(client, accounts, stop):
    code = pairing_code(accounts, stop)
    client.get(f"/pair/{code}")

    response = client.post("/pair", data={"code": code})

    assert response.status_code == 400
    assert "loket_device" not in response.headers.get("Set-Cookie", "")
    assert pair_by_page(client, code).status_code == 302


def test_a_pairing_code_works_only_once(app, client, accounts, stop):
    code = pairing_code(accounts, stop)
    assert pair_by_page(client, code).status_code == 302

    second_browser = app.test_client()
    response = pair_by_page(second_browser, code)
    api = second_browser.post("/api/v1/devices/pair", json={"code": code})

    assert response.status_code == 400
    assert BAD_CODE in response.text
    assert not [h for h in response.headers.getlist("Set-Cookie") if "loket_device" in h]
    assert api.status_code == 400
    assert error_of(api)["code"] == "invalid_pairing_code"


def test_a_paired_screen_that_opens_its_used_link_again_goes_on_as_itself(client, accounts, stop):
    """A kiosk mini-PC whose start address is still its pairing link (deploy/kiosk/)."""
    code = pairing_code(accounts, stop)
    assert pair_by_page(client, code).status_code == 302

    again = pair_by_page(client, code)

    assert again.status_code == 302
    assert again.headers["Location"] == "/kiosk"
    assert not [h for h in again.headers.getlist("Set-Cookie") if "loket_device" in h]


@pytest.mark.parametrize(("minutes", "paired"), [(29, True), (30, False), (31, False)])
def test_a_pairing_code_expires_after_30_minutes(client, clock, accounts, stop, minutes, paired):
    page_code, api_code = (
        pairing_code(accounts, stop, name="K1"),
        pairing_code(accounts, stop, name="K2"),
    )
    clock.advance(minutes=minutes)

    page = pair_by_page(client, page_code)
    api = client.post("/api/v1/devices/pair", json={"code": api_code})

    assert page.status_code == (302 if paired else 400)
    assert api.status_code == (200 if paired else 400)
    if not paired:
        assert BAD_CODE in page.text
        assert error_of(api)["code"] == "invalid_pairing_code"


@pytest.mark.parametrize("spelling", [str, str.lower, lambda c: f"{c[:5]}-{c[5:]}"])
def test_api_pairing_returns_a_device_credential(client, accounts, stop, spelling):
    code = pairing_code(accounts, stop)

    response = client.post("/api/v1/devices/pair", json={"code": spelling(code)})

    assert response.status_code == 200
    body = response.get_json()
    assert body["token"].startswith("ldv_")
    assert body["device"]["name"] == "K1"
    assert body["device"]["kind"] == "kiosk"
    assert body["device"]["stop_id"] == stop.id
    assert body["device"]["paired"] is True
    issued = client.post("/api/v1/tickets", json={"product": "A"}, headers=bearer(body["token"]))
    assert issued.status_code == 201


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, 422), ({"code": ""}, 422), ({"code": "A" * 41}, 422), ({"code": "NOSUCHCODE"}, 400)],
)
def test_api_pairing_refuses_bad_codes(client, stop, body, status):
    response = client.post("/api/v1/devices/pair", json=body)

    assert response.status_code == status


def _paired_by_api(client, accounts, stop) -> tuple[int, dict[str, str]]:
    body = client.post("/api/v1/devices/pair", json={"code": pairing_code(accounts, stop)})
    return body.get_json()["device"]["id"], bearer(body.get_json()["token"])


def test_a_revoked_device_credential_is_401(client, accounts, stop):
    device_id, headers = _paired_by_api(client, accounts, stop)

    accounts.revoke_device(device_id)
    response = client.post("/api/v1/tickets", json={"product": "A"}, headers=headers)

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_a_revoked_device_cookie_no_longer_counts(client, db, accounts, stop):
    pair_by_page(client, pairing_code(accounts, stop))
    token = csrf_token_in(client.get("/pair").text)
    db.rollback()

    accounts.revoke_device(db.scalar(select(Device.id).where(Device.name == "K1")))
    response = client.post("/api/v1/tickets", json={"product": "A"}, headers={"X-CSRFToken": token})

    assert response.status_code == 401
    assert "Niet gekoppeld" in client.get("/device").text


def test_re_pairing_a_device_ends_its_old_credential(client, db, accounts, stop):
    device_id, headers = _paired_by_api(client, accounts, stop)
    db.rollback()

    accounts.new_pairing_code(db.get(Device, device_id))

    assert client.post("/api/v1/tickets", json={"product": "A"}, headers=headers).status_code == 401


STAFF_ONLY = [
    ("GET", "/api/v1/devices"),
    ("POST", "/api/v1/desks/{desk}/call-next"),
    ("POST", "/api/v1/tickets/{token}/cancel"),
]


@pytest.mark.parametrize(("method", "path"), STAFF_ONLY)
def test_a_paired_kiosk_cannot_call_staff_endpoints(client, accounts, stop, method, path):
    _device_id, headers = _paired_by_api(client, accounts, stop)
    ticket = client.post("/api/v1/tickets", json={"product": "A"}, headers=headers).get_json()
    url = path.format(desk=desk_named(stop, "Balie 1").id, token=ticket["token"])

    response = client.open(url, method=method, headers=headers)

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path"), STAFF_ONLY)
def test_a_kiosk_browser_cannot_call_staff_endpoints(client, accounts, stop, method, path):
    pair_by_page(client, pairing_code(accounts, stop))
    csrf = {"X-CSRFToken": csrf_token_in(client.get("/pair").text)}
    ticket = client.post("/api/v1/tickets", json={"product": "A"}, headers=csrf).get_json()
    url = path.format(desk=desk_named(stop, "Balie 1").id, token=ticket["token"])

    response = client.open(url, method=method, headers=csrf)

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


# -- the event log ----------------------------------------------------------------------------


def events(db: Session, action: str) -> list[Event]:
    db.rollback()
    return list(db.scalars(select(Event).where(Event.action == action).order_by(Event.id)))


def test_logins_are_logged_as_ok_or_denied(client, db, anna):
    login(client, "anna", "wrong password!")
    login(client, "nobody", PASSWORD)
    login(client)
    request_token(client, "anna", "wrong password!")

    logged = [(e.result, e.actor_id, e.object_id) for e in events(db, "user.login")]

    assert logged == [
        ("denied", anna.id, anna.id),
        ("denied", None, None),
        ("ok", anna.id, anna.id),
        ("denied", anna.id, anna.id),
    ]
    assert all(e.origin == "127.0.0.1" for e in events(db, "user.login"))


def test_pairings_are_logged_as_ok_or_denied(client, db, accounts, stop):
    code = pairing_code(accounts, stop)
    pair_by_page(client, code)
    pair_by_page(client, code)
    client.post("/api/v1/devices/pair", json={"code": "NOSUCHCODE"})

    assert [e.result for e in events(db, "device.pair")] == ["ok", "denied", "denied"]


def test_the_event_log_never_holds_passwords_tokens_or_codes(client, db, accounts, anna, stop):
    login(client, "anna", "a wrong password")
    login(client)
    staff_token = request_token(client).get_json()["token"]
    page_code = pairing_code(accounts, stop, name="K1")
    api_code = pairing_code(accounts, stop, name="K2")
    cookie_credential = device_credential(pair_by_page(client, page_code))
    pair_by_page(client, page_code)  # used up: denied
    api_credential = client.post("/api/v1/devices/pair", json={"code": api_code}).get_json()
    client.post("/api/v1/devices/pair", json={"code": api_code})  # used up: denied
    plain = [PASSWORD, "a wrong password", page_code, api_code]
    plain += [staff_token, cookie_credential, api_credential["token"]]
    secrets = [s.removeprefix("lst_").removeprefix("ldv_") for s in plain]
    secrets += [hashlib.sha256(s.encode()).hexdigest() for s in plain]

    db.rollback()
    logged = db.scalars(select(Event)).all()
    text = "\n".join(json.dumps(e.data) + repr((e.action, e.object_type, e.origin)) for e in logged)

    assert {"user.login", "token.issue", "device.add", "device.pair"} <= {e.action for e in logged}
    assert {e.result for e in logged if e.action in ("user.login", "device.pair")} == {
        "ok",
        "denied",
    }
    for secret in secrets:
        assert secret not in text


# -- rate limits ------------------------------------------------------------------------------


@pytest.fixture
def strict_app(make_app) -> Any:
    """An app like the `app` fixture, but with 3 attempts a minute on login and pairing."""
    app = make_app(RATELIMIT_AUTH="3/minute", RATELIMIT_PAIR="3/minute")
    with app.extensions["loket.sessionmaker"]() as session:
        make_user(session, "anna", password=PASSWORD)
    return app


def test_the_fourth_token_request_in_a_minute_is_429_json(strict_app):
    client = strict_app.test_client()

    answers = [request_token(client, "anna", "wrong password!") for _ in range(4)]

    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert error_of(answers[3])["code"] == "rate_limited"
    assert int(answers[3].headers["Retry-After"]) > 0
    assert request_token(client).status_code == 429  # the right password does not help


def test_the_fourth_login_in_a_minute_is_429(strict_app):
    client = strict_app.test_client()

    answers = [login(client, "anna", "wrong password!") for _ in range(4)]

    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert answers[3].mimetype == "text/html"
    assert "Even geduld" in answers[3].text


def test_the_fourth_pairing_attempt_in_a_minute_is_429_json(strict_app):
    client = strict_app.test_client()

    answers = [client.post("/api/v1/devices/pair", json={"code": "NOSUCHCODE"}) for _ in range(4)]

    assert [a.status_code for a in answers] == [400, 400, 400, 429]
    assert error_of(answers[3])["code"] == "rate_limited"
