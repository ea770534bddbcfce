"""What a ticket slip says, as plain data: :class:`TicketSlip` and its parts.

Kept apart from :mod:`printer.slip` (the layout and the ESC/POS bytes), which loads python-escpos,
Pillow and qrcode: the app builds slips and names these types in every process, but only a
process that prints needs those libraries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from .codepages import clean_text

__all__ = ["DEFAULT_TZ", "QR_MODES", "QrMode", "SlipLine", "SlipTexts", "TicketSlip"]

QrMode = Literal["native", "image", "auto"]
#: The accepted values of ``qr_mode``.
QR_MODES: tuple[str, ...] = get_args(QrMode)

#: The time zone of the slip's date and time unless the slip says otherwise.
DEFAULT_TZ = ZoneInfo("Europe/Amsterdam")


@dataclass(frozen=True)
class SlipLine:
    """One extra line of the slip body (e.g. an appointment's date, time and place)."""

    text: str
    bold: bool = False
    large: bool = False  # double height


@dataclass(frozen=True)
class SlipTexts:
    """The slip's fixed texts, Dutch (B1) by default; the app passes translated ones."""

    number_caption: str = "Uw nummer"
    people_ahead_none: str = "Er is niemand voor u"
    people_ahead_one: str = "Er is 1 persoon voor u"
    people_ahead_many: str = "Er zijn {n} personen voor u"
    issued_format: str = "%d-%m-%Y %H:%M"

    def people_ahead(self, n: int) -> str:
        """The sentence for ``n`` people ahead."""
        if n == 0:
            return self.people_ahead_none
        if n == 1:
            return self.people_ahead_one
        return self.people_ahead_many.format(n=n)


def _lines(value: Iterable[str] | str) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class TicketSlip:
    """What a printed ticket says, as plain data (no database objects, no Flask).

    ``lines`` is the general body: a walk-in ticket shows ``people_ahead``; a slot booked for
    later leaves that ``None`` and puts its date, time and place in ``lines``.
    ``issued_text`` overrides the formatting of ``issued_at`` (already in local time, translated);
    otherwise ``issued_at`` is shown in ``tz`` (default Europe/Amsterdam).
    """

    label: str
    product: str
    stop: str
    issued_at: datetime
    qr_url: str
    header_lines: tuple[str, ...] = ()
    people_ahead: int | None = None
    lines: tuple[SlipLine, ...] = ()
    footer_lines: tuple[str, ...] = ()
    tz: tzinfo | None = None
    issued_text: str | None = None
    texts: SlipTexts = field(default_factory=SlipTexts)

    def __post_init__(self) -> None:
        if self.issued_at.tzinfo is None or self.issued_at.utcoffset() is None:
            raise ValueError("issued_at must be an aware datetime (with a time zone)")
        if not clean_text(self.label).strip():
            raise ValueError("label must not be empty")
        if not self.qr_url.strip():
            raise ValueError("qr_url must not be empty")
        if self.people_ahead is not None and self.people_ahead < 0:
            raise ValueError("people_ahead must be None or >= 0")
        # Accept lists and single strings from callers; store tuples (frozen, hashable).
        object.__setattr__(self, "header_lines", _lines(self.header_lines))
        object.__setattr__(self, "footer_lines", _lines(self.footer_lines))
        body = (self.lines,) if isinstance(self.lines, (str, SlipLine)) else self.lines
        object.__setattr__(
            self,
            "lines",
            tuple(line if isinstance(line, SlipLine) else SlipLine(str(line)) for line in body),
        )

    def issued_line(self) -> str:
        """The date and time as printed."""
        if self.issued_text is not None:
            return self.issued_text
        local = self.issued_at.astimezone(self.tz or DEFAULT_TZ)
        return local.strftime(self.texts.issued_format)

    def all_texts(self) -> list[str]:
        """Every text on the slip (to choose the code page)."""
        texts = [*self.header_lines, self.label, self.product, self.stop, self.issued_line()]
        if self.people_ahead is not None:
            texts.append(self.texts.people_ahead(self.people_ahead))
        if self.texts.number_caption:
            texts.append(self.texts.number_caption)
        return [*texts, *(line.text for line in self.lines), *self.footer_lines]
