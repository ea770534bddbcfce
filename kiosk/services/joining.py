"""Joining the queue from a phone, the staff side (no Flask): whether a stop lets residents take
a ticket on their phone from the board's rotating QR code (`Stop.phone_join`).

The codes themselves are `kiosk.services.join`; the ticket is `QueueService.issue_on_phone`;
the door is `kiosk.views.join` (/join/<code>).
"""

from __future__ import annotations

from kiosk.models import Stop
from kiosk.payloads import stop_payload
from kiosk.services.base import SYSTEM, Actor, Pending, Service
from kiosk.services.rooms import stop_room


class JoinService(Service):
    """Switches joining from a phone on or off per stop."""

    def set_phone_join(self, stop: Stop, on: bool, *, actor: Actor = SYSTEM) -> Stop:
        """Let residents join this stop's queue from their phone, or not; logged when it
        changes, and the stop's boards hear it at once (they show or hide the QR code)."""
        self.begin_write()
        stop = self.session.merge(stop)
        before = bool(stop.phone_join)
        stop.phone_join = bool(on)
        self.log_changes(
            "stop.phone_join",
            actor,
            {"phone_join": before},
            {"phone_join": stop.phone_join},
            object_type="stop",
            object_id=stop.id,
            stop_id=stop.id,
        )
        pending = Pending()
        pending.add("stop_updated", stop_payload(stop, now=self.now()), stop_room(stop.id))
        self.commit(pending)
        return stop
