"""Which paired kiosks and boards are connected now, without a schema change.

A device page (kiosk, board) keeps a Socket.IO connection open and sends a heartbeat every
`HEARTBEAT_SECONDS`; the connect, each heartbeat and each HTTP request of the device stamp
`Device.last_seen_at`. A device counts as connected while that stamp is younger than
`CONNECTED_WITHIN` and no ``device.disconnect`` event was logged at or after it. The database is
the only state this reads, so every server process gives the same answer.

A closed connection is logged as lost only when the device made no other contact during a short
grace period (the adapter waits it out): a kiosk that loads its next page reconnects within a
second and never shows as offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, or_, select

from kiosk.models import Device, DeviceKind, Event, Stop
from kiosk.payloads import device_payload, iso
from kiosk.services.base import SYSTEM, Actor, Service

# A device page says "still here" this often (static/js/live.js, option `heartbeat`).
HEARTBEAT_SECONDS = 30
# Three heartbeats: one lost heartbeat (a busy Wi-Fi) does not make a device look offline.
CONNECTED_WITHIN = timedelta(seconds=90)
# How long a closed connection may stay unanswered before it counts as lost (page loads).
LOST_GRACE_SECONDS = 5.0

DISCONNECT = "device.disconnect"

_LAST_LOST = (
    select(Event.object_id, func.max(Event.at))
    .where(
        Event.object_type == "device",
        Event.action == DISCONNECT,
        Event.object_id.in_(bindparam("device_ids", expanding=True)),
        # Only a loss after a recent contact matters; `at` is indexed.
        Event.at >= bindparam("since"),
    )
    .group_by(Event.object_id)
)


@dataclass(frozen=True)
class DevicePresence:
    """A device and whether it is connected; `last_seen_at` is its last contact (or loss)."""

    device: Device
    connected: bool

    @property
    def last_seen_at(self) -> datetime | None:
        """When the device last made contact, or lost it (UTC); None if it never did."""
        return self.device.last_seen_at


def presence_payload(presence: DevicePresence) -> dict[str, Any]:
    """A device for the staff desk: the device fields (with its printer) and `connected`."""
    return {
        **device_payload(presence.device),
        "connected": presence.connected,
        "last_seen_at": iso(presence.last_seen_at),
    }


class PresenceService(Service):
    """Stamps device contacts and losses, and tells which devices of a stop are connected."""

    def seen(self, device_id: int) -> bool:
        """A contact from the device (connect or heartbeat): stamp it now.

        Returns True when the device did not count as connected before this contact (the
        adapter then tells the stop's desks).
        """
        self.begin_write()
        device = self._paired(device_id)
        if device is None:
            self.end_read()
            return False
        was_connected = self._connected(device, self._losses([device]).get(device.id))
        device.last_seen_at = self.now()
        self.session.commit()
        return not was_connected

    def lost(
        self,
        device_id: int,
        *,
        at: datetime,
        stop_id: int | None = None,
        actor: Actor = SYSTEM,
    ) -> bool:
        """A connection of the device (in `stop_id`'s room) closed at `at`: log the loss,
        unless the device made contact since or counted as gone already.

        Returns True when the device now counts as lost (the adapter then tells the desks).
        """
        self.begin_write()
        device = self._paired(device_id)
        if device is None or (device.last_seen_at is not None and device.last_seen_at > at):
            self.end_read()  # gone for good, or another connection (a new page) spoke since
            return False
        if not self._connected(device, self._losses([device]).get(device.id)):
            self.end_read()  # already counted as lost (or stale): nothing new to tell
            return False
        device.last_seen_at = at
        self.log(
            DISCONNECT,
            actor,
            object_type="device",
            object_id=device.id,
            stop_id=stop_id if stop_id is not None else device.stop_id,
        )
        self.session.commit()
        return True

    def devices(self, stop: Stop, *, include_unassigned: bool = False) -> list[DevicePresence]:
        """The paired kiosks and boards of this stop (kiosks first), each with its presence.

        `include_unassigned` adds the devices that follow whichever stop is open: pass it
        when `stop` is the open stop.
        """
        at_stop = Device.stop_id == stop.id
        where = or_(at_stop, Device.stop_id.is_(None)) if include_unassigned else at_stop
        found = list(
            self.session.scalars(
                select(Device)
                .where(
                    where,
                    Device.paired_at.is_not(None),
                    Device.revoked_at.is_(None),
                    Device.credential_hash.is_not(None),
                )
                .order_by(case((Device.kind == DeviceKind.KIOSK, 0), else_=1), Device.name)
            )
        )
        losses = self._losses(found)
        result = [DevicePresence(d, self._connected(d, losses.get(d.id))) for d in found]
        self.end_read()
        return result

    def is_connected(self, device: Device) -> bool:
        """Whether this one device counts as connected now."""
        connected = self._connected(device, self._losses([device]).get(device.id))
        self.end_read()
        return connected

    # -- internals ----------------------------------------------------------------------------

    def _paired(self, device_id: int) -> Device | None:
        # Sessions keep loaded values after a commit: read the row as it is now.
        device = self.session.get(Device, device_id, populate_existing=True)
        if device is None or device.revoked_at is not None or device.credential_hash is None:
            return None
        return device

    def _losses(self, devices: Sequence[Device]) -> dict[int, datetime]:
        if not devices:
            return {}
        rows = self.session.execute(
            _LAST_LOST,
            {"device_ids": [d.id for d in devices], "since": self.now() - CONNECTED_WITHIN},
        ).all()
        return {device_id: at for device_id, at in rows if device_id is not None}

    def _connected(self, device: Device, lost_at: datetime | None) -> bool:
        seen = device.last_seen_at
        if seen is None or self.now() - seen > CONNECTED_WITHIN:
            return False
        return lost_at is None or lost_at < seen
