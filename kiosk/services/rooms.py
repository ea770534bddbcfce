"""Who hears an event: the rooms of the Socket.IO namespace (display/namespace.py), named in
one place for the services that publish to them and the socket handlers that join them.

- ``stop:<id>``: every transition at that stop, with public payloads only (boards, desks,
  status pages, kiosks);
- ``staff:<id>``: the stop's notices only staff use (``printer_changed``, ``devices_changed``,
  ``check_in_failures``): desks, not the boards, kiosks and status pages that would drop them;
- ``ticket:<token>``: one ticket's own steps and its slip's state (its status page, the kiosk
  that issued it);
- ``booking:<token>``: the slip of a time booked for later at a kiosk (only a kiosk joins it);
- ``user:<id>``, ``staff_session:<id>``, ``device:<id>``: who is connected (see below).

A token is the secret of a status page, so only a holder of the token can join its room.
"""

from __future__ import annotations


def stop_room(stop_id: int) -> str:
    """Everyone who follows the stop: boards, desks, status pages of its tickets."""
    return f"stop:{stop_id}"


def staff_room(stop_id: int) -> str:
    """The staff who follow the stop (desks): notices about its devices and print jobs.

    Kept out of ``stop:<id>`` so that a stop's hundreds of boards are not sent, one frame each,
    what no board shows; ids only, like the stop's room (desks fetch the rest).
    """
    return f"staff:{stop_id}"


def ticket_room(token: str) -> str:
    """The holder of one ticket: its status page and the kiosk screen that issued it."""
    return f"ticket:{token}"


def booking_room(token: str) -> str:
    """The kiosk screen that shows a time just booked for later (its slip's state)."""
    return f"booking:{token}"


# Who may listen at all: every connection of a signed-in staff member, of one login, or of a
# paired device is also in one of these rooms, so that ending the access ends the connections.
# ``access_ended`` sent to such a room closes them (display/namespace.py does the closing).
ACCESS_ENDED = "access_ended"


def user_room(user_id: int) -> str:
    """Every connection of one staff member (all their logins)."""
    return f"user:{user_id}"


def staff_session_room(session_id: int) -> str:
    """The connections of one login (one browser) of a staff member."""
    return f"staff_session:{session_id}"


def device_room(device_id: int) -> str:
    """The connections of one paired kiosk or board."""
    return f"device:{device_id}"
