"""The research report as tables with labels in the reader's language: what the dashboard shows
under each chart, what the charts are drawn from (charts.py), and what the CSV and XLSX exports
hold (export.py). One set of tables for all of them, so a suppressed cell is suppressed
everywhere alike.

Most tables have a row per record of the report (a product, a place, a neighbourhood...): a
`Layout` declares their columns once. The heat map and the tables over time have a column per
hour, place or product, and are made by `heat_table` and `time_table`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

from babel.dates import get_day_names
from flask import current_app
from flask_babel import format_date, format_decimal, get_locale
from flask_babel import gettext as _

from kiosk.i18n import local_time
from kiosk.models import DayPart, Moment
from kiosk.services.research import (
    HIDDEN,
    MIN_PEOPLE,
    THRESHOLD,
    CountRow,
    DurationRow,
    Figure,
    NoShowRow,
    PlaceTime,
    Report,
    StopChoice,
)
from kiosk.services.research.feedback import RatingRow, WalkOutRow, WishRow
from kiosk.services.research.vocabulary import (
    DAY_PART_LABELS,
    MOMENT_LABELS,
    N_,
    OTHER_HOMES,
    SIGNAL_LABELS,
    UNKNOWN_PLACE,
    home_label,
)

HIDDEN_TEXT = "< 10"  # the 10_5 table hides counts below `THRESHOLD`
R = TypeVar("R")


@dataclass(frozen=True)
class Row:
    """One row of a table: its label columns, then its figures."""

    labels: list[str]
    values: list[Figure]


@dataclass(frozen=True)
class Table:
    """One table of the report: label columns, value columns and how each value reads."""

    key: str
    title: str
    sheet: str  # an XLSX sheet name: at most 31 characters
    note: str
    label_columns: list[str]
    value_columns: list[str]
    kinds: list[str]  # per value column: count, minutes, percent, hours, rate, rank
    rows: list[Row] = field(default_factory=list)

    def cells(self) -> Iterator[tuple[str, str, Figure]]:
        """(row label, column, figure) for every value cell, in reading order."""
        for row in self.rows:
            for column, value in zip(self.value_columns, row.values, strict=True):
                yield " – ".join(row.labels), column, value


# -- labels ---------------------------------------------------------------------------------------


def _language() -> str:
    return str(get_locale() or "nl")


def product_label(report: Report, product_id: int | None) -> str:
    """A product's name in the reader's language (None: all products)."""
    if product_id is None:
        return str(_("Alle producten"))
    names = report.products.get(product_id) or {}
    return names.get(_language()) or names.get("nl") or str(_("Onbekend product"))


def location_label(report: Report, location_id: int | None) -> str:
    """A place's name (None: all places)."""
    if location_id is None:
        return str(_("Alle plekken"))
    return report.locations.get(location_id) or str(_("Onbekende plek"))


def place_label(report: Report, key: str) -> str:
    """A neighbourhood's name (a proper noun), or "unknown neighbourhood" translated."""
    label = report.places.get(key, key)
    return _(UNKNOWN_PLACE) if label == UNKNOWN_PLACE else label


def stop_label(stop: StopChoice) -> str:
    """A stop as the filter form and the export name it: its place and local start."""
    return f"{stop.location}, {local_time(stop.starts_at, 'EEE d MMM yyyy HH:mm')}"


def weekday_names() -> list[str]:
    """Monday to Sunday in the reader's language."""
    names = get_day_names("wide", locale=_language())
    return [str(names[i]).capitalize() for i in range(7)]


def period_label(day: date, granularity: str) -> str:
    """A row of a table over time: the day, or the week named by its Monday."""
    if granularity == "week":
        return str(_("week van %(day)s", day=format_date(day, "d MMM yyyy")))
    return str(format_date(day, "EEE d MMM"))


def _percent(value: Figure) -> Figure:
    if isinstance(value, float):
        return round(value * 100, 1)
    return value


# -- the tables -----------------------------------------------------------------------------------


def report_tables(report: Report) -> list[Table]:
    """Every table of the report, in the dashboard's order."""
    return [
        WHERE_NEXT.table(report),
        heat_table(report),
        time_table(report, "per_location"),
        time_table(report, "per_product"),
        DURATIONS.table(report),
        NO_SHOWS.table(report),
        ORIGIN.table(report),
        MOMENTS.table(report),
        UNMET.table(report, minutes=_long_wait_minutes()),
        NOT_OFFERED.table(report),
        WALK_OUTS.table(report),
        RATINGS.table(report),
        WISHES.table(report),
    ]


