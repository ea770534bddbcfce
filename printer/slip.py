"""TicketSlip (plain data) -> ESC/POS bytes, built on python-escpos' ``Dummy`` printer.

The slip's data types live in :mod:`printer.slip_data` (no python-escpos, Pillow or qrcode) and
are re-exported here.

The slip is laid out once by :func:`plan` into a list of blocks (text lines with their style,
blank lines, the QR code); :func:`render` turns that plan into ESC/POS bytes and
:mod:`printer.preview` draws the very same plan as a PNG. The bytes go to the printer in one write.

What the bytes do, in order: ESC @ (initialise), ESC R 0 (USA character set, since ESC @ restores
whatever a memory switch chose), ESC t n (the code page we chose, see :mod:`printer.codepages`),
centre, then the slip: header (bold), "Uw nummer" and the label very large, product, stop, date
and time, people ahead or the slip's own ``lines``, a blank line, the QR code (native GS ( k, or a
GS v 0 raster image when the profile has no QR support), a blank line, the footer, and a cut when
the profile has a cutter (else a feed to the tear bar).
"""

from __future__ import annotations

import copy
import difflib
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import qrcode
from PIL import Image

from . import raster_text
from ._escpos import capabilities, constants, printers
from .codepages import ASCII, CodePage, choose_code_page, clean_text, profile_code_pages
from .errors import PrinterConfigError
from .slip_data import DEFAULT_TZ, QR_MODES, QrMode, SlipLine, SlipTexts, TicketSlip

__all__ = [
    "DEFAULT_TZ",
    "QR_MODES",
    "Gap",
    "PrintTarget",
    "QrBlock",
    "QrMode",
    "SlipLayout",
    "SlipLine",
    "SlipTexts",
    "TextImage",
    "TextLine",
    "TicketSlip",
    "known_profiles",
    "plan",
    "qr_image",
    "render",
    "target_for",
]

#: Paper width assumed when neither the caller nor the profile knows it: 58 mm paper (384 dots)
#: is the safe guess, since an image wider than the head garbles the print, a narrow one does not.
FALLBACK_WIDTH_DOTS = 384
#: Width of one font A character in dots (12 x 24 on 180 and 203 dpi printers).
CHAR_WIDTH_DOTS = 12
#: Largest magnification of the label (GS ! allows 8; 4 keeps "A012" within 58 mm paper).
LABEL_SCALE = 4
#: QR module size in dots (0.75-0.85 mm at 203/180 dpi: easy for phone cameras).
QR_MODULE_DOTS = 6
#: A QR code needs 4 modules of white around it; one blank line (1/6 inch, 30 dots at 180 dpi)
#: is more than 4 x 6 dots, and the sides of a centred code are white anyway.
QR_QUIET_LINES = 1
#: Lines to feed after the footer when the profile has no cutter, to reach the tear bar.
TEAR_FEED_LINES = 5


# -- the printer profile -------------------------------------------------------------------------


def known_profiles() -> list[str]:
    """Names of the printer profiles in python-escpos' capabilities data."""
    return sorted(capabilities.CAPABILITIES["profiles"])


@dataclass(frozen=True)
class PrintTarget:
    """What the slip layout needs to know about the printer, resolved from its profile."""

    profile_name: str
    width_dots: int
    columns: int
    native_qr: bool
    cut_mode: Literal["FULL", "PART"] | None
    code_pages: dict[str, int] = field(hash=False)
    raster: bool = True  # prints GS v 0 raster images (lines in a script its code pages lack)

    def apply_media(self, profile: Any) -> None:
        """Give a python-escpos profile object a private copy of its data with our paper width.

        escpos' profiles share one data dict per class, and ``image()`` prints a warning to stdout
        on every call when the width is "Unknown"; so we copy the data and set the width.
        """
        key = (self.profile_name, self.width_dots)
        data = _MEDIA_DATA.get(key)
        if data is None:  # made once per profile and width: escpos only reads it
            data = copy.deepcopy(profile.profile_data)
            media = data.setdefault("media", {})
            width = media.setdefault("width", {})
            width["pixels"] = self.width_dots
            if not isinstance(media.get("dpi"), int):
                media["dpi"] = 180
            _MEDIA_DATA[key] = data
        profile.profile_data = data


