"""Sending a message to a resident, outside the app: NotifyNL (SMS, e-mail) and Web Push.

    outbox row (kiosk/services/messages)  ->  sender (kiosk/messaging.py)  ->  a transport here
                                                                               NotifySender.send
                                                                               PushSender.send

These adapters know nothing of tickets or the database: they take an address and a text, make
one HTTP call with a timeout, and either return or raise `SendFailed`, which says whether trying
again later may help (`retryable`: the service is down, slow or busy) or not (a refused number,
a template that does not exist, a push subscription the browser has dropped: `gone`). Its
`reason` never holds the address, so it may go into the event log.

- `notifynl`: NotifyNL, the Dutch government's notification service built on GOV.UK Notify,
  through GOV.UK Notify's official client (`notifications-python-client`) with NotifyNL's
  base URL. The message text goes into the template as personalisation (``((message))``).
- `webpush`: Web Push with VAPID through `pywebpush`; the VAPID key pair is made on first use
  in the instance folder (mode 0600) and its public half is given to the status page.
"""

from kiosk.notify.errors import SendFailed
from kiosk.notify.notifynl import NotifySender
from kiosk.notify.webpush import PushSender, VapidKeys

__all__ = ["NotifySender", "PushSender", "SendFailed", "VapidKeys"]
