"""Statistical disclosure control: no count of fewer than `MIN_PEOPLE` people can be worked out
exactly from a figure that leaves the research package, nor from the difference of two.

The method is the Office for National Statistics' cell-key perturbation with its published
`10_5` perturbation table (the `cell-key-perturbation` package, MIT): every count is looked up in
the table by its value (and its cell key) and gets the table's noise. That table hides counts
below 10 and rounds the others to a multiple of 5 (a remainder of 1 or 2 down, 3 or 4 up):
its noise depends on the count only, never on the key, so the same count is shown the same in
every table, chart, filter and export, and no record keys are needed (see `pvalue_10_5`).

Why differencing no longer works: a shown count stands for at least three true counts (10 for
10-12, 15 for 13-17, ...), a hidden one for any of 1-9, and only 0 for exactly 0. So the
difference of any two published counts (stop minus all stops, one date range minus an
overlapping one, a table minus another) leaves at least two possible true differences: a count
of 1-4 can never be worked out exactly (tests/test_disclosure.py performs that attack). The
price: totals may not add up. Because this table's noise ignores the key, the same true count
always reads the same: a table with key-dependent noise would need a record key per record,
e.g. HMAC(SECRET_KEY, table + id) mod 256 (as unpredictable as a stored random key while the
secret stays secret, and needing no new column).

- `perturb` publishes a count; `protect` publishes the counts of a table (each on its own);
- `suppress` hides a statistic (a median, a percentile) computed from fewer than `THRESHOLD`
  people;
- `ratio` of two published figures is hidden when either is.

A published figure (`Figure`) is a number, `HIDDEN`, or None (nothing to describe). The
dashboard, the charts and both exports only ever see these figures. `median` and `percentile`
are the two statistics the report publishes (rounded to a tenth).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Final, cast

# No count of fewer people than this can be worked out from what is published.
MIN_PEOPLE: Final = 5
# The 10_5 table: counts below this are hidden, the others rounded to a multiple of `BASE`.
THRESHOLD: Final = 10
BASE: Final = 5
# The ONS table covers counts 1-750; larger counts reuse its rows 501-750 (same remainder).
_PTABLE_TOP: Final = 750


class Hidden:
    """A suppressed figure: a count below `THRESHOLD`, or a statistic of fewer people."""

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
# A published figure: a number, HIDDEN (fewer than 10 people), or None (nothing to describe).
Figure = int | float | Hidden | None


def pvalue_10_5(pcv: int, cell_key: int = 0) -> int:
    """The noise the ONS `10_5` table adds to a count `pcv` (1-750) whatever its cell key: as
    in the package's own generator, the whole count below 10 is taken away, and from 10 up the
    count goes to the nearest multiple of 5 (a remainder of 1 or 2 down, 3 or 4 up).

    `cell_key` (the sum of the record keys of the cell, modulo 256) selects a row of the table;
    in this table every key of a count gives the same noise, so the report passes none."""
    if pcv < THRESHOLD:
        return -pcv
    return (0, -1, -2, 2, 1)[pcv % BASE]


def perturb(count: int) -> Figure:
    """A count as published: 0 stays 0 (nobody), a count of 1-9 is HIDDEN, and larger counts
    get the 10_5 table's noise (a multiple of 5, at most 2 away)."""
    if count <= 0:
        return 0
    pcv = count if count <= _PTABLE_TOP else (count - 1) % 250 + 501
    shown = count + pvalue_10_5(pcv)
    return HIDDEN if shown < THRESHOLD else shown


def suppress(value: Figure, *people: int) -> Figure:
    """`value`, or HIDDEN when it was computed from 1 to `THRESHOLD` - 1 people.

    `people` are the numbers of people behind a statistic: the number of tickets for a median
    or a percentile. Zero people is no person: nothing to hide. Counts go through `perturb`.
    """
    if any(0 < n < THRESHOLD for n in people):
        return HIDDEN
    return value


def protect(counts: Sequence[int]) -> list[Figure]:
    """The counts of a table, each published on its own (`perturb`). No further cells need to
    be hidden: the table's total is perturbed too, so the total minus the shown cells leaves
    a hidden cell as uncertain as it was."""
    return [perturb(c) for c in counts]


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
