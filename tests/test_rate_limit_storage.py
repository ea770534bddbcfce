"""Rate limits when their shared storage (Redis) is away: requests are served, and counted in
the process's own memory meanwhile, never answered 500."""

from __future__ import annotations

from tests.live import free_port


def test_limited_endpoints_answer_while_the_limit_storage_is_down(make_app, stop):
    app = make_app(
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        RATELIMIT_PUBLIC="3/minute",
    )
    client = app.test_client()
    answers = [client.get("/api/v1/stops/current").status_code for _ in range(4)]
    # Served, and still limited: by the in-memory fallback.
    assert answers == [200, 200, 200, 429]
