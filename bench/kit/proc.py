"""What Linux's ``/proc`` tells of a process: its resident memory and the CPU time it used.

Standard library only, so that a script measuring its own memory (bench/memory_floor.py) loads
nothing else by importing it.
"""

from __future__ import annotations

import os
from pathlib import Path


def proc_rss_mb(pid: int) -> float | None:
    """Resident memory of process `pid` in MB (VmRSS); None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds process `pid` has used so far; None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
