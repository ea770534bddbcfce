"""`loket run` sends residents' messages in the background: while NotifyNL hangs on a call,
the server keeps answering (the sender's HTTP call is cooperative under gevent), and the
message goes out once NotifyNL answers."""

from __future__ import annotations

import threading
import time

import requests

from tests.fake_notify import FakeNotify


def test_a_hanging_notify_does_not_stall_the_server(make_server):
    notify = FakeNotify.start()
    notify.hold = threading.Event()
    try:
        server = make_server(
            env_extra={
                "LOKET_NOTIFY_API_KEY": notify.api_key,
                "LOKET_NOTIFY_BASE_URL": notify.base_url,
                "LOKET_NOTIFY_SMS_TEMPLATE": "sms-template",
                "LOKET_NOTIFY_TIMEOUT_SECONDS": "20",
            }
        )
        server.start()
        server.login()
        ticket = server.issue("A")
        answer = requests.post(
            f"{server.url}/api/v1/tickets/{ticket['token']}/notify",
            json={"phone": "06 12345678"},
            timeout=5,
        )
        assert answer.status_code == 204, answer.text
        notify.wait_for_requests(1)  # the sender is inside its call to Notify now

        slowest = 0.0
        with requests.Session() as session:
            for _ in range(20):
                started = time.perf_counter()
                status = session.get(f"{server.url}/api/v1/tickets/{ticket['token']}", timeout=5)
                slowest = max(slowest, time.perf_counter() - started)
                assert status.status_code == 200
        assert slowest < 1.0, f"a status request took {slowest:.2f} s while Notify hung"
        assert notify.sent == []  # still held

        notify.hold.set()
        [sent] = notify.wait_for(1)
        assert sent.to == "+31612345678"
        assert sent.text.startswith(f"{ticket['label']}: u bent bijna aan de beurt")
    finally:
        notify.hold.set()
        notify.close()
