"""Translations: every Dutch text of the UI is in each catalogue, and translated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = sorted((ROOT / "translations").glob("*/LC_MESSAGES/messages.po"))


def _ids(path: Path) -> set[object]:
    with path.open("rb") as f:
        return {m.id for m in read_po(f) if m.id}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set[object]:
    """What `make translations` would extract from the code and templates now."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("pybabel")),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return _ids(pot)


def test_there_is_a_catalogue_for_english_and_only_for_the_configured_languages():
    from kiosk.config import DEFAULTS

    languages = {p.parts[-3] for p in CATALOGUES}
    assert "en" in languages
    # Dutch is the source language: its texts are the message ids themselves.
    assert languages <= set(DEFAULTS["LANGUAGES"]) - {DEFAULTS["DEFAULT_LANGUAGE"]}


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=lambda p: p.parts[-3])
def test_every_text_is_in_the_catalogue(catalogue, extracted):
    missing = extracted - _ids(catalogue)
    assert not missing, f"run `make translations` and translate: {sorted(map(str, missing))}"


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=lambda p: p.parts[-3])
def test_every_text_is_translated_and_keeps_its_placeholders(catalogue):
    import re

    with catalogue.open("rb") as f:
        messages = [m for m in read_po(f) if m.id]
    untranslated = [
        m.id for m in messages if not all(m.string if isinstance(m.string, tuple) else [m.string])
    ]
    assert untranslated == []
    placeholder = re.compile(r"%\(\w+\)s|\{\w+\}")
    for m in messages:
        source = m.id if isinstance(m.id, str) else m.id[1]
        target = m.string if isinstance(m.string, str) else m.string[-1]
        assert sorted(placeholder.findall(source)) == sorted(placeholder.findall(target)), m.id
