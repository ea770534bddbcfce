"""A package's names that are imported on first use (PEP 562's module ``__getattr__``).

``printer`` and ``printer.backends`` export the renderer and the printer classes this way: their
modules load python-escpos, Pillow and qrcode (some 9 MB), which a process that never prints
should not carry. The rest of each package (slip data, errors, status, spool, settings) is light
and imported as usual.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["on_first_use"]


def on_first_use(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each of ``names`` (name -> module,
    relative to the package) when it is first asked for, and keeps it in the package."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)  # the next lookup finds it without us
        return value

    return __getattr__
