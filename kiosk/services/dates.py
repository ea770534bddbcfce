"""Dates as people type them: ISO (2026-12-29, what a date input sends) or Dutch (29-12-2026).

Its own small module because both the form readers (kiosk.services.validation) and the tour
planning rules (kiosk.services.planning) read typed dates, and the planning package itself reads
form fields through validation: here, neither has to import the other's package. Pure: no
database, no Flask.
"""

from __future__ import annotations

from datetime import date


class BadDate(ValueError):
    """Text that is not a date; `text` is the piece as typed."""

    def __init__(self, text: str) -> None:
        super().__init__(f"not a date: {text!r}")
        self.text = text


def parse_date(text: str) -> date:
    """A date as typed: ISO (2026-12-29, as date inputs send it) or Dutch (29-12-2026)."""
    value = text.strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    for separator in ("-", "/", "."):
        parts = value.split(separator)
        if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[2]) == 4:
            try:
                return date(int(parts[2]), int(parts[1]), int(parts[0]))
            except ValueError:
                break
    raise BadDate(value)


def parse_dates(text: str) -> list[date]:
    """Dates separated by commas, semicolons, spaces or new lines, sorted and without doubles;
    raises BadDate for the first piece that is not a date."""
    pieces = text.replace(";", ",").replace("\n", ",").replace(" ", ",").split(",")
    return sorted({parse_date(piece) for piece in pieces if piece.strip()})
