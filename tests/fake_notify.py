"""A fake NotifyNL (GOV.UK Notify) API on loopback, for the real `notifications-python-client`.

It checks what the real service checks first: a Bearer JWT signed HS256 with the API key's
secret, whose issuer is the key's service id and whose ``iat`` is recent. It records every
accepted SMS and e-mail, and can be told to answer with an error status for a while.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

from tests.loopback import start_server, stop_server

PATHS = {"/v2/notifications/sms": "sms", "/v2/notifications/email": "email"}


@dataclass
class Sent:
    """One message the fake accepted."""

    channel: str
    to: str
    template_id: str
    personalisation: dict[str, Any]
    reference: str | None

    @property
    def text(self) -> str:
        return str(self.personalisation.get("message", ""))


@dataclass
class FakeNotify:
    """Start with `FakeNotify.start()`; `api_key` is a key this fake accepts."""

    service_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    secret: str = field(default_factory=lambda: str(uuid.uuid4()))
    sent: list[Sent] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # why requests were refused
    fail_with: list[int] = field(default_factory=list)  # statuses to answer next, in order
    requests: int = 0
    # Set to an Event to make every request wait until it is set (a slow Notify, for 10 s at
    # most); the test sets it when it has seen what it wanted meanwhile.
    hold: threading.Event | None = None
    server: ThreadingHTTPServer | None = None
    changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def api_key(self) -> str:
        return f"loket_test-{self.service_id}-{self.secret}"

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @classmethod
    def start(cls) -> FakeNotify:
        fake = cls()
        fake.server = start_server(_handler(fake))
        return fake

    def close(self) -> None:
        stop_server(self.server)

    def wait_for(self, count: int, timeout: float = 10) -> list[Sent]:
        """Wait until `count` messages were accepted (or fail after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.sent) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"fake Notify got {len(self.sent)} of {count} messages")
                self.changed.wait(left)
        return list(self.sent)

    def wait_for_requests(self, count: int, timeout: float = 10) -> None:
        """Wait until `count` requests arrived (answered or not)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while self.requests < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"fake Notify got {self.requests} of {count} requests")
                self.changed.wait(left)

    def check_token(self, header: str | None) -> str | None:
        """Why the Authorization header is refused, or None when it is good."""
        if not header or not header.startswith("Bearer "):
            return "no bearer token"
        token = header.removeprefix("Bearer ")
        if jwt.get_unverified_header(token).get("alg") != "HS256":
            return "not HS256"
        try:
            claims = jwt.decode(token, self.secret, algorithms=["HS256"])
        except jwt.InvalidTokenError as error:
            return f"bad signature: {error}"
        if claims.get("iss") != self.service_id:
            return "wrong issuer"
        if abs(time.time() - float(claims.get("iat", 0))) > 30:
            return "iat too old"
        return None


def _handler(fake: FakeNotify) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with fake.changed:
                fake.requests += 1
                failing = fake.fail_with.pop(0) if fake.fail_with else None
                fake.changed.notify_all()
            if fake.hold is not None:
                fake.hold.wait(10)
            if failing is not None:
                self._answer(failing, {"errors": [{"error": "Fake", "message": "told to fail"}]})
                return
            why = fake.check_token(self.headers.get("Authorization"))
            channel = PATHS.get(self.path)
            if why or channel is None:
                with fake.changed:
                    fake.refused.append(why or f"unknown path {self.path}")
                status = 403 if why else 404
                self._answer(status, {"errors": [{"error": "AuthError", "message": why}]})
                return
            to = body.get("phone_number") if channel == "sms" else body.get("email_address")
            sent = Sent(
                channel,
                str(to),
                str(body.get("template_id")),
                dict(body.get("personalisation") or {}),
                body.get("reference"),
            )
            with fake.changed:
                fake.sent.append(sent)
                fake.changed.notify_all()
            self._answer(201, {"id": str(uuid.uuid4()), "reference": sent.reference})

    return Handler
