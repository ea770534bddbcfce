"""bench/print_path.py's in-process parts run and measure what they say: a slip's work after
the response reaches the spool (the script crashed once the spool write moved there), and each
stage of a slip is timed once per slip."""

from __future__ import annotations

from pathlib import Path

from bench.print_path import STAGES, in_request, slip_stages


def test_the_request_part_times_the_work_after_the_response_and_every_slip_is_spooled(
    tmp_path: Path,
):
    figures = in_request(3, "native", tmp_path)
    assert figures["n"] == 3 and figures["after_response"]["n"] == 3
    assert figures["slip_bytes"] > 0


def test_the_stages_part_times_each_stage_of_every_slip(tmp_path: Path):
    figures = slip_stages(3, tmp_path)
    assert list(figures) == [*STAGES, "all"]
    assert all(figures[stage]["n"] == 3 and figures[stage]["cpu_ms"] >= 0 for stage in STAGES)
    assert figures["all"]["cpu_ms"] > 0
