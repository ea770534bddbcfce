"""Browser tests: Debian's Chromium driven by Playwright against a real `loket run` server.

Never downloads a browser: Playwright is pointed at /usr/bin/chromium (`make test` installs the
Debian package). Pages are real: the server runs as the operator would run it.
"""

from __future__ import annotations

import io
import re
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.live import STAFF_PASSWORD, STAFF_USER, LiveServer
from tests.printers import FakeNetworkPrinter

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # A board plays its chime and speaks without a click, as in kiosk mode on the wall.
    "--autoplay-policy=no-user-gesture-required",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Playwright waits for events with these bounds; nothing sleeps.
EXPECT_TIMEOUT_MS = 5_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    """One real server per test module, set up by the CLI like `make run` does.

    A module may set `LIVE_ENV = {...}` (or a function of the request that returns one) to run
    its server with other settings.
    """
    env = getattr(request.module, "LIVE_ENV", {})
    if callable(env):  # settings that depend on other fixtures (e.g. a printer's port)
        env = env(request)
    server = LiveServer(tmp_path_factory.mktemp("browser-live"), env_extra=env)
    server.setup()
    server.start()
    server.headers = server.login()
    yield server
    if server.running:
        server.stop()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """Opens pages, each in its own browser context (own cookies: a kiosk, a phone, a desk)."""
    contexts = []

    def _open(viewport: dict[str, int] | None = None, locale: str = "nl-NL") -> Any:
        context = browser.new_context(
            viewport=viewport or {"width": 1280, "height": 900}, locale=locale
        )
        context.set_default_timeout(EXPECT_TIMEOUT_MS * 2)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    errors: list[str] = []
    yield _open
    for context in contexts:
        context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def pairing_url(live: LiveServer, kind: str, name: str) -> str:
    """Register a device as `loket device add` does (the same service on the same database,
    without starting a CLI process each time) and return its pairing URL on this server.
    tests/test_cli.py runs the command itself."""
    from sqlalchemy.orm import Session

    from kiosk.database import make_engine
    from kiosk.models import DeviceKind, Stop
    from kiosk.services.accounts import AccountService

    # Like the command: for the stop open now (a device without one follows the open stop).
    current = requests.get(f"{live.url}/api/v1/stops/current", headers=live.headers, timeout=5)
    engine = make_engine(live.database_url or "")
    try:
        with Session(engine) as session:
            stop = session.get(Stop, current.json()["id"]) if current.status_code == 200 else None
            pairing = AccountService(session).add_device(DeviceKind(kind), name, stop=stop)
    finally:
        engine.dispose()
    return f"{live.url}/pair/{pairing.code}"


@pytest.fixture
def kiosk_page(live: LiveServer, new_page: Any, request: pytest.FixtureRequest) -> Any:
    """A paired kiosk on a 1080p portrait touchscreen, showing its start screen."""
    page = new_page(viewport={"width": 1080, "height": 1920})
    page.goto(pairing_url(live, "kiosk", f"Kiosk {request.node.name}"[:80]))
    page.wait_for_url(re.compile(r"/kiosk$"))
    return page


@pytest.fixture
def board_page(live: LiveServer, new_page: Any, request: pytest.FixtureRequest) -> Any:
    """A paired display board on a 1080p landscape TV."""
    page = new_page(viewport={"width": 1920, "height": 1080})
    page.goto(pairing_url(live, "board", f"Board {request.node.name}"[:80]))
    page.wait_for_url(re.compile(r"/board$"))
    return page


@pytest.fixture
def desk_page(live: LiveServer, new_page: Any) -> Any:
    """A staff laptop, logged in."""
    page = new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{live.url}/login")
    page.get_by_label("Gebruikersnaam").fill(STAFF_USER)
    page.get_by_label("Wachtwoord").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(re.compile(r"/(desk.*)?$"))
    return page


def save_screenshot(page: Any, name: str) -> Path:
    """Keep a screenshot of a screen for docs/screenshots/ (linked from the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe-core (bundled by axe-playwright-python) on the page: WCAG 2.1 A/AA violations."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page,
        options={"runOnly": {"type": "tag", "values": WCAG_TAGS}},
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results.response["violations"]
    ]


@pytest.fixture(scope="module")
def net_printer() -> Iterator[FakeNetworkPrinter]:
    """A TCP ESC/POS printer for a module's live server (`test_printing_live.printer_env`)."""
    server = FakeNetworkPrinter()
    yield server
    server.close()


def silent_wav(seconds: float) -> bytes:
    """Silence as a WAV file: what a test's /speech answers, so a phrase "lasts" `seconds`."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * int(8000 * seconds))
    return buffer.getvalue()
