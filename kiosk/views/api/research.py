"""The research export for coordinators: the dashboard's figures as a CSV or XLSX file."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from kiosk.auth import require_staff
from kiosk.models import Role
from kiosk.research.export import XLSX_MIMETYPE, export_response
from kiosk.services.research import Filters
from kiosk.views.api.base import bp, doc_errors
from kiosk.views.api.schemas import ResearchExportQuery

BINARY = {"type": "string", "format": "binary"}
EXPORT_FILE = "CSV (table, row, column, value, note) or XLSX (a sheet per table)"


@bp.get("/research/export")
@require_staff(Role.COORDINATOR)
@bp.arguments(ResearchExportQuery, location="query", unknown=ma.RAISE)
@bp.response(200, BINARY, content_type="text/csv", description=EXPORT_FILE)
@bp.alt_response(
    200, schema=BINARY, content_type=XLSX_MIMETYPE, description=EXPORT_FILE, success=True
)
@doc_errors(401, 403, 422)
def research_export(query: dict[str, Any]) -> Any:
    """The research figures as CSV or XLSX, as on the dashboard (ONS cell-key perturbation, 10_5
    table): a count below 10 is left empty (CSV, with the note "< 10") or reads "< 10" (XLSX),
    the others are rounded to a multiple of 5, so totals may not add up."""
    filters = Filters(
        query["start"],
        query["end"],
        location_id=query.get("location"),
        stop_id=query.get("stop"),
        product_id=query.get("product"),
    )
    return export_response(filters, query["format"])