def heat_table(report: Report) -> Table:
    """Tickets per weekday (rows) and hour (columns)."""
    heat = report.heat_map
    days = weekday_names()
    return Table(
        key="heat",
        title=_("Nummers per uur en dag van de week"),
        sheet=_("Per uur en dag"),
        note=_(
            "Hoeveel nummers er werden getrokken, ook voor afspraken, per uur (plaatselijke "
            "tijd). 10 betekent: van 10:00 tot 11:00."
        ),
        label_columns=[_("Dag")],
        value_columns=[f"{hour:02d}:00" for hour in heat.hours],
        kinds=["count"] * len(heat.hours),
        rows=[Row([days[day]], [heat.value(day, hour) for hour in heat.hours]) for day in range(7)],
    )


def time_table(report: Report, which: str) -> Table:
    """Tickets per period (rows) and place or product (columns); `which`: "per_location" or
    "per_product"."""
    table = report.per_location if which == "per_location" else report.per_product
    if which == "per_location":
        title, sheet = _("Nummers per plek"), _("Per plek")
        names = [location_label(report, s.key) for s in table.series]
    else:
        title, sheet = _("Nummers per product"), _("Per product")
        names = [product_label(report, s.key) for s in table.series]
    if table.granularity == "week":
        note = _("Hoeveel nummers er werden getrokken, per week (van maandag tot en met zondag).")
    else:
        note = _("Hoeveel nummers er werden getrokken, per dag.")
    return Table(
        key=which,
        title=title,
        sheet=sheet,
        note=note,
        label_columns=[_("Week") if table.granularity == "week" else _("Dag")],
        value_columns=names,
        kinds=["count"] * len(names),
        rows=[
            Row(
                [period_label(period, table.granularity)],
                [series.values[i] for series in table.series],
            )
            for i, period in enumerate(table.periods)
        ],
    )


@dataclass(frozen=True)
class Column(Generic[R]):
    """A value column of a table with a row per record: its heading, how its figures read (see
    `Table.kinds`) and the figure of a record."""

    heading: str  # a Dutch msgid, translated when the table is made
    kind: str
    figure: Callable[[R], Figure]


@dataclass(frozen=True)
class Layout(Generic[R]):
    """A table with a row per record of the report. Texts are Dutch msgids (marked with `N_`),
    translated when the table is made, in the reader's language."""

    key: str
    title: str
    sheet: str
    note: str
    label_columns: list[str]
    records: Callable[[Report], Sequence[R]]
    labels: Callable[[Report, R], list[str]]  # the row's label columns
    columns: list[Column[R]]

    def table(self, report: Report, **note: Any) -> Table:
        """The table of this report; `note` fills the placeholders of the note."""
        return Table(
            key=self.key,
            title=_(self.title),
            sheet=_(self.sheet),
            note=_(self.note, **note),
            label_columns=[_(heading) for heading in self.label_columns],
            value_columns=[_(column.heading) for column in self.columns],
            kinds=[column.kind for column in self.columns],
            rows=[
                Row(self.labels(report, record), [c.figure(record) for c in self.columns])
                for record in self.records(report)
            ],
        )


DURATIONS = Layout[DurationRow](
    key="durations",
    title=N_("Wachttijd en tijd aan de balie per product"),
    sheet=N_("Wachttijd"),
    note=N_(
        "In minuten. Wachttijd: van het nummer (of het begin van de afspraak, als dat later "
        "is) tot de oproep. Tijd aan de balie: van het begin tot het einde van de hulp. "
        "Mediaan: de helft was sneller. 90e percentiel: 9 van de 10 waren even snel of "
        "sneller."
    ),
    label_columns=[N_("Product")],
    records=lambda report: report.durations,
    labels=lambda report, r: [product_label(report, r.product_id)],
    columns=[
        Column(N_("Opgeroepen"), "count", lambda r: r.waited),
        Column(N_("Wachttijd, mediaan"), "minutes", lambda r: r.wait_median),
        Column(N_("Wachttijd, 90e percentiel"), "minutes", lambda r: r.wait_p90),
        Column(N_("Geholpen"), "count", lambda r: r.served),
        Column(N_("Aan de balie, mediaan"), "minutes", lambda r: r.service_median),
        Column(N_("Aan de balie, 90e percentiel"), "minutes", lambda r: r.service_p90),
    ],
)

