"""Console entry point `loket`.

`loket run` serves with gevent, whose monkey patching must come before anything imports
socket, ssl or threading; so this module imports nothing else until it has decided.
"""

from __future__ import annotations

import os
import sys

#: The libraries python-engineio's *client* classes talk through, which its package imports
#: with the server: requests and websocket-client (``engineio.client``), aiohttp
#: (``engineio.async_client``); some 13 MB of a server's memory (bench/README.md).
SOCKETIO_CLIENT_LIBRARIES = ("requests", "websocket", "aiohttp")


def main() -> None:
    if sys.argv[1:2] == ["run"]:
        prepare_to_serve()
    from kiosk.cli import cli
    from printer import PrinterConfigError

    try:
        cli.main(prog_name="loket")
    except PrinterConfigError as error:  # raised at start-up, before the first ticket
        print(f"Error: the printer settings cannot work: {error}", file=sys.stderr)
        sys.exit(2)


def prepare_to_serve() -> None:
    """What `loket run` does before anything else is imported: gevent's monkey patching, and
    python-engineio's client modules imported without their client libraries."""
    from gevent import monkey

    monkey.patch_all()
    os.environ.setdefault("LOKET_SOCKETIO_ASYNC_MODE", "gevent")
    import_engineio_without_client_libraries()


def import_engineio_without_client_libraries() -> None:
    """Import ``engineio.client`` and ``engineio.async_client`` while `SOCKETIO_CLIENT_LIBRARIES`
    cannot be imported, so that they bind None for them, as they do where a library is not
    installed, and the libraries stay out of this process.

    For a server only: its Socket.IO client classes cannot connect anywhere afterwards (a
    server never is a Socket.IO client). Nothing else changes: the libraries are importable
    again at once, and code that uses one (NotifyNL and web push use requests and aiohttp,
    kiosk/notify) loads it when it first sends. A library already imported is left alone.
    """
    hidden = [name for name in SOCKETIO_CLIENT_LIBRARIES if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` raises ImportError
    try:
        import engineio.async_client
        import engineio.client  # noqa: F401
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


if __name__ == "__main__":
    main()
