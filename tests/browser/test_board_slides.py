"""The board's information slides, clock and join QR code in a real browser, against a real
server: a coordinator's slide reaches the board at once, rotates between calls and gives way
to every call; the QR code decodes to a join link the server accepts, is fetched again when the
minute turns and goes when the stop closes or the network does; the board fits 1920x1080 and
1280x720 without overlap or scrolling, and axe finds nothing.

Time on the page is Playwright's clock (`page.clock`), so the slide rotation and the minute of
the QR code are fast-forwarded, not waited for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from kiosk.services.join import check_join_code
from tests.browser.conftest import pairing_url, run_axe, save_screenshot, silent_wav
from tests.browser.test_board import Tickets, current_label, wait_live
from tests.live import LiveServer

COORDINATOR = "live-cora"
PASSWORD = "live-cora-password-123"
SECRET = b"live-test-secret"  # tests/live.py


@pytest.fixture(scope="module")
def coordinator(live: LiveServer) -> str:
    live.cli("user", "add", COORDINATOR, "--role", "coordinator", stdin=PASSWORD + "\n")
    return COORDINATOR


@pytest.fixture
def admin(live: LiveServer, new_page: Any, coordinator: str) -> Any:
    page = new_page(viewport={"width": 1366, "height": 900})
    page.goto(f"{live.url}/login")
    page.get_by_label("Gebruikersnaam").fill(coordinator)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(re.compile(r"/(admin|desk)?.*$"))
    return page


@pytest.fixture
def tickets(live: LiveServer) -> Iterator[Tickets]:
    made = Tickets(live)
    yield made
    made.clear()


def open_board(live: LiveServer, new_page: Any, name: str, size=(1920, 1080)) -> Any:
    """A paired board with a clock of Playwright's, its speech answered by short silences."""
    page = new_page(viewport={"width": size[0], "height": size[1]})
    page.clock.install()
    page.route(
        re.compile(r"/speech\?"),
        lambda route: route.fulfill(status=200, content_type="audio/wav", body=silent_wav(0.2)),
    )
    page.goto(pairing_url(live, "board", name))
    page.wait_for_url(re.compile(r"/board$"))
    wait_live(page)
    return page


def add_slide(admin: Any, live: LiveServer, nl: str, *, en: str = "", icon: str = "") -> None:
    admin.goto(f"{live.url}/admin/slides/new")
    admin.get_by_label("Tekst (Nederlands)").fill(nl)
    if en:
        admin.get_by_label("Tekst (Engels)").fill(en)
    if icon:
        admin.locator(f"#icon-{icon}").check()
    admin.get_by_role("button", name="Opslaan").click()
    expect(admin.get_by_text("De dia is toegevoegd.")).to_be_visible()


def delete_all_slides(admin: Any, live: LiveServer) -> None:
    admin.goto(f"{live.url}/admin/slides")
    while admin.get_by_role("link", name=re.compile("^Wijzigen")).count() > 0:
        admin.get_by_role("link", name=re.compile("^Wijzigen")).first.click()
        admin.get_by_role("link", name="Deze dia verwijderen").click()
        admin.get_by_role("button", name="Ja, verwijderen").click()
        expect(admin.get_by_text("De dia is verwijderd.")).to_be_visible()


@pytest.fixture
def slides(admin: Any, live: LiveServer) -> Iterator[Any]:
    delete_all_slides(admin, live)  # the demo's slide too: each test starts with none
    yield admin
    delete_all_slides(admin, live)


def shown_slide(page: Any) -> Any:
    return page.locator("#board-slides .board-slide:not([hidden]) .board-slide__text")


