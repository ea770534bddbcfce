"""The Socket.IO message queue on Redis, with one addition: after Redis was away, this process's
clients are told to take a fresh snapshot.

Redis' publish/subscribe keeps nothing: an event another process published while Redis was
down, or before this process's listener had subscribed again, never arrives here. python-socketio
reconnects its listener by itself (after 1, 2, 4… s); when it has subscribed again, every board
and status page connected to this process gets ``resync`` (static/js/live.js reconnects, and the
connect handler answers with the current state), so a call made meanwhile is not missed.
Events from this process itself are never lost: python-socketio delivers them here before it
publishes them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import socketio

from display.namespace import NAMESPACE

log = logging.getLogger(__name__)

RESYNC_EVENT = "resync"


class ResyncingRedisManager(socketio.RedisManager):
    """`socketio.RedisManager` that notices each time its listener subscribes again."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subscriptions = 0

    def _redis_connect(self) -> None:
        super()._redis_connect()
        # Hear our own (re)subscriptions: Redis confirms each SUBSCRIBE with a message.
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=False)

    def _listen(self) -> Iterator[Any]:
        channel = self.channel.encode("utf-8")
        for message in self._redis_listen_with_retries():
            if message.get("type") == "subscribe":
                self.subscriptions += 1
                if self.subscriptions > 1:
                    self.resync()
                continue
            if message["channel"] == channel and message["type"] == "message" and "data" in message:
                yield message["data"]

    def resync(self) -> None:
        """Tell this process's clients (only these) to take a fresh snapshot."""
        log.warning("message queue back: clients of this process take a fresh snapshot")
        try:
            self.server.emit(RESYNC_EVENT, {}, namespace=NAMESPACE, ignore_queue=True)
        except Exception:  # the listener must live on whatever a client does
            log.exception("could not ask the clients to resync")


def client_manager(url: str | None, channel: str) -> ResyncingRedisManager | None:
    """The manager for a redis:// message queue; None for none (one process)."""
    if not url:
        return None
    if not url.startswith(("redis://", "rediss://")):
        raise ValueError(f"LOKET_SOCKETIO_MESSAGE_QUEUE must be a redis:// URL, not {url!r}")
    return ResyncingRedisManager(url, channel=channel)
