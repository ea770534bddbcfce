"""The second login step in a real browser: a coordinator sets up the authenticator app by its
QR code (the test reads the key as a person would type it) and is let in with the app's code."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import run_axe, save_screenshot

pytestmark = pytest.mark.live

LIVE_ENV = {"LOKET_MFA_ROLES": '["coordinator", "admin"]'}
PASSWORD = "coordinator-password-123"


def test_a_coordinator_sets_up_the_app_and_logs_in(live, new_page):
    live.cli("user", "add", "carla", "--role", "coordinator", stdin=PASSWORD + "\n")
    page = new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live.url}/login?next=/admin/printers")
    page.get_by_label("Gebruikersnaam").fill("carla")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(re.compile(r"/login/code$"))
    expect(page.get_by_role("heading", name="Stel de tweede stap in")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("QR-code"))).to_be_visible()
    assert run_axe(page) == []
    save_screenshot(page, "login-second-step")

    page.get_by_label("Code (6 cijfers)").fill("000000")
    page.get_by_role("button", name="Koppelen en inloggen").click()
    expect(page.get_by_role("alert")).to_contain_text("Deze code klopt niet")
    assert run_axe(page) == []

    secret = page.locator("#mfa-secret").inner_text()
    page.get_by_label("Code (6 cijfers)").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Koppelen en inloggen").click()
    page.wait_for_url(re.compile(r"/admin/printers$"))
    expect(page.get_by_text("Uw app is gekoppeld.")).to_be_visible()
