"""Durable changes in a folder: ``fsync_dir``, shared by the spool and the file printer.

Kept apart from :mod:`printer.backends.file` (which loads python-escpos), so that the spool,
which every process of the app can add jobs to, loads no printer library.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_dir"]


def fsync_dir(path: Path) -> None:
    """Make a rename or new file in this folder durable (the folder's entry, not just the file)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
