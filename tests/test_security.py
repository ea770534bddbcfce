"""Security headers on every response, cookie flags, templates that keep the CSP, and error
pages that never leak a stack trace."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest

from kiosk.models import DeviceKind
from kiosk.services.accounts import AccountService
from tests.factories import make_stop

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
SECRET_DETAIL = "db password is hunter2"


def csp_of(response: Any) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    directives = [part.split() for part in policy.split(";") if part.strip()]
    return {d[0].lower(): d[1:] for d in directives}


def set_cookie(response: Any, name: str) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    return headers[0]


def cookie_flags(header: str) -> dict[str, str]:
    flags = {}
    for part in header.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        flags[key.lower()] = value
    return flags


def csrf_token_in(html: str) -> str:
    field = re.search(r'<input[^>]*\bname="csrf_token"[^>]*>', html)
    assert field, "no CSRF token in the page"
    return re.search(r'\bvalue="([^"]+)"', field.group(0)).group(1)


# -- headers ----------------------------------------------------------------------------------

# (method, path, status, mimetype): pages, API answers, error pages and static files.
RESPONSES = [
    ("GET", "/", 200, "text/html"),
    ("GET", "/login", 200, "text/html"),
    ("GET", "/pair/ABCDEFGHJK", 200, "text/html"),
    ("GET", "/device", 200, "text/html"),
    ("GET", "/api/v1/stops/current", 200, "application/json"),
    ("GET", "/api/v1/board", 200, "application/json"),
    ("GET", "/api/v1/openapi.json", 200, "application/json"),
    ("GET", "/api/v1/tickets/no-such-ticket", 404, "application/json"),
    ("POST", "/api/v1/tickets", 401, "application/json"),
    ("DELETE", "/api/v1/board", 405, "application/json"),
    ("GET", "/api/v1/nothing-here", 404, "application/json"),
    ("GET", "/nothing-here", 404, "text/html"),
    ("GET", "/t/no-such-ticket", 404, "text/html"),
    ("POST", "/login", 400, "text/html"),
    ("GET", "/logout", 405, "text/html"),
    ("GET", "/static/js/pair.js", 200, "text/javascript"),
    ("GET", "/static/css/loket.css", 200, "text/css"),
]


@pytest.mark.parametrize(
    ("method", "path", "status", "mimetype"), RESPONSES, ids=[f"{m} {p}" for m, p, *_ in RESPONSES]
)
def test_every_response_carries_the_security_headers(client, stop, method, path, status, mimetype):
    with client.open(path, method=method) as response:
        assert response.status_code == status
        assert response.mimetype == mimetype
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        csp = csp_of(response)

    assert csp["default-src"] == ["'self'"]
    for directive in ("script-src", "style-src"):
        sources = csp.get(directive, csp["default-src"])
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} & set(
            sources
        ), directive
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] in (["'none'"], ["'self'"])


@pytest.mark.parametrize(
    "path", ["/api/v1/board", "/api/v1/tickets/no-such-ticket", "/t/no-such-ticket"]
)
def test_answers_about_tickets_and_errors_are_not_cached(client, stop, path):
    response = client.get(path)

    assert "no-store" in response.headers["Cache-Control"]


# -- cookies ----------------------------------------------------------------------------------


def test_the_session_cookie_is_httponly_and_samesite_lax(client):
    header = set_cookie(client.get("/login"), "loket_session")

    flags = cookie_flags(header)
    assert "httponly" in flags
    assert flags["samesite"].lower() == "lax"
    assert "secure" not in flags  # plain HTTP in this config: a Secure cookie would be lost


@pytest.fixture
def https_app(make_app) -> Any:
    return make_app(HTTPS=True)


def test_with_https_the_session_cookie_is_secure_too(https_app):
    client = https_app.test_client()

    response = client.get("/login", base_url="https://loket.test")

    flags = cookie_flags(set_cookie(response, "loket_session"))
    assert {"httponly", "secure"} <= set(flags)
    assert flags["samesite"].lower() == "lax"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_with_https_the_device_cookie_is_secure_too(https_app, clock):
    with https_app.extensions["loket.sessionmaker"]() as session:
        stop = make_stop(session, now=clock.now)
        code = AccountService(session, clock=clock).add_device(DeviceKind.KIOSK, "K1", stop=stop)
    client = https_app.test_client()
    page_url = f"https://loket.test/pair/{code.code}"
    token = csrf_token_in(client.get(page_url).text)

    response = client.post(
        "https://loket.test/pair",
        data={"code": code.code, "csrf_token": token},
        headers={"Referer": page_url},  # Flask-WTF checks the referrer over HTTPS
    )

    assert response.status_code == 302
    flags = cookie_flags(set_cookie(response, "loket_device"))
    assert {"httponly", "secure"} <= set(flags)
    assert flags["samesite"].lower() == "lax"


# -- templates keep the CSP -------------------------------------------------------------------


def csp_violations(html: str) -> list[str]:
    """What a strict CSP would block in a template: inline script and style, handlers, URLs."""
    found = []
    for attributes, content in re.findall(r"<script\b([^>]*)>(.*?)</script\s*>", html, re.S | re.I):
        if content.strip():
            found.append("inline <script> content")
        if not re.search(r"\bsrc\s*=", attributes, re.I):
            found.append("<script> without src")
    if re.search(r"<style\b", html, re.I):
        found.append("<style> block")
    if re.search(r"\sstyle\s*=", html, re.I):
        found.append("style attribute")
    if re.search(r"\son[a-z]+\s*=", html, re.I):
        found.append("inline event handler")
    if re.search(r"javascript:", html, re.I):
        found.append("javascript: URL")
    if re.search(r"""\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", html, re.I):
        found.append("resource from another site")
    return found


