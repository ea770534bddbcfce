"""What the messages service refuses."""

from __future__ import annotations

from kiosk.services.errors import DomainError


class InvalidAddress(DomainError):
    """Raised for a phone number, e-mail address or push subscription that cannot be used."""

    code = "invalid_address"
    status = 422
    message = "This phone number, e-mail address or push subscription cannot be used."


class ChannelNotOffered(DomainError):
    """Raised for SMS or e-mail when NotifyNL is not configured (or push without keys)."""

    code = "channel_not_offered"
    status = 409
    message = "Messages by this channel are not offered here."


class TicketEnded(DomainError):
    """Raised when a ticket that has ended (or was already called) asks for messages."""

    code = "ticket_ended"
    status = 409
    message = "This ticket has ended; no messages can be sent for it."
