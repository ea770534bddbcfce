"""The board's rotating join QR code (GET /board/join-qr): only a paired board (or staff) gets
it, only while its stop is open and allows phone join; the code in it is the one /join accepts,
the QR decodes to it, and it changes when the minute turns (the app's clock is the test's).

The board's side (shown, fetched again on time, hidden when the server is gone) is in
tests/browser/test_board_slides.py.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image

from kiosk.models import DeviceKind
from kiosk.services.accounts import AccountService
from kiosk.services.join import PERIOD, check_join_code
from kiosk.services.tour import TourService
from tests.factories import csrf_token_in, make_stop, make_user

pytestmark = pytest.mark.usefixtures("fast_hashing")
SECRET = b"test-secret"  # tests/conftest.py TEST_CONFIG
JOIN = re.compile(r"^http://loket\.test/join/(\d+-[a-z2-7]{16})$")


def decode_svg_qr(svg: str) -> str:
    """Read a QR code drawn by qrcode's SvgPathImage (one "M x,y H… V… H… z" square per
    module) back with zxing-cpp, from a bitmap of it."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    scale = 8
    image = Image.new("L", (size * scale, size * scale), 255)
    for x, y in re.findall(r"M(\d+),(\d+)H", svg):
        left, top = int(x) * scale, int(y) * scale
        image.paste(0, (left, top, left + scale, top + scale))
    (found,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return found.text


@pytest.fixture
def board(client, db, clock, stop):
    """The test client as a board paired to the open stop."""
    accounts = AccountService(db, clock=clock)
    code = accounts.add_device(DeviceKind.BOARD, "Scherm wachtruimte", stop=stop).code
    _device, credential = accounts.pair(code)
    client.set_cookie("loket_device", credential)
    return client


def ask(client, url: str = "/board/join-qr", status: int = 200) -> dict:
    response = client.get(url)
    assert response.status_code == status, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def test_a_paired_board_gets_a_qr_code_that_the_join_page_accepts(board, clock, stop):
    clock.now = clock.now.replace(second=15, microsecond=0)

    answer = ask(board)

    assert answer["shown"] is True and answer["stop"] == stop.id
    code = JOIN.match(answer["url"]).group(1)
    assert check_join_code(SECRET, code, clock.now) == stop.id
    assert answer["seconds_left"] == pytest.approx(PERIOD - 15)
    assert decode_svg_qr(answer["svg"]) == answer["url"]
    assert "<script" not in answer["svg"]
    # What the phone opens: the join page (kiosk/views/join.py) takes the code.
    assert board.get(answer["url"].removeprefix("http://loket.test")).status_code == 200


def test_the_code_changes_when_the_minute_turns_and_the_old_one_lasts_a_minute_more(
    board, clock, stop
):
    first = ask(board)
    clock.advance(seconds=first["seconds_left"])

    second = ask(board)

    assert second["url"] != first["url"]
    assert second["seconds_left"] == pytest.approx(PERIOD)
    assert decode_svg_qr(second["svg"]) == second["url"]
    old = JOIN.match(first["url"]).group(1)
    assert check_join_code(SECRET, old, clock.now) == stop.id  # scanned just before the change
    clock.advance(seconds=PERIOD)
    assert check_join_code(SECRET, old, clock.now) is None  # two minutes on: refused
    assert ask(board)["url"] not in (first["url"], second["url"])


def test_within_the_minute_the_code_stays_the_same(board, clock):
    clock.now = clock.now.replace(second=1, microsecond=0)
    first = ask(board)
    clock.advance(seconds=30)
    assert ask(board)["url"] == first["url"]


def test_no_code_while_phone_join_is_off(board, db, stop):
    stop.phone_join = False
    db.commit()

    answer = ask(board)

    assert answer == {
        "stop": stop.id,
        "shown": False,
        "url": None,
        "svg": None,
        "seconds_left": answer["seconds_left"],
    }


def test_no_code_once_the_stop_is_closed_or_past_its_hours(board, db, clock, stop):
    TourService(db, clock=clock).close_stop(stop)
    assert ask(board)["shown"] is False

    TourService(db, clock=clock).open_stop(stop)
    assert ask(board)["shown"] is True
    clock.advance(hours=8)  # past closing time, though nobody closed it
    assert ask(board)["shown"] is False


def test_no_code_before_the_stop_opens(client, db, clock):
    from kiosk.models import StopStatus

    planned = make_stop(db, now=clock.now, starts_in=timedelta(hours=1), status=StopStatus.PLANNED)
    accounts = AccountService(db, clock=clock)
    code = accounts.add_device(DeviceKind.BOARD, "Scherm", stop=planned).code
    client.set_cookie("loket_device", accounts.pair(code)[1])

    assert ask(client)["shown"] is False


def test_an_anonymous_screen_or_a_kiosk_gets_no_code(client, db, clock, stop):
    refused = ask(client, status=403)
    assert refused["error"]["code"] == "forbidden"
    page = client.get("/board").text
    assert "data-join-qr" not in page and 'id="board-join"' not in page

    accounts = AccountService(db, clock=clock)
    code = accounts.add_device(DeviceKind.KIOSK, "Kiosk", stop=stop).code
    client.set_cookie("loket_device", accounts.pair(code)[1])
    assert ask(client, status=403)["error"]["code"] == "forbidden"


def test_the_paired_board_page_knows_where_to_ask_and_shows_nothing_stale(board, stop):
    page = board.get("/board").text

    assert f'data-join-qr="/board/join-qr?stop={stop.id}"' in page
    assert re.search(r'<section class="board-join" id="board-join"[^>]*hidden', page)
    # No code in the page itself: a copy kept offline by the service worker would be stale.
    assert "/join/" not in page
    assert "Scan om een nummer te nemen op uw telefoon" in page


def test_staff_may_look_at_a_stops_code(app, db, clock, stop):
    make_user(db, "sam", role="staff", password="correct horse battery")
    client = app.test_client()
    token = csrf_token_in(client.get("/login").text)
    client.post(
        "/login",
        data={"username": "sam", "password": "correct horse battery", "csrf_token": token},
    )

    answer = ask(client, f"/board/join-qr?stop={stop.id}")

    assert answer["shown"] is True and answer["stop"] == stop.id
    assert ask(client, "/board/join-qr?stop=999", status=404)["error"]["code"] == "unknown_stop"
