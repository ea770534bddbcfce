"""QR codes as SVG responses: the ticket, appointment and tour pages show them (sharp at any
size, no image library needed in the browser).

qrcode's SVG writer (with xml.etree, ~0.4 MB) is imported on the first QR asked for, not with
the views that import this module (tests/test_architecture.py holds that line).
"""

from __future__ import annotations

import io

from flask import Response


def qr_svg(url: str) -> Response:
    """A QR code as SVG (sharp at any size, no image library)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(
        url,
        image_factory=qrcode.image.svg.SvgPathImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=4,
    )
    out = io.BytesIO()
    image.save(out)
    response = Response(out.getvalue(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=3600"
    # A link's language may come from the browser's session (kiosk/urls.requested_language).
    response.vary.add("Cookie")
    return response