# (profile name, width in dots) -> that profile's data with our paper width (`apply_media`).
_MEDIA_DATA: dict[tuple[str, int], dict[str, Any]] = {}


def target_for(profile: str | None = None, width_dots: int | None = None) -> PrintTarget:
    """Resolve a profile name (None = escpos' "default") and an optional paper width in dots."""
    name = profile or "default"
    profiles = capabilities.CAPABILITIES["profiles"]
    if name not in profiles:
        close = difflib.get_close_matches(name, list(profiles), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise PrinterConfigError(
            f"Unknown printer profile {name!r}.{hint} Known profiles: {', '.join(sorted(profiles))}"
        )
    data = profiles[name]
    features = data.get("features", {})
    if width_dots is None:
        pixels = data.get("media", {}).get("width", {}).get("pixels")
        width_dots = pixels if isinstance(pixels, int) and pixels > 0 else FALLBACK_WIDTH_DOTS
    if width_dots < 8 * CHAR_WIDTH_DOTS:
        raise PrinterConfigError(f"Paper width of {width_dots} dots is too narrow for a ticket")
    font_a = data.get("fonts", {}).get("0", {}).get("columns", 0)
    columns = min(font_a or width_dots // CHAR_WIDTH_DOTS, width_dots // CHAR_WIDTH_DOTS)
    cut_mode: Literal["FULL", "PART"] | None = None
    if features.get("paperFullCut"):
        cut_mode = "FULL"
    elif features.get("paperPartCut"):
        cut_mode = "PART"
    return PrintTarget(
        profile_name=name,
        width_dots=width_dots,
        columns=columns,
        native_qr=bool(features.get("qrCode")),
        cut_mode=cut_mode,
        code_pages=profile_code_pages(data.get("codePages", {})),
        raster=bool(features.get("bitImageRaster")),
    )


# -- the layout ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextLine:
    """One printed line: text as it will print (code page applied), bold, magnification."""

    text: str
    bold: bool = False
    width: int = 1
    height: int = 1


@dataclass(frozen=True)
class TextImage:
    """A line in a script the code page lacks (Arabic; Cyrillic on a Latin-only printer), drawn
    as a raster image by :mod:`printer.raster_text`: shaped and right-to-left where needed."""

    text: str
    bold: bool = False
    height: int = 1

    def image(self) -> Image.Image:
        """The line as the printer will print it (one pixel per dot)."""
        return raster_text.line_image(self.text, bold=self.bold, height=self.height)


@dataclass(frozen=True)
class Gap:
    """Blank lines."""

    lines: int = 1


@dataclass(frozen=True)
class QrBlock:
    """The QR code: its data, module size in dots, and whether the printer draws it."""

    data: str
    module_dots: int
    native: bool
    modules: int  # modules per side (version 4 = 33), as the qrcode library encodes it


Block = TextLine | TextImage | Gap | QrBlock


@dataclass(frozen=True)
class SlipLayout:
    """The slip laid out for one printer: the blocks, the code page, the target."""

    blocks: tuple[Block, ...]
    code_page: CodePage
    target: PrintTarget

    @property
    def qr(self) -> QrBlock:
        """The slip's QR block."""
        return next(b for b in self.blocks if isinstance(b, QrBlock))


def _qr_code(data: str, module_dots: int) -> Any:
    code = qrcode.QRCode(
        version=None,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=module_dots,
        border=0,
    )
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_modules(data: str) -> int:
    """Modules per side of the data's QR code (error correction M): the version only, without
    drawing the code and scoring its eight masks (that takes ~25 ms; this ~0.5 ms)."""
    code = qrcode.QRCode(version=None, error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(data)
    # The version depends only on each segment's mode and length (writing the bits to find it
    # costs ~1 ms): remembered per shape, so every ticket link of one length is counted once.
    shape = tuple((segment.mode, len(segment)) for segment in code.data_list)
    version = _QR_VERSIONS.get(shape)
    if version is None:
        version = _QR_VERSIONS[shape] = int(code.best_fit())
    return version * 4 + 17


_QR_VERSIONS: dict[tuple[tuple[int, int], ...], int] = {}


def qr_image(data: str, module_dots: int) -> Image.Image:
    """The QR code as a black-on-white image without border (error correction M)."""
    image: Image.Image = _qr_code(data, module_dots).make_image().get_image()
    return image


def plan(
    slip: TicketSlip,
    profile: str | None = None,
    qr_mode: QrMode = "auto",
    *,
    width_dots: int | None = None,
) -> SlipLayout:
    """Lay the slip out for a printer profile (the decisions shared by render() and preview)."""
    if qr_mode not in QR_MODES:
        raise ValueError(f"qr_mode must be one of {', '.join(QR_MODES)}, not {qr_mode!r}")
    target = target_for(profile, width_dots)
    if qr_mode == "native" and not target.native_qr:
        raise PrinterConfigError(
            f"Printer profile {target.profile_name!r} has no native QR code support; "
            "use QR mode 'auto' or 'image'"
        )
    page = choose_code_page(slip.all_texts(), target.code_pages)
    cols = target.columns

    def as_image(line: str) -> bool:
        # A line the code page would print as "???" is drawn instead, if the printer takes
        # raster images and (for Arabic) Pillow can shape it; else it is transliterated.
        if not (target.raster and page.loses_letters(line)):
            return False
        return raster_text.can_shape() or not raster_text.needs_shaping(line)

    blocks: list[Block] = []

    def add(text: str, *, bold: bool = False, width: int = 1, height: int = 1) -> None:
        for raw in clean_text_lines(text):
            if as_image(raw):
                parts = raster_text.wrap(raw, target.width_dots, bold=bold, height=height)
                blocks.extend(TextImage(part, bold, height) for part in parts)
                continue
            printable = page.transliterate(raw)
            wrapped = wrap_balanced(printable, max(1, cols // width))
            blocks.extend(TextLine(part, bold, width, height) for part in wrapped)

    for header in slip.header_lines:
        add(header, bold=True)
    blocks.append(Gap(1))
    if slip.texts.number_caption:
        add(slip.texts.number_caption)
    label = page.transliterate(clean_text(slip.label).strip())
    scale = max(1, min(LABEL_SCALE, cols // len(label)))
    add(label, bold=True, width=scale, height=scale)
    add(slip.product, bold=True, height=2)
    add(slip.stop)
    add(slip.issued_line())
    if slip.people_ahead is not None:
        add(slip.texts.people_ahead(slip.people_ahead), bold=True)
    for line in slip.lines:
        add(line.text, bold=line.bold, height=2 if line.large else 1)

    native = qr_mode == "native" or (qr_mode == "auto" and target.native_qr)
    modules = qr_modules(slip.qr_url)
    module_dots = max(1, min(QR_MODULE_DOTS, target.width_dots // (modules + 8)))
    blocks.append(Gap(QR_QUIET_LINES))
    blocks.append(QrBlock(slip.qr_url, module_dots, native, modules))
    blocks.append(Gap(QR_QUIET_LINES))
    for footer in slip.footer_lines:
        add(footer)
    return SlipLayout(tuple(blocks), page, target)


def wrap_balanced(text: str, columns: int) -> list[str]:
    """Wrap at word boundaries; avoid a lone short last line ("..., Wisselstraat" / "8").

    When the last line would be shorter than a quarter of the width, try narrower widths (down to
    two thirds) that give the same number of lines and a fuller last line.
    """
    return list(_wrap_balanced(text, columns))


@lru_cache(maxsize=2048)  # a slip's fixed lines come back on every slip
def _wrap_balanced(text: str, columns: int) -> tuple[str, ...]:
    lines = textwrap.wrap(text, columns, break_on_hyphens=False) or [""]
    if len(lines) < 2 or len(lines[-1]) * 4 >= columns:
        return tuple(lines)
    for narrower in range(columns - 1, max(1, columns * 2 // 3) - 1, -1):
        candidate = textwrap.wrap(text, narrower, break_on_hyphens=False)
        if len(candidate) == len(lines) and len(candidate[-1]) * 4 >= columns:
            return tuple(candidate)
    return tuple(lines)


def clean_text_lines(text: str) -> list[str]:
    r"""Split a field on CR/LF line breaks, then drop control characters from each line.

    (Not str.splitlines(): that also splits on \x1c-\x1e, \x0b, \x0c and \x85.)
    """
    return [clean_text(part).strip() for part in _LINE_BREAK.split(text)] or [""]


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


# -- ESC/POS -------------------------------------------------------------------------------------


def render(
    slip: TicketSlip,
    profile: str | None = None,
    qr_mode: QrMode = "auto",
    *,
    width_dots: int | None = None,
) -> bytes:
    """The slip as one ESC/POS job for the printer ``profile`` (python-escpos profile name).

    ``qr_mode``: "native" (the printer draws the code: ~100 bytes), "image" (a GS v 0 raster:
    a few KB, for printers without QR support) or "auto" (native when the profile has it).
    ``width_dots`` overrides the profile's paper width (needed when the profile does not know it).
    """
    layout = plan(slip, profile, qr_mode, width_dots=width_dots)
    return encode_layout(layout)


def encode_layout(layout: SlipLayout) -> bytes:
    """ESC/POS bytes for a planned slip (see :func:`render`)."""
    target, page = layout.target, layout.code_page
    magic: dict[str, Any] = {}
    if page is not ASCII:
        # Tell escpos' MagicEncode which code page the printer is in, so that nothing it writes
        # switches pages behind our back. We emit ESC t ourselves, with the lowest number.
        magic = {"encoding": page.name, "disabled": True}
    dummy = printers.Dummy(profile=target.profile_name, magic_encode_args=magic)
    target.apply_media(dummy.profile)
    dummy.hw("INIT")
    dummy._raw(constants.ESC + b"R\x00")
    if page.number is not None:
        dummy._raw(constants.CODEPAGE_CHANGE + bytes((page.number,)))
    dummy.set(align="center")
    bold, size = False, (1, 1)
    for block in layout.blocks:
        if isinstance(block, TextLine):
            if block.bold != bold:
                bold = block.bold
                dummy.set(bold=bold)
            if (block.width, block.height) != size:
                size = (block.width, block.height)
                dummy.set(custom_size=True, width=block.width, height=block.height)
            dummy._raw(page.encode(block.text) + b"\n")
        elif isinstance(block, Gap):
            dummy._raw(b"\n" * block.lines)
        elif isinstance(block, TextImage):
            if bold:
                bold = False
                dummy.set(bold=False)
            _raster(dummy, block.image(), target.width_dots)
        else:
            if bold:
                bold = False
                dummy.set(bold=False)
            if size != (1, 1):
                size = (1, 1)
                dummy.set(custom_size=True, width=1, height=1)
            _qr(dummy, block, target.width_dots)
    if target.cut_mode is not None:
        dummy.cut(mode=target.cut_mode)
    else:
        # escpos' cut() would quietly send only a feed on such a profile: say what we mean.
        dummy.print_and_feed(TEAR_FEED_LINES)
    output: bytes = dummy.output
    return output


def _qr(dummy: Any, block: QrBlock, width_dots: int) -> None:
    if block.native:
        # Centred by ESC a 1 (set above); escpos' qr(center=True) is not implemented for native.
        dummy.qr(
            block.data,
            ec=constants.QR_ECLEVEL_M,
            size=block.module_dots,
            model=constants.QR_MODEL_2,
            native=True,
        )
        return
    _raster(dummy, qr_image(block.data, block.module_dots), width_dots)


def _raster(dummy: Any, image: Image.Image, width_dots: int) -> None:
    """Print ``image`` centred as a GS v 0 raster."""
    if image.width > width_dots:  # one word wider than the paper: shrink rather than garble
        image = image.resize((width_dots, max(1, image.height * width_dots // image.width)))
    # Centre by padding on the left only: the same on every printer, whether or not it applies
    # ESC a to raster images, and no bytes spent on white to the right of the image.
    left = max(0, (width_dots - image.width) // 2)
    canvas = Image.new("1", (left + image.width, image.height), 1)
    canvas.paste(image, (left, 0))
    dummy.set(align="left")
    dummy.image(canvas, impl="bitImageRaster", center=False)
    dummy.set(align="center")


def describe(layout: SlipLayout) -> Sequence[str]:
    """The slip's printed text lines (for logs and tests)."""
    return [b.text for b in layout.blocks if isinstance(b, TextLine | TextImage)]
