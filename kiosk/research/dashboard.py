"""The research dashboard for coordinators: where and when is the front office needed?
Charts and tables from one suppressed report, filters in the address, CSV and XLSX export."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from kiosk.auth import coordinator_required
from kiosk.factories import research_service
from kiosk.research.charts import dashboard_charts
from kiosk.research.export import export_response
from kiosk.research.tables import (
    HIDDEN_TEXT,
    cell_text,
    product_label,
    report_tables,
    stop_label,
    suppression_rule,
)
from kiosk.services.research import Filters, InvalidFilters

bp = Blueprint("research", __name__, url_prefix="/admin/research")


def _date(text: str | None) -> date | None:
    if not text:
        return None
    return date.fromisoformat(text)


def _id(text: str | None) -> int | None:
    if not text:
        return None
    value = int(text)
    if not 0 < value < 2**31:
        raise ValueError(text)
    return value


def filters_from(args: MultiDict[str, str]) -> tuple[Filters, str | None]:
    """The filters in the address; the default range (last 4 weeks) for what is missing, and a
    message when something could not be read."""
    default = research_service().default_filters()
    try:
        return (
            Filters(
                start=_date(args.get("from")) or default.start,
                end=_date(args.get("to")) or default.end,
                location_id=_id(args.get("location")),
                stop_id=_id(args.get("stop")),
                product_id=_id(args.get("product")),
            ),
            None,
        )
    except (ValueError, InvalidFilters):
        return default, _("Deze filters kloppen niet. U ziet de laatste 4 weken.")


def query_of(filters: Filters) -> dict[str, Any]:
    """The filters as address parameters (for the export links)."""
    query: dict[str, Any] = {"from": filters.start.isoformat(), "to": filters.end.isoformat()}
    for name, value in (
        ("location", filters.location_id),
        ("stop", filters.stop_id),
        ("product", filters.product_id),
    ):
        if value is not None:
            query[name] = value
    return query


@bp.get("")
@coordinator_required
def dashboard() -> str:
    """Charts of demand, waits, no-shows, origin, preferred moments and unmet demand, and the
    ranking of neighbourhood x part of the week; each chart with its table."""
    filters, error = filters_from(request.args)
    service = research_service()
    report = service.report(filters)
    locations, stops = service.filter_choices(filters)
    tables = report_tables(report)
    return render_template(
        "research/dashboard.html",
        page_title=_("Onderzoek"),
        admin_section="research",  # the coordinators' navigation marks this page
        filters=filters,
        error=error,
        report=report,
        tables=tables,
        charts=dashboard_charts(tables),
        locations=locations,
        stops=[(s.id, stop_label(s)) for s in stops],
        products=[(p.id, product_label(report, p.id)) for p in service.products()],
        query=query_of(filters),
        cell_text=cell_text,
        hidden_text=HIDDEN_TEXT,
        rule=suppression_rule(),
    )


@bp.get("/export.<any(csv, xlsx):fmt>")
@coordinator_required
def export(fmt: str) -> Response:
    """The dashboard's tables as a file, with the same filters and the same hidden cells."""
    filters, _error = filters_from(request.args)
    return export_response(filters, fmt)
