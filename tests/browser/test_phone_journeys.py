"""A resident's phone: joining the queue from the board's code, leaving it with a confirmation,
and the faces after the visit; the kiosk's own "Hoe bent u geholpen?". Each page checked with
axe (WCAG 2.1 AA) and kept as a screenshot."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.sync_api import expect

from kiosk.services.join import join_code
from tests.browser.conftest import run_axe, save_screenshot

PHONE = {"width": 390, "height": 844}
SECRET = b"live-test-secret"  # tests/live.py's LOKET_SECRET_KEY
# The kiosk's reach (templates/kiosk/_layout.html): what a resident taps is in the lower two
# thirds of the 1080x1920 screen.
REACH_TOP = 1920 // 3


def _join_url(live) -> str:
    stop = live.current_stop()
    return f"{live.url}/join/{join_code(SECRET, stop['id'], datetime.now(UTC))}"


def test_join_from_a_phone_lands_on_the_status_page(live, new_page):
    phone = new_page(viewport=PHONE)
    phone.goto(_join_url(live))
    expect(phone.get_by_role("heading", name="Trek een nummer")).to_be_visible()
    assert run_axe(phone) == []
    save_screenshot(phone, "join-products")

    first = phone.locator(".join-product").first
    name = first.locator(".join-product__name").inner_text()
    first.click()
    phone.wait_for_url(re.compile(r"/t/[^/]+$"))
    expect(phone.locator(".status-card__label")).to_have_text(re.compile(r"^[A-Z]\d{3}$"))
    expect(phone.locator(".status-card__product")).to_have_text(name)
    expect(phone.get_by_role("button", name="Ik ga weg")).to_be_visible()
    assert run_axe(phone) == []
    save_screenshot(phone, "join-ticket")

    # Scanning the board again shows the same ticket, not a second one.
    label = phone.locator(".status-card__label").inner_text()
    phone.goto(_join_url(live))
    phone.wait_for_url(re.compile(r"/t/[^/]+$"))
    expect(phone.locator(".status-card__label")).to_have_text(label)
    expect(phone.get_by_text("U heeft al een nummer")).to_be_visible()


def test_an_expired_code_gets_a_friendly_page(live, new_page):
    phone = new_page(viewport=PHONE)
    stop = live.current_stop()
    old = join_code(SECRET, stop["id"], datetime(2026, 1, 1, tzinfo=UTC))
    response = phone.goto(f"{live.url}/join/{old}")
    assert response.status == 410
    expect(
        phone.get_by_text("Deze code is verlopen. Scan de code op het scherm opnieuw.")
    ).to_be_visible()
    assert run_axe(phone) == []
    save_screenshot(phone, "join-expired")


def test_the_join_page_in_arabic_runs_right_to_left(live, new_page):
    phone = new_page(viewport=PHONE, locale="ar")
    phone.goto(_join_url(live))
    expect(phone.locator("html")).to_have_attribute("dir", "rtl")
    width, inner = phone.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width <= inner
    assert run_axe(phone) == []


def test_leave_the_queue_with_a_confirmation(live, new_page):
    mine = live.issue("H")
    behind = live.issue("H")
    phone = new_page(viewport=PHONE)
    phone.goto(f"{live.url}/t/{mine['token']}")
    other = new_page(viewport=PHONE)
    other.goto(f"{live.url}/t/{behind['token']}")
    expect(
        other.get_by_text(re.compile(r"Er (is|zijn) \d+ (persoon|mensen) voor u"))
    ).to_be_visible()
    ahead_before = other.locator(".status-text").inner_text()

    phone.get_by_role("button", name="Ik ga weg").click()
    dialog = phone.get_by_role("dialog", name="Weet u het zeker?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text("U verliest uw plek.")).to_be_visible()
    assert run_axe(phone) == []
    save_screenshot(phone, "status-leave")

    # "No" keeps the place.
    dialog.get_by_role("button", name="Nee, ik blijf wachten").click()
    expect(dialog).to_be_hidden()
    assert live.api("GET", f"/tickets/{mine['token']}")["status"] == "waiting"

    phone.get_by_role("button", name="Ik ga weg").click()
    dialog.get_by_role("button", name="Ja, ik ga weg").click()
    expect(dialog).to_be_hidden()
    expect(
        phone.get_by_role("status").filter(has_text="U staat niet meer in de wachtrij")
    ).to_be_visible()
    expect(phone.locator("#ticket-status")).to_have_attribute("data-status", "cancelled")
    expect(phone.get_by_role("button", name="Ik ga weg")).to_have_count(0)
    assert live.api("GET", f"/tickets/{mine['token']}")["status"] == "cancelled"
    # The queue moved: the page behind hears it and moves up.
    expect(other.locator(".status-text").first).not_to_have_text(ahead_before)


def test_leave_without_a_script(live, browser):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="nl-NL")
    try:
        mine = live.issue("A")
        phone = context.new_page()
        phone.goto(f"{live.url}/t/{mine['token']}")
        phone.get_by_role("button", name="Ik ga weg").click()
        expect(phone.get_by_role("heading", name="Weet u het zeker?")).to_be_visible()
        phone.get_by_role("button", name="Ja, ik ga weg").click()
        phone.wait_for_url(re.compile(r"/t/[^/]+$"))
        expect(phone.get_by_text("U staat niet meer in de wachtrij").first).to_be_visible()
        assert live.api("GET", f"/tickets/{mine['token']}")["status"] == "cancelled"
    finally:
        context.close()


def test_the_confirmation_page_has_no_wcag_violations(live, new_page):
    mine = live.issue("A")
    phone = new_page(viewport=PHONE)
    phone.goto(f"{live.url}/t/{mine['token']}")
    # The form as it posts without a script (`submit()` skips the script's dialog).
    phone.evaluate("document.getElementById('leave-form').submit()")
    expect(phone.get_by_role("heading", name="Weet u het zeker?")).to_be_visible()
    assert run_axe(phone) == []


def test_feedback_faces_after_the_visit(live, new_page):
    mine = live.issue("R")
    phone = new_page(viewport=PHONE)
    phone.goto(f"{live.url}/t/{mine['token']}")
    desk = live.desk_id("Balie 1")
    while (called := live.call_next(desk))["label"] != mine["label"]:
        live.api("POST", f"/tickets/{called['token']}/finish")
    live.api("POST", f"/tickets/{mine['token']}/finish")

    question = phone.get_by_role("heading", name="Hoe bent u geholpen?")
    expect(question).to_be_visible()
    # Waits until the faces are laid out: read at once, innerText can catch them unrendered
    # (the raw whitespace of the template, seen once in CI).
    expect(phone.locator(".feedback-face")).to_have_text(
        ["Heel slecht", "Slecht", "Gaat wel", "Goed", "Heel goed"], use_inner_text=True
    )
    assert run_axe(phone) == []
    save_screenshot(phone, "status-feedback")

    phone.get_by_role("button", name="Heel goed").click()
    expect(
        phone.get_by_role("heading", name="Wat moeten we hier nog meer aanbieden?")
    ).to_be_visible()
    expect(question).to_have_count(0)
    expect(phone.get_by_role("status").filter(has_text="Bedankt voor uw antwoord.")).to_be_visible()
    assert run_axe(phone) == []
    phone.locator(".feedback-wish").first.click()
    expect(phone.locator("#feedback")).to_have_count(0)
    # Each once: the API says so too.
    answer = live.api("POST", f"/tickets/{mine['token']}/feedback", expect=409, json={"rating": 1})
    assert answer["error"]["code"] == "already_answered"


def test_kiosk_feedback_screens_fit_without_scrolling(live, kiosk_page):
    page = kiosk_page
    page.get_by_role("link", name="Hoe bent u geholpen?").click()
    page.wait_for_url(re.compile(r"/kiosk/feedback$"))
    faces = page.locator(".kiosk-face")
    expect(faces).to_have_count(5)
    height, inner = page.evaluate("[document.documentElement.scrollHeight, innerHeight]")
    assert height <= inner, f"faces scroll: {height} > {inner}"
    for box in (faces.nth(i).bounding_box() for i in range(5)):
        assert box["width"] >= 120 and box["height"] >= 120  # large targets
        assert box["y"] >= REACH_TOP  # within reach: the lower two thirds
    assert run_axe(page) == []
    save_screenshot(page, "kiosk-feedback")

    page.get_by_role("button", name="Goed", exact=True).click()
    expect(page.get_by_role("heading", name="Waarvoor kwam u?")).to_be_visible()
    height, inner = page.evaluate("[document.documentElement.scrollHeight, innerHeight]")
    assert height <= inner, f"products scroll: {height} > {inner}"
    products = page.locator(".kiosk-feedback-products .product-button")
    assert all(products.nth(i).bounding_box()["y"] >= REACH_TOP for i in range(products.count()))
    assert run_axe(page) == []
    # Back goes to the faces; then a product counts it.
    page.get_by_role("link", name="Terug", exact=True).click()
    expect(faces).to_have_count(5)
    page.get_by_role("button", name="Gaat wel").click()
    page.locator(".kiosk-feedback-products .product-button").first.click()
    expect(page.get_by_role("heading", name="Bedankt voor uw antwoord!")).to_be_visible()
    assert run_axe(page) == []


def test_a_lost_connection_keeps_the_place_and_says_so(live, new_page):
    """The server does not answer the leave: the dialog says so, the ticket still waits, and a
    second try once the network is back leaves the queue."""
    mine = live.issue("A")
    phone = new_page(viewport=PHONE)
    phone.goto(f"{live.url}/t/{mine['token']}")
    phone.route("**/api/v1/tickets/*/leave", lambda route: route.abort("internetdisconnected"))
    phone.get_by_role("button", name="Ik ga weg").click()
    dialog = phone.get_by_role("dialog", name="Weet u het zeker?")
    dialog.get_by_role("button", name="Ja, ik ga weg").click()
    expect(dialog.get_by_role("alert")).to_have_text(re.compile("Controleer uw verbinding"))
    assert live.api("GET", f"/tickets/{mine['token']}")["status"] == "waiting"
    phone.unroute("**/api/v1/tickets/*/leave")
    dialog.get_by_role("button", name="Ja, ik ga weg").click()
    expect(dialog).to_be_hidden()
    expect(phone.locator("#ticket-status")).to_have_attribute("data-status", "cancelled")
