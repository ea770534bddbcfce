"""What the scripts in bench/ share, so that each script is its measurement and its options.

::

    issue_call.py ─┬─> server        LocalServer: a throw-away instance run by `loket run`;
                   │                 Target; tokens; what the API says (queue, first desk)
                   ├─> http          HttpClient: raw keep-alive HTTP/1.1, one write a request
                   ├─> boards        BoardFleet: N board clients over worker processes
                   │     └─> board_client   RawBoardClient: RFC 6455 + Engine.IO/Socket.IO
                   ├─> figures       IssueFigures, CallFigures: printed, judged, JSON
                   └─> stats         ms, percentile, fmt        (summary, timed: below)
    booking.py ────┬─> app           bench_app: an app on a throw-away database, in process;
    print_path.py ─┤                 paired_kiosk; parse_options and write_figures
    research.py ───┴─> stats         summary (count, p50, p95, max), timed
    slip_size.py                     (the printer package only)

Client side (`server`, `http`, `boards`, `board_client`) the kit talks to a server the way real
clients do: the CLI, sockets, the API. Nothing in it imports the project's code at module
level; `app` imports `kiosk` inside its functions.

A script runs by its path (``.venv/bin/python bench/issue_call.py``, from any folder): it puts
the checkout's root first on ``sys.path`` and imports ``bench.kit.…``, as it imports ``kiosk``.
The board worker processes (multiprocessing, spawn) get the same ``sys.path``.
"""


class BenchError(RuntimeError):
    """The benchmark cannot go on (bad setup, server error, timeout)."""
