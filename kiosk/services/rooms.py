"""Who hears an event: the rooms of the Socket.IO namespace (display/namespace.py), named in
one place for the services that publish to them and the socket handlers that join them.

- ``stop:<id>``: every transition at that stop, with public payloads only (boards, desks);
- ``ticket:<token>``: one ticket's own steps and its slip's state (its status page, the kiosk
  that issued it);
- ``booking:<token>``: the slip of a time booked for later at a kiosk (only a kiosk joins it).

A token is the secret of a status page, so only a holder of the token can join its room.
"""

from __future__ import annotations


def stop_room(stop_id: int) -> str:
    """Everyone who follows the stop: boards, desks, status pages of its tickets."""
    return f"stop:{stop_id}"


def ticket_room(token: str) -> str:
    """The holder of one ticket: its status page and the kiosk screen that issued it."""
    return f"ticket:{token}"


def booking_room(token: str) -> str:
    """The kiosk screen that shows a time just booked for later (its slip's state)."""
    return f"booking:{token}"
