"""The Socket.IO namespace that boards, status pages, kiosks and desks listen on, and the
notifier that services publish through.

Services name the room an event goes to (`kiosk.services.rooms`); this module carries it to
the namespace, through the Redis message queue when several processes serve the app.

``access_ended`` (a staff login ended, a device revoked) goes to the room of who lost access
and then closes those connections at once, so nothing more reaches them. The closing reaches the
connections of this process; with several processes the others close theirs at the next event
the client sends (its heartbeat re-checks who it is, display/events.py).
"""

from __future__ import annotations

from typing import Any

from flask_socketio import SocketIO

from kiosk.services.rooms import ACCESS_ENDED

NAMESPACE = "/board"


class SocketIONotifier:
    """Publishes service events through Flask-SocketIO (and its Redis queue, if configured)."""

    def __init__(self, socketio: SocketIO) -> None:
        self.socketio = socketio

    def publish(self, event: str, payload: dict[str, Any], *, room: str) -> None:
        """Emit `event` to everyone in `room` of the namespace."""
        self.socketio.emit(event, payload, namespace=NAMESPACE, to=room)
        if event == ACCESS_ENDED:
            disconnect_room(self.socketio, room)
        # Let the websocket writers send now, not after this request has built its response.
        self.socketio.sleep(0)


def disconnect_room(socketio: SocketIO, room: str) -> None:
    """Close every connection of this process that is in `room` (of the namespace)."""
    server = socketio.server
    if server is None:
        return
    for sid, _eio_sid in list(server.manager.get_participants(NAMESPACE, room)):
        server.disconnect(sid, namespace=NAMESPACE)
