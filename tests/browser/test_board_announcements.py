"""Board announcements in a real browser: every call is announced, none dropped, in order, each
within a bounded time; recalls again; a board without sound shows as muted on the desk.

The board records what it announced in `window.loketBoard.log` (and counts the finished ones on
<body data-announced>, for `expect` to wait on). Most tests answer `/speech` with a short WAV of
their own, so seven announcements take seconds; one plays the server's real espeak-ng audio.
Nothing sleeps: every wait is for a condition on the page.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import pairing_url, silent_wav
from tests.live import LiveServer

DESKS = ("Balie 1", "Balie 2")


class Desks:
    """Calls tickets at the live server's two desks; what is left is cleared after the test."""

    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.ids = {name: live.desk_id(name) for name in DESKS}
        self.tokens: list[str] = []
        self.clear()

    def call(self, desk: str) -> dict[str, Any]:
        """A new ticket called to `desk` (the desk's previous one did not come)."""
        current = self.live.api("GET", f"/desks/{self.ids[desk]}")["current"]
        if current:
            self.live.api("POST", f"/tickets/{current['token']}/no-show")
        ticket = self.live.issue("A")
        self.tokens.append(ticket["token"])
        return self.live.call_next(self.ids[desk])

    def recall(self, ticket: dict[str, Any]) -> dict[str, Any]:
        return self.live.api("POST", f"/tickets/{ticket['token']}/recall")

    def clear(self) -> None:
        for desk_id in self.ids.values():
            state = self.live.api("GET", f"/desks/{desk_id}")
            if state["current"]:
                self.live.api("POST", f"/tickets/{state['current']['token']}/finish")
            for ticket in state["queue"]:
                self.live.api("POST", f"/tickets/{ticket['token']}/cancel")


@pytest.fixture
def desks(live: LiveServer) -> Iterator[Desks]:
    made = Desks(live)
    yield made
    made.clear()


@pytest.fixture
def board(live: LiveServer, new_page: Any, request: pytest.FixtureRequest) -> Any:
    """A paired board whose /speech answers are short WAVs; `board.spoken` lists what it asked."""
    page = new_page(viewport={"width": 1920, "height": 1080})
    spoken: list[tuple[str, str]] = []

    def answer(route: Any) -> None:
        query = parse_qs(urlsplit(route.request.url).query)
        spoken.append((query["lang"][0], query["text"][0]))
        route.fulfill(status=200, content_type="audio/wav", body=silent_wav(0.1))

    page.route(re.compile(r"/speech\?"), answer)
    page.device_name = f"Board {request.node.name}"[:80]
    page.goto(pairing_url(live, "board", page.device_name))
    page.wait_for_url(re.compile(r"/board$"))
    expect(page.locator("body")).to_have_attribute("data-live", re.compile("connected"))
    page.spoken = spoken
    return page


def announced(page: Any, count: int, timeout: float = 60_000) -> list[dict[str, Any]]:
    """The board's announcement log, once `count` announcements have finished."""
    expect(page.locator("body")).to_have_attribute("data-announced", str(count), timeout=timeout)
    return page.evaluate("window.loketBoard.log")


def spoken_label(label: str) -> str:
    """ "A012" -> "A12": how a label is said (letter and number, no leading zeros)."""
    match = re.fullmatch(r"([A-Z]+)0*(\d+)", label)
    assert match, label
    return f"{match.group(1)}{int(match.group(2))}"


def test_seven_calls_within_two_seconds_give_seven_announcements_in_order(board, desks):
    started = time.monotonic()
    calls = [desks.call(DESKS[n % 2]) for n in range(7)]
    assert time.monotonic() - started < 2.0  # a burst: all seven called within two seconds

    log = announced(board, 7)

    assert [entry["label"] for entry in log] == [call["label"] for call in calls]
    assert all(entry["outcomes"] == ["played"] for entry in log)
    texts = [entry["texts"][0]["text"] for entry in log]
    for call, text in zip(calls, texts, strict=True):
        desk = call["desk"]["name"]
        assert text == f"Nummer {spoken_label(call['label'])}, {desk[0].lower()}{desk[1:]}"
    assert board.spoken == [("nl", text) for text in texts]
    # One at a time, in order, and each within the stated bound: the k-th of the burst starts
    # at most (k - 1) x announcementMaxMs after the first one started.
    bound = board.evaluate("window.loketBoard.announcementMaxMs")
    for k, entry in enumerate(log):
        assert entry["endedAt"] - entry["startedAt"] <= bound
        assert entry["startedAt"] - log[0]["startedAt"] <= k * bound
        if k:
            assert entry["startedAt"] >= log[k - 1]["endedAt"]


