"""Round trip: render a slip, read the ESC/POS stream back, and scan its QR code with zxing-cpp.

Image mode: the GS v 0 raster is decoded into an image and scanned as printed. Native mode: the
printer would draw the code itself, so we take the payload from the GS ( k store command and draw
it the way the printer is told to (model 2, module size, error correction) with ``qrcode``.
"""

from __future__ import annotations

import pytest
import qrcode
from PIL import Image

from printer import plan, render, render_png
from tests.test_printer_escpos_reader import decode_qr, read
from tests.test_printer_slip import URL, make_slip

EC = {
    0: qrcode.constants.ERROR_CORRECT_L,
    1: qrcode.constants.ERROR_CORRECT_M,
    2: qrcode.constants.ERROR_CORRECT_Q,
    3: qrcode.constants.ERROR_CORRECT_H,
}


def draw_native_qr(data: bytes, module: int, ec: int) -> Image.Image:
    code = qrcode.QRCode(error_correction=EC[ec], box_size=module, border=0)
    code.add_data(data)
    code.make(fit=True)
    return code.make_image().get_image()


@pytest.mark.parametrize("profile", ["TM-T88V", "TM-T20II", "default"])
def test_native_qr_payload_scans_back_to_the_status_url(profile):
    slip = make_slip(qr_url=URL)
    printed = read(render(slip, profile, "native"), profile)
    assert len(printed.qrs) == 1 and not printed.images
    qr = printed.qrs[0]
    assert (qr.model, qr.module, qr.ec, qr.printed) == (2, 6, 1, True)
    assert decode_qr(draw_native_qr(qr.data, qr.module, qr.ec)) == URL
    # centred: ESC a 1 is in force when the code prints
    assert printed.commands[printed.commands.index("qr fn65") - 1] in ("align 1", "bold 0")
    assert "align 1" in printed.commands[: printed.commands.index("qr fn65")]


@pytest.mark.parametrize(
    ("profile", "mode"),
    [("TM-T88V", "image"), ("TM-T20II", "image"), ("POS-5890", "auto"), ("simple", "auto")],
)
def test_image_qr_scans_back_from_the_raster_as_printed(profile, mode):
    url = "https://loket.hoorn.nl/t/" + "Zz9" * 20  # a longer token: a bigger code
    job = render(make_slip(qr_url=url), profile, mode)
    printed = read(job, profile)
    assert len(printed.images) == 1 and not printed.qrs
    image = printed.images[0]
    assert image.width <= plan(make_slip(), profile).target.width_dots
    assert decode_qr(image) == url


def test_preview_png_scans_back_too(tmp_path):
    png = tmp_path / "slip.png"
    png.write_bytes(render_png(make_slip(), profile="TM-T88V"))
    with Image.open(png) as image:
        assert image.width == 512
        assert decode_qr(image.convert("L"), quiet=0) == URL
