"""The production shape for real: nginx with TLS (deploy/nginx/popup-loket.conf) in front of two
`loket run` processes on PostgreSQL and Redis. Kiosks issue and boards follow calls through
nginx; static files, redirects, limits and failures behave as the site file says."""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter
from typing import Any

import pytest
import requests

from tests.production import ProductionSite
from tests.production_fixtures import MakeSite

pytestmark = [
    pytest.mark.live,
    pytest.mark.postgres,
    pytest.mark.usefixtures("quick_websocket_close"),
]

KIOSKS = 4
TICKETS_PER_KIOSK = 8


@pytest.fixture(scope="module")
def site(make_site: MakeSite) -> ProductionSite:
    return make_site(count=2)


def upstream_of(site: ProductionSite, route: str) -> set[str]:
    """The processes (host:port) nginx sent a Socket.IO client's requests to, by its key."""
    # The test's main nginx file logs every request with its upstream (see tests/production.py).
    lines = (site.nginx.folder / "access.log").read_text().splitlines()
    return {line.split(" upstream=")[1].split()[0] for line in lines if f"route={route}" in line}


def issue_as_kiosk(site: ProductionSite, product: str = "A") -> dict[str, Any]:
    """One tap: the ticket request with its Idempotency-Key, through nginx."""
    return site.api(
        "POST",
        "/tickets",
        expect=201,
        json={"product": product},
        headers={**site.headers, "Idempotency-Key": uuid.uuid4().hex},
    )


def test_the_site_file_passes_nginx_own_check(site):
    assert "syntax is ok" in site.nginx.check()


def test_plain_http_is_sent_to_https(site):
    response = requests.get(
        f"http://127.0.0.1:{site.nginx.http_port}/kiosk?lang=tr", allow_redirects=False, timeout=5
    )
    assert response.status_code == 301
    # To the standard port, the address and query kept.
    assert response.headers["Location"] == "https://127.0.0.1/kiosk?lang=tr"


def test_pages_come_over_tls_with_the_app_headers_and_secure_cookies(site):
    response = site.session.get(f"{site.url}/login", timeout=5)
    assert response.status_code == 200
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "Secure" in response.headers["Set-Cookie"]
    # Links the app makes name the public address, scheme and port included.
    assert response.url.startswith(site.url)


def test_static_files_are_served_by_nginx_with_long_lifetimes_for_versioned_addresses(site):
    page = site.session.get(f"{site.url}/login", timeout=5).text
    stylesheet = re.search(r'href="(/static/css/loket\.css\?v=[0-9a-f]+)"', page)
    assert stylesheet, "pages link static files with ?v=<content hash>"

    versioned = site.session.get(f"{site.url}{stylesheet.group(1)}", timeout=5)
    assert versioned.status_code == 200
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert versioned.headers["X-Content-Type-Options"] == "nosniff"
    # nginx's own answer: the app would have added its security policy.
    assert "Content-Security-Policy" not in versioned.headers

    plain = site.session.get(f"{site.url}/static/js/live.js", timeout=5)
    assert plain.status_code == 200
    assert plain.headers["Cache-Control"] == "no-cache"
    again = site.session.get(
        f"{site.url}/static/js/live.js",
        headers={"If-None-Match": plain.headers["ETag"]},
        timeout=5,
    )
    assert again.status_code == 304


def test_a_body_larger_than_the_app_limit_is_refused_by_nginx(site):
    response = site.session.post(
        f"{site.url}/api/v1/tickets",
        data=b"x" * (64 * 1024 + 1),
        headers={**site.headers, "Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 413


def test_kiosks_issue_and_boards_follow_calls_through_nginx(site):
    boards = [site.board() for _ in range(6)] + [site.board(transports=["polling"])]
    for board in boards:
        assert board.wait_for("board_state")["stop"]
    issued: list[dict[str, Any]] = []
    failures: list[BaseException] = []

    def kiosk() -> None:
        try:
            for _ in range(TICKETS_PER_KIOSK):
                issued.append(issue_as_kiosk(site))
        except BaseException as error:  # reported below, not lost in a thread
            failures.append(error)

    threads = [threading.Thread(target=kiosk) for _ in range(KIOSKS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    labels = Counter(ticket["label"] for ticket in issued)
    assert len(labels) == KIOSKS * TICKETS_PER_KIOSK
    assert max(labels.values()) == 1

    for board in boards:
        board.drain()
    called = site.api("POST", f"/desks/{site.desk_id()}/call-next")
    for board in boards:
        heard = board.wait_until("ticket_called", lambda p: p["ticket"]["label"] == called["label"])
        assert heard["ticket"]["label"] == called["label"]
    polling = boards[-1]
    assert "disconnect" not in polling.drain()
    for board in boards:
        board.close()
    # nginx logs a websocket when it closes: now each client's requests went to one process,
    # the polling board's many requests too (nginx kept it there by its key).
    places = {board.route: upstream_of(site, board.route) for board in boards}
    assert all(len(where) == 1 for where in places.values()), places
    assert len(upstream_of(site, polling.route)) == 1
    print(f"boards per process: {Counter(next(iter(p)) for p in places.values())}")


def test_loket_doctor_passes_on_this_deployment(site):
    """The operator's check before go-live, run as they run it, with the processes' settings."""
    report = site.servers[0].cli("doctor")
    assert "FAIL" not in report, report
    # It saw both processes (registered in Redis) with the same key and schema.
    assert all(f":{server.port}" in report for server in site.servers), report
