"""The desk's own controls in a real browser (#15): open and close the stop, a ticket made at
the desk (shown large with its QR code), a chosen ticket called with a reason, transfer to one
desk, pause and resume (the board shows the desk as closed), a no-show confirmed and undone,
today's figures, the controls switched off without a connection; axe on every dialog, and
docs/screenshots/desk-controls.png."""

from __future__ import annotations

import re
from typing import Any

import requests
from playwright.sync_api import expect

from tests.browser.conftest import run_axe, save_screenshot
from tests.browser.test_desk import current_label, open_desk, queue_labels, reset
from tests.live import LiveServer


def make_desk_ready(live: LiveServer) -> None:
    """Both desks empty and working, the stop open (again, should a test have left it closed)."""
    if requests.get(f"{live.url}/api/v1/stops/current", timeout=5).status_code == 404:
        live.cli("stop", "open")
    for name in ("Balie 1", "Balie 2"):
        state = live.api("GET", f"/desks/{live.desk_id(name)}")
        if state["desk"]["paused"]:
            live.api("POST", f"/desks/{state['desk']['id']}/resume")
    reset(live)


def button(page: Any, name: str) -> Any:
    return page.get_by_role("button", name=re.compile(name))


def test_staff_close_and_open_the_stop_from_the_desk(desk_page, live):
    make_desk_ready(live)
    live.issue("A")
    page = open_desk(desk_page, live)
    status = page.locator("#stop-status")
    expect(status).to_have_text("Open")

    button(page, "Stop sluiten").click()
    dialog = page.get_by_role("dialog", name="Stop sluiten?")
    expect(dialog).to_contain_text("Wie al wacht (1 mensen), wordt nog geholpen.")
    assert run_axe(page) == []
    dialog.get_by_role("button", name="Annuleren").click()
    expect(dialog).to_be_hidden()
    expect(status).to_have_text("Open")

    button(page, "Stop sluiten").click()
    dialog.get_by_role("button", name="Ja, stop sluiten").click()
    expect(status).to_have_text("Gesloten")
    expect(page.locator("#desk-feedback")).to_have_text(
        "De stop is gesloten. Wie al wacht, wordt nog geholpen."
    )
    expect(page.locator("#stop-closed-notice")).to_be_visible()
    expect(button(page, "Nummer maken")).to_be_disabled()
    assert requests.get(f"{live.url}/api/v1/stops/current", timeout=5).status_code == 404
    # Whoever waits is still called.
    page.keyboard.press("n")
    expect(current_label(page)).to_have_text("A001")

    page.locator("#stop-closed-notice").get_by_role("button", name="Stop openen").click()
    expect(status).to_have_text("Open")
    expect(page.locator("#stop-closed-notice")).to_be_hidden()
    expect(button(page, "Nummer maken")).to_be_enabled()


def test_a_ticket_made_at_the_desk_is_called_and_shown_with_its_qr(desk_page, live):
    make_desk_ready(live)
    waiting = live.issue("R")["label"]
    label = f"R{int(waiting[1:]) + 1:03d}"
    page = open_desk(desk_page, live)

    page.keyboard.press("m")
    dialog = page.get_by_role("dialog", name="Nummer maken")
    expect(dialog).to_be_visible()
    assert run_axe(page) == []
    dialog.get_by_label("R – Rijbewijs").check()
    expect(dialog.get_by_label("Meteen naar deze balie roepen")).to_be_checked()
    dialog.get_by_role("button", name="Nummer maken").click()

    made = page.get_by_role("dialog", name="Het nummer")
    expect(made.locator("#made-label")).to_have_text(label)
    expect(made).to_contain_text(f"{label} is gemaakt en opgeroepen naar deze balie.")
    expect(made).to_contain_text("Er is geen printer.")
    qr = made.locator("#made-qr")
    expect(qr).to_be_visible()
    page.wait_for_function("() => document.getElementById('made-qr').naturalWidth > 0")
    assert run_axe(page) == []
    made.get_by_role("button", name="Sluiten").click()
    expect(current_label(page)).to_have_text(label)
    expect(queue_labels(page)).to_have_text([waiting])


