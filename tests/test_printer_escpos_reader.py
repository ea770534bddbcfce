"""A small ESC/POS reader for the printer tests: bytes back into text lines, QR payloads, images.

It knows exactly the commands printer.slip emits and fails on anything else, which is a test of
its own: no stray or unknown command ever reaches the printer. Raster images (GS v 0) are decoded
into Pillow images; native QR codes (GS ( k, cn=49) give their stored payload and settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import zxingcpp
from PIL import Image

from printer._escpos import capabilities

ESC, GS, LF = 0x1B, 0x1D, 0x0A


@dataclass
class NativeQr:
    data: bytes = b""
    module: int | None = None
    ec: int | None = None
    model: int | None = None
    printed: bool = False


@dataclass
class Printout:
    """What a job would print, in the order it would print."""

    lines: list[str] = field(default_factory=list)
    styled: list[tuple[str, bool, int, int, int]] = field(default_factory=list)  # text,b,w,h,align
    code_pages: list[int] = field(default_factory=list)
    images: list[Image.Image] = field(default_factory=list)
    qrs: list[NativeQr] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    cut: str | None = None
    feeds: list[int] = field(default_factory=list)


def codec_for(profile: str, number: int) -> str:
    """The Python codec of ESC t ``number`` in a python-escpos profile."""
    name = capabilities.CAPABILITIES["profiles"][profile]["codePages"][str(number)]
    return capabilities.CAPABILITIES["encodings"][name]["python_encode"]


def raster_to_image(width_bytes: int, height: int, data: bytes) -> Image.Image:
    """GS v 0 raster data (1 bit per dot, MSB left, 1 = black) -> a black-on-white image."""
    assert len(data) == width_bytes * height
    image = Image.frombytes("1", (width_bytes * 8, height), data)
    return Image.eval(image.convert("L"), lambda v: 255 - v)


def read(job: bytes, profile: str) -> Printout:
    """Parse a job; text is decoded with the code page selected by ESC t (CP437 before that)."""
    out = Printout()
    codec = "cp437"
    bold, size, align = False, (1, 1), 0
    line = bytearray()
    i = 0

    def flush_line() -> None:
        text = line.decode(codec)
        out.lines.append(text)
        out.styled.append((text, bold, size[0], size[1], align))
        line.clear()

    while i < len(job):
        b = job[i]
        if b == LF:
            flush_line()
            i += 1
        elif b == ESC:
            op = job[i + 1]
            if op == ord("@"):
                out.commands.append("init")
                i += 2
            elif op in b"RtaEd":
                n = job[i + 2]
                name = {"R": "charset", "t": "codepage", "a": "align", "E": "bold", "d": "feed"}
                out.commands.append(f"{name[chr(op)]} {n}")
                if op == ord("t"):
                    codec = codec_for(profile, n)
                    out.code_pages.append(n)
                elif op == ord("a"):
                    align = n
                elif op == ord("E"):
                    bold = bool(n)
                elif op == ord("d"):
                    out.feeds.append(n)
                i += 3
            else:
                raise AssertionError(f"unexpected ESC {op:#x} at {i}")
        elif b == GS:
            op = job[i + 1]
            if op == ord("!"):
                n = job[i + 2]
                size = ((n >> 4) + 1, (n & 0x0F) + 1)
                out.commands.append(f"size {size[0]}x{size[1]}")
                i += 3
            elif op == ord("V"):
                m = job[i + 2]
                out.cut = {0: "full", 1: "partial"}[m]
                out.commands.append(f"cut {out.cut}")
                i += 3
            elif op == ord("(") and job[i + 2] == ord("k"):
                length = job[i + 3] | job[i + 4] << 8
                body = job[i + 5 : i + 5 + length]
                cn, fn = body[0], body[1]
                assert cn == 49, "only QR codes (cn=49)"
                if not out.qrs or out.qrs[-1].printed:
                    out.qrs.append(NativeQr())
                qr = out.qrs[-1]
                if fn == 65:
                    qr.model = body[2] - 48
                elif fn == 67:
                    qr.module = body[2]
                elif fn == 69:
                    qr.ec = body[2] - 48
                elif fn == 80:
                    assert body[2] == 48
                    qr.data = bytes(body[3:])
                elif fn == 81:
                    qr.printed = True
                else:
                    raise AssertionError(f"unexpected GS ( k fn {fn}")
                out.commands.append(f"qr fn{fn}")
                i += 5 + length
            elif op == ord("v") and job[i + 2] == ord("0"):
                width_bytes = job[i + 4] | job[i + 5] << 8
                height = job[i + 6] | job[i + 7] << 8
                start = i + 8
                data = job[start : start + width_bytes * height]
                out.images.append(raster_to_image(width_bytes, height, data))
                out.commands.append(f"raster {width_bytes * 8}x{height}")
                i = start + width_bytes * height
            else:
                raise AssertionError(f"unexpected GS {op:#x} at {i}")
        elif b < 0x20 or b == 0x7F:
            raise AssertionError(f"unexpected control byte {b:#x} at {i}")
        else:
            line.append(b)
            i += 1
    assert not line, f"text without a line feed at the end: {bytes(line)!r}"
    return out


def decode_qr(image: Image.Image, quiet: int = 24) -> str:
    """Decode the one QR code in ``image`` with zxing-cpp (a white border is added first)."""
    gray = image.convert("L")
    canvas = Image.new("L", (gray.width + 2 * quiet, gray.height + 2 * quiet), 255)
    canvas.paste(gray, (quiet, quiet))
    found = zxingcpp.read_barcodes(canvas, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1, f"expected one QR code, found {len(found)}"
    return found[0].text


# -- tests of the reader itself ------------------------------------------------------------------


def test_reader_decodes_a_raster_image_pixel_for_pixel():
    image = raster_to_image(2, 2, bytes([0b10000000, 0b00000001, 0, 0xFF]))
    assert image.size == (16, 2)
    assert image.getpixel((0, 0)) == 0 and image.getpixel((1, 0)) == 255
    assert image.getpixel((15, 0)) == 0 and image.getpixel((14, 0)) == 255
    assert all(image.getpixel((x, 1)) == (0 if x >= 8 else 255) for x in range(16))


def test_reader_rejects_unknown_commands():
    with pytest.raises(AssertionError, match="unexpected ESC"):
        read(b"\x1b@\x1bZ\x00", "TM-T88V")
    with pytest.raises(AssertionError, match="control byte"):
        read(b"\x1b@\x07\n", "TM-T88V")


def test_reader_follows_the_code_page():
    out = read(b"\x1b@\x1bt\x13\xd5 \x89\n\x1bt\x00\x89\n", "TM-T88V")
    assert out.lines == ["€ ë", "ë"]
    assert out.code_pages == [19, 0]
