"""Charts of the research dashboard, drawn on the server as plain shapes for inline SVG.

No chart library and no script: each builder turns one table of tables.py into rectangles and
texts with CSS classes (colours live in static/css/research.css; the strict CSP allows no style
attributes). A suppressed figure is drawn hatched and labelled "< 10", and the
heat map prints its number in every cell, so colour never carries a figure alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from flask_babel import gettext as _

from kiosk.research.tables import HIDDEN_TEXT, Row, Table, cell_text
from kiosk.services.research import HIDDEN, Figure

HATCH = "url(#research-hatch)"  # the pattern defined once on the dashboard page
LEVELS = 5  # shades of the heat map besides 0


@dataclass(frozen=True)
class Shape:
    """A rectangle of a chart."""

    x: float
    y: float
    width: float
    height: float
    css: str
    fill: str | None = None  # a presentation attribute (the hatch pattern), not a style


@dataclass(frozen=True)
class Text:
    """A text of a chart: a label, an axis mark or a figure."""

    x: float
    y: float
    text: str
    css: str = ""
    anchor: str = "start"


@dataclass(frozen=True)
class Chart:
    """One chart: its size, its shapes and texts, and a legend when it has several colours."""

    key: str
    title: str
    desc: str
    width: float
    height: float
    shapes: list[Shape] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css class, label)

    @property
    def empty(self) -> bool:
        """Nothing to draw (the page says so instead)."""
        return not self.shapes and not self.texts

    def blank(self) -> Chart:
        """This chart with nothing drawn in it (nothing to draw): no marks, no legend."""
        return Chart(self.key, self.title, self.desc, self.width, self.height)


def _number(value: Figure) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _peak(values: list[Figure]) -> float:
    return max((v for v in map(_number, values) if v is not None), default=0.0)


def _short(text: str, limit: int = 36) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- heat map --------------------------------------------------------------------------------------

CELL_W, CELL_H, HEAT_LEFT, HEAT_TOP = 46, 30, 96, 28


def heat_chart(table: Table) -> Chart:
    """Weekday rows x hour columns; the shade follows the count, and the count is printed."""
    values = [v for row in table.rows for v in row.values]
    peak = _peak(values)
    chart = Chart(
        key=table.key,
        title=table.title,
        desc=_("Heatmap: elke cel is een uur op een dag van de week, met het aantal erin."),
        width=HEAT_LEFT + CELL_W * len(table.value_columns) + 4,
        height=HEAT_TOP + CELL_H * len(table.rows) + 4,
    )
    if all(v is None for v in values):
        return chart.blank()
    for c, column in enumerate(table.value_columns):
        x = HEAT_LEFT + c * CELL_W + CELL_W / 2
        chart.texts.append(Text(x, HEAT_TOP - 10, column[:2], "chart-axis", "middle"))
    for r, row in enumerate(table.rows):
        y = HEAT_TOP + r * CELL_H
        chart.texts.append(
            Text(HEAT_LEFT - 8, y + CELL_H / 2 + 5, row.labels[0], "chart-axis", "end")
        )
        for c, value in enumerate(row.values):
            x = HEAT_LEFT + c * CELL_W
            cx, cy = x + CELL_W / 2, y + CELL_H / 2 + 5
            if value is HIDDEN:
                chart.shapes.append(
                    Shape(x + 1, y + 1, CELL_W - 2, CELL_H - 2, "heat heat--hidden", HATCH)
                )
                chart.texts.append(
                    Text(cx, cy, HIDDEN_TEXT, "heat-text heat-text--hidden", "middle")
                )
                continue
            number = _number(value) or 0.0
            level = 0 if not number or not peak else max(1, math.ceil(LEVELS * number / peak))
            chart.shapes.append(Shape(x + 1, y + 1, CELL_W - 2, CELL_H - 2, f"heat heat--{level}"))
            chart.texts.append(
                Text(cx, cy, cell_text(value), f"heat-text heat-text--{level}", "middle")
            )
    return chart


# -- horizontal bars ------------------------------------------------------------------------------

LABEL_W, BAR_AREA, VALUE_W, BAR_H, BAR_GAP, GROUP_GAP, LEGEND_H = 320, 380, 90, 18, 3, 12, 28


def bar_chart(
    table: Table,
    columns: list[int],
    *,
    key: str | None = None,
    title: str | None = None,
    rows: list[Row] | None = None,
    labels: list[str] | None = None,
) -> Chart:
    """One bar per row and chosen column (grouped when several), its value printed beside it."""
    rows = table.rows if rows is None else rows
    labels = [" · ".join(r.labels) for r in rows] if labels is None else labels
    values = [row.values[i] for row in rows for i in columns]
    peak = _peak(values)
    legend_h = LEGEND_H if len(columns) > 1 else 0
    group_h = len(columns) * (BAR_H + BAR_GAP) - BAR_GAP
    chart = Chart(
        key=key or table.key,
        title=title or table.title,
        desc=_("Staafdiagram; de getallen staan ook in de tabel eronder."),
        width=LABEL_W + BAR_AREA + VALUE_W,
        height=legend_h + len(rows) * (group_h + GROUP_GAP) + 4,
        legend=[(f"bar--{n}", table.value_columns[i]) for n, i in enumerate(columns)]
        if len(columns) > 1
        else [],
    )
    if all(v is None for v in values):
        return chart.blank()
    for n, i in enumerate(columns if len(columns) > 1 else []):  # the legend, in the chart
        x = LABEL_W + n * 220
        chart.shapes.append(Shape(x, 6, 14, 14, f"bar bar--{n}"))
        chart.texts.append(Text(x + 20, 18, _short(table.value_columns[i], 28), "chart-legend"))
    for r, (row, label) in enumerate(zip(rows, labels, strict=True)):
        top = legend_h + r * (group_h + GROUP_GAP)
        chart.texts.append(
            Text(LABEL_W - 10, top + group_h / 2 + 5, _short(label), "chart-label", "end")
        )
        for n, i in enumerate(columns):
            y = top + n * (BAR_H + BAR_GAP)
            value = row.values[i]
            kind = table.kinds[i]
            if value is HIDDEN:
                chart.shapes.append(Shape(LABEL_W, y, 18, BAR_H, "bar bar--hidden", HATCH))
                chart.texts.append(Text(LABEL_W + 24, y + BAR_H - 4, HIDDEN_TEXT, "chart-value"))
                continue
            number = _number(value)
            width = 0.0 if not number or not peak else max(number / peak * BAR_AREA, 2.0)
            if width:
                chart.shapes.append(Shape(LABEL_W, y, width, BAR_H, f"bar bar--{n}"))
            text = cell_text(value, kind)
            chart.texts.append(Text(LABEL_W + width + 6, y + BAR_H - 4, text, "chart-value"))
    return chart


# -- over time: one small bar chart per place or product ------------------------------------------

SERIES_H, SERIES_BARS, TIME_W, AXIS_H = 70, 40, 720, 22


def time_chart(table: Table) -> Chart:
    """Small multiples: for each column (a place or product) a row of bars over the periods,
    all on one scale."""
    series = table.value_columns
    periods = table.rows
    values = [v for row in periods for v in row.values]
    peak = _peak(values)
    chart = Chart(
        key=table.key,
        title=table.title,
        desc=_(
            "Per plek of product een rij staafjes, één per dag of week, op dezelfde schaal; de "
            "getallen staan ook in de tabel eronder."
        ),
        width=TIME_W,
        height=len(series) * SERIES_H + AXIS_H,
    )
    if not periods or not series or all(v is None for v in values):
        return chart.blank()
    step = TIME_W / len(periods)
    bar_w = max(step - 2, 1.0)
    for s, name in enumerate(series):
        top = s * SERIES_H
        baseline = top + 18 + SERIES_BARS
        chart.texts.append(Text(0, top + 14, _short(name, 60), "chart-label"))
        chart.shapes.append(Shape(0, baseline, TIME_W, 1, "chart-baseline"))
        for p, row in enumerate(periods):
            value = row.values[s]
            x = p * step + 1
            if value is HIDDEN:
                chart.shapes.append(Shape(x, baseline - 6, bar_w, 6, "bar bar--hidden", HATCH))
                continue
            number = _number(value)
            if number:
                height = max(number / peak * SERIES_BARS, 1.5)
                chart.shapes.append(Shape(x, baseline - height, bar_w, height, "bar bar--0"))
    bottom = len(series) * SERIES_H + AXIS_H - 6
    marks = sorted({0, len(periods) // 2, len(periods) - 1})
    for p in marks:
        anchor = "start" if p == 0 else "end" if p == len(periods) - 1 else "middle"
        x = p * step + (0 if anchor == "start" else step if anchor == "end" else step / 2)
        chart.texts.append(Text(x, bottom, periods[p].labels[0], "chart-axis", anchor))
    return chart


# -- the dashboard's charts -----------------------------------------------------------------------


def dashboard_charts(tables: list[Table]) -> dict[str, list[Chart]]:
    """The charts of each table, by the table's key."""
    by_key = {t.key: t for t in tables}
    durations = by_key["durations"]
    where = by_key["where_next"]
    ranked = [r for r in where.rows if isinstance(r.values[0], int)][:12]
    return {
        "heat": [heat_chart(by_key["heat"])],
        "per_location": [time_chart(by_key["per_location"])],
        "per_product": [time_chart(by_key["per_product"])],
        "durations": [
            bar_chart(durations, [1, 2], key="waits", title=_("Wachttijd per product")),
            bar_chart(durations, [4, 5], key="service", title=_("Tijd aan de balie per product")),
        ],
        "no_shows": [bar_chart(by_key["no_shows"], [2, 5])],
        "origin": [bar_chart(by_key["origin"], [0])],
        "moments": [bar_chart(by_key["moments"], [0])],
        "unmet": [bar_chart(by_key["unmet"], [0])],
        "not_offered": [bar_chart(by_key["not_offered"], [0])],
        "walk_outs": [bar_chart(by_key["walk_outs"], [0, 1])],
        "ratings": [bar_chart(by_key["ratings"], [6])],
        "wishes": [bar_chart(by_key["wishes"], [0])],
        "where_next": [
            bar_chart(
                where,
                [3],
                rows=ranked,
                labels=[f"{r.values[0]}. {' · '.join(r.labels)}" for r in ranked],
                title=_("Bezoekers per openingsuur, hoogste eerst"),
            )
        ],
    }
