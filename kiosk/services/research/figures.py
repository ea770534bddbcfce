"""Small-cell suppression: no figure that leaves the research package describes fewer than
`MIN_PEOPLE` people.

- `suppress` hides counts of 1-4 and statistics computed from fewer than 5 people;
- `protect` hides, in a table with a published total, enough further cells that the hidden
  remainder is 0 or at least 5 (else a hidden cell could be worked out from the total);
- `ratio` is hidden when its numerator or denominator is.

A published figure (`Figure`) is a number, `HIDDEN`, or None (nothing to describe). The
dashboard, the charts and both exports only ever see these figures. `median` and `percentile`
are the two statistics the report publishes (rounded to a tenth).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Final, cast

# No published figure describes fewer people than this.
MIN_PEOPLE: Final = 5


class Hidden:
    """A suppressed figure: it would describe fewer than `MIN_PEOPLE` people."""

    _instance: Hidden | None = None

    def __new__(cls) -> Hidden:
        """The one instance: `HIDDEN` is compared with `is`."""
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        """HIDDEN."""
        return "HIDDEN"

    def __bool__(self) -> bool:
        """False: a hidden figure counts as nothing to show."""
        return False


HIDDEN: Final = Hidden()
# A published figure: a number, HIDDEN (fewer than 5 people), or None (nothing to describe).
Figure = int | float | Hidden | None


def suppress(value: Figure, *people: int) -> Figure:
    """`value`, or HIDDEN when it describes (or was computed from) 1 to 4 people.

    `people` are the numbers of people behind the figure: the count itself for a count, the
    number of tickets for a median, numerator and denominator for a rate. Zero people is no
    person: a count of 0 is shown.
    """
    if any(0 < n < MIN_PEOPLE for n in people):
        return HIDDEN
    return value


def protect(counts: Sequence[int]) -> list[Figure]:
    """The cells of a table whose total is published: counts of 1-4 are hidden, and then the
    smallest remaining cells too, until what the total minus the shown cells reveals is 0 or
    describes at least `MIN_PEOPLE` people (else one hidden cell could be worked out)."""
    shown: list[Figure] = [suppress(c, c) for c in counts]
    hidden = sum(c for c, s in zip(counts, shown, strict=True) if s is HIDDEN)
    while 0 < hidden < MIN_PEOPLE:
        candidates = [(c, i) for i, c in enumerate(counts) if shown[i] is not HIDDEN and c > 0]
        if not candidates:
            break  # the total itself is below 5: `suppress` hides it
        smallest, index = min(candidates)
        shown[index] = HIDDEN
        hidden += smallest
    return shown


def ratio(numerator: Figure, denominator: Figure, digits: int = 3) -> Figure:
    """Numerator / denominator of two published figures; hidden if either is (a shown ratio
    and a shown denominator would give the hidden numerator away)."""
    if numerator is HIDDEN or denominator is HIDDEN:
        return HIDDEN
    if numerator is None or not denominator:
        return None
    return round(float(cast(float, numerator)) / float(cast(float, denominator)), digits)


def median(values: Sequence[float]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count); None if empty."""
    return round(statistics.median(values), 1) if values else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank `p`-th percentile: the smallest value with at least p % of the values
    at or below it (no interpolation, so the answer is always one of the values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(p / 100 * len(ordered)), 1)
    return round(ordered[rank - 1], 1)