def test_a_recall_is_announced_again(board, desks):
    first = desks.call("Balie 1")
    second = desks.call("Balie 2")
    announced(board, 2)

    desks.recall(first)

    log = announced(board, 3)
    assert [entry["label"] for entry in log] == [first["label"], second["label"], first["label"]]


def test_a_board_with_sound_off_says_nothing_and_shows_as_muted_on_the_desk(
    board, desks, live, new_page
):
    sound = board.locator("#board-sound")
    expect(sound).to_have_text("Geluid uit")
    sound.click()
    expect(sound).to_have_text("Geluid aan")
    expect(board.locator("body")).to_have_attribute("data-sound", "off")

    desk = new_page(viewport={"width": 1366, "height": 768})
    desk.goto(f"{live.url}/login")
    desk.get_by_label("Gebruikersnaam").fill("live-staff")
    desk.get_by_label("Wachtwoord").fill("live-test-password-123")
    desk.get_by_role("button", name="Inloggen").click()
    desk.goto(f"{live.url}/desk/{desks.ids['Balie 1']}")
    item = desk.locator("#device-list .device").filter(has_text=board.device_name)
    expect(item.locator("[data-field=muted]")).to_be_visible()
    expect(item.locator("[data-field=muted]")).to_have_text("Geen geluid")

    desks.call("Balie 1")
    log = announced(board, 1)
    assert log[0]["outcomes"] == []  # shown, not heard
    assert board.spoken == []

    sound.click()  # and on again: the desk sees it at once
    expect(sound).to_have_text("Geluid uit")
    expect(item.locator("[data-field=muted]")).to_be_hidden()


def test_the_servers_own_speech_plays_to_the_end(live, new_page, desks, request):
    page = new_page(viewport={"width": 1920, "height": 1080})
    page.goto(pairing_url(live, "board", f"Board {request.node.name}"[:80]))
    page.wait_for_url(re.compile(r"/board$"))
    expect(page.locator("body")).to_have_attribute("data-live", re.compile("connected"))

    desks.call("Balie 2")

    log = announced(page, 1)
    assert log[0]["outcomes"] == ["played"]  # espeak-ng's WAV, through an <audio> element
    took = log[0]["endedAt"] - log[0]["startedAt"]
    assert took <= page.evaluate("window.loketBoard.announcementMaxMs")
    print(f"one announcement with espeak-ng audio took {took:.0f} ms")


# A browser with a Dutch voice (Debian's Chromium has none): utterances end after 100 ms.
BROWSER_VOICE = """
(() => {
  window.__utterances = [];
  const synth = window.speechSynthesis;
  Object.defineProperty(synth, "getVoices", {
    configurable: true,
    value: () => [{ lang: "nl-NL", name: "Stand-in", default: true }],
  });
  Object.defineProperty(synth, "speak", {
    configurable: true,
    value: (utterance) => {
      window.__utterances.push(utterance.text);
      window.setTimeout(() => utterance.dispatchEvent(new Event("end")), 100);
    },
  });
})();
"""


@pytest.mark.parametrize("voice", [True, False], ids=["browser-voice", "no-voice"])
def test_without_server_speech_the_browser_voice_speaks_if_there_is_one(
    live, new_page, desks, request, voice
):
    page = new_page(viewport={"width": 1920, "height": 1080})
    if voice:
        page.add_init_script(BROWSER_VOICE)
    unavailable = '{"error": {"code": "speech_unavailable", "message": "No espeak-ng."}}'
    page.route(
        re.compile(r"/speech\?"),
        lambda route: route.fulfill(status=503, content_type="application/json", body=unavailable),
    )
    page.goto(pairing_url(live, "board", f"Board {request.node.name}"[:80]))
    page.wait_for_url(re.compile(r"/board$"))
    expect(page.locator("body")).to_have_attribute("data-live", re.compile("connected"))

    called = [desks.call("Balie 1"), desks.call("Balie 2")]

    log = announced(page, 2)
    assert [entry["label"] for entry in log] == [call["label"] for call in called]
    assert [entry["outcomes"] for entry in log] == [["played" if voice else "failed"]] * 2
    if voice:
        assert page.evaluate("window.__utterances") == [e["texts"][0]["text"] for e in log]
