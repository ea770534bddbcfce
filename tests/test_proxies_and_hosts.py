"""Attacks on what a request says about itself (issue 14, items 2, 7 and 14).

- A forged ``Host`` header never reaches a link in an e-mail or on a slip: links use
  PUBLIC_BASE_URL, a host Flask checked against TRUSTED_HOSTS, or this machine.
- ``X-Forwarded-For`` is ignored unless LOKET_TRUSTED_PROXIES names the proxies in front; with
  them, each client behind the proxy has its own rate-limit bucket. Logging in and booking have
  one bucket each for the HTML form and the API.
- A resident's private pages are never cached; database errors in the log carry no SQL
  parameters (names, e-mail addresses).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from flask import request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

import kiosk.mail
from kiosk.cli import public_base_warning
from kiosk.database import make_engine
from kiosk.factories import db_session
from kiosk.printing.slips import ticket_slip
from kiosk.security import TrustedNetworks, behind_proxies, parse_trusted_proxies
from kiosk.services.appointments import AppointmentService
from kiosk.services.queue import QueueService
from kiosk.urls import FALLBACK_BASE, is_loopback_host
from tests.factories import csrf_token_in, make_bookable_stop, make_user
from tests.test_booking_pages import details_url, free_slots

EVIL = "gemeente-hoorn.evil.example"


# -- item 2: a forged Host header ---------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch) -> list[Any]:
    """The confirmation e-mails the app hands to its sender (no SMTP server needed)."""
    messages: list[Any] = []
    monkeypatch.setattr(kiosk.mail, "_send", lambda app, message, _id: messages.append(message))
    return messages


def book_by_api(app, clock, **headers: str):
    client = app.test_client()
    with app.extensions["loket.sessionmaker"]() as db:
        stop = make_bookable_stop(db, clock)
        slot = free_slots(db, clock, stop)[0]
    return client.post(
        "/api/v1/appointments",
        json={"slot": slot.id, "product": "id-apply", "email": "anna@example.org"},
        headers=headers,
    )


def mail_text(message: Any) -> str:
    return str(message.get_body(("plain",)).get_content())


def test_a_forged_host_never_reaches_the_confirmation_mail(make_app, clock, sent):
    app = make_app(PUBLIC_BASE_URL=None, SMTP_HOST="127.0.0.1")
    response = book_by_api(app, clock, Host=EVIL)
    assert response.status_code == 201, response.text
    (message,) = sent
    body = mail_text(message)
    assert EVIL not in body and EVIL not in response.text
    url = response.get_json()["url"]
    assert url.startswith(f"{FALLBACK_BASE}/a/") and url in body


def test_the_configured_base_wins_over_any_host(make_app, clock, sent):
    app = make_app(PUBLIC_BASE_URL="https://loket.hoorn.nl", SMTP_HOST="127.0.0.1")
    response = book_by_api(app, clock, Host=EVIL)
    assert response.get_json()["url"].startswith("https://loket.hoorn.nl/a/")
    assert EVIL not in mail_text(sent[0])


def test_with_trusted_hosts_a_forged_host_is_refused_and_a_trusted_one_is_used(
    make_app, clock, sent
):
    app = make_app(PUBLIC_BASE_URL=None, SMTP_HOST="127.0.0.1", TRUSTED_HOSTS=["loket.hoorn.nl"])
    assert book_by_api(app, clock, Host=EVIL).status_code == 400
    assert sent == []
    response = book_by_api(app, clock, Host="loket.hoorn.nl")
    assert response.status_code == 201
    assert response.get_json()["url"].startswith("http://loket.hoorn.nl/a/")
    assert "http://loket.hoorn.nl/a/" in mail_text(sent[0])


def test_trusted_hosts_may_come_from_the_environment_as_a_list(make_app, monkeypatch):
    monkeypatch.setenv("LOKET_TRUSTED_HOSTS", "loket.hoorn.nl, bus.hoorn.nl")
    app = make_app()
    assert app.config["TRUSTED_HOSTS"] == ["loket.hoorn.nl", "bus.hoorn.nl"]


@pytest.mark.parametrize(
    ("host", "link"),
    [
        (EVIL, FALLBACK_BASE),
        ("10.0.0.66:5000", FALLBACK_BASE),  # an address can be forged as well as a name
        ("localhost", "http://localhost"),
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
    ],
)
def test_a_slips_qr_link_uses_the_request_host_only_on_this_machine(
    make_app, db, stop, clock, host, link
):
    app = make_app(PUBLIC_BASE_URL=None)
    ticket = QueueService(db, clock=clock).issue_ticket(stop, "H")
    with app.test_request_context("/kiosk", headers={"Host": host}):
        slip = ticket_slip(db_session().merge(ticket))
    assert slip.qr_url == f"{link}/t/{ticket.token}"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("localhost:5000", True),
        ("127.0.0.1", True),
        ("[::1]:8000", True),
        ("127.0.0.1.evil.example", False),
        ("localhost.evil.example", False),
        ("0.0.0.0", False),
        ("192.168.8.10", False),
        ("[bad", False),
        ("", False),
    ],
)
def test_only_this_machines_names_count_as_loopback(host, loopback):
    assert is_loopback_host(host) is loopback


def test_loket_run_on_a_network_address_without_a_base_warns(make_app):
    app = make_app(PUBLIC_BASE_URL=None)
    warning = public_base_warning(app, "0.0.0.0", 8080)
    assert warning and "LOKET_PUBLIC_BASE_URL" in warning and ":8080" in warning
    assert public_base_warning(app, "127.0.0.1", 5000) is None
    assert (
        public_base_warning(make_app(PUBLIC_BASE_URL="http://192.168.8.10:5000"), "0.0.0.0", 1)
        is None
    )


def test_loket_run_prints_the_warning_at_start_up(make_app, monkeypatch):
    import kiosk.cli

    class Server:
        def init_socket(self) -> None:
            pass

        def serve_forever(self) -> None:
            pass

    app = make_app(PUBLIC_BASE_URL=None)
    app.config["SOCKETIO_ASYNC_MODE"] = "gevent"  # what `loket run` checks; no server starts
    monkeypatch.setattr(kiosk.cli, "make_server", lambda *_args: Server())
    monkeypatch.setattr(kiosk.cli, "_start_print_worker", lambda _app: lambda: None)
    monkeypatch.setattr(kiosk.cli, "_start_housekeeping", lambda _app: lambda: None)
    result = app.test_cli_runner().invoke(args=["run", "--host", "0.0.0.0", "--port", "8080"])
    assert result.exit_code == 0, result.output
    assert "Warning: serving on 0.0.0.0 without LOKET_PUBLIC_BASE_URL" in result.output
    quiet = app.test_cli_runner().invoke(args=["run", "--host", "127.0.0.1"])
    assert "Warning" not in quiet.output


# -- item 7: trusted proxies and one bucket per client ------------------------------------------


def wrong_tokens(client, n: int, **headers: str) -> list[int]:
    """POST /api/v1/auth/token with a wrong password `n` times: 401 each, 429 once limited."""
    body = {"username": "nobody", "password": "wrong password here"}
    return [
        client.post("/api/v1/auth/token", json=body, headers=headers).status_code for _ in range(n)
    ]


def test_without_trusted_proxies_a_spoofed_forwarded_for_is_ignored(make_app):
    app = make_app(RATELIMIT_AUTH="3/minute")
    client = app.test_client()
    answers = [
        wrong_tokens(client, 1, **{"X-Forwarded-For": f"203.0.113.{i}"})[0] for i in range(5)
    ]
    assert answers == [401, 401, 401, 429, 429]


def test_behind_one_trusted_proxy_each_client_has_its_own_bucket(make_app):
    app = make_app(RATELIMIT_AUTH="3/minute", TRUSTED_PROXIES=1)
    client = app.test_client()
    first = {"X-Forwarded-For": "203.0.113.1"}
    assert wrong_tokens(client, 4, **first) == [401, 401, 401, 429]
    # Another resident behind the same proxy is not locked out by the first one.
    assert wrong_tokens(client, 1, **{"X-Forwarded-For": "203.0.113.2"}) == [401]
    # The first client cannot escape by sending its own header: the proxy appends the real one.
    spoofed = {"X-Forwarded-For": "198.51.100.99, 203.0.113.1"}
    assert wrong_tokens(client, 1, **spoofed) == [429]


def test_trusted_proxies_as_a_count_from_the_environment(make_app, monkeypatch):
    monkeypatch.setenv("LOKET_TRUSTED_PROXIES", "1")
    app = make_app()
    seen: list[str | None] = []
    app.add_url_rule("/whoami", "whoami", lambda: seen.append(request.remote_addr) or "")
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    app.test_client().get("/whoami", headers=headers)
    assert seen == ["203.0.113.7"]


def remote_addr_after(middleware_setting: Any, peer: str, forwarded: str) -> tuple[str, str]:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(environ)
        return []

    environ = {
        "REMOTE_ADDR": peer,
        "HTTP_X_FORWARDED_FOR": forwarded,
        "HTTP_X_FORWARDED_PROTO": "https",
        "wsgi.url_scheme": "http",
    }
    behind_proxies(app, middleware_setting)(environ, lambda *a: None)
    return seen["REMOTE_ADDR"], seen["wsgi.url_scheme"]


@pytest.mark.parametrize(
    ("setting", "peer", "forwarded", "expected"),
    [
        (None, "10.0.0.2", "203.0.113.5", ("10.0.0.2", "http")),  # nobody trusted
        ("", "10.0.0.2", "203.0.113.5", ("10.0.0.2", "http")),
        (0, "10.0.0.2", "203.0.113.5", ("10.0.0.2", "http")),
        (1, "10.0.0.2", "6.6.6.6, 203.0.113.5", ("203.0.113.5", "https")),
        (2, "10.0.0.2", "6.6.6.6, 203.0.113.5, 10.0.0.9", ("203.0.113.5", "https")),
        # Networks: the proxies' own hops are skipped, the first other address is the client.
        ("10.0.0.0/8", "10.0.0.2", "6.6.6.6, 203.0.113.5, 10.0.0.9", ("203.0.113.5", "https")),
        (["10.0.0.0/8", "::1"], "::1", "203.0.113.5", ("203.0.113.5", "https")),
        # A caller outside the trusted networks is taken as it is, header or not.
        ("10.0.0.0/8,192.168.0.0/16", "198.51.100.7", "203.0.113.5", ("198.51.100.7", "http")),
        ("10.0.0.0/8", "10.0.0.2", "6.6.6.6, x" * 20, ("10.0.0.2", "https")),
    ],
)
def test_forwarded_addresses_are_believed_only_from_trusted_proxies(
    setting, peer, forwarded, expected
):
    assert remote_addr_after(setting, peer, forwarded) == expected


def test_trusted_proxy_settings_parse_or_fail_loudly():
    assert parse_trusted_proxies("2") == 2
    assert [str(n) for n in parse_trusted_proxies("10.0.0.0/8, 192.168.1.5")] == [
        "10.0.0.0/8",
        "192.168.1.5/32",
    ]
    with pytest.raises(ValueError):
        parse_trusted_proxies("proxy.example")
    with pytest.raises(ValueError):
        parse_trusted_proxies(-1)
    assert isinstance(behind_proxies(lambda e, s: [], "10.0.0.0/8"), TrustedNetworks)


def login_form(client, password: str = "wrong password here") -> int:
    token = csrf_token_in(client.get("/login").text)
    data = {"username": "anna", "password": password, "csrf_token": token}
    return client.post("/login", data=data).status_code


def test_the_login_form_and_the_api_token_share_one_bucket(make_app, db):
    app = make_app(RATELIMIT_AUTH="4/minute")
    make_user(db, "anna")
    db.commit()
    client = app.test_client()
    assert [login_form(client), login_form(client)] == [401, 401]
    assert wrong_tokens(client, 3) == [401, 401, 429]
    assert login_form(client) == 429, "the form is out of tries once the API used them"


def test_the_booking_form_and_the_api_share_one_bucket(make_app, clock):
    app = make_app(RATELIMIT_BOOK="2/minute")
    client = app.test_client()
    with app.extensions["loket.sessionmaker"]() as db:
        stop = make_bookable_stop(db, clock)
        slots = free_slots(db, clock, stop)
    url = details_url(stop, slots[0])
    token = csrf_token_in(client.get(url).text)
    assert client.post(url, data={"csrf_token": token}).status_code == 302
    api = {"product": "id-apply"}
    assert client.post("/api/v1/appointments", json={**api, "slot": slots[1].id}).status_code == 201
    assert client.post("/api/v1/appointments", json={**api, "slot": slots[2].id}).status_code == 429
    url = details_url(stop, slots[3])
    token = csrf_token_in(client.get(url).text)
    assert client.post(url, data={"csrf_token": token}).status_code == 429


# -- item 14: no caching of private pages, no parameters in database error logs ----------------


def test_a_residents_private_pages_and_their_qr_and_calendar_are_never_stored(
    app, client, db, stop, clock
):
    ticket = QueueService(db, clock=clock).issue_ticket(stop, "H")
    appointments = AppointmentService(db, clock=clock)
    product = next(p for p in stop.products if p.prefix == "A")
    slot = appointments.open_slots(stop, product)[-1]
    booked = appointments.book(slot.id, name="Anna de Vries", email="anna@example.org")
    paths = [
        f"/t/{ticket.token}",
        f"/t/{ticket.token}/live",
        f"/t/{ticket.token}/qr.svg",
        f"/a/{booked.token}",
        f"/a/{booked.token}.ics",
        f"/a/{booked.token}/qr.svg",
        f"/a/{booked.token}/link.svg",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    # A public QR code (the tour's schedule) may still be cached.
    assert "no-store" not in client.get("/tour/qr.svg").headers.get("Cache-Control", "")


def test_a_failed_statement_never_shows_its_parameters(db_url):
    secret = "anna.de.vries@example.org"
    for hidden, engine in (
        (True, make_engine(db_url)),
        (False, make_engine(db_url, hide_parameters=False)),
    ):
        with engine.connect() as connection, pytest.raises(SQLAlchemyError) as caught:
            connection.execute(text("INSERT INTO no_such_table VALUES (:email)"), {"email": secret})
        assert (secret in str(caught.value)) is not hidden  # the attack works on a bare engine
        engine.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO no_such_table VALUES (:email)",  # OperationalError: logged as a warning
        "INSERT INTO stops (id) VALUES (:email)",  # IntegrityError: logged with its traceback
    ],
)
def test_the_apps_database_error_log_has_no_parameter_values(make_app, caplog, statement):
    app = make_app()
    secret = "anna.de.vries@example.org"

    def fail() -> str:
        db_session().execute(text(statement), {"email": secret})
        return "unreachable"

    app.add_url_rule("/fail", "fail", fail)
    with caplog.at_level(logging.WARNING, logger="kiosk.errors"):
        response = app.test_client().get("/fail")
    assert response.status_code in (500, 503)
    assert caplog.records, "the error is logged"
    assert secret not in caplog.text
    assert re.search(r"parameters hidden|hide_parameters", caplog.text)
