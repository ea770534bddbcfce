"""What the board's announcements need besides audio, without a schema change.

- A stop's second announcement language (the board says each call in the page's language,
  then in this one): a row of the `settings` table keyed by the stop, next to the coordinators'
  other settings (`SettingsService.overrides` leaves such keys alone).
- Which boards play no sound (turned off, or the browser blocked audio): each board reports it
  on connect and on every change; the change is logged as a ``device.sound`` event, and the
  latest such event of a device is its state. Like presence, the database is the only state,
  so every server process gives the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select

from kiosk.models import Device, DeviceKind, Event, Setting, Stop
from kiosk.services.base import SYSTEM, Actor, Service
from kiosk.services.errors import DomainError

SOUND = "device.sound"


def language_key(stop_id: int) -> str:
    """The settings key of a stop's second announcement language."""
    return f"ANNOUNCE_LANGUAGE_STOP_{stop_id}"


class InvalidLanguage(DomainError):
    """Raised for a second announcement language the pages do not offer."""

    code = "invalid_language"
    status = 422
    message = "This language is not offered."


class AnnouncementService(Service):
    """A stop's second announcement language, and which boards run without sound."""

    def second_language(self, stop_id: int) -> str | None:
        """The stop's second announcement language, or None."""
        value = self.session.scalar(
            select(Setting.value).where(Setting.key == language_key(stop_id))
        )
        self.end_read()
        return value if isinstance(value, str) and value else None

    def set_second_language(
        self,
        stop_id: int,
        language: str | None,
        *,
        languages: Sequence[str],
        actor: Actor = SYSTEM,
    ) -> str | None:
        """Set (or with None, remove) the stop's second announcement language.

        Raises NotFound for a missing stop, InvalidLanguage for a language
        outside `languages`. Returns the language now in effect.
        """
        language = (language or "").strip().lower() or None
        if language is not None and language not in languages:
            raise InvalidLanguage(languages=list(languages))
        self.begin_write()
        try:
            self.fetch(Stop, stop_id, "There is no such stop.")
            key = language_key(stop_id)
            row = self.session.get(Setting, key)
            before = row.value if row is not None else None
            if language is None and row is not None:
                self.session.delete(row)
            elif language is not None and row is None:
                user = actor.id if actor.kind == "staff" else None
                self.session.add(
                    Setting(key=key, value=language, updated_at=self.now(), updated_by=user)
                )
            elif language is not None and row is not None:
                row.value = language
                row.updated_at = self.now()
                row.updated_by = actor.id if actor.kind == "staff" else None
            if before != language:
                self.log(
                    "stop.announce_language",
                    actor,
                    object_type="stop",
                    object_id=stop_id,
                    stop_id=stop_id,
                    changes={"language": [before, language]},
                )
            self.session.commit()
        except Exception:
            self.session.rollback()
            raise
        return language

    def report_sound(
        self, device_id: int, muted: bool, *, stop_id: int | None = None, actor: Actor = SYSTEM
    ) -> bool:
        """A board says whether it plays sound; returns True when that changed (the adapter
        then tells the stop's desks). Kiosks and unknown devices are ignored."""
        self.begin_write()
        device = self.session.get(Device, device_id)
        if device is None or device.kind != DeviceKind.BOARD or device.revoked_at is not None:
            self.end_read()
            return False
        if self._muted([device_id]).get(device_id, False) == muted:
            self.end_read()
            return False
        self.log(
            SOUND,
            actor,
            object_type="device",
            object_id=device_id,
            stop_id=stop_id if stop_id is not None else device.stop_id,
            muted=muted,
        )
        self.session.commit()
        return True

    def muted(self, device_ids: Iterable[int]) -> set[int]:
        """Which of these boards last said they play no sound."""
        found = {device_id for device_id, muted in self._muted(list(device_ids)).items() if muted}
        self.end_read()
        return found

    def _muted(self, device_ids: list[int]) -> dict[int, bool]:
        if not device_ids:
            return {}
        latest = (
            select(func.max(Event.id))
            .where(
                Event.action == SOUND,
                Event.object_type == "device",
                Event.object_id.in_(device_ids),
            )
            .group_by(Event.object_id)
        )
        rows = self.session.execute(
            select(Event.object_id, Event.data).where(Event.id.in_(latest))
        ).all()
        return {
            device_id: bool((data or {}).get("muted"))
            for device_id, data in rows
            if device_id is not None
        }
