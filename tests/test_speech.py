"""Speech on the server: ``GET /speech`` (espeak-ng behind a disk cache), who may use it, its
errors; the `loket speech` commands; a stop's second announcement language; boards that report
they play no sound, as staff see them."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from display.namespace import NAMESPACE as NS
from kiosk import speech as speech_module
from kiosk.models import DeviceKind
from kiosk.services.accounts import AccountService
from kiosk.services.speech import Synthesizer, TextTooLong, UnsupportedLanguage
from kiosk.services.speech.engine import run_process
from tests.factories import make_user

ROOT = Path(__file__).resolve().parent.parent
ESPEAK = pytest.mark.skipif(
    subprocess.run(["sh", "-c", "command -v espeak-ng"], capture_output=True).returncode != 0,
    reason="espeak-ng is not installed (make test installs it)",
)
Headers = dict[str, str]


def paired(client: Any, db: Any, clock: Any, stop: Any, kind: DeviceKind, name: str) -> Headers:
    pairing = AccountService(db, clock=clock).add_device(kind, name, stop=stop)
    response = client.post("/api/v1/devices/pair", json={"code": pairing.code})
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


@pytest.fixture
def kiosk(client, db, clock, stop) -> Headers:
    return paired(client, db, clock, stop, DeviceKind.KIOSK, "Kiosk 1")


@pytest.fixture
def staff(client, db) -> Headers:
    _user, password = make_user(db)
    response = client.post("/api/v1/auth/token", json={"username": "anna", "password": password})
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


class CountingRunner:
    """Runs espeak-ng for real (or writes a fake WAV) and counts the runs."""

    def __init__(self, fake: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fake = fake

    def __call__(self, command: list[str], text: bytes, timeout: float) -> None:
        self.calls.append(command)
        if self.fake:
            Path(command[command.index("-w") + 1]).write_bytes(b"RIFF" + b"\0" * 60)
        else:
            run_process(command, text, timeout)


def counted(app: Any, fake: bool = False) -> CountingRunner:
    runner = CountingRunner(fake)
    with app.app_context():
        speech_module.synthesizer().run = runner
    return runner


def get(client: Any, headers: Headers | None = None, **query: str) -> Any:
    return client.get("/speech", query_string=query, headers=headers or {})


# -- the endpoint -------------------------------------------------------------------------------


@ESPEAK
@pytest.mark.parametrize("lang", ["nl", "en", "tr", "ar", "pl", "uk"])
def test_a_paired_kiosk_gets_wav_in_each_language(app, client, kiosk, lang):
    response = get(client, kiosk, lang=lang, text="A12")

    assert response.status_code == 200
    assert response.mimetype == "audio/wav"
    assert response.data[:4] == b"RIFF" and response.data[8:12] == b"WAVE"
    assert len(response.data) > 1000


@ESPEAK
def test_the_second_request_comes_from_the_cache_and_may_be_kept_a_year(app, client, kiosk):
    runner = counted(app)
    first = get(client, kiosk, lang="nl", text="Nummer  A12,\n balie 2")
    again = get(client, kiosk, lang="nl", text="Nummer A12, balie 2")

    assert first.status_code == again.status_code == 200
    assert len(runner.calls) == 1  # whitespace does not make another phrase
    assert first.data == again.data
    cache_control = again.headers["Cache-Control"]
    assert "max-age=31536000" in cache_control and "immutable" in cache_control
    assert "private" in cache_control
    assert again.headers["Content-Security-Policy"]  # the usual headers, media-src included
    assert "media-src 'self'" in again.headers["Content-Security-Policy"]


def test_the_cache_file_is_named_by_a_hash_and_the_text_goes_to_stdin(app, client, kiosk):
    runner = counted(app, fake=True)
    text = "--help; rm -rf / $(echo x)"
    assert get(client, kiosk, lang="nl", text=text).status_code == 200

    command = runner.calls[0]
    assert text not in command  # never on the command line, never through a shell
    assert "--stdin" in command
    with app.app_context():
        cached = speech_module.synthesizer().path("nl", text)
    assert cached.exists() and "rm" not in cached.name and len(cached.stem) == 40


def test_staff_and_boards_may_use_speech(app, client, db, clock, stop, staff):
    counted(app, fake=True)
    board = paired(client, db, clock, stop, DeviceKind.BOARD, "Scherm 1")

    assert get(client, staff, lang="en", text="Number A12").status_code == 200
    assert get(client, board, lang="en", text="Number A12").status_code == 200


def test_anyone_else_gets_403_json(app, client, stop):
    runner = counted(app, fake=True)
    response = get(client, lang="nl", text="Nummer A12")

    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"
    assert runner.calls == []


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"lang": "de", "text": "Nummer A12"}, "unsupported_language"),
        ({"lang": "", "text": "Nummer A12"}, "unsupported_language"),
        ({"text": "Nummer A12"}, "unsupported_language"),
        ({"lang": "nl", "text": "x" * 401}, "invalid_text"),
        ({"lang": "nl", "text": "   "}, "invalid_text"),
        ({"lang": "nl"}, "invalid_text"),
    ],
)
def test_a_bad_language_or_text_gets_400_json(app, client, kiosk, query, code):
    runner = counted(app, fake=True)
    response = get(client, kiosk, **query)

    assert response.status_code == 400
    assert response.json["error"]["code"] == code
    assert response.headers["Cache-Control"] == "no-store"
    assert runner.calls == []


def test_400_characters_is_just_allowed(app, client, kiosk):
    counted(app, fake=True)
    assert get(client, kiosk, lang="nl", text="x" * 400).status_code == 200


def test_without_espeak_the_answer_is_503_json(make_app, db_url):
    app = make_app(SPEECH_ENGINE="/nonexistent/espeak-ng")
    client = app.test_client()
    with app.app_context():
        from kiosk.factories import db_session
        from tests.factories import make_stop

        db = db_session()
        stop = make_stop(db, now=app.config["CLOCK"].now)
        headers = paired(client, db, app.config["CLOCK"], stop, DeviceKind.KIOSK, "Kiosk 1")
    response = get(client, headers, lang="nl", text="Nummer A12")

    assert response.status_code == 503
    assert response.json["error"]["code"] == "speech_unavailable"


def test_a_failing_espeak_gets_503_and_leaves_no_file(app, client, kiosk):
    def failing(command: list[str], text: bytes, timeout: float) -> None:
        Path(command[command.index("-w") + 1]).write_bytes(b"RIFF")  # half written
        raise subprocess.TimeoutExpired(command, timeout)

    with app.app_context():
        speaker = speech_module.synthesizer()
        speaker.run = failing
    response = get(client, kiosk, lang="nl", text="Nummer A12")

    assert response.status_code == 503
    assert response.json["error"]["code"] == "speech_unavailable"
    assert list(speaker.cache_dir.rglob("*")) in ([], [speaker.cache_dir / "nl"])


def test_too_many_requests_get_429_json(make_app, client):
    app = make_app(RATELIMIT_SPEECH="2/minute")
    client = app.test_client()
    counted(app, fake=True)
    with app.app_context():
        from kiosk.factories import db_session
        from tests.factories import make_stop

        db = db_session()
        stop = make_stop(db, now=app.config["CLOCK"].now)
        headers = paired(client, db, app.config["CLOCK"], stop, DeviceKind.KIOSK, "Kiosk 1")

    statuses = [get(client, headers, lang="nl", text=f"Nummer A{n}").status_code for n in range(3)]

    assert statuses == [200, 200, 429]
    assert get(client, headers, lang="nl", text="A1").json["error"]["code"] == "rate_limited"


# -- the synthesizer ----------------------------------------------------------------------------


def test_the_synthesizer_refuses_before_it_runs_anything(tmp_path):
    runner = CountingRunner(fake=True)
    speaker = Synthesizer(tmp_path, ["nl", "en"], run=runner, max_chars=10)

    with pytest.raises(UnsupportedLanguage):
        speaker.wav("tr", "A12")  # a voice exists, but the pages do not offer it here
    with pytest.raises(TextTooLong):
        speaker.wav("nl", "x" * 11)
    assert runner.calls == []


def test_the_cache_is_pruned_oldest_first(tmp_path):
    speaker = Synthesizer(tmp_path, ["nl"], run=CountingRunner(fake=True), max_cache_bytes=200)
    paths = [speaker.wav("nl", f"A{n}") for n in range(5)]  # 64 bytes each
    for age, path in enumerate(reversed(paths)):
        os.utime(path, (1_000_000 - age * 10, 1_000_000 - age * 10))

    assert speaker.prune() == 2
    assert [p.exists() for p in paths] == [False, False, True, True, True]


GEVENT_SCRIPT = textwrap.dedent(
    """
    from gevent import monkey

    monkey.patch_all()
    import sys
    from pathlib import Path

    import gevent

    from kiosk.services.speech import Synthesizer
    from kiosk.services.speech.engine import _subprocess_module

    import gevent.subprocess
    assert _subprocess_module() is gevent.subprocess

    ticks = []

    def ticker():
        while True:
            ticks.append(1)
            gevent.sleep(0.02)

    speaker = Synthesizer(Path(sys.argv[1]), ["nl"], executable=sys.argv[2])
    gevent.spawn(ticker)
    gevent.sleep(0)
    speaker.wav("nl", "Nummer A12")
    # The fake engine takes 0.4 s; a blocked loop would have ticked once.
    print(len(ticks))
    """
)


def test_under_gevent_the_engine_runs_without_blocking_the_loop(tmp_path):
    fake = tmp_path / "espeak-ng"
    fake.write_text(
        "#!/bin/sh\nsleep 0.4\ncat >/dev/null\n"
        'for last; do :; done\nhead -c 64 /dev/zero > "$last"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    result = subprocess.run(
        [sys.executable, "-c", GEVENT_SCRIPT, str(tmp_path / "cache"), str(fake)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= 10


# -- commands -----------------------------------------------------------------------------------


def test_prerender_makes_each_fixed_prompt_in_every_language_once(app, runner, monkeypatch):
    monkeypatch.setattr(speech_module, "PROMPTS", [])
    monkeypatch.setattr(speech_module, "screen_prompts", lambda _app: ["Lees voor"])
    speech_module.register_prompts("Lees voor", "Lees voor", "Kies wat u wilt regelen.")
    counting = counted(app, fake=True)

    first = runner.invoke(args=["speech", "prerender"])
    again = runner.invoke(args=["speech", "prerender"])

    assert first.exit_code == 0, first.output
    assert "2 prompts in 6 languages: 12 made, 0 already cached" in first.output
    assert "0 made, 12 already cached" in again.output
    assert len(counting.calls) == 12


def test_the_kiosk_screens_fixed_read_aloud_texts_are_prompts(app):
    found = speech_module.screen_prompts(app)
    assert {"Waarvoor komt u?", "Uw nummer", "Het loket is nu gesloten"} <= set(found)
    assert all("%(" not in msgid for msgid in found)  # a text with a value is not fixed
    assert len(found) == len(set(found))


def test_a_stop_gets_a_second_announcement_language(app, runner, client, db, clock, stop):
    board = paired(client, db, clock, stop, DeviceKind.BOARD, "Scherm 1")
    page = client.get("/board", headers=board).get_data(as_text=True)
    assert "data-also-lang" not in page

    result = runner.invoke(args=["speech", "language", str(stop.id), "tr"])
    assert result.exit_code == 0, result.output
    page = client.get("/board", headers=board).get_data(as_text=True)
    assert 'data-also-lang="tr"' in page
    assert "data-also-say=" in page

    # The board's own language is not said twice.
    assert "data-also-lang" not in client.get("/board?lang=tr", headers=board).get_data(True)

    assert runner.invoke(args=["speech", "language", str(stop.id), "de"]).exit_code != 0
    assert runner.invoke(args=["speech", "language", str(stop.id)]).exit_code == 0
    assert "data-also-lang" not in client.get("/board", headers=board).get_data(as_text=True)


# -- boards without sound -----------------------------------------------------------------------


def test_a_board_without_sound_shows_as_muted_to_staff(app, client, db, clock, stop, staff):
    sio = app.extensions["socketio"]
    board_headers = paired(client, db, clock, stop, DeviceKind.BOARD, "Scherm 1")
    client.set_cookie("loket_device", board_headers["Authorization"].removeprefix("Bearer "))
    board = sio.test_client(app, namespace=NS, flask_test_client=client)
    desk_view = sio.test_client(app, namespace=NS, auth={"stop": stop.id}, headers=staff)
    desk_view.get_received(NS)

    def muted() -> bool | None:
        devices = client.get(f"/api/v1/stops/{stop.id}/devices", headers=staff).json
        return next(d for d in devices if d["name"] == "Scherm 1")["muted"]

    assert muted() is False
    board.emit("board_sound", {"muted": True}, namespace=NS)
    assert muted() is True
    assert [m["name"] for m in desk_view.get_received(NS)] == ["devices_changed"]
    board.emit("board_sound", {"muted": True}, namespace=NS)  # no change: no news
    assert desk_view.get_received(NS) == []
    board.emit("board_sound", {"muted": False}, namespace=NS)
    assert muted() is False
    board.disconnect(namespace=NS)
    desk_view.disconnect(namespace=NS)


def test_the_desk_page_shows_a_muted_board(app, client, db, clock, stop):
    from tests.factories import csrf_token_in

    sio = app.extensions["socketio"]
    board_headers = paired(client, db, clock, stop, DeviceKind.BOARD, "Scherm 1")
    client.set_cookie("loket_device", board_headers["Authorization"].removeprefix("Bearer "))
    board = sio.test_client(app, namespace=NS, flask_test_client=client)
    board.emit("board_sound", {"muted": True}, namespace=NS)
    client.delete_cookie("loket_device")

    _user, password = make_user(db)
    token = csrf_token_in(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": "anna", "password": password, "csrf_token": token})
    page = client.get(f"/desk/{stop.desks[0].id}").get_data(as_text=True)

    item = re.search(
        r'<li class="device[^"]*">\s*<span class="device__name" data-field="name">'
        r"Scherm 1</span>.*?</li>",
        page,
        re.S,
    )
    assert item, page
    assert re.search(r'data-field="muted">Geen geluid<', item.group(0))
    board.disconnect(namespace=NS)
