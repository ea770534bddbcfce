"""How a send fails: retry later, or never."""

from __future__ import annotations


class SendFailed(Exception):
    """A message did not go out.

    `retryable`: trying again later may work (timeout, connection refused, 429, 5xx).
    `gone`: the address itself is dead (a push subscription answered 404/410): forget it.
    `reason` is short and never holds the address.
    """

    def __init__(self, reason: str, *, retryable: bool, gone: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason[:300]
        self.retryable = retryable
        self.gone = gone


def retryable_status(status: int) -> bool:
    """HTTP statuses worth another try: too many requests, timeouts and server errors."""
    return status in (408, 425, 429) or status >= 500
