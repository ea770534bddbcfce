"""What keeps a device's screen ours without a server (kiosk/views/offline.py), through the Flask
test client: /health, the service worker and its version, the offline page, and the outage
notice every kiosk screen carries. The browser side is tests/browser/test_kiosk_offline.py."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from kiosk.services.accounts import AccountService
from kiosk.views import offline
from tests.factories import pair_browser

OUTAGE = {
    "nl": "Even geduld, de verbinding is weg. Wij proberen het opnieuw.",
    "en": "Please wait, the connection is lost. We are trying again.",
}
ASK_STAFF = {
    "nl": "Vraag een medewerker om hulp als het lang duurt.",
    "en": "Ask a member of staff for help if it takes a long time.",
}


def constant(script: str, name: str):
    """A constant the server filled into the worker's script (JSON)."""
    found = re.search(rf"^const {name} = (.+);$", script, re.M)
    assert found, f"no {name} in the worker"
    return json.loads(found.group(1))


# -- /health ----------------------------------------------------------------------------------


def test_health_answers_when_the_database_does(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"ok": True}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" in response.headers


def test_health_is_503_with_retry_after_when_the_database_cannot_answer(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'no-such-folder' / 'loket.db'}")
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"
    assert response.headers["Retry-After"] == "2"
    assert response.headers["Cache-Control"] == "no-store"


def test_health_needs_no_login_and_sets_no_language(client):
    response = client.get("/health?lang=en")
    assert response.status_code == 200
    with client.session_transaction() as session:
        assert "lang" not in session


# -- the service worker -----------------------------------------------------------------------


def test_the_worker_is_served_as_script_for_the_whole_site(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert "Content-Security-Policy" in response.headers


def test_the_worker_keeps_the_screens_assets_and_the_offline_page_per_language(app, client):
    script = client.get("/sw.js").get_data(as_text=True)
    precache = constant(script, "PRECACHE")
    for lang in app.config["LANGUAGES"]:
        assert f"/offline?lang={lang}" in precache
    # Static addresses carry ?v=<the file's hash> (kiosk/static_files.py).
    kept = {url.split("?v=")[0] for url in precache}
    for asset in (
        "css/loket.css",
        "css/board.css",
        "css/desk.css",
        "js/kiosk.js",
        "js/kiosk-navigation.js",
        "js/offline-support.js",
        "js/offline.js",
        "js/live.js",
        "js/board.js",
        "js/ticket.js",
        "js/desk.js",
    ):
        assert f"/static/{asset}" in kept
    vendor = Path(app.static_folder, "vendor", "socket.io.esm.min.js")
    assert (f"/static/vendor/{vendor.name}" in kept) == vendor.exists()
    assert constant(script, "LANGUAGES") == app.config["LANGUAGES"]
    assert constant(script, "DEFAULT_LANGUAGE") == app.config["DEFAULT_LANGUAGE"]
    with app.test_request_context():
        assert constant(script, "VERSION") == offline.current_version()
    # Private and changing pages are never kept.
    assert not [url for url in precache if re.match(r"/(a|admin|api|login|health)\b", url)]


def test_the_worker_version_changes_with_any_kept_file():
    files = [("static/js/kiosk.js", b"one"), ("static/css/loket.css", b"body {}")]
    version = offline.worker_version("0.1.0", files)
    assert re.fullmatch(r"[0-9a-f]{16}", version)
    assert offline.worker_version("0.1.0", list(reversed(files))) == version
    assert offline.worker_version("0.1.0", [files[0], ("static/css/loket.css", b"b {}")]) != version
    assert offline.worker_version("0.1.0", [*files, ("static/js/new.js", b"")]) != version
    assert offline.worker_version("0.1.0", files[:1]) != version
    assert offline.worker_version("0.2.0", files) != version


def test_a_changed_asset_on_disk_gives_the_served_worker_a_new_version(app, tmp_path):
    static = tmp_path / "static"
    shutil.copytree(app.static_folder, static)
    app.static_folder = str(static)
    client = app.test_client()
    before = constant(client.get("/sw.js").get_data(as_text=True), "VERSION")
    assert constant(client.get("/sw.js").get_data(as_text=True), "VERSION") == before
    kiosk_js = static / "js" / "kiosk.js"
    kiosk_js.write_text(kiosk_js.read_text() + "\n// changed\n")
    assert constant(client.get("/sw.js").get_data(as_text=True), "VERSION") != before


# -- the offline page -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_offline_page_speaks_the_chosen_language(client, lang):
    response = client.get(f"/offline?lang={lang}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}"' in html
    assert OUTAGE[lang] in html
    assert ASK_STAFF[lang] in html
    assert "Content-Security-Policy" in response.headers
    # No inline script (the CSP forbids it): one module, from static/.
    assert len(re.findall(r"<script[^>]*>", html)) == 1
    assert re.search(r'<script type="module" src="/static/js/offline\.js\?v=[0-9a-f]{12}">', html)


def test_the_offline_page_does_not_change_the_devices_language(client):
    client.get("/offline?lang=en")
    with client.session_transaction() as session:
        assert "lang" not in session


def test_the_offline_page_without_a_language_speaks_the_default(client):
    html = client.get("/offline?lang=xx").get_data(as_text=True)
    assert '<html lang="nl"' in html
    assert OUTAGE["nl"] in html


# -- the kiosk's own outage notice ------------------------------------------------------------


@pytest.fixture
def kiosk_client(client, db, clock, stop):
    pair_browser(client, AccountService(db, clock=clock), stop, "kiosk")
    return client


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_kiosk_screen_carries_the_outage_notice_in_its_language(kiosk_client, lang):
    html = kiosk_client.get(f"/kiosk?lang={lang}").get_data(as_text=True)
    notice = re.search(r'<div class="outage" id="outage"[^>]*>(.*?)</div>\s*</div>', html, re.S)
    assert notice, "no outage notice on the start screen"
    assert 'role="alert"' in notice.group(0)
    assert " hidden>" in notice.group(0).split("\n", 1)[0]
    assert OUTAGE[lang] in notice.group(1)
    assert ASK_STAFF[lang] in notice.group(1)
    assert 'data-screen="home"' in html
    assert 'data-connection="online"' in html