def test_there_are_templates_to_scan():
    names = {p.relative_to(ROOT / "templates").as_posix() for p in TEMPLATES}

    assert {"base.html", "auth/login.html", "auth/pair.html", "errors/error.html"} <= names


@pytest.mark.parametrize(
    "path", TEMPLATES, ids=[p.relative_to(ROOT / "templates").as_posix() for p in TEMPLATES]
)
def test_templates_have_no_inline_script_or_style(path):
    assert csp_violations(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("snippet", "violation"),
    [
        ("<script>alert(1)</script>", "inline <script> content"),
        ('<SCRIPT type="module">\n  go()\n</SCRIPT>', "inline <script> content"),
        ('<script src="/static/js/a.js">x()</script>', "inline <script> content"),
        ("<style>p { color: red }</style>", "<style> block"),
        ('<p style="color: red">', "style attribute"),
        ('<button onclick="go()">', "inline event handler"),
        ('<a href="javascript:go()">', "javascript: URL"),
        ('<script src="https://cdn.example/x.js"></script>', "resource from another site"),
        ('<link rel="stylesheet" href="//cdn.example/x.css">', "resource from another site"),
    ],
)
def test_the_template_scan_catches_what_the_csp_blocks(snippet, violation):
    assert violation in csp_violations(snippet)


def test_the_template_scan_allows_external_scripts_and_data_attributes():
    html = '<script src="{{ url_for("static", filename="js/x.js") }}"></script><p data-style="x">'

    assert csp_violations(html) == []


# -- error pages never leak internals ---------------------------------------------------------


@pytest.fixture
def fragile_app(make_app) -> Any:
    """A production-like app (no TESTING, no propagation) with routes that crash."""
    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    def crash() -> str:
        raise RuntimeError(SECRET_DETAIL)

    app.add_url_rule("/crash", "crash", crash)
    app.add_url_rule("/api/v1/crash", "api_crash", crash)
    return app


def assert_no_internals(text: str) -> None:
    for leak in ("Traceback", "RuntimeError", SECRET_DETAIL, 'File "', ".py", "werkzeug"):
        assert leak not in text, leak


def test_a_crashing_page_shows_a_friendly_500_page(fragile_app, caplog):
    caplog.set_level(logging.ERROR, logger="kiosk.errors")

    response = fragile_app.test_client().get("/crash")

    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert "Er ging iets mis" in response.text
    assert_no_internals(response.text)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert any(r.exc_info and SECRET_DETAIL in str(r.exc_info[1]) for r in caplog.records)


def test_a_crashing_api_call_is_json_internal_error(fragile_app, caplog):
    caplog.set_level(logging.ERROR, logger="kiosk.errors")

    response = fragile_app.test_client().get("/api/v1/crash")

    assert response.status_code == 500
    assert response.mimetype == "application/json"
    assert response.get_json() == {
        "error": {
            "code": "internal_error",
            "message": "Something went wrong on our side. Nothing was changed.",
        }
    }
    assert_no_internals(response.text)
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "mimetype"),
    [("/nothing-here", "text/html"), ("/api/v1/nothing-here", "application/json")],
)
def test_not_found_never_shows_internals(fragile_app, path, mimetype):
    response = fragile_app.test_client().get(path)

    assert response.status_code == 404
    assert response.mimetype == mimetype
    assert_no_internals(response.text)


def test_the_404_page_is_friendly_dutch(fragile_app):
    response = fragile_app.test_client().get("/nothing-here")

    assert "Deze pagina bestaat niet" in response.text
    assert 'href="/"' in response.text


# -- reflected input is escaped ---------------------------------------------------------------

PAYLOAD = '"><img src=x onerror=alert(1)>'


def test_a_pairing_code_in_the_url_is_escaped(client):
    response = client.get("/pair/" + PAYLOAD)

    assert response.status_code == 200
    assert "<img src=x" not in response.text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in response.text


def test_a_username_shown_again_after_a_failed_login_is_escaped(client):
    token = csrf_token_in(client.get("/login").text)

    response = client.post(
        "/login", data={"username": PAYLOAD, "password": "whatever", "csrf_token": token}
    )

    assert response.status_code == 401
    assert "<img src=x" not in response.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in response.text


def test_over_https_a_form_passes_csrf_with_the_referer_our_policy_lets_browsers_send(make_app):
    """Behind TLS Flask-WTF wants a same-site Referer on every form; with "no-referrer" the
    browser sent none and every login, pairing and desk form failed (found by the kill drill
    through nginx, tests/browser/test_production_drills.py)."""
    from tests.factories import csrf_token_in

    app = make_app(HTTPS=True, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    base = "https://loket.test"
    page = client.get("/login", base_url=base)
    # Same origin: a browser sends the page it came from (Referrer-Policy: same-origin).
    assert page.headers["Referrer-Policy"] == "same-origin"
    form = {"csrf_token": csrf_token_in(page.get_data(as_text=True)), "username": "x"}
    form["password"] = "not-the-password"
    sent = client.post("/login", base_url=base, data=form, headers={"Referer": f"{base}/login"})
    assert "CSRF" not in sent.get_data(as_text=True)
    assert sent.status_code != 400
    # What browsers did under "no-referrer": refused.
    bare = client.post("/login", base_url=base, data=form)
    assert bare.status_code == 400
