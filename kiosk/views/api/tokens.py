"""Staff bearer tokens for API clients: username, password and (for roles that need one) the
authenticator app's code."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, request

from kiosk.extensions import auth_limit, limiter
from kiosk.factories import account_service, mfa_service
from kiosk.services.errors import SecondFactorNotSetUp, SecondFactorRequired
from kiosk.services.mfa import MfaService
from kiosk.views.api.base import bp, doc_errors
from kiosk.views.api.schemas import TokenRequest, TokenResponse


@bp.post("/auth/token")
@limiter.limit(auth_limit)
@bp.arguments(TokenRequest)
@bp.response(200, TokenResponse)
@doc_errors(401, 403, 422)
def create_token(body: dict[str, Any]) -> dict[str, Any]:
    """A bearer token for a staff API client."""
    accounts = account_service()
    user = accounts.authenticate(body["username"], body["password"], origin=request.remote_addr)
    if MfaService.required(user, current_app.config["MFA_ROLES"]):
        mfa = mfa_service()
        if not mfa.enrolled(user):
            raise SecondFactorNotSetUp()
        if not mfa.verify(user, body.get("code", ""), origin=request.remote_addr):
            raise SecondFactorRequired()
    issued = accounts.issue_token(
        user,
        ttl=timedelta(hours=current_app.config["API_TOKEN_TTL_HOURS"]),
        origin=request.remote_addr,
    )
    return {"token": issued.token, "expires_at": issued.expires_at.isoformat()}
