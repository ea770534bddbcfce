"""The Socket.IO namespace that boards, status pages, kiosks and desks listen on, and the
notifier that services publish through.

Services name the room an event goes to (`kiosk.services.rooms`); this module carries it to
the namespace, through the Redis message queue when several processes serve the app.
"""

from __future__ import annotations

from typing import Any

from flask_socketio import SocketIO

NAMESPACE = "/board"


class SocketIONotifier:
    """Publishes service events through Flask-SocketIO (and its Redis queue, if configured)."""

    def __init__(self, socketio: SocketIO) -> None:
        self.socketio = socketio

    def publish(self, event: str, payload: dict[str, Any], *, room: str) -> None:
        """Emit `event` to everyone in `room` of the namespace."""
        self.socketio.emit(event, payload, namespace=NAMESPACE, to=room)
        # Let the websocket writers send now, not after this request has built its response.
        self.socketio.sleep(0)
