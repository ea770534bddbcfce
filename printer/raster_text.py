"""Lines of text drawn as raster images, for scripts the printer's code page lacks.

A receipt printer's own font prints one byte per character from one code page. That covers the
Latin scripts (Dutch, English, Turkish, Polish) and, on most printers, Cyrillic (Ukrainian). It
does not cover Arabic: the printers' Arabic code pages (CP864, CP720, CP1256) hold either
unjoined letters or a few presentation forms, and the printer lays them out left to right, so
the words come out broken and backwards. So a line whose script the chosen code page lacks is
drawn here, as the printer would not: shaped (letters joined as they are written) and
right-to-left, by Pillow's libraqm layout (HarfBuzz + FriBiDi), in DejaVu Sans (Debian's
``fonts-dejavu-core``, which has Arabic and Cyrillic glyphs). The slip sends it as a GS v 0
raster image, the same command as a QR code drawn as an image.

Without libraqm (Pillow built without it, or ``libfribidi0`` missing) Arabic cannot be shaped:
:func:`can_shape` says so, and the app prints the slip's texts in Dutch instead, with the QR code
still opening the page in Arabic (see ``kiosk/printing/slips.py``). Cyrillic needs no shaping
and is drawn with Pillow's basic layout either way.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

__all__ = ["FONT_DIRS", "can_shape", "is_right_to_left", "line_image", "needs_shaping", "wrap"]

#: Where the fonts are looked for (Debian first).
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
)
#: Font size in dots of a normal line: about the height of the printer's font A (12 x 24).
FONT_DOTS = 22
#: One line of the printer's own text advances 30 dots (1/6 inch at 180 dpi): the same here.
LINE_DOTS = 30

Font = ImageFont.FreeTypeFont


@cache
def can_shape() -> bool:
    """True when Pillow can lay out complex scripts (libraqm with FriBiDi and HarfBuzz)."""
    return bool(features.check("raqm"))


def needs_shaping(text: str) -> bool:
    """True when ``text`` has letters that must be joined or reordered (Arabic, Hebrew...)."""
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)


def is_right_to_left(text: str) -> bool:
    """True when the first letter with a strong direction is right-to-left (the paragraph's
    direction by the Unicode bidi rules): such a line is laid out from the right."""
    for c in text:
        kind = unicodedata.bidirectional(c)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


@cache
def font_path(bold: bool) -> str:
    """DejaVu Sans (bold or book): it has Latin, Cyrillic and Arabic glyphs."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in FONT_DIRS:
        path = folder / name
        if path.exists():
            return str(path)
    raise FileNotFoundError(
        f"{name} is missing: install Debian's fonts-dejavu-core (`make fonts`) to print "
        "Arabic or Cyrillic slips on this printer"
    )


@cache
def _font(bold: bool, size: int, shaped: bool) -> Font:
    engine = ImageFont.Layout.RAQM if shaped else ImageFont.Layout.BASIC
    return ImageFont.truetype(font_path(bold), size, layout_engine=engine)


def _options(text: str) -> tuple[str | None, str | None]:
    """(direction, language) for Pillow's raqm layout; (None, None) for the basic layout."""
    if not (can_shape() and needs_shaping(text)):
        return None, None
    return ("rtl" if is_right_to_left(text) else "ltr"), "ar"


def _font_for(text: str, bold: bool, height: int) -> Font:
    return _font(bold, FONT_DOTS * height, can_shape() and needs_shaping(text))


def text_width(text: str, *, bold: bool = False, height: int = 1) -> int:
    """Width in dots of ``text`` as :func:`line_image` draws it."""
    direction, language = _options(text)
    font = _font_for(text, bold, height)
    return int(font.getlength(text, direction=direction, language=language)) + 1


def wrap(text: str, width_dots: int, *, bold: bool = False, height: int = 1) -> list[str]:
    """Wrap ``text`` at spaces into lines no wider than ``width_dots`` (in logical order: for a
    right-to-left line, the first words are on the first line, read from the right)."""
    words = text.split()
    if not words:
        return [""]
    lines: list[str] = []
    current = words[0]
    for word in words[1:]:
        candidate = f"{current} {word}"
        if text_width(candidate, bold=bold, height=height) <= width_dots:
            current = candidate
        else:
            lines.append(current)
            current = word
    lines.append(current)
    return lines


def line_image(text: str, *, bold: bool = False, height: int = 1) -> Image.Image:
    """One line as a black-on-white image, ``LINE_DOTS * height`` dots tall (or taller when the
    script's marks need it), as wide as the text: shaped and right-to-left where the text is."""
    font = _font_for(text, bold, height)
    direction, language = _options(text)
    box = font.getbbox(text, direction=direction, language=language)
    left, top, right, bottom = (int(v) for v in box)
    width = max(1, right - min(0, left) + 1)
    ascent, descent = font.getmetrics()
    rows = max(LINE_DOTS * height, ascent + descent + 2, bottom - min(0, top) + 2)
    image = Image.new("1", (width, rows), 1)
    draw = ImageDraw.Draw(image)
    # Baseline where the printer's own font has it: the text sits low in its line.
    y = rows - (ascent + descent) - max(0, (rows - ascent - descent) // 3)
    draw.text((-min(0, left), y), text, font=font, fill=0, direction=direction, language=language)
    return image
