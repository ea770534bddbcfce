"""Devices: a kiosk or board pairs itself with a one-time code; staff list the devices."""

from __future__ import annotations

from typing import Any

from flask import request
from sqlalchemy import select

from kiosk.auth import require_staff
from kiosk.extensions import limiter, pair_limit
from kiosk.factories import account_service, db_session
from kiosk.models import Device
from kiosk.payloads import device_payload
from kiosk.views.api.base import bp, doc_errors
from kiosk.views.api.schemas import DeviceSchema, PairRequest, PairResponse


@bp.post("/devices/pair")
@limiter.limit(pair_limit)
@bp.arguments(PairRequest)
@bp.response(200, PairResponse)
@doc_errors(422)
def pair_device(body: dict[str, Any]) -> dict[str, Any]:
    """Exchange a one-time pairing code for the device's credential (shown once)."""
    device, credential = account_service().pair(body["code"], origin=request.remote_addr)
    return {"token": credential, "device": device_payload(device)}


@bp.get("/devices")
@require_staff()
@bp.response(200, DeviceSchema(many=True))
@doc_errors(401, 403)
def list_devices() -> list[dict[str, Any]]:
    """The paired and pending kiosks and boards."""
    devices = db_session().scalars(select(Device).order_by(Device.name))
    return [device_payload(d) for d in devices]
