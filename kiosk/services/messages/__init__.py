"""Messages to residents: "almost your turn" and "you are called" by SMS, e-mail or Web Push,
and an appointment's reminder the day before (no Flask; the transports are kiosk/notify/).

    status page / API  -> MessageService.subscribe   TicketContact (one per ticket and channel)
    QueueService step  -> Outbox.queue_changed        OutboxMessage rows, in the step's own
                          (before its commit)           transaction; contacts deleted when the
                                                        ticket ends
    housekeeping       -> MessageService.write_reminders, .forget_ended_contacts
    `loket run`        -> OutboxSender.run_forever    claim, send, settle (kiosk/messaging.py)

- `addresses`: a mobile number (E.164), an e-mail address, a push subscription, checked;
- `texts`: what the messages say, in the resident's language (the app's catalogues);
- `outbox`: the queue's hook and writing a message;
- `service`: `MessageService`;
- `sender`: `OutboxSender`, which drains the outbox.

Personal data: a contact lives until its ticket ends, an outbox row until it is sent or given
up; neither is read by research (tests/test_messages.py holds that line).
"""

from kiosk.services.messages.addresses import (
    normalise_email,
    normalise_phone,
    normalise_subscription,
)
from kiosk.services.messages.errors import ChannelNotOffered, InvalidAddress, TicketEnded
from kiosk.services.messages.outbox import Outbox, add_message
from kiosk.services.messages.sender import OutboxSender, SendReport
from kiosk.services.messages.service import MessageService
from kiosk.services.messages.texts import MessageTexts

__all__ = [
    "ChannelNotOffered",
    "InvalidAddress",
    "MessageService",
    "MessageTexts",
    "Outbox",
    "OutboxSender",
    "SendReport",
    "TicketEnded",
    "add_message",
    "normalise_email",
    "normalise_phone",
    "normalise_subscription",
]
