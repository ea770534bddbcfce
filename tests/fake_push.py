"""A push service on loopback: takes what `pywebpush` posts, checks the VAPID JWT (ES256, with
the public key the request names) and decrypts the payload (aes128gcm) with the subscription's
private key, as a browser would.

`FakePush.subscription()` makes a subscription the way a browser does (a P-256 key pair and a
16-byte auth secret) and returns its JSON, as ``PushSubscription.toJSON()`` gives it.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.loopback import start_server, stop_server


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    """One push the fake accepted, decrypted."""

    path: str
    payload: dict[str, Any]
    vapid_key: str  # the sender's public key (k=)
    claims: dict[str, Any]
    ttl: str | None


@dataclass
class _Subscriber:
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes


@dataclass
class FakePush:
    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    status: int = 201  # what to answer to a good request (410: the subscription is gone)
    server: ThreadingHTTPServer | None = None
    subscribers: dict[str, _Subscriber] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)

    @classmethod
    def start(cls) -> FakePush:
        fake = cls()
        fake.server = start_server(_handler(fake))
        return fake

    def close(self) -> None:
        stop_server(self.server)

    @property
    def origin(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def subscription(self) -> dict[str, Any]:
        """A new browser subscription at this push service."""
        path = f"/push/{b64url(os.urandom(9))}"
        key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        self.subscribers[path] = _Subscriber(key, auth)
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.origin + path,
            "expirationTime": None,
            "keys": {"p256dh": b64url(public), "auth": b64url(auth)},
        }

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"fake push got {len(self.received)} of {count}")
                self.changed.wait(left)
        return list(self.received)

    def check(self, path: str, headers: Any, body: bytes) -> Received:
        """Verify the VAPID header and decrypt the body; raises AssertionError."""
        subscriber = self.subscribers.get(path)
        assert subscriber is not None, "unknown subscription"
        auth = headers.get("Authorization", "")
        scheme, _space, params = auth.partition(" ")
        assert scheme.lower() == "vapid", f"not a VAPID header: {auth[:20]}"
        parts = dict(item.split("=", 1) for item in params.replace(" ", "").split(","))
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
        claims = jwt.decode(parts["t"], public, algorithms=["ES256"], audience=self.origin)
        assert claims["exp"] > time.time(), "expired VAPID token"
        assert str(claims.get("sub", "")).startswith("mailto:"), "no mailto: subject"
        assert headers.get("Content-Encoding") == "aes128gcm"
        plain = http_ece.decrypt(
            body,
            private_key=subscriber.private_key,
            auth_secret=subscriber.auth,
            version="aes128gcm",
        )
        return Received(path, json.loads(plain), parts["k"], claims, headers.get("TTL"))


def _handler(fake: FakePush) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                received = fake.check(self.path, self.headers, body)
            except Exception as error:  # what a real push service would refuse
                with fake.changed:
                    fake.refused.append(f"{type(error).__name__}: {error}")
                self.send_response(400)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = fake.status
            if status < 300:
                with fake.changed:
                    fake.received.append(received)
                    fake.changed.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler
