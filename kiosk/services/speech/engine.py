"""Text to WAV with Debian's espeak-ng, cached per (language, text) on disk.

espeak-ng is the one engine in Debian's main archive with voices for all six languages of the
residents' pages. It is fast (~15 ms for a board announcement here) but it is a separate
process: under `loket run` (gevent, monkey-patched) it runs through gevent's cooperative
subprocess, so the event loop keeps serving while it works; elsewhere through the standard
library's, with a timeout either way.

The cache holds one file per phrase, named by a hash of voice, speed and text (never the text
itself), written to a temporary file and renamed into place (a reader never sees half a
file), and pruned, oldest first, when it grows past its size.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from kiosk.services.errors import DomainError

# The espeak-ng voice for each language of the residents' pages (`espeak-ng --voices`).
VOICES: dict[str, str] = {
    "nl": "nl",
    "en": "en-gb",
    "tr": "tr",
    "ar": "ar",
    "pl": "pl",
    "uk": "uk",
}

# A runner takes the command and the text for its stdin, and raises on failure or timeout.
Runner = Callable[[list[str], bytes, float], None]


class SpeechError(DomainError):
    """Base of the refusals of the speech endpoint."""

    code = "speech_error"


class UnsupportedLanguage(SpeechError):
    """Raised for a language that has no voice here (or is not offered)."""

    code = "unsupported_language"
    status = 400
    message = "There is no voice for this language."


class TextTooLong(SpeechError):
    """Raised for an empty text or one longer than the cap."""

    code = "invalid_text"
    status = 400
    message = "Send a text of 1 to the maximum number of characters."


class SpeechUnavailable(SpeechError):
    """Raised when espeak-ng is missing, fails or takes too long (the page then uses the
    browser's own voices, if it has any)."""

    code = "speech_unavailable"
    status = 503
    message = "Speech is not available on the server now."


def run_process(command: list[str], text: bytes, timeout: float) -> None:
    """Run `command` with `text` on stdin; cooperative under a monkey-patched gevent."""
    module = _subprocess_module()
    module.run(
        command,
        input=text,
        stdout=module.DEVNULL,
        stderr=module.PIPE,
        timeout=timeout,
        check=True,
    )


def _subprocess_module() -> ModuleType:
    """gevent.subprocess when gevent runs the process (`loket run`), else the standard one.

    The standard module blocks the calling OS thread while it waits: with gevent that is the
    one thread of every request and socket.
    """
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        monkey = None
    if monkey is not None and monkey.is_module_patched("socket"):
        return importlib.import_module("gevent.subprocess")
    return subprocess


@dataclass
class Synthesizer:
    """Speech for one language and text, from the cache or made by espeak-ng.

    `languages` are those the pages offer (each must have a voice in `VOICES`); `max_chars`
    caps a text; `max_cache_bytes` is the size the cache is pruned back to.
    """

    cache_dir: Path
    languages: Iterable[str]
    executable: str = "espeak-ng"
    speed: int = 150
    max_chars: int = 400
    max_cache_bytes: int = 200 * 1024 * 1024
    timeout: float = 10.0
    run: Runner = run_process
    # Prune after this many new files (a full scan of the folder is not free).
    prune_every: int = 50

    def __post_init__(self) -> None:
        self.languages = tuple(lang for lang in self.languages if lang in VOICES)
        self._written = 0

    def available(self) -> bool:
        """Whether espeak-ng can be found (a cached phrase plays even without it)."""
        return _which(self.executable) is not None

    def clean(self, text: str) -> str:
        """The text as it is spoken and cached: whitespace collapsed."""
        return " ".join(str(text).split())

    def path(self, lang: str, text: str) -> Path:
        """Where the WAV of this phrase is (or will be) cached."""
        key = "\0".join((VOICES.get(lang, lang), str(self.speed), self.clean(text)))
        digest = hashlib.sha256(key.encode()).hexdigest()[:40]
        return self.cache_dir / lang / f"{digest}.wav"

    def check(self, lang: str, text: str) -> str:
        """The cleaned text; raises UnsupportedLanguage or TextTooLong."""
        if lang not in self.languages:
            raise UnsupportedLanguage(languages=list(self.languages))
        cleaned = self.clean(text)
        if not cleaned or len(cleaned) > self.max_chars:
            raise TextTooLong(
                f"Send a text of 1 to {self.max_chars} characters.", max_chars=self.max_chars
            )
        return cleaned

    def wav(self, lang: str, text: str) -> Path:
        """The WAV file of this phrase: cached, or made now (and then cached).

        Raises UnsupportedLanguage, TextTooLong, or SpeechUnavailable when espeak-ng is
        missing, fails or times out.
        """
        cleaned = self.check(lang, text)
        target = self.path(lang, cleaned)
        if target.exists():
            with contextlib.suppress(OSError):
                os.utime(target)  # recently used: the last to be pruned
            return target
        executable = _which(self.executable)
        if executable is None:
            raise SpeechUnavailable("espeak-ng is not installed on the server.")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
        os.close(fd)
        command = [
            executable,
            "-v",
            VOICES[lang],
            "-s",
            str(self.speed),
            "-b",
            "1",  # the text is UTF-8
            "--stdin",
            "-w",
            temporary,
        ]
        try:
            # The text goes to stdin, never through a shell or the command line.
            self.run(command, cleaned.encode(), self.timeout)
            if os.path.getsize(temporary) < 44:  # not even a WAV header
                raise SpeechUnavailable("espeak-ng wrote no audio.")
            os.replace(temporary, target)
        except SpeechUnavailable:
            raise
        except Exception as error:  # a failed or timed-out process, a full disk
            raise SpeechUnavailable(f"espeak-ng failed: {type(error).__name__}.") from error
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        self._written += 1
        if self._written % self.prune_every == 0:
            self.prune()
        return target

    def prerender(self, phrases: Iterable[tuple[str, str]]) -> tuple[int, int]:
        """Make the audio of every (language, text) not cached yet; returns (made, cached)."""
        made = cached = 0
        for lang, text in phrases:
            if lang not in self.languages or not self.clean(text):
                continue
            if self.path(lang, text).exists():
                cached += 1
                continue
            self.wav(lang, text)
            made += 1
        return made, cached

    def prune(self) -> int:
        """Delete the oldest cached files until the cache fits its size; returns how many."""
        files = []
        for path in self.cache_dir.glob("*/*.wav"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            files.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        removed = 0
        for _, size, path in sorted(files, key=lambda item: item[0]):
            if total <= self.max_cache_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            removed += 1
        return removed


def _which(executable: str) -> str | None:
    if os.path.sep in executable:
        return executable if os.access(executable, os.X_OK) else None
    return shutil.which(executable)
