"""The app's web doors: each module is a blueprint that reads a request, calls a service (built by
`kiosk.factories`) and renders the answer. Doors never import each other; what two of them share
lives in a `*_base` module or in the module it is about (`kiosk.auth`, `kiosk.payloads`).

Residents, on the kiosk (a paired device):
- `kiosk`: take a number and its confirmation; `kiosk_appointments`: check in for a booking, book
  a time for later; `kiosk_feedback`: "Hoe bent u geholpen?" (five faces, then the product);
  `kiosk_base`: what every kiosk screen shares; `offline`: the service worker,
  the health check and the offline page that keep every screen alive without its server.

Residents, on their own phone:
- `booking`: book an appointment (``/afspraak``); `appointment`: a booking's private page
  (``/a/<token>``); `tour`: the schedule, its feeds and the privacy page;
- `join`: take a ticket on the phone from the board's rotating QR code (``/join/<code>``).

Staff and coordinators (logged in):
- `desk`: call, recall, serve, finish, no-show, transfer; `desk_base`: the desk's state, shared
  with the API;
- `admin/`: planning the tour, people, devices, settings and printers;
- `auth`: log in (with the second step), pair a device.

Programs:
- `api/`: the JSON API v1 with its OpenAPI document.

The board and ticket status pages are in `display/`; the research dashboard and the kiosk's
questions in `kiosk/research/`.
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

from kiosk.services.validation import parse_id


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route, registered by the app as "int": an id by the one rule
    (`parse_id`, kiosk/services/validation.py: 1 to `MAX_ID`). Digits out of that range become
    0, an id no row ever has, so the handler answers its own 404 ("unknown_desk") as for any
    id that is not there, and no id the database cannot hold ever reaches a query."""

    def to_python(self, value: str) -> int:
        return parse_id(value) or 0