NO_SHOWS = Layout[NoShowRow](
    key="no_shows",
    title=N_("Niet gekomen per plek"),
    sheet=N_("Niet gekomen"),
    note=N_(
        "Nummers die werden opgeroepen, en hoeveel daarvan niet kwamen. Afspraken van "
        "voor nu (niet afgezegd), en hoeveel daarvan niet kwamen. Deel in procenten."
    ),
    label_columns=[N_("Plek")],
    records=lambda report: report.no_shows,
    labels=lambda report, r: [location_label(report, r.location_id)],
    columns=[
        Column(N_("Opgeroepen"), "count", lambda r: r.called),
        Column(N_("Niet gekomen"), "count", lambda r: r.no_shows),
        Column(N_("Niet gekomen (%)"), "percent", lambda r: _percent(r.no_show_rate)),
        Column(N_("Afspraken"), "count", lambda r: r.appointments),
        Column(N_("Afspraak gemist"), "count", lambda r: r.missed),
        Column(N_("Afspraak gemist (%)"), "percent", lambda r: _percent(r.missed_rate)),
    ],
)

PEOPLE = [Column[CountRow](N_("Mensen"), "count", lambda r: r.value)]
TIMES = [Column[CountRow](N_("Aantal"), "count", lambda r: r.value)]

ORIGIN = Layout[CountRow](
    key="origin",
    title=N_("Waar wonen de bezoekers?"),
    sheet=N_("Wijk"),
    note=N_(
        "Antwoorden op de vraag bij de kiosk, van mensen die de vraag beantwoordden. De "
        "vraag is vrijwillig en anoniem."
    ),
    label_columns=[N_("Wijk of postcode")],
    records=lambda report: report.origin,
    labels=lambda report, r: [_home(r.key)],
    columns=PEOPLE,
)


def _home(code: str) -> str:
    """A neighbourhood's name (a proper noun), a postcode, or a translated other answer."""
    return _(OTHER_HOMES[code]) if code in OTHER_HOMES else home_label(code)


MOMENTS = Layout[CountRow](
    key="moments",
    title=N_("Wanneer komen bezoekers het liefst?"),
    sheet=N_("Liefst"),
    note=N_("Antwoorden op de tweede vraag bij de kiosk."),
    label_columns=[N_("Moment")],
    records=lambda report: report.moments,
    labels=lambda report, r: [_(MOMENT_LABELS[Moment(r.key)])],
    columns=PEOPLE,
)

UNMET = Layout[CountRow](
    key="unmet",
    title=N_("Vraag die wij niet konden helpen"),
    sheet=N_("Niet geholpen"),
    note=N_(
        "Getikt op de kiosk voor iets wat hier niet kan, of terwijl het loket dicht was; "
        "een afspraak voor later gekozen op de kiosk; niet gekomen na een oproep of voor "
        "een afspraak; weggegaan na meer dan %(minutes)s minuten wachten."
    ),
    label_columns=[N_("Wat")],
    records=lambda report: report.unmet,
    labels=lambda report, r: [_(SIGNAL_LABELS[r.key])],
    columns=TIMES,
)


def _long_wait_minutes() -> int:
    return int(current_app.config["RESEARCH_LONG_WAIT_MINUTES"])


NOT_OFFERED = Layout[CountRow](
    key="not_offered",
    title=N_("Gevraagd, maar hier niet aangeboden"),
    sheet=N_("Niet aangeboden"),
    note=N_("Per product: hoe vaak iemand op de kiosk tikte dat hij of zij hiervoor kwam."),
    label_columns=[N_("Product")],
    records=lambda report: report.not_offered,
    labels=lambda report, r: [
        product_label(report, int(r.key)) if r.key else _("Onbekend product")
    ],
    columns=TIMES,
)

WHERE_NEXT = Layout[PlaceTime](
    key="where_next",
    title=N_("Waar en wanneer nu?"),
    sheet=N_("Waar en wanneer"),
    note=N_(
        "Per wijk en dagdeel: het aantal nummers bij haltes in die wijk in dat dagdeel, "
        "gedeeld door de openingsuren van die haltes in dat dagdeel. Hoe hoger, hoe drukker. "
        "Wensen: bewoners van die wijk die dan het liefst komen. Doordeweeks overdag is "
        "8:00–17:00, 's avonds 17:00–22:00, weekend 8:00–22:00."
    ),
    label_columns=[N_("Wijk"), N_("Dagdeel")],
    records=lambda report: report.where_next,
    labels=lambda report, r: [
        place_label(report, r.place),
        _(DAY_PART_LABELS[DayPart(r.day_part)]),
    ],
    columns=[
        Column(N_("Rang"), "rank", lambda r: r.rank),
        Column(N_("Bezoekers"), "count", lambda r: r.visitors),
        Column(N_("Openingsuren"), "hours", lambda r: r.hours),
        Column(N_("Bezoekers per openingsuur"), "rate", lambda r: r.per_hour),
        Column(N_("Wensen"), "count", lambda r: r.wishes),
    ],
)