def test_a_chosen_ticket_is_called_with_a_reason(desk_page, live):
    make_desk_ready(live)
    first, second, third = live.issue("A"), live.issue("H"), live.issue("A")
    page = open_desk(desk_page, live)
    expect(queue_labels(page)).to_have_text([first["label"], second["label"], third["label"]])

    page.locator("#queue-list .queue-item").nth(2).get_by_role("button", name="Oproepen").click()
    dialog = page.get_by_role("dialog", name="Nummer oproepen")
    expect(dialog).to_contain_text(f"{third['label']} nu oproepen")
    dialog.get_by_role("button", name="Nu oproepen").click()  # no reason yet
    expect(dialog.locator("#call-error")).to_have_text(
        "Kies of schrijf waarom dit nummer eerst gaat."
    )
    expect(dialog.get_by_label("Waarom gaat dit nummer eerst?")).to_have_attribute(
        "aria-invalid", "true"
    )
    assert run_axe(page) == []
    dialog.get_by_label("Waarom gaat dit nummer eerst?").select_option(label="Anders, namelijk:")
    dialog.get_by_label("Toelichting (bij Anders verplicht)").fill("Komt terug met papieren")
    dialog.get_by_role("button", name="Nu oproepen").click()

    expect(current_label(page)).to_have_text(third["label"])
    expect(page.locator("#desk-feedback")).to_have_text(f"{third['label']} is opgeroepen.")
    expect(queue_labels(page)).to_have_text([first["label"], second["label"]])
    # Busy now: the list's buttons wait for the desk to be free.
    expect(page.locator("#queue-list [data-field=call]").first).to_be_disabled()


def test_transfer_to_one_desk(desk_page, new_page, live):
    make_desk_ready(live)
    ticket = live.issue("A")
    page = open_desk(desk_page, live)
    page.keyboard.press("n")
    expect(current_label(page)).to_have_text(ticket["label"])

    page.keyboard.press("t")
    dialog = page.get_by_role("dialog", name="Doorsturen")
    dialog.get_by_label("Naar welk product?").select_option(
        label="A – Paspoort of ID-kaart aanvragen (hetzelfde product)"
    )
    desks = dialog.get_by_label("Naar welke balie?").locator("option")
    expect(desks).to_have_text(["Elke balie die dit product doet", "Balie 1", "Balie 2"])
    dialog.get_by_label("Naar welke balie?").select_option(label="Balie 2")
    assert run_axe(page) == []
    dialog.get_by_role("button", name="Doorsturen").click()

    expect(page.locator("#current-empty")).to_be_visible()
    expect(queue_labels(page)).to_have_count(0)  # Balie 1 does not call it
    other = new_page(viewport={"width": 1366, "height": 768})
    other.context.add_cookies(page.context.cookies())
    open_desk(other, live, "Balie 2")
    item = other.locator("#queue-list .queue-item").filter(has_text=ticket["label"])
    expect(item).to_contain_text("Voor deze balie")
    expect(item).to_contain_text("Doorgestuurd")
    other.keyboard.press("n")
    expect(current_label(other)).to_have_text(ticket["label"])


def test_a_paused_desk_shows_as_closed_on_the_board(desk_page, board_page, live):
    make_desk_ready(live)
    live.issue("A")
    page = open_desk(desk_page, live)
    closed = board_page.locator("#board-desks-closed")
    expect(closed).to_be_hidden()

    page.keyboard.press("p")
    expect(page.locator("#paused-notice")).to_be_visible()
    expect(page.locator("#desk-feedback")).to_have_text(
        "De balie is gepauzeerd. Op het scherm staat: Balie 1: gesloten."
    )
    expect(closed).to_have_text("Balie 1: gesloten", timeout=1000)
    expect(button(page, "Volgende nummer")).to_be_disabled()
    page.keyboard.press("n")
    expect(page.locator("#desk-error")).to_have_text(
        "Deze balie is gepauzeerd. Kies eerst Hervatten."
    )
    assert run_axe(page) == []

    page.keyboard.press("p")
    expect(page.locator("#paused-notice")).to_be_hidden()
    expect(closed).to_be_hidden(timeout=1000)
    expect(button(page, "Volgende nummer")).to_be_enabled()


