"""Settings a coordinator may change without a restart: stored as overrides of the app's
configuration in the `settings` table (`kiosk.factories.setting` reads them once per request)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from kiosk.models import Setting
from kiosk.services.base import SYSTEM, Actor, Service
from kiosk.services.validation import N_, Errors, rolls_back


@dataclass(frozen=True)
class SettingSpec:
    """A whole number within a range; `unit` is for the adapter's label."""

    key: str
    minimum: int
    maximum: int
    unit: str  # seconds | minutes | days


SPECS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        SettingSpec("KIOSK_IDLE_SECONDS", 15, 600, "seconds"),
        SettingSpec("CHECKIN_EARLY_MINUTES", 0, 240, "minutes"),
        SettingSpec("CHECKIN_LATE_MINUTES", 0, 120, "minutes"),
        SettingSpec("BOOK_LATER_WAIT_MINUTES", 0, 600, "minutes"),
        SettingSpec("RETENTION_DAYS", 1, 365, "days"),
    )
}


class SettingsService(Service):
    """Reads and changes the overrides; every change is logged with its old and new value."""

    def overrides(self) -> dict[str, Any]:
        """Every stored override by key (unknown keys, from an older version, are left out)."""
        # No commit here: a caller may be in the middle of its own transaction.
        rows = self.session.execute(select(Setting.key, Setting.value)).all()
        return {key: value for key, value in rows if key in SPECS}

    @rolls_back
    def update(
        self,
        values: Mapping[str, str | int | None],
        *,
        defaults: Mapping[str, Any],
        actor: Actor = SYSTEM,
    ) -> dict[str, tuple[Any, Any]]:
        """Set the given settings; an empty value (or the default) removes the override.

        Values may be text as typed. Returns what changed: {key: (old, new)} with the values
        in effect before and after. Raises Invalid naming each field that is out of range.
        """
        errors = Errors()
        wanted: dict[str, int | None] = {}
        for key, raw in values.items():
            spec = SPECS.get(key)
            if spec is None:
                errors.add(key, N_("Deze instelling bestaat niet."))
                continue
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                wanted[key] = None
                continue
            try:
                number = int(str(raw).strip())
            except ValueError:
                errors.add(key, N_("Vul een heel getal in, zonder letters."))
                continue
            if not spec.minimum <= number <= spec.maximum:
                errors.add(
                    key,
                    N_("Kies een getal van %(min)s tot en met %(max)s."),
                    min=spec.minimum,
                    max=spec.maximum,
                )
                continue
            wanted[key] = None if number == int(defaults[key]) else number
        errors.raise_if_any()

        self.begin_write()
        rows = {row.key: row for row in self.session.scalars(select(Setting))}
        changes: dict[str, tuple[Any, Any]] = {}
        for key, value in wanted.items():
            row = rows.get(key)
            before = row.value if row is not None else defaults[key]
            after = value if value is not None else defaults[key]
            if value is None and row is not None:
                self.session.delete(row)
            elif value is not None and row is None:
                self.session.add(
                    Setting(key=key, value=value, updated_at=self.now(), updated_by=_user(actor))
                )
            elif value is not None and row is not None and row.value != value:
                row.value = value
                row.updated_at = self.now()
                row.updated_by = _user(actor)
            if before != after:
                changes[key] = (before, after)
        for key, (before, after) in changes.items():
            self.log(
                "setting.update",
                actor,
                object_type="setting",
                changes={key: [before, after]},
                default=wanted[key] is None,
            )
        self.session.commit()
        return changes


def _user(actor: Actor) -> int | None:
    return actor.id if actor.kind == "staff" else None
