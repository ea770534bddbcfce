"""A resident's phone asks for "almost your turn" by SMS on the ticket's status page, against a
real `loket run` whose sender sends through the real NotifyNL client to the fake Notify API
(tests/fake_notify.py); the same without JavaScript; the page passes axe (WCAG 2.1 AA)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import EXPECT_TIMEOUT_MS, run_axe, save_screenshot
from tests.fake_notify import FakeNotify

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def fake_notify() -> Iterator[FakeNotify]:
    fake = FakeNotify.start()
    yield fake
    fake.close()


def LIVE_ENV(request: pytest.FixtureRequest) -> dict[str, str]:
    fake = request.getfixturevalue("fake_notify")
    return {
        "LOKET_NOTIFY_API_KEY": fake.api_key,
        "LOKET_NOTIFY_BASE_URL": fake.base_url,
        "LOKET_NOTIFY_SMS_TEMPLATE": "sms-template",
        "LOKET_NOTIFY_EMAIL_TEMPLATE": "email-template",
        "LOKET_NOTIFY_TIMEOUT_SECONDS": "3",
    }


def _serve_until(live: Any, desk_id: int, label: str) -> None:
    while (called := live.call_next(desk_id))["label"] != label:
        live.api("POST", f"/tickets/{called['token']}/finish")


def test_subscribe_by_phone_and_get_almost_and_called(live, new_page, fake_notify):
    first = live.issue("H")
    live.issue("H")
    mine = live.issue("H")
    already = len(fake_notify.sent)
    phone = new_page(viewport=PHONE)
    phone.goto(f"{live.url}/t/{mine['token']}")
    panel = phone.get_by_role("region", name="Stuur mij een bericht als ik bijna aan de beurt ben")
    expect(panel).to_be_visible()
    number = phone.get_by_role("textbox", name="Uw mobiele nummer")
    number.fill("06 12345678")
    panel.scroll_into_view_if_needed()
    save_screenshot(phone, "status-notify")
    assert run_axe(phone) == []

    phone.get_by_role("button", name="Stuur mij een sms").click()
    expect(
        phone.get_by_text("Gelukt. U krijgt een bericht als u bijna aan de beurt bent.")
    ).to_be_visible()
    expect(phone.get_by_text("U krijgt een sms.")).to_be_visible()
    assert run_axe(phone) == []

    desk = live.desk_id("Balie 1")
    _serve_until(live, desk, first["label"])  # two ahead of mine now... one is called: 1 ahead
    almost = fake_notify.wait_for(already + 1, timeout=EXPECT_TIMEOUT_MS / 1000 * 2)[-1]
    assert almost.to == "+31612345678"
    assert almost.text.startswith(f"{mine['label']}: u bent bijna aan de beurt")

    live.api("POST", f"/tickets/{first['token']}/finish")
    _serve_until(live, desk, mine["label"])
    called = fake_notify.wait_for(already + 2, timeout=EXPECT_TIMEOUT_MS / 1000 * 2)[-1]
    assert called.text == f"{mine['label']}: ga naar Balie 1"
    expect(phone.get_by_role("alert")).to_have_text(re.compile("ga naar Balie 1"))
    expect(panel).to_be_hidden()  # nothing left to ask for
    assert fake_notify.refused == []
    live.api("POST", f"/tickets/{mine['token']}/finish")


def test_subscribe_by_email_without_javascript(live, browser, fake_notify):
    ticket = live.issue("R")
    context = browser.new_context(viewport=PHONE, locale="nl-NL", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live.url}/t/{ticket['token']}")
        page.get_by_role("textbox", name="Uw e-mailadres").fill("anna@")
        page.get_by_role("button", name="Stuur mij een e-mail").click()
        expect(page.get_by_text("Dit is geen e-mailadres.")).to_be_visible()
        page.get_by_role("textbox", name="Uw e-mailadres").fill("anna@example.org")
        page.get_by_role("button", name="Stuur mij een e-mail").click()
        expect(page.get_by_text("U krijgt een e-mail.")).to_be_visible()
        page.get_by_role("button", name="Stoppen").click()
        expect(page.get_by_text("U krijgt geen berichten meer over dit nummer.")).to_be_visible()
    finally:
        context.close()
    live.api("POST", f"/tickets/{ticket['token']}/cancel")