def test_a_no_show_is_confirmed_and_can_be_undone(desk_page, live):
    make_desk_ready(live)
    ticket = live.issue("A")
    page = open_desk(desk_page, live)
    page.keyboard.press("n")
    expect(current_label(page)).to_have_text(ticket["label"])

    page.keyboard.press("x")
    dialog = page.get_by_role("dialog", name="Niet gekomen?")
    expect(dialog).to_contain_text(f"Is {ticket['label']} echt niet gekomen?")
    expect(dialog.get_by_role("button", name="Ja, niet gekomen")).to_be_focused()
    assert run_axe(page) == []
    dialog.get_by_role("button", name="Nee, terug").click()
    expect(dialog).to_be_hidden()
    assert live.api("GET", f"/tickets/{ticket['token']}")["status"] == "called"

    button(page, "Niet gekomen").click()
    dialog.get_by_role("button", name="Ja, niet gekomen").click()
    undo = page.locator("#undo-button")
    expect(undo).to_contain_text(re.compile(rf"{ticket['label']} terugzetten \(nog \d+ s\)"))
    expect(page.locator("#current-empty")).to_be_visible()
    page.keyboard.press("u")
    expect(current_label(page)).to_have_text(ticket["label"])
    expect(page.locator("#current [data-field=status]")).to_have_text("Opgeroepen")
    expect(page.locator("#desk-undo")).to_be_hidden()
    assert live.api("GET", f"/tickets/{ticket['token']}")["status"] == "called"


def test_todays_figures_follow_the_desk_live(desk_page, live):
    make_desk_ready(live)
    page = open_desk(desk_page, live)
    served = page.locator("#figures [data-figure=served] [data-of=stop]")
    expect(served).to_have_text(re.compile(r"^\d+$"))
    before = int(served.inner_text())
    ticket = live.issue("H")
    live.call_next(live.desk_id("Balie 2"))  # another desk serves
    live.api("POST", f"/tickets/{ticket['token']}/finish")
    expect(served).to_have_text(str(before + 1))
    expect(
        page.locator("#figures [data-figure=wait_median_seconds] [data-of=stop]")
    ).not_to_have_text("nog niet")


def test_the_new_controls_are_off_without_a_connection(desk_page, live):
    make_desk_ready(live)
    live.issue("A")
    page = open_desk(desk_page, live)
    expect(button(page, "Nummer maken")).to_be_enabled()

    page.context.set_offline(True)
    expect(page.locator("#connection")).to_be_visible()
    for name in ("Nummer maken", "Pauze", "Stop sluiten"):
        expect(button(page, name)).to_be_disabled()
    expect(page.locator("#queue-list [data-field=call]").first).to_be_disabled()
    page.context.set_offline(False)
    expect(button(page, "Nummer maken")).to_be_enabled(timeout=10_000)
    expect(button(page, "Pauze")).to_be_enabled()


def test_screenshot_of_the_desk_controls(desk_page, live):
    make_desk_ready(live)
    for product in ("A", "H", "A"):
        ticket = live.issue(product)
        live.call_next(live.desk_id("Balie 2"))
        live.api("POST", f"/tickets/{ticket['token']}/finish")
    for product in ("A", "R", "H", "A"):
        live.issue(product)
    live.api(
        "POST",
        f"/tickets/{live.issue('A')['token']}/transfer",
        json={"desk": live.desk_id("Balie 1")},
    )
    page = open_desk(desk_page, live)
    page.keyboard.press("n")
    expect(page.locator("#current-ticket")).to_be_visible()
    page.keyboard.press("x")
    page.keyboard.press("Enter")
    expect(page.locator("#desk-undo")).to_be_visible()
    expect(page.locator("#figures [data-figure=served] [data-of=stop]")).not_to_have_text("–")
    assert run_axe(page) == []
    page.locator("#current-title").blur()
    save_screenshot(page, "desk-controls")


def test_the_chooser_opens_todays_stop_when_none_is_open(desk_page, live):
    make_desk_ready(live)
    live.api("POST", f"/stops/{live.current_stop()['id']}/close")
    page = desk_page
    page.goto(f"{live.url}/desk?choose=1")
    expect(page.get_by_role("heading", name="Er is nu geen stop open")).to_be_visible()
    assert run_axe(page) == []
    page.get_by_role("button", name="Stop openen").click()
    expect(page.get_by_role("heading", name="Kies uw balie")).to_be_visible()
    assert live.current_stop()["status"] == "open"
