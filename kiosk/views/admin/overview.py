"""The coordinators' front page (/admin): what is coming, and the change log (who changed what,
when)."""

from __future__ import annotations

from flask import render_template

from kiosk.auth import coordinator_required
from kiosk.factories import overview_service
from kiosk.views.admin.base import bp


@bp.get("")
@coordinator_required
def overview() -> str:
    """What is coming, and the latest changes (who, what, when)."""
    return render_template("admin/overview.html", overview=overview_service().overview())


@bp.get("/changes")
@coordinator_required
def changes() -> str:
    """Every change by coordinators and admins, newest first (the last 200)."""
    return render_template("admin/changes.html", changes=overview_service().changes(limit=200))
