"""The public screens that show the queue, and the live channel that keeps every screen current.

- `views`: the display board (``/board``) and a ticket's status page (``/t/<token>``, the QR
  target of its slip) with its QR code; read-only, for anyone;
- `events`: the Socket.IO namespace's handlers: who may join which room, the snapshot sent on
  each (re)connect, device presence;
- `namespace`: the namespace's name and the notifier services publish through (the rooms
  themselves are named in `kiosk.services.rooms`, where the publishing services can see them).

Forms for residents (booking, their appointment page, the tour schedule) are doors of their
own in `kiosk/views/`.
"""
