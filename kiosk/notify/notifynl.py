"""SMS and e-mail through NotifyNL with GOV.UK Notify's official Python client.

NotifyNL runs GOV.UK Notify's API at its own address (``LOKET_NOTIFY_BASE_URL``, default
https://api.notifynl.nl). An API key looks like ``{name}-{service id}-{secret}``; the client
signs every request with an HS256 JWT whose issuer is the service id. A template id per channel
(``LOKET_NOTIFY_SMS_TEMPLATE``, ``LOKET_NOTIFY_EMAIL_TEMPLATE``): each template's body is
``((message))`` and the text goes in as that personalisation, so the wording (and its language)
stays in this app's translation catalogues.

The client (with requests and PyJWT) is imported when a sender is made, not with this module:
`import kiosk` (every CLI command, every test process) does not need it.
"""

from __future__ import annotations

from typing import Any

from kiosk.notify.errors import SendFailed, retryable_status

DEFAULT_BASE_URL = "https://api.notifynl.nl"


class NotifySender:
    """Sends one SMS or e-mail per call; raises `SendFailed`.

    Not thread-safe (the client keeps one HTTP session): one sender per worker loop.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        sms_template: str | None = None,
        email_template: str | None = None,
        timeout: float = 10,
    ) -> None:
        from notifications_python_client.notifications import NotificationsAPIClient

        self.client = NotificationsAPIClient(api_key, base_url=base_url, timeout=timeout)
        self.sms_template = sms_template
        self.email_template = email_template

    def send_sms(self, phone: str, text: str, *, reference: str | None = None) -> None:
        """Send `text` to `phone` (E.164) through the SMS template."""
        if not self.sms_template:
            raise SendFailed("no SMS template configured", retryable=False)
        self._call(
            self.client.send_sms_notification,
            phone_number=phone,
            template_id=self.sms_template,
            personalisation={"message": text},
            reference=reference,
        )

    def send_email(self, email: str, text: str, *, reference: str | None = None) -> None:
        """Send `text` to `email` through the e-mail template."""
        if not self.email_template:
            raise SendFailed("no e-mail template configured", retryable=False)
        self._call(
            self.client.send_email_notification,
            email_address=email,
            template_id=self.email_template,
            personalisation={"message": text},
            reference=reference,
        )

    @staticmethod
    def _call(method: Any, **kwargs: Any) -> None:
        from notifications_python_client.errors import APIError, TokenError

        try:
            method(**kwargs)
        except APIError as error:
            # The client reports a connection error or timeout as 503 (no response at all).
            status = error.status_code
            raise SendFailed(
                f"notify {status}: {_safe(error.message)}", retryable=retryable_status(status)
            ) from error
        except TokenError as error:  # pragma: no cover - only with a malformed API key
            raise SendFailed("notify: the API key cannot sign a token", retryable=False) from error


def _safe(message: Any) -> str:
    """Notify's error text, short; its messages name the field, never the number itself."""
    if isinstance(message, list):
        message = "; ".join(str(item.get("message", item)) for item in message if item)
    return str(message)[:200]
