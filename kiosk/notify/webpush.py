"""Web Push with VAPID: the app's key pair, and one push per call.

The key pair is made on first use in the instance folder (``vapid_private.pem``, mode 0600,
created exclusively so two processes starting at once agree on one key) and read from there
afterwards; the browser subscribes with the public half (`VapidKeys.application_server_key`).
Losing the file only means that existing subscriptions stop working: residents subscribe again.

A push service answers 201 when it took the message; 404 or 410 when the subscription is gone
(the resident revoked it, or the browser dropped it), which is permanent: the sender forgets the
subscription. 429 and 5xx are worth another try.

pywebpush (with aiohttp), py_vapid, cryptography and requests are imported on first use, not
with this module: `import kiosk` (every CLI command, every test process) does not need them.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.notify.errors import SendFailed, retryable_status

if TYPE_CHECKING:
    from py_vapid import Vapid02

KEY_FILE = "vapid_private.pem"


@dataclass(frozen=True)
class VapidKeys:
    """The server's VAPID key pair."""

    vapid: Vapid02

    @classmethod
    def load_or_create(cls, folder: Path | str) -> VapidKeys:
        """The key pair kept in `folder`, made there (mode 0600) when there is none yet."""
        from py_vapid import Vapid02

        path = Path(folder) / KEY_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fresh = Vapid02()
            fresh.generate_keys()
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first: use theirs
                pass
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(fresh.private_pem())
        return cls(Vapid02.from_file(str(path)))

    @property
    def application_server_key(self) -> str:
        """The public key as the browser's ``pushManager.subscribe`` wants it (base64url of
        the uncompressed point, no padding)."""
        from cryptography.hazmat.primitives import serialization

        raw = self.vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class PushSender:
    """Pushes one JSON payload to one subscription per call; raises `SendFailed`."""

    def __init__(self, keys: VapidKeys, *, subject: str, timeout: float = 10, ttl: int = 3600):
        import requests

        self.keys = keys
        self.subject = subject
        self.timeout = timeout
        self.ttl = ttl
        self.session = requests.Session()

    def send(self, subscription: str | dict[str, Any], payload: dict[str, Any]) -> None:
        """Encrypt `payload` (as JSON) for the subscription and post it to its push service."""
        import requests
        from pywebpush import WebPushException, webpush

        info = json.loads(subscription) if isinstance(subscription, str) else subscription
        try:
            webpush(
                info,
                data=json.dumps(payload, ensure_ascii=False),
                vapid_private_key=self.keys.vapid,
                vapid_claims={"sub": self.subject},  # a fresh dict: webpush adds aud and exp
                timeout=self.timeout,
                ttl=self.ttl,
                requests_session=self.session,
            )
        except WebPushException as error:
            status = getattr(error.response, "status_code", None)
            if status is None:
                raise SendFailed("push: no answer", retryable=True) from error
            gone = status in (404, 410)
            raise SendFailed(
                f"push {status}", retryable=not gone and retryable_status(status), gone=gone
            ) from error
        except requests.RequestException as error:
            raise SendFailed(f"push: {type(error).__name__}", retryable=True) from error
        except (ValueError, TypeError, KeyError) as error:  # a malformed subscription
            raise SendFailed("push: invalid subscription", retryable=False, gone=True) from error