def assert_fits(page: Any) -> None:
    """Nothing scrolls, and the calls, the slide and the side column do not overlap."""
    fits = page.evaluate(
        """() => {
          const box = (selector) => {
            const element = document.querySelector(selector);
            if (!element || element.hidden || element.offsetParent === null) return null;
            const r = element.getBoundingClientRect();
            return {top: r.top, bottom: r.bottom, left: r.left, right: r.right};
          };
          const overlap = (a, b) => a && b && a.left < b.right && b.left < a.right
            && a.top < b.bottom && b.top < a.bottom;
          const calls = box("#board-now"), slide = box("#board-slides");
          const side = box(".board-side"), join = box("#board-join");
          const root = document.scrollingElement;
          const band = document.querySelector("#board-slides");
          return {
            scrolls: root.scrollHeight > window.innerHeight + 1
              || root.scrollWidth > window.innerWidth + 1,
            callsUnderSlide: overlap(calls, slide) || overlap(calls, join),
            slideUnderSide: overlap(slide, side) || overlap(join, side) || overlap(slide, join),
            slideCut: Boolean(band && !band.hidden && band.scrollHeight > band.clientHeight + 1),
            joinInView: !join
              || (join.bottom <= window.innerHeight && join.right <= window.innerWidth),
          };
        }"""
    )
    assert fits == {
        "scrolls": False,
        "callsUnderSlide": False,
        "slideUnderSide": False,
        "slideCut": False,
        "joinInView": True,
    }


def decode_qr(page: Any, tmp_path: Any) -> str:
    """The QR code on the board, as a camera would read it: from a screenshot of it."""
    path = tmp_path / "qr.png"
    page.locator("#board-join-qr").screenshot(path=str(path))
    (found,) = zxingcpp.read_barcodes(Image.open(path), formats=zxingcpp.BarcodeFormat.QRCode)
    return found.text


# -- slides -------------------------------------------------------------------------------------


def test_a_slide_reaches_the_board_at_once_and_rotates_between_calls(
    live, new_page, slides, tickets
):
    board = open_board(live, new_page, "Scherm dia's")
    expect(board.locator("#board-slides")).to_be_hidden()

    add_slide(slides, live, "Neem uw oude paspoort en een pasfoto mee.", icon="id")
    expect(shown_slide(board)).to_have_text(
        "Neem uw oude paspoort en een pasfoto mee.", timeout=1000
    )
    expect(board.locator("#board-slides .board-slide__icon:not([hidden])")).to_have_attribute(
        "src", re.compile(r"/static/vendor/icons/id\.svg$")
    )
    add_slide(slides, live, "Betalen kan alleen met de pinpas.", icon="info-circle")
    expect(board.locator("#board-slides .board-slide")).to_have_count(2, timeout=1000)

    # One at a time, the next after a while.
    first = shown_slide(board).inner_text()
    board.clock.fast_forward(13_000)
    expect(shown_slide(board)).not_to_have_text(first)
    expect(board.locator("#board-slides .board-slide:not([hidden])")).to_have_count(1)

    assert_fits(board)
    board.emulate_media(reduced_motion="reduce")
    assert run_axe(board) == []
    save_screenshot(board, "board-slides")

    # The coordinators' pages pass axe too: the list (order, on/off) and the form.
    slides.goto(f"{live.url}/admin/slides")
    expect(slides.get_by_role("button", name=re.compile("^Omlaag"))).to_have_count(1)
    assert run_axe(slides) == []
    slides.goto(f"{live.url}/admin/slides/new")
    slides.get_by_role("button", name="Opslaan").click()  # empty: the errors, linked
    expect(slides.get_by_text("Vul de tekst in het Nederlands in.").first).to_be_visible()
    assert run_axe(slides) == []


def test_a_call_always_wins_over_a_slide(live, new_page, slides, tickets):
    add_slide(slides, live, "Uw nummer staat straks groot op dit scherm.")
    board = open_board(live, new_page, "Scherm oproep wint")
    expect(board.locator("#board-slides")).to_be_visible()

    called = tickets.call("Balie 2")

    # The call shows, the slide is gone at once (not under it, not beside it).
    expect(current_label(board)).to_have_text(called["label"], timeout=1000)
    expect(board.locator("#board-slides")).to_be_hidden(timeout=1000)
    expect(board.locator("body")).to_have_attribute("data-slide", "")
    # While the call is new the rotation does not bring the slide back.
    board.clock.fast_forward(5_000)
    expect(board.locator("#board-slides")).to_be_hidden()
    # Announced and no longer new: the slide comes back under the call.
    expect(board.locator("body")).to_have_attribute("data-announced", re.compile(r"[1-9]"))
    board.clock.fast_forward(5_000)
    expect(board.locator("#board-slides")).to_be_visible()
    expect(current_label(board)).to_be_visible()
    assert_fits(board)

    # A second call takes the room again at once.
    second = tickets.call("Balie 1")
    expect(current_label(board)).to_have_text(second["label"], timeout=1000)
    expect(board.locator("#board-slides")).to_be_hidden(timeout=1000)


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720)])
def test_slide_clock_and_qr_fit_without_overlap_or_scrolling(live, new_page, slides, tickets, size):
    add_slide(
        slides,
        live,
        # As long as a slide may be (100 characters), in two languages.
        "Neem uw oude paspoort, een pasfoto en uw pinpas mee. Kinderen komen zelf mee naar de "
        "balie, ook.",
        en="Bring your old passport, a photo and your bank card. Children come to the desk too.",
        icon="id",
    )
    for product in "AAHR":
        tickets.issue(product)
    board = open_board(live, new_page, f"Scherm {size[0]}")
    expect(board.locator("#board-slides")).to_be_visible()
    expect(board.locator("#board-join")).to_be_visible()
    expect(board.locator("#board-clock")).to_have_text(re.compile(r"^\d\d:\d\d$"))

    assert_fits(board)


