"""Security headers on every response: a strict CSP (no inline script or style), no framing,
no referrer (status URLs carry their token), no sniffing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "media-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def init_app(app: Flask) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        if app.config["HTTPS"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if response.mimetype == "application/json" or response.status_code >= 400:
            headers.setdefault("Cache-Control", "no-store")
        return response


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def without_websocket_compression(wsgi_app: WSGIApp) -> WSGIApp:
    """Decline permessage-deflate: board payloads are ~0.5 KB, and compressing each frame per
    client doubled the server's CPU and memory per connected board (bench/issue_call.py)."""

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return wsgi_app(environ, start_response)

    return middleware
