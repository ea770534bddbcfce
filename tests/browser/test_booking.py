"""A resident books an appointment on a phone: product, place, time, details, and lands on the
private page with the code; every step passes axe's WCAG 2.1 A/AA checks."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import run_axe, save_screenshot

PHONE = {"width": 390, "height": 844}
CODE = re.compile(r"[2-9A-Z]{3}-[2-9A-Z]{3}")
TOUCH_TARGET_PX = 44


def _heading(page, name: str):
    return page.get_by_role("heading", level=1, name=name)


def _assert_large_enough(locator) -> None:
    box = locator.bounding_box()
    assert box is not None
    assert box["height"] >= TOUCH_TARGET_PX and box["width"] >= TOUCH_TARGET_PX, box


def test_a_resident_books_on_a_phone_and_sees_the_code(live, new_page):
    phone = new_page(viewport=PHONE)
    phone.goto(f"{live.url}/")
    phone.get_by_role("link", name="Afspraak maken").click()

    # Step 1: what for.
    expect(_heading(phone, "Afspraak maken")).to_be_visible()
    expect(phone.get_by_text("Stap 1 van 4")).to_be_visible()
    assert run_axe(phone) == []
    product = phone.get_by_role("link", name="Paspoort of ID-kaart aanvragen")
    _assert_large_enough(product)
    save_screenshot(phone, "booking-product")
    product.click()

    # Step 2: where and when.
    expect(_heading(phone, "Kies een plek en dag")).to_be_visible()
    assert run_axe(phone) == []
    phone.get_by_role("link", name=re.compile("Bibliotheek Hoorn")).first.click()

    # Step 3: which time. The last one: it is still hours away while the test runs.
    expect(_heading(phone, "Kies een tijd")).to_be_visible()
    assert run_axe(phone) == []
    time = phone.locator(".time-button").last
    _assert_large_enough(time)
    chosen = time.inner_text().split()[0]
    save_screenshot(phone, "booking-times")
    time.click()

    # Step 4: the summary and the optional details; a wrong e-mail address first.
    expect(_heading(phone, "Controleer en bevestig")).to_be_visible()
    expect(phone.get_by_text(f"{chosen} tot")).to_be_visible()
    assert run_axe(phone) == []
    phone.get_by_label("Naam om u te roepen").fill("Anna de Vries")
    email = phone.get_by_label("E-mailadres")
    email.fill("anna@")
    phone.get_by_role("button", name="Afspraak maken").click()

    summary = phone.get_by_role("alert")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Vul een e-mailadres in")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_value("anna@")
    expect(phone.get_by_label("Naam om u te roepen")).to_have_value("Anna de Vries")
    assert run_axe(phone) == []
    save_screenshot(phone, "booking-error")
    summary.get_by_role("link").click()
    expect(email).to_be_focused()

    email.fill("anna@example.org")
    phone.get_by_role("button", name="Afspraak maken").click()

    # The private page: the code, and a one-time note that the booking is made.
    phone.wait_for_url(re.compile(r"/a/[A-Za-z0-9_-]+$"))  # not "…#email" from the form
    expect(_heading(phone, "Uw afspraak")).to_be_visible()
    expect(phone.locator(".appointment-code")).to_have_text(CODE)
    expect(phone.get_by_role("status")).to_have_text("Uw afspraak is gemaakt.")
    expect(phone.get_by_text(chosen, exact=False).first).to_be_visible()
    save_screenshot(phone, "booking-done")
    phone.reload()
    expect(phone.locator(".appointment-code")).to_have_text(CODE)
    expect(phone.get_by_role("status")).to_have_count(0)


def test_a_refused_step_has_no_wcag_violations_and_leads_back(live, new_page):
    phone = new_page(viewport=PHONE)
    response = phone.goto(f"{live.url}/afspraak/id-apply/999999")
    assert response is not None and response.status == 404
    expect(_heading(phone, "Plek niet gevonden")).to_be_visible()
    assert run_axe(phone) == []
    phone.get_by_role("link", name="Kies een andere plek").click()
    expect(_heading(phone, "Kies een plek en dag")).to_be_visible()