# -- the clock ----------------------------------------------------------------------------------


def test_the_clock_shows_local_time_and_keeps_up_after_a_sleep(live, new_page):
    page = new_page(viewport={"width": 1920, "height": 1080})
    # 09:59 UTC on a winter day is 10:59 in Hoorn.
    page.clock.install(time="2026-12-03T09:59:00Z")
    page.goto(pairing_url(live, "board", "Scherm klok"))
    page.wait_for_url(re.compile(r"/board$"))
    page.clock.pause_at("2026-12-03T09:59:50Z")
    clock = page.locator("#board-clock")
    expect(clock).to_have_text("10:59")

    page.clock.run_for(11_000)
    expect(clock).to_have_text("11:00")

    # The device sleeps for an hour: none of its timers ran; on waking the clock is right
    # within seconds, not at the end of the minute it thought it was in.
    page.clock.set_system_time("2026-12-03T11:07:30Z")
    page.clock.run_for(5_000)
    expect(clock).to_have_text("12:07")


# -- the join QR code ---------------------------------------------------------------------------


def test_the_join_qr_decodes_to_a_code_the_server_accepts_and_renews_each_minute(
    live, new_page, tmp_path
):
    board = open_board(live, new_page, "Scherm QR")
    join = board.locator("#board-join")
    expect(join).to_be_visible()
    expect(join).to_contain_text("Scan om een nummer te nemen op uw telefoon")

    url = decode_qr(board, tmp_path)
    match = re.fullmatch(rf"{re.escape(live.url)}/join/(\d+-[a-z2-7]{{16}})", url)
    assert match, url
    from datetime import UTC, datetime

    assert check_join_code(SECRET, match.group(1), datetime.now(UTC)) == live.current_stop()["id"]
    assert board.locator("body").get_attribute("data-join-code") == url

    # When the server's minute is over the board asks for the next code by itself.
    with board.expect_request(re.compile(r"/board/join-qr\?")) as asked:
        board.clock.fast_forward(61_000)
    assert asked.value.response().status == 200
    expect(join).to_be_visible()

    save_screenshot(board, "board-join-qr")
    assert run_axe(board) == []


def test_the_join_qr_goes_when_the_stop_closes_or_the_network_does(live, new_page):
    board = open_board(live, new_page, "Scherm QR weg")
    join = board.locator("#board-join")
    expect(join).to_be_visible()
    stop_id = live.current_stop()["id"]

    live.api("POST", f"/stops/{stop_id}/close")
    try:
        expect(join).to_be_hidden(timeout=2000)
    finally:
        live.api("POST", f"/stops/{stop_id}/open")
    expect(join).to_be_visible(timeout=2000)

    # The network goes: a code is no use without the server, so it goes at once.
    board.context.set_offline(True)
    expect(join).to_be_hidden(timeout=2000)
    expect(board.locator("body")).to_have_attribute("data-join-code", "")
    board.context.set_offline(False)
    expect(join).to_be_visible(timeout=15_000)


def test_an_unpaired_screen_shows_no_join_qr(live, new_page):
    page = new_page(viewport={"width": 1920, "height": 1080})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{live.url}/board")
    wait_live(page)
    expect(page.locator("#board-join")).to_have_count(0)
    assert not [url for url in requests if "/board/join-qr" in url]
