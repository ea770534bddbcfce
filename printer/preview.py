"""Draw what a slip will look like on paper, as a PNG (drawn by code from the same layout).

:func:`render_png` walks the blocks that :func:`printer.slip.plan` produces for the printer
profile (the very decisions :func:`printer.slip.render` turns into ESC/POS): the same code page
and transliteration, the same raster images of lines in a script the code page lacks, the same
line wrapping and magnification, the QR code drawn with the ``qrcode`` library at the module
size the printer gets. One pixel is one printer dot.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .slip import Gap, QrBlock, QrMode, SlipLayout, TextImage, TextLine, TicketSlip, plan, qr_image

__all__ = ["draw_layout", "render_png"]

CELL_W, CELL_H = 12, 24  # font A
LINE_DOTS = 30  # default line spacing: 1/6 inch at 180 dpi
MARGIN_TOP = 24
CUT_MARGIN = 40

_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@cache
def _font(bold: bool) -> Font:
    """A monospace font close to the printer's font A (DejaVu Sans Mono), else Pillow's own."""
    name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
    for folder in _FONT_DIRS:
        path = folder / name
        if path.exists():
            return ImageFont.truetype(str(path), 20)
    return ImageFont.load_default(20)


def _line_height(block: TextLine) -> int:
    return max(LINE_DOTS, CELL_H * block.height)


def _text_image(block: TextLine) -> Image.Image:
    """The line at font A's cell size, then magnified by whole dots as the printer does."""
    font = _font(block.bold)
    width = max(CELL_W * len(block.text), int(font.getlength(block.text)) + 2, 1)
    image = Image.new("1", (width, CELL_H), 1)
    draw = ImageDraw.Draw(image)
    fake_bold = block.bold and not getattr(font, "path", "").endswith("Bold.ttf")
    draw.text((0, 1), block.text, font=font, fill=0, stroke_width=1 if fake_bold else 0)
    if (block.width, block.height) != (1, 1):
        image = image.resize((width * block.width, CELL_H * block.height), Image.Resampling.NEAREST)
    return image


def draw_layout(layout: SlipLayout) -> Image.Image:
    """The planned slip as a black-and-white image, ``layout.target.width_dots`` wide."""
    width = layout.target.width_dots
    pieces: list[tuple[Image.Image | None, int]] = []  # (image or blank, height)
    for block in layout.blocks:
        if isinstance(block, TextLine):
            pieces.append((_text_image(block), _line_height(block)))
        elif isinstance(block, TextImage):
            drawn = block.image()  # the very raster the printer gets
            pieces.append((drawn, drawn.height))
        elif isinstance(block, Gap):
            pieces.append((None, LINE_DOTS * block.lines))
        elif isinstance(block, QrBlock):
            code = qr_image(block.data, block.module_dots)
            pieces.append((code, code.height))
    height = MARGIN_TOP + sum(h for _, h in pieces) + CUT_MARGIN
    page = Image.new("1", (width, height), 1)
    y = MARGIN_TOP
    for image, h in pieces:
        if image is not None:
            x = max(0, (width - image.width) // 2)
            page.paste(image, (x, y + h - image.height))
        y += h
    draw = ImageDraw.Draw(page)
    cut_y = height - CUT_MARGIN // 2
    for x in range(0, width, 16):  # where the printer cuts (or the paper is torn off)
        draw.line((x, cut_y, x + 8, cut_y), fill=0)
    return page


def render_png(
    slip: TicketSlip,
    width_dots: int | None = None,
    *,
    profile: str | None = None,
    qr_mode: QrMode = "auto",
) -> bytes:
    """A PNG of the slip as printer ``profile`` will print it; ``width_dots`` overrides the width.

    Without a profile, python-escpos' "default" profile is used; the width then comes from
    ``width_dots`` (576 for 80 mm paper at 203 dpi, 512 at 180 dpi, 384 for 58 mm paper).
    """
    layout = plan(slip, profile, qr_mode, width_dots=width_dots)
    buffer = io.BytesIO()
    draw_layout(layout).save(buffer, format="PNG")
    return buffer.getvalue()
