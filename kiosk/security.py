"""Security headers on every response: a strict CSP (no inline script or style), no framing,
no referrer to other sites (status URLs carry their token), no sniffing;
``Cache-Control: no-store`` on a resident's private pages (their URL is the key to them).

Behind a reverse proxy (`behind_proxies`): the client's address and scheme come from the
proxy's ``X-Forwarded-For`` / ``-Proto`` only when ``TRUSTED_PROXIES`` says which proxies to
believe; unset, those headers are ignored (anyone can send them). Rate limits and the event log
use the address that results.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

# A resident's private pages and all that hangs off them (live status, QR code, calendar file):
# the token in their URL is the key, so no browser or proxy keeps a copy.
PRIVATE_RULES = ("/t/<token>", "/a/<token>")

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
        # Status URLs carry their token: never sent to another site. Our own pages do get it:
        # over HTTPS Flask-WTF refuses a form without a same-site Referer (WTF_CSRF_SSL_STRICT),
        # so "no-referrer" made every form fail behind TLS (found by
        # tests/browser/test_production_drills.py).
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        if app.config["HTTPS"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if response.mimetype == "application/json" or response.status_code >= 400:
            headers.setdefault("Cache-Control", "no-store")
        rule = request.url_rule
        if rule is not None and rule.rule.startswith(PRIVATE_RULES):
            headers["Cache-Control"] = "no-store"
        return response


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def without_websocket_compression(wsgi_app: WSGIApp) -> WSGIApp:
    """Decline permessage-deflate: board payloads are ~0.5 KB, and compressing each frame per
    client doubled the server's CPU and memory per connected board (bench/issue_call.py)."""

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return wsgi_app(environ, start_response)

    return middleware


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted_proxies(setting: Any) -> int | tuple[Network, ...]:
    """``TRUSTED_PROXIES``: a count of proxies in front (``1``) or their networks
    (``"10.0.0.0/8,192.168.1.5"`` or a list). None, 0 or "" trust nobody (0)."""
    if setting is None or setting == "" or isinstance(setting, bool):
        return 0
    if isinstance(setting, int):
        if setting < 0:
            raise ValueError("TRUSTED_PROXIES must not be negative")
        return setting
    if isinstance(setting, str):
        if setting.strip().isdigit():
            return int(setting)
        setting = [part for part in setting.split(",") if part.strip()]
    return tuple(ipaddress.ip_network(str(part).strip(), strict=False) for part in setting)


def behind_proxies(wsgi_app: WSGIApp, setting: Any) -> WSGIApp:
    """Believe ``X-Forwarded-For`` and ``X-Forwarded-Proto`` from the proxies ``setting`` names
    (see `parse_trusted_proxies`): a count uses Werkzeug's ProxyFix; networks use
    `TrustedNetworks`. Trusting nobody returns `wsgi_app` unchanged."""
    trusted = parse_trusted_proxies(setting)
    if isinstance(trusted, int):
        if trusted == 0:
            return wsgi_app
        # The scheme is what the nearest proxy says (it overwrites the header, as nginx does).
        return ProxyFix(wsgi_app, x_for=trusted, x_proto=1)
    return TrustedNetworks(wsgi_app, trusted) if trusted else wsgi_app


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class TrustedNetworks:
    """ProxyFix for proxies known by network rather than by count: walking
    ``X-Forwarded-For`` from the right, every hop from a trusted network is a proxy and the
    first one that is not is the client (what is not an IP address ends the walk). A request
    that does not come from a trusted network is taken as it is."""

    def __init__(self, wsgi_app: WSGIApp, networks: tuple[Network, ...]) -> None:
        self.wsgi_app = wsgi_app
        self.networks = networks

    def trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        peer = environ.get("REMOTE_ADDR", "")
        if self.trusted(peer):
            hops = [h.strip() for h in environ.get("HTTP_X_FORWARDED_FOR", "").split(",")]
            client = peer
            for hop in reversed([h for h in hops if h]):
                if not _is_address(hop):
                    break  # garbage in the header: the last proxy is all we know
                client = hop
                if not self.trusted(hop):
                    break
            environ["werkzeug.proxy_fix.orig_remote_addr"] = peer
            environ["REMOTE_ADDR"] = client
            proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                environ["wsgi.url_scheme"] = proto
        return self.wsgi_app(environ, start_response)
