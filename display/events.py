"""Socket.IO namespace ``/board``: boards and ticket status pages listen here.

Rooms: ``stop:<id>`` gets every transition at that stop (public payloads, no tokens);
``ticket:<token>`` gets ``ticket_updated`` for that one ticket's own steps (and, for the kiosk
that issued it, ``print_status`` for its slip); ``booking:<token>`` gets ``print_status`` for the
slip of a time booked for later at a kiosk (only a kiosk device joins it). A status page is in
both: when the stop's queue moves it asks for its new position with ``watch_ticket`` (so the
server's work grows with the pages actually open, not with the length of the queue).

Room membership does not survive a server restart: clients join again on every (re)connect,
and each connect is answered with a fresh snapshot (``board_state`` and/or ``ticket_updated``).

Staff: a connection of a signed-in staff member (a desk) that joins a stop's room also joins
``staff:<id>``, where the notices only desks use go (``devices_changed``, ``printer_changed``,
``check_in_failures``); boards, kiosks and status pages are not sent them.

Sound: a board says on each connect, and on every change, whether it plays sound
(``board_sound``); a change reaches the stop's staff room as ``devices_changed`` too, and desks
show a board without sound as muted.

Presence: a paired kiosk or board that connects, or sends ``heartbeat``, is stamped as seen; when
its connection closes and it makes no other contact within a short grace period, it is logged as
lost. Both changes reach the stop's staff room as ``devices_changed`` (kiosk/services/presence.py).

Access: a connection made by a paired device joins ``device:<id>``, one made by a logged-in staff
member ``user:<id>`` and (for a browser login) ``staff_session:<id>``. Revoking the device, or
ending the login, sends ``access_ended`` there and closes those connections at once
(display/namespace.py). Every later event from a connection checks again that whoever opened it
still has access (a second process, a missed close) and closes it if not.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, request, session
from flask_socketio import ConnectionRefusedError as Refused
from flask_socketio import SocketIO, join_room, leave_room, rooms
from flask_socketio import disconnect as close_connection

from display.namespace import NAMESPACE
from kiosk.auth import current_principal, staff_session
from kiosk.factories import (
    announcement_service,
    appointment_service,
    presence_service,
    print_service,
    queue_service,
    tour_service,
)
from kiosk.models import Device, DeviceKind, PrintJob
from kiosk.payloads import ticket_status_payload
from kiosk.services.base import Actor
from kiosk.services.errors import DomainError, NoOpenStop
from kiosk.services.printing import FAULT_STATES
from kiosk.services.rooms import (
    booking_room,
    device_room,
    staff_room,
    staff_session_room,
    stop_room,
    ticket_room,
    user_room,
)

log = logging.getLogger(__name__)

# In the connection's own session: who opened it ("device:3", "staff_session:7", "user:2").
OPENED_AS = "socket_opened_as"


def register(sio: SocketIO) -> None:
    """Attach the handlers; call before ``sio.init_app(app)``."""

    @sio.on("connect", namespace=NAMESPACE)
    def connect(auth: dict[str, Any] | None = None) -> None:
        """Sent by a board or status page on each (re)connect; answered with snapshots."""
        auth = auth if isinstance(auth, dict) else {}
        _join_access_rooms()
        try:
            if auth.get("ticket"):
                _watch(str(auth["ticket"]))
                _print_snapshot(str(auth["ticket"]))
            if auth.get("booking"):
                _watch_booking(str(auth["booking"]))
            if auth.get("stop") is not None or not auth.get("ticket"):
                _join_stop(auth.get("stop"))
        except NoOpenStop:
            # A board may start before the stop opens: it waits for a stop_updated/reconnect.
            sio.emit("board_state", None, namespace=NAMESPACE, to=_sid())
        except DomainError as error:
            # python-socketio sends str(first arg) as `message` and the second arg as `data`;
            # a lone dict would arrive as its Python repr, which no client can parse.
            raise Refused(error.message, {"code": error.code, "message": error.message}) from error
        device_id = _device_id()
        if device_id is not None:
            presence_service().seen(device_id)
            # Desks hear of every connect (a device is in no staff room: no echo to itself).
            _devices_changed(device_id, True, _stop_ids())

    @sio.on("heartbeat", namespace=NAMESPACE)
    def heartbeat(_data: Any = None) -> None:
        """Sent every 30 s by a kiosk or board page (connectLive with `heartbeat: true`)."""
        if not _still_allowed():
            return
        device_id = _device_id()
        if device_id is not None and presence_service().seen(device_id):
            _devices_changed(device_id, True, _stop_ids())

    @sio.on("board_sound", namespace=NAMESPACE)
    def board_sound(data: Any = None) -> None:
        """Sent by a board page on each (re)connect and whenever its sound goes off or on
        (``{"muted": true}``: turned off, or the browser blocked audio); desks show "muted"."""
        if not _still_allowed():
            return
        device_id = _device_id()
        if device_id is None:
            return
        muted = bool(data.get("muted")) if isinstance(data, dict) else False
        stop_ids = _stop_ids()
        stop_id = stop_ids[0] if stop_ids else None
        actor = current_principal().actor
        if announcement_service().report_sound(device_id, muted, stop_id=stop_id, actor=actor):
            _devices_changed(device_id, True, stop_ids)

    @sio.on("disconnect", namespace=NAMESPACE)
    def disconnect(_reason: Any = None) -> None:
        """Sent by Socket.IO when a connection closes; a device's may mean it is gone."""
        device_id = _device_id()
        if device_id is None:
            return
        actor, stop_ids = current_principal().actor, _stop_ids()
        presence = presence_service()
        closed_at = presence.now()
        # A kiosk loading its next page reconnects within the grace: no flicker to offline.
        grace = float(current_app.config["DISPLAY_PRESENCE_GRACE_SECONDS"])
        if grace <= 0:
            _check_lost(device_id, closed_at, stop_ids, actor)
            return
        app = current_app._get_current_object()  # type: ignore[attr-defined]

        def check_later() -> None:
            # Waits in this process only; the decision reads the shared database, and should
            # this process die first, the device still turns "not connected" after 90 s unseen.
            sio.sleep(grace)
            with app.app_context():
                try:
                    _check_lost(device_id, closed_at, stop_ids, actor)
                except Exception:
                    log.exception("presence check of device %s failed", device_id)

        sio.start_background_task(check_later)

    @sio.on("watch_ticket", namespace=NAMESPACE)
    def watch_ticket(data: Any) -> dict[str, Any]:
        """Sent by a status page to follow one ticket; acknowledged with its status."""
        if not _still_allowed():
            return {"error": {"code": "unauthorized", "message": "Access ended."}}
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            return {"error": {"code": "invalid_request", "message": "Send {'token': ...}."}}
        try:
            return {"ticket": _watch(token)}
        except DomainError as error:
            return {"error": {"code": error.code, "message": error.message}}

    @sio.on("unwatch_ticket", namespace=NAMESPACE)
    def unwatch_ticket(data: Any) -> None:
        """Sent by a status page that stops following a ticket."""
        token = data.get("token") if isinstance(data, dict) else None
        if isinstance(token, str):
            leave_room(ticket_room(token))

    def _sid() -> str:
        return request.sid  # type: ignore[attr-defined]

    def _access() -> list[str]:
        """The access rooms of whoever makes this request (none for anonymous pages)."""
        try:
            principal = current_principal()
        except DomainError:  # a bearer credential that is no longer good
            return []
        if principal.device is not None:
            return [device_room(principal.device.id)]
        if principal.user is None:
            return []
        row = staff_session() if principal.via == "session" else None
        return [user_room(principal.user.id)] + ([staff_session_room(row.id)] if row else [])

    def _join_access_rooms() -> None:
        access = _access()
        for room in access:
            join_room(room)
        session[OPENED_AS] = access[-1] if access else ""

    def _still_allowed() -> bool:
        """Whether the device or login that opened this connection still has access; if not,
        the connection closes."""
        opened_as = session.get(OPENED_AS)
        if not opened_as or opened_as in _access():
            return True
        close_connection()
        return False

    def _device_id() -> int | None:
        """The paired device behind this connection, if it is one."""
        try:
            device = current_principal().device
        except DomainError:  # a bearer credential revoked while connected
            return None
        return device.id if device is not None else None

    def _check_lost(device_id: int, at: Any, stop_ids: list[int], actor: Actor) -> None:
        stop_id = stop_ids[0] if stop_ids else None
        if presence_service().lost(device_id, at=at, stop_id=stop_id, actor=actor):
            _devices_changed(device_id, False, stop_ids)

    def _devices_changed(device_id: int, connected: bool, stop_ids: list[int]) -> None:
        # Desks only; the device by id only: desks fetch the rest. One emit per stop (room).
        body = {"device": device_id, "connected": connected}
        for stop_id in stop_ids:
            sio.emit("devices_changed", body, namespace=NAMESPACE, to=staff_room(stop_id))

    def _stop_ids() -> list[int]:
        """The stops whose rooms this connection is in."""
        return [
            int(room.removeprefix("stop:"))
            for room in rooms(namespace=NAMESPACE)
            if room.startswith("stop:")
        ]

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
        if current_principal().user is not None:  # a desk (staff), not a board or kiosk
            join_room(staff_room(stop.id))
        state = queue.board_state(stop, earlier=current_app.config["DISPLAY_EARLIER_CALLS"])
        sio.emit("board_state", state, namespace=NAMESPACE, to=_sid())

    def _print_snapshot(token: str) -> None:
        """A kiosk's confirmation screen hears how its slip is doing, even if that changed
        before this connection was made (a slip often prints before the page has loaded)."""
        device = current_principal().device
        if device is None or device.kind != DeviceKind.KIOSK:
            return
        _emit_print_status(print_service().latest_for_ticket(queue_service().ticket(token)), device)

    def _emit_print_status(job: PrintJob | None, device: Device) -> None:
        if job is not None:
            body = {"status": job.status.value, "attempts": job.attempts}
            if device.printer_state in FAULT_STATES:
                body["fault"] = device.printer_state
            sio.emit("print_status", body, namespace=NAMESPACE, to=_sid())

    def _watch_booking(token: str) -> None:
        """A kiosk's screen for a time just booked: how its slip is doing, now and later."""
        device = current_principal().device
        if device is None or device.kind != DeviceKind.KIOSK:
            return
        booked = appointment_service().by_token(token)
        join_room(booking_room(token))
        _emit_print_status(print_service().latest_for_booking(booked), device)

    def _watch(token: str) -> dict[str, Any]:
        queue = queue_service()
        ticket = queue.ticket(token)
        join_room(ticket_room(token))
        # The stop's public events tell the page when the queue moved; it then asks again.
        join_room(stop_room(ticket.stop_id))
        payload = ticket_status_payload(ticket, queue.position(ticket))
        sio.emit("ticket_updated", payload, namespace=NAMESPACE, to=_sid())
        return payload
