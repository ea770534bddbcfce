"""Domain errors. Each adapter maps them once: HTTP status, screen text or CLI message."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule the domain refuses; `code` is stable and machine-readable."""

    code = "domain_error"
    status = 400
    message = "The request cannot be carried out."

    def __init__(self, message: str | None = None, **details: object) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details


class NotFound(DomainError):
    """Raised when the object asked for does not exist (or is not visible to the caller)."""

    code = "not_found"
    status = 404
    message = "Not found."


class UnknownProduct(NotFound):
    """Raised when no active product has the given code or ticket prefix."""

    code = "unknown_product"
    message = "There is no such product."


class UnknownTicket(NotFound):
    """Raised when no ticket has the given id or status-page token."""

    code = "unknown_ticket"
    message = "There is no such ticket."


class UnknownDesk(NotFound):
    """Raised when no desk has the given id."""

    code = "unknown_desk"
    message = "There is no such desk."


class UnknownStop(NotFound):
    """Raised when no stop has the given id."""

    code = "unknown_stop"
    message = "There is no such stop."


class NoStopToOpen(NotFound):
    """Raised when staff open "the" stop and there is none today or planned to come."""

    code = "no_stop_to_open"
    message = "No planned stop to open, and no stop of today that could open again."


class NoOpenStop(NotFound):
    """Raised when a kiosk, desk or board asks for today's stop and none is open now."""

    code = "no_open_stop"
    message = "No stop is open now."


class ProductNotOffered(DomainError):
    """Raised when a product exists but this stop does not offer it (`product` names it)."""

    code = "product_not_offered"
    status = 409
    message = "This product is not offered at this stop."


class AppointmentRequired(DomainError):
    """Raised when a walk-in asks for a product that is by appointment only."""

    code = "appointment_required"
    status = 409
    message = "This product needs an appointment."


class StopClosed(DomainError):
    """Raised when a ticket is asked for before staff open the stop, or after it closed."""

    code = "stop_closed"
    status = 409
    message = "This stop is closed."


class QueueEmpty(DomainError):
    """Raised when a desk calls the next ticket and nobody waits for its products (or it is off)."""

    code = "queue_empty"
    status = 409
    message = "Nobody is waiting for this desk's products."


class DeskBusy(DomainError):
    """Raised when a desk calls the next ticket while its previous one is still called."""

    code = "desk_busy"
    status = 409
    message = "This desk still has a called ticket: finish, recall or mark it as no-show first."


class InvalidTransition(DomainError):
    """Raised when a ticket step is not allowed from its status, or a transfer keeps the product."""

    code = "invalid_transition"
    status = 409
    message = "The ticket cannot make this step from its current state."


class AuthenticationFailed(DomainError):
    """Raised on a login with an unknown user, a wrong password or an inactive account."""

    code = "authentication_failed"
    status = 401
    message = "Wrong username or password."


class SecondFactorRequired(DomainError):
    """Raised when an account that needs MFA logs in without a valid code."""

    code = "mfa_required"
    status = 401
    message = "This account needs the code from its authenticator app: send it as `code`."


class SecondFactorNotSetUp(DomainError):
    """Raised when an account that needs MFA has not enrolled an authenticator app."""

    code = "mfa_not_set_up"
    status = 403
    message = "Set up the authenticator app first: log in once on the web page."


class InvalidPairingCode(DomainError):
    """Raised when a device offers a pairing code that is unknown, used or expired."""

    code = "invalid_pairing_code"
    status = 400
    message = "This pairing code is unknown, used or expired."


class Conflict(DomainError):
    """Raised when a change would duplicate or contradict existing data (a taken name)."""

    code = "conflict"
    status = 409
    message = "This conflicts with existing data."


class DeskPaused(DomainError):
    """Raised when a paused desk calls a ticket: staff resume the desk first."""

    code = "desk_paused"
    status = 409
    message = "This desk is paused: resume it to call tickets."


class DeskUnavailable(DomainError):
    """Raised when a ticket is sent to a desk that is switched off, paused, or does not serve
    the ticket's product, or a desk calls a ticket that is not in its queue."""

    code = "desk_unavailable"
    status = 409
    message = "This desk cannot take this ticket."


class UndoExpired(DomainError):
    """Raised when a no-show is undone too late, or its desk has called someone else since."""

    code = "undo_expired"
    status = 409
    message = "This step can no longer be undone."


class ReasonRequired(DomainError):
    """Raised when staff call a ticket out of turn without saying why."""

    code = "reason_required"
    status = 422
    message = "Say why this ticket is called out of turn."
