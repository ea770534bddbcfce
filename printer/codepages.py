"""Code page choice and text encoding for the slip: our own mapping, tested byte for byte.

A receipt printer prints one byte per character from its current code page (ESC t n). We pick
one code page per slip, among those the printer profile lists, the one that can print the most
of the slip's characters (Dutch, Turkish and Polish names, Ukrainian, €), and select it
explicitly after ESC @. Characters that code page lacks are transliterated with a fixed table
(ğ→g, ł→l, €→EUR, ĳ→ij, Cyrillic і→Latin i) or, failing that, stripped of their accents; what is
left becomes "?". Control characters in the data are dropped, so a product name can never
smuggle printer commands in.

What each resident language gets, per printer profile of python-escpos' capabilities data
(tests/test_printing_languages.py holds this table):

========== ============================== ================ ===============================
language   TM-T88V, TM-T20II, default     POS-5890         simple (CP437 only)
========== ============================== ================ ===============================
nl, en     CP858 (ESC t 19)               CP858 (19)       CP437, € → EUR
tr         CP1254 (48): ğ ş ı İ and €     CP1254 (91)      CP437 + transliteration
pl         CP1250 (45): ł ą ę ż ź ś ć ń   CP1250 (72)      CP437 + transliteration
uk         CP1251 (46): і ї є ґ and €     CP1251 (73)      raster image lines
ar         raster image lines, shaped and right-to-left, on every profile
========== ============================== ================ ===============================

Why: a Latin-script line that loses only its accents (ğ→g, ł→l) still reads as the same words,
so it stays text (a few bytes, the printer's crisp font). A line in a script the page lacks
would print as "???" (:meth:`CodePage.loses_letters`): :func:`printer.slip.plan` then draws it
as a raster image (:mod:`printer.raster_text`) when the profile prints raster images, which every
profile in the capabilities data does but five impact and label printers. We prefer the Windows
pages (CP1254, CP1250, CP1251: they have €) to the DOS ones (CP857, CP852, CP1125, CP866) when the
profile has both; a profile with only CP866 prints Ukrainian with Latin i for і and г for ґ
(they look alike). Arabic never goes through a code page: the printers' Arabic pages (CP864,
CP720, CP1256) print unjoined letters left to right.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache

__all__ = [
    "ASCII",
    "CANDIDATES",
    "TRANSLITERATIONS",
    "CodePage",
    "choose_code_page",
    "clean_text",
]

#: Code pages we know how to encode, in order of preference when several print a slip equally
#: well: (name in python-escpos' capabilities data, Python codec).
CANDIDATES: tuple[tuple[str, str], ...] = (
    ("CP858", "cp858"),  # CP850 + € (Epson "PC858 Euro"): Dutch, French, German, €
    ("CP1252", "cp1252"),  # Windows Western: the same letters plus typographic quotes
    ("CP1254", "cp1254"),  # Windows Turkish: ğ ş ı İ and €
    ("CP1250", "cp1250"),  # Windows Central European: ł ą ę ż ś ć ń and €
    ("CP857", "cp857"),  # DOS Turkish, no €
    ("CP852", "cp852"),  # DOS Central European, no €
    ("CP850", "cp850"),  # DOS Western, no €
    ("ISO_8859-15", "iso8859_15"),
    ("ISO_8859-2", "iso8859_2"),
    ("CP1251", "cp1251"),  # Windows Cyrillic: every Ukrainian letter (і ї є ґ) and €
    ("CP1125", "cp1125"),  # DOS Ukrainian (RUSCII): every Ukrainian letter, no €
    ("CP866", "cp866"),  # DOS Russian: ї є but no і or ґ (see LOOKALIKES), no €
    ("CP437", "cp437"),  # the factory default of nearly every printer: ë é ü, no €
)

#: Explicit replacements for characters a code page lacks. Values are plain ASCII.
TRANSLITERATIONS: Mapping[str, str] = {
    "€": "EUR",
    "ğ": "g",
    "Ğ": "G",
    "ş": "s",
    "Ş": "S",
    "ı": "i",
    "İ": "I",
    "ł": "l",
    "Ł": "L",
    "ą": "a",
    "Ą": "A",
    "ę": "e",
    "Ę": "E",
    "ż": "z",
    "Ż": "Z",
    "ź": "z",
    "Ź": "Z",
    "ś": "s",
    "Ś": "S",
    "ć": "c",
    "Ć": "C",
    "ń": "n",
    "Ń": "N",
    "ĳ": "ij",
    "Ĳ": "IJ",
    "ß": "ss",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "þ": "th",
    "Þ": "Th",
    # Cyrillic і looks exactly like Latin i: a CP866 printer prints Ukrainian with it.
    "і": "i",
    "І": "I",
    "ʼ": "'",  # the Ukrainian apostrophe (U+02BC)
    "‘": "'",
    "’": "'",
    "‚": "'",
    "‛": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "‟": '"',
    "«": '"',
    "»": '"',
    "‹": "'",
    "›": "'",
    "–": "-",
    "—": "-",
    "‐": "-",
    "‑": "-",
    "−": "-",
    "…": "...",
    "•": "*",
    "·": ".",
    "→": "->",
    "←": "<-",
    "×": "x",
    "°": "o",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
}

#: Replacements tried before :data:`TRANSLITERATIONS`, used only when the code page has them:
#: a CP866 printer has г but no ґ; "г" reads better to a Ukrainian reader than Latin "g".
LOOKALIKES: Mapping[str, str] = {"ґ": "г", "Ґ": "Г"}

REPLACEMENT = "?"


@cache
def _encodable(codec: str, char: str) -> bool:
    try:
        char.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class CodePage:
    """One printer code page: its name, the ESC t number that selects it, the Python codec."""

    name: str
    number: int | None
    codec: str

    def can_encode(self, char: str) -> bool:
        """True when the printer can print ``char`` in this code page (printable ASCII always)."""
        if " " <= char <= "~":
            return True
        return ord(char) >= 0xA0 and _encodable(self.codec, char)

    def transliterate(self, text: str) -> str:
        """Replace what this code page cannot print; the result encodes without loss."""
        text = clean_text(text)
        if text.isascii():  # cleaned: printable ASCII, which every page prints as it is
            return text
        return _transliterate(self, text)

    def _transliterate(self, text: str) -> str:
        out: list[str] = []
        for char in text:
            if self.can_encode(char):
                out.append(char)
                continue
            lookalike = LOOKALIKES.get(char)
            if lookalike is not None and all(self.can_encode(c) for c in lookalike):
                out.append(lookalike)
                continue
            replacement = TRANSLITERATIONS.get(char)
            if replacement is None:
                stripped = "".join(
                    c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
                )
                ok = stripped and all(self.can_encode(c) for c in stripped)
                replacement = stripped if ok else REPLACEMENT
            out.append(replacement)
        return "".join(out)

    def loses_letters(self, text: str) -> bool:
        """True when printing ``text`` in this code page would turn a letter (or a digit) into
        "?": the line is in a script the page lacks (Arabic, or Cyrillic on a Latin page)."""
        text = clean_text(text)
        if text.isascii():
            return False
        return any(c.isalnum() and self.transliterate(c) == REPLACEMENT for c in text)

    def encode(self, text: str) -> bytes:
        """Transliterate and encode ``text`` (one line, no control characters) for the printer."""
        return self.transliterate(text).encode(self.codec)

    def coverage(self, chars: Iterable[str]) -> int:
        """How many of ``chars`` this code page prints as they are."""
        return sum(1 for c in chars if self.can_encode(c))


#: Used when the profile lists none of the code pages we know: plain ASCII, no ESC t.
ASCII = CodePage("ASCII", None, "ascii")


def clean_text(text: str) -> str:
    """Compose accents (NFC), turn tabs into spaces and drop every other control character."""
    if text.isascii():  # nothing to compose; the only controls are C0 and DEL
        return text.replace("\t", " ").translate(_ASCII_CONTROLS)
    return _clean_text(text)


# C0 controls and DEL: category Cc, the only "Cc", "Cf" or "Cs" characters in ASCII.
_ASCII_CONTROLS = dict.fromkeys([*range(0x20), 0x7F])


@lru_cache(maxsize=2048)
def _clean_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\t", " ")
    return "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs"))


@lru_cache(maxsize=2048)
def _transliterate(page: CodePage, text: str) -> str:
    """`CodePage._transliterate`, remembered: a slip's fixed lines come back on every slip."""
    return page._transliterate(text)


def profile_code_pages(code_pages: Mapping[str, str]) -> dict[str, int]:
    """``{name: lowest ESC t number}`` from a profile's ``codePages`` (``{"19": "CP858"}``)."""
    found: dict[str, int] = {}
    for number, name in code_pages.items():
        if name and name != "Unknown":
            n = int(number)
            found[name] = min(n, found.get(name, n))
    return found


def choose_code_page(texts: Iterable[str], available: Mapping[str, int]) -> CodePage:
    """Pick the code page (among ``available``: name -> ESC t number) that prints most of ``texts``.

    Ties go to the earlier entry of :data:`CANDIDATES`; a slip in plain ASCII gets the first
    available candidate (still selected explicitly, since ESC @ restores the printer's own default,
    which a memory switch may have set to anything).
    """
    needed = {c for text in texts for c in clean_text(text) if not " " <= c <= "~"}
    best: CodePage | None = None
    best_score = -1
    for name, codec in CANDIDATES:
        if name not in available:
            continue
        page = CodePage(name, available[name], codec)
        score = page.coverage(needed)
        if score > best_score:
            best, best_score = page, score
    return best or ASCII
