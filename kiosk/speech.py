"""The Flask side of speech: the app's `Synthesizer`, built once from its configuration, and
the fixed prompts that `loket speech prerender` makes ahead of time.

Configuration (each key may come from the environment as ``LOKET_<KEY>``):

- ``SPEECH_ENGINE``: the espeak-ng executable (default ``espeak-ng``, Debian's package);
- ``SPEECH_CACHE_DIR``: where the audio is cached (default ``<instance>/speech``);
- ``SPEECH_CACHE_MB``: the cache is pruned back to this size, oldest first (default 200);
- ``SPEECH_SPEED``: words per minute (default 150: calm, clear for a waiting room);
- ``SPEECH_MAX_CHARS``: the longest text spoken (default 400);
- ``RATELIMIT_SPEECH``: requests per device, staff member or address (default 240/minute).

Only screen texts and ticket labels ("A12", "balie 2") are spoken; never a name or an e-mail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from kiosk.services.speech import Synthesizer

DEFAULTS: dict[str, Any] = {
    "SPEECH_ENGINE": "espeak-ng",
    "SPEECH_CACHE_DIR": None,
    "SPEECH_CACHE_MB": 200,
    "SPEECH_SPEED": 150,
    "SPEECH_MAX_CHARS": 400,
    "RATELIMIT_SPEECH": "240/minute",
}

# Fixed prompts (Dutch msgids) that screens read aloud: rendered ahead of time in every language
# by `loket speech prerender` (and `make run`), so the first resident hears them at once.
# Screens add theirs with `register_prompts` (the kiosk's read-aloud texts).
PROMPTS: list[str] = []


def register_prompts(*msgids: str) -> None:
    """Add fixed prompts (Dutch source texts) to pre-render in every language."""
    for msgid in msgids:
        if msgid not in PROMPTS:
            PROMPTS.append(msgid)


def config(app: Flask, key: str) -> Any:
    """A speech setting: the app's configuration, else this module's default."""
    return app.config.get(key, DEFAULTS[key])


def synthesizer(app: Flask | None = None) -> Synthesizer:
    """The app's synthesizer (made on first use)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("loket.speech")
    if found is None:
        cache = config(app, "SPEECH_CACHE_DIR") or Path(app.instance_path) / "speech"
        found = Synthesizer(
            cache_dir=Path(cache),
            languages=app.config["LANGUAGES"],
            executable=str(config(app, "SPEECH_ENGINE")),
            speed=int(config(app, "SPEECH_SPEED")),
            max_chars=int(config(app, "SPEECH_MAX_CHARS")),
            max_cache_bytes=int(float(config(app, "SPEECH_CACHE_MB")) * 1024 * 1024),
        )
        app.extensions["loket.speech"] = found
    return found


# A kiosk text the screen reads on its own (static/js/kiosk.js reads each data-read element as
# one phrase): an element marked data-read that holds one fixed text, no placeholders.
READ_ALONE = re.compile(r'data-read[^>]*>\s*\{\{\s*_\("([^"%]+)"\)\s*\}\}')


def screen_prompts(app: Flask) -> list[str]:
    """The kiosk screens' fixed read-aloud texts (Dutch msgids), as their templates mark them."""
    folder = Path(app.root_path, app.template_folder or "templates", "kiosk")
    found: list[str] = []
    for template in sorted(folder.glob("*.html")):
        for msgid in READ_ALONE.findall(template.read_text(encoding="utf-8")):
            if msgid not in found:
                found.append(msgid)
    return found


def prompts(app: Flask) -> list[str]:
    """Every fixed prompt: those registered and those the kiosk's screens read."""
    return [*PROMPTS, *(m for m in screen_prompts(app) if m not in PROMPTS)]


def fixed_phrases(app: Flask) -> Iterator[tuple[str, str]]:
    """Every fixed prompt in every language, as (language, text); needs an app context."""
    msgids = prompts(app)
    for lang in app.config["LANGUAGES"]:
        with force_locale(lang):
            for msgid in msgids:
                yield lang, _(msgid)
