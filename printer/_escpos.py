"""Import python-escpos without its import-time side effects.

``import escpos.printer`` (3.1) does two things at import time that a server does not want:

* it loads ``capabilities.json`` and pickles it into ``ESCPOS_CAPABILITIES_PICKLE_DIR``, or into a
  new ``mkdtemp()`` folder per process when that variable is unset (one leaked folder per worker
  and per test run). Two processes starting at once in the same folder can also read each other's
  half-written pickle, because escpos writes it in place;
* it calls ``logging.basicConfig()``, which gives the root logger a handler, so the app's own
  ``logging.basicConfig(...)`` later becomes a silent no-op.

This module sets the pickle folder to a private per-user cache folder, writes the pickle there
atomically before escpos looks for it, keeps escpos from making a temp folder anyway (it calls
``mkdtemp()`` even when the variable is set), and removes the root handler that the import added.
Every other module of ``printer`` imports escpos through this one.

That import is no longer at start-up in every process: ``printer`` imports its renderer and
printer classes on first use (``printer/_lazy.py``), so in a server without a printer this runs
at the first preview or test print, while other threads may be running. The ``mkdtemp()``
substitute therefore answers only the thread that imports escpos.

Note: escpos' File/Network/Usb/Serial printers log through the *root* ``logging.info()`` when
they open and close, and that call runs ``basicConfig()`` again if the root logger still has no
handler. Configure logging at start-up, before the first print.
"""

from __future__ import annotations

import logging
import os
import pickle
import platform
import stat
import tempfile
import threading
from importlib import resources
from pathlib import Path
from typing import Any

PICKLE_DIR_ENV = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def _private_dir(path: Path) -> Path | None:
    """Create ``path`` (mode 0700) and return it if it is ours and not writable by others."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None  # a pickle is code: never load one that someone else could have written
    return path


def _pickle_dir() -> Path | None:
    """The folder escpos should keep its capabilities pickle in, or None to leave escpos be."""
    configured = os.environ.get(PICKLE_DIR_ENV)
    if configured:
        return Path(configured)
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    for candidate in (
        cache_home / "popup-loket" / "escpos",
        Path(tempfile.gettempdir()) / f"popup-loket-escpos-{os.getuid()}",
    ):
        found = _private_dir(candidate)
        if found is not None:
            return found
    return None


def _prepare_pickle(folder: Path) -> None:
    """Write escpos' capabilities pickle atomically, so that no process reads a half-written one.

    escpos 3.1 loads ``<folder>/<python version>.capabilities.pickle`` when it is newer than
    ``capabilities.json`` and otherwise rewrites it in place; we write it first, the same way
    escpos would (``yaml.safe_load`` of the JSON file, pickle protocol 2), via tmp + rename.
    """
    import yaml  # a dependency of python-escpos

    source = resources.files("escpos") / "capabilities.json"
    target = folder / f"{platform.python_version()}.capabilities.pickle"
    with resources.as_file(source) as json_path:
        if target.exists() and target.stat().st_mtime >= json_path.stat().st_mtime:
            return
        with open(json_path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".capabilities-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            pickle.dump(data, out, protocol=2)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _import_escpos() -> None:
    folder = _pickle_dir()
    if folder is not None:
        os.environ[PICKLE_DIR_ENV] = str(folder)
        try:
            _prepare_pickle(folder)
        except OSError as exc:  # escpos then writes the pickle itself, as it always does
            logging.getLogger(__name__).debug("could not prepare the escpos pickle: %s", exc)
    root = logging.getLogger()
    before = list(root.handlers)
    # escpos evaluates ``environ.get(PICKLE_DIR_ENV, mkdtemp())``: the default is computed even
    # when the variable is set, so every process would still leave an empty temp folder behind.
    # For the duration of the import, an argument-less mkdtemp() returns our folder instead.
    # Other threads keep the real mkdtemp() meanwhile (the import may run in a busy server).
    real_mkdtemp = tempfile.mkdtemp
    importer = threading.get_ident()

    def no_new_folder(*args: Any, **kwargs: Any) -> Any:
        if folder is not None and not args and not kwargs and threading.get_ident() == importer:
            return str(folder)
        return real_mkdtemp(*args, **kwargs)

    tempfile.mkdtemp = no_new_folder
    try:
        import escpos.printer  # noqa: F401  (runs capabilities' logging.basicConfig())
    finally:
        tempfile.mkdtemp = real_mkdtemp
    for handler in root.handlers[:]:
        if handler not in before:
            root.removeHandler(handler)


_import_escpos()

from escpos import capabilities as capabilities  # noqa: E402
from escpos import constants as constants  # noqa: E402
from escpos import exceptions as exceptions  # noqa: E402
from escpos import printer as printers  # noqa: E402
from escpos.escpos import Escpos as Escpos  # noqa: E402

__all__ = ["Escpos", "capabilities", "constants", "exceptions", "printers"]
