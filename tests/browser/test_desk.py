"""The staff desk in a real browser: shortcuts, live updates, transfer, devices, accessibility."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import pairing_url, run_axe, save_screenshot
from tests.live import LiveServer

# A closed device connection counts as lost after 1 s here (5 s by default), so that the test
# sees a kiosk go offline quickly; it still waits for the event, never for a fixed time.
LIVE_ENV = {"LOKET_DISPLAY_PRESENCE_GRACE_SECONDS": "1"}
# Catches the POSTs the page sends: a shortcut that must not fire is checked at once (the key
# handler calls fetch synchronously), without waiting to see that nothing happens.
COUNT_POSTS = """
window.__posts = [];
const realFetch = window.fetch;
window.fetch = (url, options) => {
  if (options && options.method === "POST") window.__posts.push(String(url));
  return realFetch(url, options);
};
"""


def reset(live: LiveServer) -> None:
    """Empty both desks and the queue, so that each test starts from a known state."""
    for name in ("Balie 1", "Balie 2"):
        state = live.api("GET", f"/desks/{live.desk_id(name)}")
        if state["current"]:
            live.api("POST", f"/tickets/{state['current']['token']}/finish")
        for ticket in state["queue"]:
            live.api("POST", f"/tickets/{ticket['token']}/cancel")


def open_desk(page: Any, live: LiveServer, name: str = "Balie 1") -> Any:
    """Choose the desk on the chooser page, as staff do after logging in."""
    page.goto(f"{live.url}/desk?choose=1")
    page.get_by_role("link", name=re.compile(name)).click()
    page.wait_for_url(re.compile(r"/desk/\d+$"))
    expect(page.get_by_role("heading", name="Aan de balie")).to_be_visible()
    return page


def queue_labels(page: Any) -> Any:
    return page.locator("#queue-list .queue-item__label")


def current_label(page: Any) -> Any:
    return page.locator("#current-ticket [data-field=label]")


def status_of(live: LiveServer, token: str) -> str:
    return live.api("GET", f"/tickets/{token}")["status"]


def test_logging_in_opens_the_desk_chooser(desk_page, live):
    expect(desk_page).to_have_url(re.compile(r"/desk$"))
    expect(desk_page.get_by_role("heading", name="Kies uw balie")).to_be_visible()
    expect(desk_page.get_by_role("link", name=re.compile("Balie 1"))).to_be_visible()
    expect(desk_page.get_by_role("link", name=re.compile("Balie 2"))).to_be_visible()


def test_keyboard_shortcuts_run_every_step(desk_page, live):
    reset(live)
    first, second, third = live.issue("A"), live.issue("H"), live.issue("R")
    page = open_desk(desk_page, live)
    expect(queue_labels(page)).to_have_text([first["label"], second["label"], third["label"]])
    feedback = page.locator("#desk-feedback")

    page.keyboard.press("n")
    expect(current_label(page)).to_have_text(first["label"])
    expect(page.locator("#current [data-field=status]")).to_have_text("Opgeroepen")
    expect(queue_labels(page)).to_have_text([second["label"], third["label"]])

    page.keyboard.press("r")
    expect(feedback).to_have_text(f"{first['label']} is opnieuw opgeroepen.")
    expect(page.locator("#current [data-field=recalls]")).to_have_text("1 keer opnieuw opgeroepen")

    page.keyboard.press("s")
    expect(page.locator("#current [data-field=status]")).to_have_text("Wordt geholpen")
    assert status_of(live, first["token"]) == "serving"

    page.keyboard.press("f")
    expect(feedback).to_have_text(f"{first['label']} is klaar.")
    expect(page.locator("#current-empty")).to_be_visible()
    assert status_of(live, first["token"]) == "done"

    page.keyboard.press(" ")  # the space bar calls the next number too
    expect(current_label(page)).to_have_text(second["label"])

    page.keyboard.press("x")  # asks first (#15); Enter confirms
    expect(page.get_by_role("dialog", name="Niet gekomen?")).to_be_visible()
    page.keyboard.press("Enter")
    expect(feedback).to_have_text(f"{second['label']} is niet gekomen.")
    assert status_of(live, second["token"]) == "no_show"
    expect(queue_labels(page)).to_have_text([third["label"]])


def test_shortcuts_never_fire_while_typing_with_modifiers_or_when_switched_off(desk_page, live):
    reset(live)
    ticket = live.issue("A")
    page = open_desk(desk_page, live)
    expect(queue_labels(page)).to_have_text([ticket["label"]])
    page.evaluate(COUNT_POSTS)

    for combination in ("Shift+N", "Alt+n", "Control+n"):
        page.keyboard.press(combination)
    page.evaluate(
        "() => { const f = document.createElement('input'); f.id = 'note';"
        " f.setAttribute('aria-label', 'Notitie'); document.querySelector('main').append(f); }"
    )
    page.locator("#note").press_sequentially("nrsfxt ")
    expect(page.locator("#note")).to_have_value("nrsfxt ")
    page.locator("#note").evaluate("field => field.remove()")
    page.get_by_label("Sneltoetsen gebruiken").uncheck()
    page.keyboard.press("n")
    assert page.evaluate("window.__posts") == []

    # The choice is kept for this browser; switched on again, the same key works.
    page.reload()
    expect(page.get_by_label("Sneltoetsen gebruiken")).not_to_be_checked()
    page.get_by_label("Sneltoetsen gebruiken").check()
    page.keyboard.press("n")
    expect(current_label(page)).to_have_text(ticket["label"])


def test_transfer_with_t_and_the_dialog(desk_page, live):
    reset(live)
    ticket = live.issue("A")
    page = open_desk(desk_page, live)
    page.keyboard.press("n")
    expect(current_label(page)).to_have_text(ticket["label"])

    page.keyboard.press("t")
    dialog = page.get_by_role("dialog", name="Doorsturen")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Naar welk product?")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name=re.compile("Doorsturen"))).to_be_focused()

    page.keyboard.press("t")
    options = dialog.get_by_label("Naar welk product?").locator("option")
    expect(options).to_have_text(
        [
            "H – Paspoort of ID-kaart ophalen",
            "R – Rijbewijs",
            "A – Paspoort of ID-kaart aanvragen (hetzelfde product)",
        ]
    )
    dialog.get_by_label("Naar welk product?").select_option(label="R – Rijbewijs")
    dialog.get_by_role("button", name="Doorsturen").click()

    expect(page.locator("#desk-feedback")).to_have_text(
        f"{ticket['label']} staat weer in de wachtrij, voor: Rijbewijs."
    )
    expect(page.locator("#current-empty")).to_be_visible()
    item = page.locator("#queue-list .queue-item").filter(has_text=ticket["label"])
    expect(item).to_contain_text("Rijbewijs")
    expect(item).to_contain_text("Doorgestuurd")
    status = live.api("GET", f"/tickets/{ticket['token']}")
    assert (status["status"], status["product"]["prefix"]) == ("waiting", "R")


def test_the_desk_follows_kiosks_and_other_desks_live(desk_page, live):
    reset(live)
    page = open_desk(desk_page, live)
    expect(page.locator("#queue-empty")).to_be_visible()

    issued = live.issue("A")  # a kiosk gives a number
    expect(queue_labels(page)).to_have_text([issued["label"]])
    expect(page.locator("#queue-count")).to_have_text("1")
    expect(page.locator("#queue-list .queue-item__waited")).to_have_text("net binnen")
    expect(page.get_by_role("button", name=re.compile("Volgende nummer"))).to_be_enabled()

    live.call_next(live.desk_id("Balie 2"))  # another desk calls it
    expect(queue_labels(page)).to_have_count(0)
    expect(page.locator("#queue-empty")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Volgende nummer"))).to_be_disabled()


def test_refusals_are_shown_as_plain_text(desk_page, live):
    reset(live)
    page = open_desk(desk_page, live)
    error = page.locator("#desk-error")

    page.keyboard.press("n")  # nobody waits
    expect(error).to_have_text("Er wacht niemand voor deze balie.")

    ticket = live.issue("H")
    expect(queue_labels(page)).to_have_text([ticket["label"]])
    live.issue("H")
    page.keyboard.press("n")
    expect(current_label(page)).to_have_text(ticket["label"])
    page.keyboard.press("n")  # still busy with the first
    expect(error).to_contain_text("Deze balie heeft nog een nummer")

    # The page misses an update (its refresh fails) and asks for a step the server refuses.
    page.route(
        re.compile(r"/api/v1/desks/\d+$"),
        lambda route: route.abort() if route.request.method == "GET" else route.continue_(),
    )
    live.api("POST", f"/tickets/{ticket['token']}/finish")
    page.keyboard.press("r")
    expect(error).to_have_text(
        "Dat kan niet meer: het nummer is intussen veranderd. U ziet nu de nieuwe stand."
    )
    page.unroute(re.compile(r"/api/v1/desks/\d+$"))


def test_devices_show_whether_they_are_connected(desk_page, new_page, live):
    page = open_desk(desk_page, live)
    kiosk = new_page(viewport={"width": 1080, "height": 1920})
    kiosk.goto(pairing_url(live, "kiosk", "Kiosk hal"))
    kiosk.wait_for_url(re.compile(r"/kiosk$"))
    device = page.locator("#device-list .device").filter(has_text="Kiosk hal")
    expect(device.locator("[data-field=state]")).to_have_text("Verbonden")
    expect(device).to_have_class(re.compile("device--ok"))

    kiosk.close()  # the kiosk is switched off

    expect(device.locator("[data-field=state]")).to_have_text(
        re.compile(r"^Geen verbinding sinds \d\d:\d\d$"), timeout=15_000
    )
    expect(device).to_have_class(re.compile("device--lost"))


def test_the_desk_has_no_wcag_violations(desk_page, live):
    reset(live)
    live.issue("A")
    live.issue("R")
    page = open_desk(desk_page, live)
    assert run_axe(page) == []
    page.keyboard.press("n")
    expect(page.locator("#current-ticket")).to_be_visible()
    assert run_axe(page) == []
    page.keyboard.press("t")
    expect(page.get_by_role("dialog", name="Doorsturen")).to_be_visible()
    assert run_axe(page) == []


def test_every_control_is_at_least_44_px(desk_page, live):
    reset(live)
    live.issue("A")
    page = open_desk(desk_page, live)
    small = page.evaluate(
        """() => [...document.querySelectorAll('button, a[href], label, select')]
          .filter((el) => el.offsetParent !== null && !el.closest('.lang-switch, .skip-link'))
          .filter((el) => !el.closest('.desk-top__links, .site-header') || el.tagName === 'BUTTON')
          .map((el) => [el.textContent.trim().slice(0, 30), el.getBoundingClientRect().height])
          .filter(([, height]) => height < 44)"""
    )
    assert small == []


def test_screenshot_of_a_working_desk(desk_page, new_page, live):
    reset(live)
    devices = [("kiosk", "Kiosk ingang", "/kiosk"), ("board", "Scherm wachtruimte", "/board")]
    for kind, name, path in devices:
        device = new_page(viewport={"width": 1080, "height": 1920})
        device.goto(pairing_url(live, kind, name))
        device.wait_for_url(re.compile(f"{path}$"))
    for product in ("A", "H", "A", "R", "H"):
        live.issue(product)
    page = open_desk(desk_page, live)
    page.keyboard.press("n")
    expect(page.locator("#current [data-field=status]")).to_have_text("Opgeroepen")
    expect(queue_labels(page)).to_have_count(4)
    for name in ("Kiosk ingang", "Scherm wachtruimte"):
        expect(page.locator("#device-list .device--ok").filter(has_text=name)).to_be_visible()
    page.locator("#current-title").blur()
    save_screenshot(page, "desk")
