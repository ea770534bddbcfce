"""Console entry point `loket`.

`loket run` serves with gevent, whose monkey patching must come before anything imports
socket, ssl or threading; so this module imports nothing else until it has decided.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    if sys.argv[1:2] == ["run"]:
        from gevent import monkey

        monkey.patch_all()
        os.environ.setdefault("LOKET_SOCKETIO_ASYNC_MODE", "gevent")
    from kiosk.cli import cli
    from printer import PrinterConfigError

    try:
        cli.main(prog_name="loket")
    except PrinterConfigError as error:  # raised at start-up, before the first ticket
        print(f"Error: the printer settings cannot work: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
