"""Socket.IO namespace ``/board``: boards and ticket status pages listen here.

Rooms: ``stop:<id>`` gets every transition at that stop (public payloads, no tokens);
``ticket:<token>`` gets ``ticket_updated`` for that one ticket's own steps. A status page is in
both: when the stop's queue moves it asks for its new position with ``watch_ticket`` (so the
server's work grows with the pages actually open, not with the length of the queue).

Room membership does not survive a server restart: clients join again on every (re)connect,
and each connect is answered with a fresh snapshot (``board_state`` and/or ``ticket_updated``).
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_socketio import ConnectionRefusedError as Refused
from flask_socketio import SocketIO, join_room, leave_room

from kiosk.auth import current_principal
from kiosk.extensions import BOARD_NAMESPACE, queue_service, tour_service
from kiosk.payloads import ticket_status_payload
from kiosk.services.errors import DomainError, NoOpenStop
from kiosk.services.queue import stop_room, ticket_room


def register(sio: SocketIO) -> None:
    """Attach the handlers; call before ``sio.init_app(app)``."""

    @sio.on("connect", namespace=BOARD_NAMESPACE)
    def connect(auth: dict[str, Any] | None = None) -> None:
        """Sent by a board or status page on each (re)connect; answered with snapshots."""
        auth = auth if isinstance(auth, dict) else {}
        try:
            if auth.get("ticket"):
                _watch(str(auth["ticket"]))
            if auth.get("stop") is not None or not auth.get("ticket"):
                _join_stop(auth.get("stop"))
        except NoOpenStop:
            # A board may start before the stop opens: it waits for a stop_updated/reconnect.
            sio.emit("board_state", None, namespace=BOARD_NAMESPACE, to=_sid())
        except DomainError as error:
            # python-socketio sends str(first arg) as `message` and the second arg as `data`;
            # a lone dict would arrive as its Python repr, which no client can parse.
            raise Refused(error.message, {"code": error.code, "message": error.message}) from error

    @sio.on("watch_ticket", namespace=BOARD_NAMESPACE)
    def watch_ticket(data: Any) -> dict[str, Any]:
        """Sent by a status page to follow one ticket; acknowledged with its status."""
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            return {"error": {"code": "invalid_request", "message": "Send {'token': ...}."}}
        try:
            return {"ticket": _watch(token)}
        except DomainError as error:
            return {"error": {"code": error.code, "message": error.message}}

    @sio.on("unwatch_ticket", namespace=BOARD_NAMESPACE)
    def unwatch_ticket(data: Any) -> None:
        """Sent by a status page that stops following a ticket."""
        token = data.get("token") if isinstance(data, dict) else None
        if isinstance(token, str):
            leave_room(ticket_room(token))

    def _sid() -> str:
        return request.sid  # type: ignore[attr-defined]

    def _join_stop(stop_id: Any) -> None:
        queue = queue_service()
        device = current_principal().device
        if stop_id is not None:
            try:
                stop = queue.stop(int(stop_id))
            except (TypeError, ValueError) as error:
                message = "stop must be a number"
                raise Refused(message, {"code": "invalid_request", "message": message}) from error
        elif device is not None and device.stop_id is not None:
            stop = queue.stop(device.stop_id)
        else:
            stop = tour_service().current_stop()
        join_room(stop_room(stop.id))
        sio.emit("board_state", queue.board_state(stop), namespace=BOARD_NAMESPACE, to=_sid())

    def _watch(token: str) -> dict[str, Any]:
        queue = queue_service()
        ticket = queue.ticket(token)
        join_room(ticket_room(token))
        # The stop's public events tell the page when the queue moved; it then asks again.
        join_room(stop_room(ticket.stop_id))
        payload = ticket_status_payload(ticket, queue.position(ticket))
        sio.emit("ticket_updated", payload, namespace=BOARD_NAMESPACE, to=_sid())
        return payload
