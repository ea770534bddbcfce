"""Which `loket run` processes serve this installation: each one says so in Redis.

    every `loket run` with a message queue          `loket doctor`
    ---------------------------------------          --------------
    every 30 s (a greenlet):                         SCAN loket:{channel}:process:*
      SET loket:{channel}:process:{host}:{port}      compare each one's secret_fingerprint
          {host, port, pid, started, version,        and migration_head with its own
           migration_head, secret_fingerprint}
          EX 90

Several processes must sign sessions and CSRF tokens with the same secret key and run the same
schema, or a resident's session breaks when the proxy sends the next request elsewhere. No
process can see another's configuration, so each one leaves a short-lived note in the Redis it
already uses as its Socket.IO message queue: a process that stops (or crashes) drops out after
90 s. The note carries a *fingerprint* of the key (an HMAC of a fixed label), never the key.

Redis being down never stops `loket run`: a beat that fails is logged, and the next one tries
again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)

TTL_SECONDS = 90
BEAT_SECONDS = 30
# Redis answers at once or is as good as down: a beat never holds the server up for long.
REDIS_TIMEOUT = 2.0
FINGERPRINT_LABEL = b"popup-loket process registry"


def secret_fingerprint(secret_key: str) -> str:
    """A short mark that is the same for the same key, and tells nothing about the key."""
    digest = hmac.new(secret_key.encode(), FINGERPRINT_LABEL, hashlib.sha256).hexdigest()
    return digest[:16]


def code_head() -> str | None:
    """The newest migration this code knows (heads joined by "+" in the rare case of several)."""
    from alembic.script import ScriptDirectory

    from kiosk.migrate import MIGRATIONS

    heads = ScriptDirectory(str(MIGRATIONS)).get_heads()
    return "+".join(sorted(heads)) or None


def is_redis_url(url: str | None) -> bool:
    """Whether a message queue URL is Redis (the registry lives there; kombu queues are not)."""
    return bool(url) and str(url).split("://", 1)[0] in ("redis", "rediss", "unix")


@dataclass(frozen=True)
class ProcessInfo:
    """What one `loket run` process tells about itself."""

    host: str
    port: int
    pid: int
    started: str  # ISO 8601, UTC
    version: str
    migration_head: str | None
    secret_fingerprint: str

    @property
    def address(self) -> str:
        """``host:port``, as the doctor names a process."""
        return f"{self.host}:{self.port}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ProcessInfo:
        """Parse a note; `ValueError` (or `TypeError`) when it is not one."""
        data = json.loads(text)
        return cls(
            host=str(data["host"]),
            port=int(data["port"]),
            pid=int(data["pid"]),
            started=str(data["started"]),
            version=str(data["version"]),
            migration_head=data.get("migration_head"),
            secret_fingerprint=str(data["secret_fingerprint"]),
        )


def this_process(app: Flask, port: int, *, host: str | None = None) -> ProcessInfo:
    """The note for this process, serving on `port` of this machine."""
    from kiosk import __version__

    return ProcessInfo(
        host=host or socket.gethostname(),
        port=port,
        pid=os.getpid(),
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        version=__version__,
        migration_head=code_head(),
        secret_fingerprint=secret_fingerprint(str(app.config["SECRET_KEY"])),
    )


class ProcessRegistry:
    """The notes of one installation (one Socket.IO channel) in Redis."""

    def __init__(self, client: Any, channel: str, *, ttl: int = TTL_SECONDS) -> None:
        self.client = client
        self.prefix = f"loket:{channel}:process:"
        self.ttl = ttl

    @classmethod
    def from_url(cls, url: str, channel: str, *, timeout: float = REDIS_TIMEOUT) -> ProcessRegistry:
        """A registry on the Redis at `url`; nothing is connected until the first call."""
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        return cls(client, channel)

    def key(self, info: ProcessInfo) -> str:
        return f"{self.prefix}{info.host}:{info.port}"

    def register(self, info: ProcessInfo) -> None:
        """Write (or refresh) a process's note; it expires after `ttl` seconds."""
        self.client.set(self.key(info), info.to_json(), ex=self.ttl)

    def unregister(self, info: ProcessInfo) -> None:
        """Remove a process's note (a clean stop)."""
        self.client.delete(self.key(info))

    def processes(self) -> list[ProcessInfo]:
        """Every process registered now, by address; notes that cannot be read are skipped."""
        keys = sorted(self.client.scan_iter(match=f"{self.prefix}*", count=100))
        found = []
        for value in self.client.mget(keys) if keys else []:
            if value is None:  # expired between SCAN and MGET
                continue
            try:
                found.append(ProcessInfo.from_json(value))
            except (ValueError, TypeError, KeyError):
                log.warning("An unreadable process note in Redis was skipped")
        return sorted(found, key=lambda info: (info.host, info.port))

    def close(self) -> None:
        self.client.close()


class Registration:
    """One process's beat: register now, then every `interval` seconds until stopped."""

    def __init__(
        self, registry: ProcessRegistry, info: ProcessInfo, *, interval: float = BEAT_SECONDS
    ) -> None:
        self.registry = registry
        self.info = info
        self.interval = interval
        self.failing = False

    def beat(self) -> bool:
        """Register once; False (logged, never raised) when Redis cannot be reached."""
        try:
            self.registry.register(self.info)
        except Exception as error:
            if not self.failing:
                log.warning(
                    "Cannot register this process in Redis (trying again every %s s): %s",
                    self.interval,
                    error,
                )
            self.failing = True
            return False
        if self.failing:
            log.info("Registered this process in Redis again")
        self.failing = False
        return True

    def run_forever(self, stop: threading.Event) -> None:
        """Beat until `stop` is set (a greenlet under `loket run`)."""
        while not stop.is_set():
            self.beat()
            stop.wait(self.interval)

    def stop(self) -> None:
        """Take the note away at once, so the doctor does not list a stopped process."""
        try:
            self.registry.unregister(self.info)
            self.registry.close()
        except Exception as error:  # it expires by itself
            log.info("Could not unregister this process: %s", error)


def start_registration(
    app: Flask, port: int, spawn: Callable[..., Any], *, interval: float = BEAT_SECONDS
) -> Callable[[], None]:
    """Register this `loket run` process while it serves (only with a Redis message queue);
    returns its stopper. Never raises: without a registry the server serves all the same."""
    url = app.config.get("SOCKETIO_MESSAGE_QUEUE")
    if not is_redis_url(url):
        return lambda: None
    try:
        registry = ProcessRegistry.from_url(str(url), str(app.config["SOCKETIO_CHANNEL"]))
        registration = Registration(registry, this_process(app, port), interval=interval)
    except Exception as error:
        log.warning("This process will not be listed by `loket doctor`: %s", error)
        return lambda: None
    stop = threading.Event()
    spawn(registration.run_forever, stop)

    def stopper() -> None:
        stop.set()
        registration.stop()

    return stopper
