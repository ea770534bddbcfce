"""The display board page as the server renders it: calls, counts, stop status, next stops.

The live part (socket events, sound, reconnects) is in tests/browser/test_board.py; here the
first paint is checked, which is what a board shows before its socket is up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from kiosk.models import DeviceKind, StopStatus
from kiosk.services.accounts import AccountService
from kiosk.services.base import RecordingNotifier
from kiosk.services.queue import QueueService
from tests.factories import desk_named, make_stop, make_ticket
from tests.test_security import csp_violations

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


# -- a small HTML reader (no parser library in the project) -----------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Any] = field(default_factory=list)
    parent: Node | None = None

    @property
    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text for c in self.children]
        return " ".join(" ".join(parts).split())

    @property
    def hidden(self) -> bool:
        node: Node | None = self
        while node is not None:
            if "hidden" in node.attrs:
                return True
            node = node.parent
        return False

    def all(self, predicate: Any) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if predicate(child):
                    found.append(child)
                found.extend(child.all(predicate))
        return found

    def by_id(self, element_id: str) -> Node:
        (node,) = self.all(lambda n: n.attrs.get("id") == element_id)
        return node

    def by_class(self, name: str) -> list[Node]:
        return self.all(lambda n: name in (n.attrs.get("class") or "").split())


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#document", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), parent=self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def read(html: str) -> Node:
    reader = _Reader()
    reader.feed(html)
    return reader.root


def visible_page(page: Node) -> Node:
    """The page without its <template> elements (what is on screen before any script runs)."""
    page.children = [c for c in page.children if not (isinstance(c, Node) and c.tag == "template")]
    for node in page.all(lambda n: True):
        node.children = [
            c for c in node.children if not (isinstance(c, Node) and c.tag == "template")
        ]
    return page


def get_board(client: Any, url: str = "/board", status: int = 200) -> Node:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return visible_page(read(response.get_data(as_text=True)))


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def queue(db, clock) -> QueueService:
    return QueueService(db, RecordingNotifier(), clock)


def serve(queue: QueueService, stop: Any, clock: Any, desk: str) -> Any:
    clock.advance(seconds=30)
    return queue.call_next(desk_named(stop, desk))


# -- the open stop ----------------------------------------------------------------------------


def test_board_shows_the_latest_call_large_and_the_earlier_calls(client, queue, stop, clock):
    for _ in range(3):
        make_ticket(queue, stop, "A")
    serve(queue, stop, clock, "Balie 1")
    serve(queue, stop, clock, "Balie 2")

    page = get_board(client)

    current = page.by_id("board-current")
    assert current.by_class("board-call__label")[0].text == "A002"
    assert current.by_class("board-call__desk")[0].text == "Balie 2"
    assert "Paspoort of ID-kaart aanvragen" in current.text
    assert page.by_id("board-empty").hidden
    earlier = page.by_id("board-previous").by_class("board-previous__item")
    assert [
        (e.attrs["data-label"], e.by_class("board-previous__desk")[0].text) for e in earlier
    ] == [("A001", "Balie 1")]


def test_board_counts_who_waits_for_each_product_of_the_stop(client, queue, stop, clock):
    for product in "AAAHR":
        make_ticket(queue, stop, product)
    serve(queue, stop, clock, "Balie 1")

    page = get_board(client)

    rows = page.by_id("board-waiting").by_class("board-waiting__item")
    assert [
        (
            r.by_class("board-prefix")[0].text,
            r.by_class("board-waiting__name")[0].text,
            r.all(lambda n: n.attrs.get("data-field") == "count")[0].text,
        )
        for r in rows
    ] == [
        ("A", "Paspoort of ID-kaart aanvragen", "2"),
        ("H", "Paspoort of ID-kaart ophalen", "1"),
        ("R", "Rijbewijs", "1"),
    ]


def test_finished_and_cancelled_tickets_leave_the_board(client, queue, stop, clock):
    first = make_ticket(queue, stop, "A")
    second = make_ticket(queue, stop, "H")
    serve(queue, stop, clock, "Balie 1")
    serve(queue, stop, clock, "Balie 2")
    queue.finish(first)
    queue.cancel(second)

    page = get_board(client)

    assert page.by_id("board-current").by_class("board-call") == []
    assert not page.by_id("board-empty").hidden
    assert "Nog geen oproepen" in page.by_id("board-empty").text
    assert page.by_id("board-previous").by_class("board-previous__item") == []


def test_board_without_calls_invites_residents_to_watch_it(client, stop):
    page = get_board(client)

    assert page.by_id("board-current").by_class("board-call") == []
    assert not page.by_id("board-empty").hidden
    assert page.by_id("board-notice").hidden
    header = page.by_class("board-header")[0].text
    assert "Bibliotheek Hoorn" in header
    # The stop runs from 09:00 to 17:00 UTC: in Hoorn (summer time) that is 11:00 to 19:00.
    assert "Open van 11:00 tot 19:00" in header


def test_board_lists_the_next_stops_without_the_one_on_screen(client, db, clock, stop):
    later = make_stop(
        db,
        now=clock.now,
        starts_in=timedelta(days=1),
        status=StopStatus.PLANNED,
        location="Wijkcentrum",
    )

    page = get_board(client)

    places = [n.text for n in page.by_class("board-next__place")]
    assert places == ["Wijkcentrum"]
    assert later.id != stop.id
    assert page.by_class("board-next__when")[0].text == "woensdag 3 juni, 12:00–20:00"


def test_board_has_room_for_next_stops_before_any_are_planned(client, stop):
    page = get_board(client)

    assert page.by_class("board-next__item") == []
    assert "Binnenkort ziet u hier" in page.by_class("board-next__none")[0].text


def test_board_of_a_closed_stop_says_so_plainly(client, db, clock):
    closed = make_stop(db, now=clock.now, status=StopStatus.CLOSED)

    page = get_board(client, f"/board?stop={closed.id}")

    notice = page.by_id("board-notice")
    assert not notice.hidden
    assert "Het loket is gesloten" in " ".join(
        n.text for n in notice.all(lambda n: n.tag == "p" and not n.hidden)
    )


# -- which stop -------------------------------------------------------------------------------


def test_no_open_stop_gives_a_calm_page_that_keeps_listening(client, db, clock):
    make_stop(db, now=clock.now, starts_in=timedelta(days=2), status=StopStatus.PLANNED)

    page = get_board(client)

    assert page.all(lambda n: n.tag == "h1")[0].text == "Er is nu geen loket open"
    assert [n.text for n in page.by_class("board-next__place")] == ["Bibliotheek Hoorn"]
    body = page.all(lambda n: n.tag == "body")[0]
    assert "data-stop" not in body.attrs
    assert (
        page.all(lambda n: n.tag == "script")[0]
        .attrs["src"]
        .split("?v=")[0]
        .endswith("/js/board.js")
    )


def test_no_stop_at_all_still_renders(client):
    page = get_board(client)

    assert "Er is nu geen loket open" in page.text


def test_stop_query_shows_that_stop_read_only(client, db, clock, queue, stop):
    other = make_stop(db, now=clock.now, location="Zorgcentrum De Dijk")
    make_ticket(queue, other, "R")
    serve(queue, other, clock, "Balie 1")

    page = get_board(client, f"/board?stop={other.id}")

    body = page.all(lambda n: n.tag == "body")[0]
    assert body.attrs["data-stop"] == str(other.id)
    assert body.attrs["data-live-stop"] == str(other.id)
    assert "Zorgcentrum De Dijk" in page.by_class("board-header")[0].text
    assert page.by_id("board-current").by_class("board-call__label")[0].text == "R001"
    assert page.all(lambda n: n.tag in ("form", "button") and not n.hidden) == []


def test_an_open_board_follows_the_server_on_reconnect(client, stop):
    body = get_board(client).all(lambda n: n.tag == "body")[0]

    assert body.attrs["data-stop"] == str(stop.id)
    assert "data-live-stop" not in body.attrs


def test_a_paired_board_shows_its_own_stop(client, db, clock, stop):
    other = make_stop(db, now=clock.now, location="Zorgcentrum De Dijk")
    accounts = AccountService(db, clock=clock)
    code = accounts.add_device(DeviceKind.BOARD, "Scherm 1", stop=other).code
    _device, credential = accounts.pair(code)
    client.set_cookie("loket_device", credential)

    page = get_board(client, f"/board?stop={stop.id}")

    body = page.all(lambda n: n.tag == "body")[0]
    assert body.attrs["data-stop"] == str(other.id)
    assert "data-live-stop" not in body.attrs


@pytest.mark.parametrize("url", ["/board?stop=999", "/board?stop=0"])
def test_an_unknown_stop_gives_a_friendly_404(client, stop, url):
    page = get_board(client, url, status=404)

    assert page.all(lambda n: n.tag == "h1")[0].text == "Deze pagina bestaat niet"
    assert "Vraag een medewerker" in page.text
    assert "Traceback" not in page.text


# -- language, texts for the script, and the CSP ----------------------------------------------


def test_board_speaks_dutch_by_default_and_gives_the_script_its_texts(client, stop):
    page = get_board(client)

    html = page.all(lambda n: n.tag == "html")[0]
    body = page.all(lambda n: n.tag == "body")[0]
    assert html.attrs["lang"] == "nl"
    assert body.attrs["data-speech-lang"] == "nl-NL"
    assert body.attrs["data-say"] == "Nummer {letter} {number}, {desk}"
    assert "{label}" in body.attrs["data-announce"]
    connection = page.by_id("board-connection")
    assert connection.attrs["data-lost"] == "Verbinding verbroken — opnieuw verbinden…"
    assert connection.attrs["data-reconnected"] == "Verbinding hersteld"
    assert page.by_id("board-announcer").attrs["aria-live"] == "assertive"


def test_board_follows_lang_query(client, stop):
    page = get_board(client, "/board?lang=en")

    assert page.all(lambda n: n.tag == "html")[0].attrs["lang"] == "en"
    assert page.all(lambda n: n.tag == "body")[0].attrs["data-speech-lang"] == "en-GB"


def test_board_keeps_the_templates_its_script_renders_with(client, stop):
    html = client.get("/board").get_data(as_text=True)
    templates = [n for n in read(html).all(lambda n: n.tag == "template")]

    assert sorted(t.attrs["id"] for t in templates) == [
        "board-current-template",
        "board-previous-template",
        "board-slide-template",
        "board-waiting-template",
    ]


@pytest.mark.parametrize("with_stop", [True, False])
def test_board_has_no_inline_script_or_style(client, db, clock, with_stop):
    if with_stop:
        make_stop(db, now=clock.now)

    response = client.get("/board")

    assert csp_violations(response.get_data(as_text=True)) == []
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "/static/css/board.css" in response.get_data(as_text=True)


# -- every desk that calls, and the calls that ended (issue #12) ------------------------------


def test_board_shows_every_desk_that_calls_however_many_there_are(client, db, clock, queue):
    desks = {f"Balie {n}": "A" for n in range(1, 10)}
    big = make_stop(db, now=clock.now, products="A", desks=desks, location="Sporthal De Hoorn")
    for _ in desks:
        make_ticket(queue, big, "A")
    for name in desks:
        serve(queue, big, clock, name)

    page = get_board(client, f"/board?stop={big.id}")

    latest = page.by_id("board-current").by_class("board-call")
    others = page.by_id("board-previous").by_class("board-previous__item")
    assert [c.attrs["data-label"] for c in latest + others] == [
        f"A{n:03d}" for n in range(9, 0, -1)
    ]
    assert [o.by_class("board-previous__desk")[0].text for o in others] == [
        f"Balie {n}" for n in range(8, 0, -1)
    ]
    assert page.by_id("board-earlier-panel").hidden
    assert page.by_id("board-earlier").by_class("board-previous__item") == []


def test_board_lists_the_calls_that_ended_apart_newest_first(client, queue, stop, clock):
    first, second, third = (make_ticket(queue, stop, "A") for _ in range(3))
    serve(queue, stop, clock, "Balie 1")
    serve(queue, stop, clock, "Balie 2")
    queue.finish(first)
    clock.advance(seconds=30)
    queue.no_show(second)
    serve(queue, stop, clock, "Balie 1")  # the third, at the desk the first left

    page = get_board(client)

    assert page.by_id("board-current").by_class("board-call__label")[0].text == third.label
    assert page.by_id("board-previous").by_class("board-previous__item") == []
    panel = page.by_id("board-earlier-panel")
    assert not panel.hidden
    assert panel.by_id("board-earlier-title").text == "Eerder geroepen"
    earlier = page.by_id("board-earlier").by_class("board-previous__item")
    assert [
        (e.attrs["data-label"], e.by_class("board-previous__desk")[0].text) for e in earlier
    ] == [(second.label, "Balie 2"), (first.label, "Balie 1")]


def test_board_shows_no_more_calls_that_ended_than_configured(client, app, queue, stop, clock):
    app.config["DISPLAY_EARLIER_CALLS"] = 2
    tickets = [make_ticket(queue, stop, "A") for _ in range(4)]
    for ticket in tickets:
        serve(queue, stop, clock, "Balie 1")
        queue.finish(ticket)

    page = get_board(client)

    body = page.all(lambda n: n.tag == "body")[0]
    assert body.attrs["data-max-earlier"] == "2"
    earlier = page.by_id("board-earlier").by_class("board-previous__item")
    assert [e.attrs["data-label"] for e in earlier] == [tickets[3].label, tickets[2].label]


def test_board_gives_the_script_what_it_needs_when_the_connection_is_lost(client, stop):
    page = get_board(client)

    body = page.all(lambda n: n.tag == "body")[0]
    assert body.attrs["data-max-earlier"] == "6"
    assert "data-max-calls" not in body.attrs
    assert body.attrs["data-timezone"] == "Europe/Amsterdam"
    stale = page.by_id("board-stale")
    assert stale.hidden
    assert "misschien niet meer actueel" in stale.text
    assert page.by_id("board-stale-since").attrs["data-text"] == "Laatst bijgewerkt om {time}."


def test_board_shows_a_products_pictogram_next_to_its_name(client, stop, db):
    first, second = stop.products[:2]
    first.icon, second.icon = "car", None
    db.commit()
    page = get_board(client, f"/board?stop={stop.id}")

    items = page.by_class("board-waiting__item")
    icons = [n for item in items for n in item.all(lambda n: n.tag == "img")]
    drawn = [icon for icon in icons if "hidden" not in icon.attrs]
    assert len(icons) == len(items)  # every row has one for board.js to fill in
    assert len(drawn) == len(items) - 1  # none for the product without one
    assert drawn[0].attrs["src"].split("?v=")[0] == "/static/vendor/icons/car.svg"
    assert {icon.attrs["alt"] for icon in icons} == {""}  # decorative: the name is next to it
