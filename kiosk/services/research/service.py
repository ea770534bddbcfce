"""The one research service the app builds (`kiosk.factories.research_service`): the kiosk's
questions and taps are recorded by the same service that reports the figures."""

from __future__ import annotations

from kiosk.services.research.recording import RecordingService
from kiosk.services.research.report import ReportService


class ResearchService(RecordingService, ReportService):
    """Counts the kiosk's anonymous answers and unmet demand (`RecordingService`), and reports
    the figures (`ReportService`)."""
