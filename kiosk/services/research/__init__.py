"""Research, the rules (no Flask): which neighbourhoods, which times, which products.

The kiosk's anonymous answers and taps of unmet demand are counted here, and tickets,
appointments, answers and signals become the figures coordinators read, perturbed (ONS 10_5).
Its doors (the dashboard, charts, CSV/XLSX export, the kiosk's questions) are in `kiosk.research`.

    kiosk's questions, "I came for this" -> recording.py  RecordingService: tallies, signals
    dashboard, API export                -> report.py     ReportService.report(Filters) -> Report
                                              scope.py       the stops, tickets, tallies in scope
                                              demand.py      heat map, over time, waits, no-shows,
                                                             origin, moments, unmet demand
                                              where_next.py  neighbourhood x part of the week
                                              feedback.py    walk-outs, faces and wishes after
                                                             the visit (kiosk.services.feedback)
                                              figures.py     perturb (ONS 10_5), suppress, ratio

- `service.py`: `ResearchService`, a RecordingService and a ReportService in one: what
  `kiosk.factories.research_service()` builds.
- `vocabulary.py`: the words: Hoorn's neighbourhoods, the parts of the day, the moments residents
  can choose, the kinds of unmet demand (Dutch msgids, translated by the doors).

Privacy, by construction: answers are tallies without a time, a device or a ticket
(recording.py), and no count of fewer than `MIN_PEOPLE` people can be worked out from the
figures that leave this package, alone or combined (figures.py). Times are stored in UTC and
counted in the configured time zone (scope.py).
"""

from kiosk.services.research.demand import (
    HEAT_HOURS,
    UNMET_KINDS,
    CountRow,
    DurationRow,
    HeatMap,
    NoShowRow,
    Series,
    TimeTable,
)
from kiosk.services.research.feedback import RatingRow, WalkOutRow, WishRow
from kiosk.services.research.figures import (
    HIDDEN,
    MIN_PEOPLE,
    THRESHOLD,
    Figure,
    Hidden,
    median,
    percentile,
    perturb,
    protect,
    pvalue_10_5,
    ratio,
    suppress,
)
from kiosk.services.research.recording import (
    AnswerKey,
    InvalidAnswer,
    InvalidSignal,
    RecordingService,
)
from kiosk.services.research.report import (
    LONG_WAIT_MINUTES,
    Report,
    ReportService,
    StopChoice,
)
from kiosk.services.research.scope import (
    DAILY_UP_TO_DAYS,
    MAX_RANGE_DAYS,
    Filters,
    InvalidFilters,
)
from kiosk.services.research.service import ResearchService
from kiosk.services.research.where_next import PlaceTime

__all__ = [
    "DAILY_UP_TO_DAYS",
    "HEAT_HOURS",
    "HIDDEN",
    "LONG_WAIT_MINUTES",
    "MAX_RANGE_DAYS",
    "MIN_PEOPLE",
    "THRESHOLD",
    "UNMET_KINDS",
    "AnswerKey",
    "CountRow",
    "DurationRow",
    "Figure",
    "Filters",
    "HeatMap",
    "Hidden",
    "InvalidAnswer",
    "InvalidFilters",
    "InvalidSignal",
    "NoShowRow",
    "PlaceTime",
    "RatingRow",
    "RecordingService",
    "Report",
    "ReportService",
    "ResearchService",
    "Series",
    "StopChoice",
    "TimeTable",
    "WalkOutRow",
    "WishRow",
    "median",
    "percentile",
    "perturb",
    "protect",
    "pvalue_10_5",
    "ratio",
    "suppress",
]
