"""Messages to residents inside the app: which channels are offered, the VAPID keys, and the
sender that `loket run` starts (kiosk/services/messages has the rules, kiosk/notify/ the
transports).

    status page, API   -> MessageService (kiosk.factories.message_service)
    desk's click       -> QueueService step -> Outbox rows (same transaction)
    `loket run`        -> start_sender(app): OutboxSender.run_forever in a background task
                          (a greenlet under gevent: the HTTP calls of the transports go through
                          monkey-patched sockets, so a slow NotifyNL never stalls the server)

Offered channels: SMS with ``NOTIFY_API_KEY`` and ``NOTIFY_SMS_TEMPLATE``, e-mail with the key
and ``NOTIFY_EMAIL_TEMPLATE``, push unless ``NOTIFY_PUSH`` is false (its keys are made on first
use in the instance folder).

Each transport is built on its first message, not when `loket run` starts the sender: the push
transport loads py_vapid and cryptography (~8 MB), NotifyNL's client ~9 MB, and most processes
send no message for hours (tests/test_architecture.py holds that line).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from kiosk.models import Channel
from kiosk.notify import NotifySender, PushSender, VapidKeys
from kiosk.services.messages import MessageTexts, OutboxSender

log = logging.getLogger(__name__)


def _app(app: Flask | None) -> Flask:
    return app or current_app._get_current_object()  # type: ignore[attr-defined]


def offered_channels(app: Flask | None = None) -> frozenset[Channel]:
    """The channels this installation can send."""
    config = _app(app).config
    offered: set[Channel] = set()
    if config.get("NOTIFY_API_KEY"):
        if config.get("NOTIFY_SMS_TEMPLATE"):
            offered.add(Channel.SMS)
        if config.get("NOTIFY_EMAIL_TEMPLATE"):
            offered.add(Channel.EMAIL)
    if config.get("NOTIFY_PUSH"):
        offered.add(Channel.PUSH)
    return frozenset(offered)


def vapid_keys(app: Flask | None = None) -> VapidKeys | None:
    """The app's VAPID keys (made in the instance folder on first use); None without push."""
    flask_app = _app(app)
    if not flask_app.config.get("NOTIFY_PUSH"):
        return None
    keys = flask_app.extensions.get("loket.vapid")
    if keys is None:
        keys = VapidKeys.load_or_create(Path(flask_app.instance_path))
        flask_app.extensions["loket.vapid"] = keys
    return keys


def message_texts(app: Flask | None = None) -> MessageTexts:
    """The messages' texts, read from the app's translation catalogues."""
    flask_app = _app(app)
    texts = flask_app.extensions.get("loket.message_texts")
    if texts is None:
        folders = str(flask_app.config.get("BABEL_TRANSLATION_DIRECTORIES") or "")
        texts = MessageTexts(folders.split(";")[0] or None)
        flask_app.extensions["loket.message_texts"] = texts
    return texts


Send = Callable[[str, str], None]


def on_first_use(make: Callable[[], Send]) -> Send:
    """A transport ``(address, text) -> None`` that `make()` builds on the first message (and
    again on the next if building failed: that failure counts as the message's, as a failed send
    does)."""
    made: list[Send] = []

    def send(address: str, text: str) -> None:
        if not made:
            made.append(make())
        made[0](address, text)

    return send


def transports(app: Flask) -> dict[Channel, Send]:
    """One send callable per offered channel: ``(address, text) -> None``, each building its
    client on first use (see the module docstring)."""
    config = app.config
    offered = offered_channels(app)
    timeout = float(config["NOTIFY_TIMEOUT_SECONDS"])
    found: dict[Channel, Send] = {}
    notify: list[NotifySender] = []  # one client (one HTTP session) for SMS and e-mail

    def notify_client() -> NotifySender:
        if not notify:
            notify.append(
                NotifySender(
                    str(config["NOTIFY_API_KEY"]),
                    base_url=str(config["NOTIFY_BASE_URL"]),
                    sms_template=config.get("NOTIFY_SMS_TEMPLATE"),
                    email_template=config.get("NOTIFY_EMAIL_TEMPLATE"),
                    timeout=timeout,
                )
            )
        return notify[0]

    if offered & {Channel.SMS, Channel.EMAIL}:
        check_key_shape(str(config["NOTIFY_API_KEY"]))  # a bad key stops the start, as before
    if Channel.SMS in offered:
        found[Channel.SMS] = on_first_use(lambda: notify_client().send_sms)
    if Channel.EMAIL in offered:
        found[Channel.EMAIL] = on_first_use(lambda: notify_client().send_email)
    if Channel.PUSH in offered:

        def push_send() -> Send:
            keys = vapid_keys(app)  # made in the instance folder if there are none yet
            if keys is None:  # NOTIFY_PUSH switched off since: no channel after all
                raise RuntimeError("push is not offered (NOTIFY_PUSH is off)")
            push = PushSender(keys, subject=str(config["VAPID_SUBJECT"]), timeout=timeout)
            return lambda address, text: push.send(address, json.loads(text))

        found[Channel.PUSH] = on_first_use(push_send)
    return found


def check_key_shape(key: str) -> None:
    """A NotifyNL API key is ``{name}-{service id}-{secret}``, both ids UUIDs: a key of another
    shape is refused (ValueError) when `loket run` starts, without loading the client library.
    Whether NotifyNL accepts it, `loket doctor` asks."""
    name, service, secret = key[:-74], key[-73:-37], key[-36:]
    try:
        uuid.UUID(service), uuid.UUID(secret)
        shaped = bool(name) and key[-74] == "-" and key[-37] == "-"
    except (ValueError, IndexError):
        shaped = False
    if not shaped:
        raise ValueError(
            "LOKET_NOTIFY_API_KEY does not look like an API key ({name}-{service id}-{secret}):"
            " copy the whole key from NotifyNL's API keys page"
        )


def build_sender(app: Flask) -> OutboxSender:
    """The outbox's sender for this app (its own sessions, clock and transports)."""
    config = app.config
    return OutboxSender(
        app.extensions["loket.sessionmaker"],
        transports(app),
        config["CLOCK"],
        max_attempts=int(config["NOTIFY_MAX_ATTEMPTS"]),
        retry_seconds=[float(s) for s in config["NOTIFY_RETRY_SECONDS"]],
        lease_seconds=max(60.0, 3 * float(config["NOTIFY_TIMEOUT_SECONDS"])),
    )


def start_sender(app: Flask, spawn: Any) -> Any:
    """Send messages in this process (``NOTIFY_WORKER=inline``, the default) with
    `spawn(fn, *args)` (the Socket.IO server's background task); returns its stopper."""
    if app.config["NOTIFY_WORKER"] != "inline":
        return lambda: None
    sender = build_sender(app)
    stop = threading.Event()
    spawn(sender.run_forever, stop, interval=float(app.config["NOTIFY_POLL_SECONDS"]))
    app.extensions["loket.message_sender"] = sender

    def stopper() -> None:
        stop.set()
        sender.wake()

    return stopper