def stop_day_label(report: Report, stop_id: int) -> str:
    """A stop in a table per stop: its place and local day."""
    found = report.stops.get(stop_id)
    if found is None:
        return str(_("Onbekende plek"))
    name, day = found
    return f"{name}, {format_date(day, 'd MMM yyyy')}"


WALK_OUTS = Layout[WalkOutRow](
    key="walk_outs",
    title=N_("Weggegaan voor de beurt"),
    sheet=N_("Weggegaan"),
    note=N_(
        'Nummers die uit de wachtrij gingen voordat zij werden geholpen: met "Ik ga weg" op '
        "de telefoon, of door een medewerker. Wachttijd: van het nummer (of het begin van de "
        "afspraak) tot het weggaan, in minuten. Mediaan: de helft ging eerder weg."
    ),
    label_columns=[N_("Product")],
    records=lambda report: report.walk_outs,
    labels=lambda report, r: [product_label(report, r.product_id)],
    columns=[
        Column(N_("Weggegaan"), "count", lambda r: r.left),
        Column(N_("Gewacht, mediaan"), "minutes", lambda r: r.wait_median),
    ],
)

FACE_HEADINGS = [
    N_("1 heel slecht"),
    N_("2 slecht"),
    N_("3 gaat wel"),
    N_("4 goed"),
    N_("5 heel goed"),
]


def _face_column(index: int, heading: str) -> Column[RatingRow]:
    """The column of one face: how many people gave it."""
    return Column(heading, "count", lambda r: r.faces[index])


RATINGS = Layout[RatingRow](
    key="ratings",
    title=N_("Hoe bent u geholpen?"),
    sheet=N_("Tevredenheid"),
    note=N_(
        "Antwoorden na het bezoek, op de telefoon of bij de kiosk, per halte en product. "
        "1 is heel slecht, 5 is heel goed. Tevreden: 4 of 5, in procenten van wie antwoordde. "
        "De vraag is vrijwillig en anoniem."
    ),
    label_columns=[N_("Halte"), N_("Product")],
    records=lambda report: report.ratings,
    labels=lambda report, r: [
        stop_day_label(report, r.stop_id),
        product_label(report, r.product_id),
    ],
    columns=[
        *(_face_column(i, label) for i, label in enumerate(FACE_HEADINGS)),
        Column(N_("Mensen"), "count", lambda r: r.people),
        Column(N_("Tevreden (%)"), "percent", lambda r: _percent(r.happy_rate)),
    ],
)

WISHES = Layout[WishRow](
    key="wishes",
    title=N_("Wat moeten we hier nog meer aanbieden?"),
    sheet=N_("Wensen"),
    note=N_(
        "Antwoorden na het bezoek op de telefoon, per halte: welk product bewoners hier ook "
        "graag zouden zien. De vraag is vrijwillig en anoniem."
    ),
    label_columns=[N_("Halte"), N_("Product")],
    records=lambda report: report.wishes,
    labels=lambda report, r: [
        stop_day_label(report, r.stop_id),
        product_label(report, r.product_id),
    ],
    columns=[Column(N_("Mensen"), "count", lambda r: r.people)],
)


# -- reading a figure -----------------------------------------------------------------------------


def cell_text(value: Figure, kind: str = "count") -> str:
    """A figure as the dashboard shows it: "< 10" when hidden, "–" when there is none."""
    if value is HIDDEN:
        return HIDDEN_TEXT
    if value is None:
        return "–"
    if kind == "percent":
        return f"{format_decimal(value, '0.#')} %"
    if kind in ("minutes", "hours", "rate"):
        return str(format_decimal(value, "#,##0.#"))
    return str(format_decimal(value, "#,##0"))


def suppression_rule() -> str:
    """The method, for a reader: why figures are rounded, why some read "< 10", and that
    totals may not add up (the dashboard and the export's explanation both say it)."""
    return str(
        _(
            "Wij beschermen de cijfers zoals het Britse statistiekbureau ONS dat doet: aantallen "
            "onder de %(threshold)s tonen wij niet (daar staat < %(threshold)s), en andere "
            "aantallen zijn afgerond op 5. Elk aantal wordt overal op dezelfde manier "
            "afgerond, in elke tabel, grafiek, filter en export. Zo kan niemand uit een "
            "verschil tussen cijfers uitrekenen wat minder dan %(min)s mensen deden. Daardoor "
            "kloppen totalen soms niet precies.",
            threshold=THRESHOLD,
            min=MIN_PEOPLE,
        )
    )
