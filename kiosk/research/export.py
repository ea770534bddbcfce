"""The research report as a file: the tables of tables.py as CSV or XLSX, and the download that
the dashboard and the API (``/api/v1/research/export``) both answer with (`export_response`).

CSV is "long": one row per cell (table, row, column, value, note), so it parses back with any
CSV reader; a suppressed cell has an empty value and the note "< 10". XLSX has a sheet per table
(the dashboard's layout) in which a suppressed cell reads "< 10", and a first sheet that explains.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response
from flask_babel import gettext as _

from kiosk.factories import research_service
from kiosk.research.tables import (
    HIDDEN_TEXT,
    Table,
    product_label,
    report_tables,
    stop_label,
    suppression_rule,
)
from kiosk.services.research import HIDDEN, Figure, Filters, Report, StopChoice

CSV_MIMETYPE = "text/csv"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# OWASP's "CSV injection" rule: a spreadsheet reads a cell that starts with one of these as a
# formula (or, for tab and CR, as the start of one after it trims). Place and stop names come
# from the tour plan, so they are text we did not write.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A cell that no spreadsheet runs as a formula: text starting with `FORMULA_STARTS` gets a
    single quote in front (OWASP); numbers stay numbers, so a negative count is still a number."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export_value(value: Figure) -> int | float | str:
    """A figure in an export: the number, or "" (none, or suppressed: see the note)."""
    if value is HIDDEN or value is None:
        return ""
    return value  # type: ignore[return-value]


def about_rows(filters: Filters, names: dict[str, str]) -> list[tuple[str, str]]:
    """What the export covers: the filters and the suppression rule."""
    return [
        (_("Van"), filters.start.isoformat()),
        (_("Tot en met"), filters.end.isoformat()),
        (_("Plek"), names.get("location") or _("Alle plekken")),
        (_("Halte"), names.get("stop") or _("Alle haltes")),
        (_("Product"), names.get("product") or _("Alle producten")),
        (_("Regel"), suppression_rule()),
    ]


# -- the files ------------------------------------------------------------------------------------


def csv_header() -> list[str]:
    """The CSV's first row."""
    return [_("tabel"), _("rij"), _("kolom"), _("waarde"), _("opmerking")]


def to_csv(tables: list[Table], about: list[tuple[str, str]]) -> bytes:
    """One row per cell; "Toelichting" rows first (the filters and the rule)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def write(cells: list[Any]) -> None:
        writer.writerow([neutralise(c) for c in cells])

    write(csv_header())
    for name, text in about:
        write([_("Toelichting"), name, "", text, ""])
    for table in tables:
        for row, column, value in table.cells():
            note = HIDDEN_TEXT if value is HIDDEN else ""
            write([table.title, row, column, export_value(value), note])
    return out.getvalue().encode("utf-8")


def to_xlsx(tables: list[Table], about: list[tuple[str, str]]) -> bytes:
    """A sheet "Toelichting" (filters, rule, what each table means), then a sheet per table."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    info = book.active
    info.title = _("Toelichting")
    bold = Font(bold=True)
    # openpyxl stores any text starting with "=" as a formula: every text cell is neutralised.
    for name, text in about:
        info.append([neutralise(name), neutralise(text)])
    info.append([])
    for table in tables:
        info.append([neutralise(table.title), neutralise(table.note)])
        info.cell(row=info.max_row, column=1).font = bold
    info.column_dimensions["A"].width = 40
    info.column_dimensions["B"].width = 100

    for table in tables:
        sheet = book.create_sheet(_sheet_name(table.sheet))
        sheet.append([neutralise(c) for c in (*table.label_columns, *table.value_columns)])
        for cell in sheet[1]:
            cell.font = bold
        for row in table.rows:
            sheet.append([*map(neutralise, row.labels), *(_xlsx_value(v) for v in row.values)])
        sheet.freeze_panes = f"{get_column_letter(len(table.label_columns) + 1)}2"
        sheet.column_dimensions["A"].width = 28
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_value(value: Figure) -> Any:
    if value is HIDDEN:
        return HIDDEN_TEXT
    return None if value is None else value


def _sheet_name(name: str) -> str:
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in name)
    return cleaned[:31]


def filename(filters: Filters, extension: str) -> str:
    """The download's name: the range it covers."""
    return f"onderzoek-{filters.start.isoformat()}-{filters.end.isoformat()}.{extension}"


def export_bytes(report: Report, names: dict[str, str], fmt: str) -> tuple[bytes, str]:
    """The report as a CSV or XLSX file, and its media type."""
    tables = report_tables(report)
    about = about_rows(report.filters, names)
    if fmt == "xlsx":
        return to_xlsx(tables, about), XLSX_MIMETYPE
    return to_csv(tables, about), CSV_MIMETYPE


# -- the download (the dashboard's and the API's) -----------------------------------------


def filter_names(filters: Filters, report: Report, stops: list[StopChoice]) -> dict[str, str]:
    """The chosen place, stop and product by name (for the export's explanation)."""
    names: dict[str, str] = {}
    if filters.location_id is not None:
        names["location"] = report.locations.get(filters.location_id, str(filters.location_id))
    if filters.stop_id is not None:
        stop = next((s for s in stops if s.id == filters.stop_id), None)
        names["stop"] = stop_label(stop) if stop else str(filters.stop_id)
    if filters.product_id is not None:
        names["product"] = product_label(report, filters.product_id)
    return names


def export_response(filters: Filters, fmt: str) -> Response:
    """A CSV or XLSX download of the report (shared with the API)."""
    service = research_service()
    report = service.report(filters)
    _locations, stops = service.filter_choices(filters)
    body, mimetype = export_bytes(report, filter_names(filters, report, stops), fmt)
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{filename(filters, "xlsx" if fmt == "xlsx" else "csv")}"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response
