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
    code = "not_found"
    status = 404
    message = "Not found."


class UnknownProduct(NotFound):
    code = "unknown_product"
    message = "There is no such product."


class UnknownTicket(NotFound):
    code = "unknown_ticket"
    message = "There is no such ticket."


class UnknownDesk(NotFound):
    code = "unknown_desk"
    message = "There is no such desk."


class UnknownStop(NotFound):
    code = "unknown_stop"
    message = "There is no such stop."


class NoOpenStop(NotFound):
    code = "no_open_stop"
    message = "No stop is open now."


class ProductNotOffered(DomainError):
    code = "product_not_offered"
    status = 409
    message = "This product is not offered at this stop."


class AppointmentRequired(DomainError):
    code = "appointment_required"
    status = 409
    message = "This product needs an appointment."


class StopClosed(DomainError):
    code = "stop_closed"
    status = 409
    message = "This stop is closed."


class QueueEmpty(DomainError):
    code = "queue_empty"
    status = 409
    message = "Nobody is waiting for this desk's products."


class DeskBusy(DomainError):
    code = "desk_busy"
    status = 409
    message = "This desk still has a called ticket: finish, recall or mark it as no-show first."


class InvalidTransition(DomainError):
    code = "invalid_transition"
    status = 409
    message = "The ticket cannot make this step from its current state."


class AuthenticationFailed(DomainError):
    code = "authentication_failed"
    status = 401
    message = "Wrong username or password."


class SecondFactorRequired(DomainError):
    code = "mfa_required"
    status = 401
    message = "This account needs the code from its authenticator app: send it as `code`."


class SecondFactorNotSetUp(DomainError):
    code = "mfa_not_set_up"
    status = 403
    message = "Set up the authenticator app first: log in once on the web page."


class InvalidPairingCode(DomainError):
    code = "invalid_pairing_code"
    status = 400
    message = "This pairing code is unknown, used or expired."


class Conflict(DomainError):
    code = "conflict"
    status = 409
    message = "This conflicts with existing data."
