"""The slip preview PNG, and importing printer/ without python-escpos' import side effects."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from printer import plan, render_png
from printer.preview import draw_layout
from printer.slip import QrBlock, TextLine
from tests.test_printer_slip import make_slip

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("profile", "width_dots", "expected"),
    [
        ("TM-T88V", None, 512),
        ("TM-T20II", None, 576),
        ("POS-5890", None, 384),
        (None, None, 384),
        (None, 576, 576),
    ],
)
def test_preview_is_one_pixel_per_dot_at_the_profile_width(profile, width_dots, expected):
    png = render_png(make_slip(), width_dots, profile=profile)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as image:
        assert image.width == expected
        assert 500 < image.height < 1200


def test_preview_draws_the_same_layout_as_the_printer():
    layout = plan(make_slip(), "TM-T88V")
    image = draw_layout(layout).convert("L")
    qr = layout.qr
    assert isinstance(qr, QrBlock) and qr.native
    # The QR code is centred, as wide as the printer will draw it (modules x module size).
    rows = [y for y in range(image.height) if image.getpixel((256, y)) == 0]
    assert rows, "nothing drawn in the middle column"
    ink = ImageOps.invert(image).getbbox()
    assert ink is not None and ink[2] - ink[0] <= 512
    label = next(b for b in layout.blocks if isinstance(b, TextLine) and b.text == "A012")
    assert (label.width, label.height) == (4, 4)


def test_import_has_no_logging_or_temp_folder_side_effects(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ESCPOS_CAPABILITIES_PICKLE_DIR"}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    code = (
        "import logging, os, sys, printer\n"
        "assert 'escpos' not in sys.modules  # imported on first use\n"
        "printer.render\n"
        "assert 'escpos.printer' in sys.modules\n"
        "assert logging.getLogger().handlers == [], logging.getLogger().handlers\n"
        "print(os.environ['ESCPOS_CAPABILITIES_PICKLE_DIR'])\n"
    )
    for _ in range(2):  # the second start reads the pickle the first one wrote
        out = subprocess.run(
            [sys.executable, "-W", "error", "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        folder = Path(out.stdout.strip())
        assert folder == tmp_path / "cache" / "popup-loket" / "escpos"
        assert [p.suffix for p in folder.iterdir()] == [".pickle"]
        assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert list((tmp_path / "tmp").iterdir()) == []  # no mkdtemp() folder per process


def test_plain_escpos_import_does_have_those_side_effects(tmp_path):
    """What printer/_escpos.py works around (python-escpos 3.1); if this fails, escpos changed."""
    env = {k: v for k, v in os.environ.items() if k != "ESCPOS_CAPABILITIES_PICKLE_DIR"}
    env["TMPDIR"] = str(tmp_path)
    code = "import logging, escpos.printer; print(len(logging.getLogger().handlers))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "1"
    assert len(list(tmp_path.iterdir())) == 1  # a fresh mkdtemp() folder with the pickle
