"""Absolute links for QR codes and pairing URLs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for

# Where links point when there is neither a request nor PUBLIC_BASE_URL (a worker's pass).
FALLBACK_BASE = "http://127.0.0.1:5000"


def public_url(endpoint: str, **values: Any) -> str:
    """An absolute URL: on PUBLIC_BASE_URL when set (a phone must reach it), else this host.

    Outside a request (the print worker re-rendering a slip after a crash) the link is built
    from PUBLIC_BASE_URL alone, without Flask's request-bound `url_for`.
    """
    base = current_app.config.get("PUBLIC_BASE_URL")
    if has_request_context():
        if base:
            return base.rstrip("/") + url_for(endpoint, **values)
        return url_for(endpoint, _external=True, **values)
    parts = urlsplit(base or FALLBACK_BASE)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path.rstrip("/") or "/", url_scheme=parts.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
