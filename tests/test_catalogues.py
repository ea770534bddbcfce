"""The translation catalogues are complete: every language the residents' pages offer has one,
every text the code shows is translated in it (no Dutch or English left on a Turkish page), and
every translation keeps the placeholders of its source, so a formatted text never fails or loses
its number. Plurals fill every form the language has (Arabic has six)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from kiosk.config import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w*)\}")
TRANSLATED = [code for code in DEFAULTS["LANGUAGES"] if code != "nl"]


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def texts(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple) else [message.id]


def translations(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


@pytest.fixture(scope="module")
def template() -> Catalog:
    return read(ROOT / "messages.pot")


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_text_is_translated_with_its_placeholders(template, code):
    catalog = read(ROOT / code / "LC_MESSAGES" / "messages.po", locale=code)
    problems = []
    for source in template:
        if not source.id:
            continue
        message = catalog.get(source.id, source.context)
        if message is None:
            problems.append(f"missing: {source.id!r}")
            continue
        strings = translations(message)
        if not all(strings):
            problems.append(f"untranslated: {source.id!r}")
            continue
        if isinstance(source.id, tuple) and len(strings) != catalog.num_plurals:
            problems.append(f"{len(strings)} of {catalog.num_plurals} plural forms: {source.id!r}")
        wanted = set().union(*(placeholders(text) for text in texts(source)))
        for string in strings:
            # A plural form may leave the number out ("one minute"), never add or rename one.
            if not placeholders(string) <= wanted or (
                not isinstance(source.id, tuple) and placeholders(string) != wanted
            ):
                problems.append(f"placeholders differ: {source.id!r} -> {string!r}")
    assert problems == [], f"{len(problems)} problems in {code}:\n" + "\n".join(problems[:40])


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_catalogue_holds_nothing_stale(template, code):
    """Entries the code no longer uses are dropped (`make translations` does it)."""
    catalog = read(ROOT / code / "LC_MESSAGES" / "messages.po", locale=code)
    used = {(m.id if not isinstance(m.id, tuple) else m.id[0], m.context) for m in template}
    stale = [
        m.id
        for m in catalog
        if m.id and (m.id if not isinstance(m.id, tuple) else m.id[0], m.context) not in used
    ]
    assert stale == []


def test_the_template_is_up_to_date_with_the_code():
    """messages.pot holds every text the code and the templates use (run `make translations`)."""
    root = ROOT.parent
    method_map = [
        ("kiosk/**.py", "python"),
        ("display/**.py", "python"),
        ("templates/**.html", "jinja2"),
        ("templates/**.txt", "jinja2"),
    ]
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}  # as the Makefile's -k
    used = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        str(root), method_map, keywords=keywords
    ):
        used.add((message[0] if isinstance(message, tuple) else message, context))
    template = read(ROOT / "messages.pot")
    known = {(m.id[0] if isinstance(m.id, tuple) else m.id, m.context) for m in template if m.id}
    assert sorted(used - known, key=str) == []


def test_arabic_has_no_letter_the_kiosks_font_draws_as_a_box():
    """Alif wasla (U+0671) helps espeak-ng but Debian Chromium's font fallback draws it as an
    empty box on the kiosk: the Arabic texts use a plain alif."""
    catalog = read(ROOT / "ar" / "LC_MESSAGES" / "messages.po", locale="ar")
    boxed = [m.id for m in catalog if any("\u0671" in text for text in translations(m))]
    assert boxed == []
