"""The use cases of popup-loket: every rule lives here, and nothing here imports Flask.

    view / API resource / socket handler / CLI command      (thin: parse, call, map errors)
        -> SomeService(session, notifier, clock).verb(...)   (built in kiosk/factories.py)
             begin_write() -> rules and changes -> log(...) -> commit -> publish(...)
        <- a model object, or a DomainError subclass (kiosk.services.errors)

One public method is one use case and one transaction. A use case that writes opens its
transaction for writing before its first read (`Service.begin_write`, see kiosk.database), so
a read-then-write never loses a race half-way; it appends its event to the log in the same
transaction, and publishes to the Socket.IO rooms (kiosk.services.rooms) only after the
commit, so no screen ever shows what did not happen. Time comes from the injected clock and
is stored in UTC; `LocalService` adds the configured time zone for local days. A refusal is a
`DomainError` with a stable `code`; each adapter maps it once (HTTP status, screen, message).

- `base`: `Service`, `LocalService`, `Actor`, the notifiers, `Pending` events;
- `errors`: the domain errors that several services share;
- `queue`: issuing numbers, calling them to desks, every step of a ticket;
- `appointments`: slots, booking, check-in at the kiosk, no-shows, erasing contact data;
- `tour`: the stops as residents and staff see them (open now, schedule), opening, closing;
- `planning`: the coordinators' planning of places, products, stops and series;
- `accounts`, `admin_accounts`, `mfa`: staff, API tokens, paired devices, the second factor;
- `presence`: which paired devices are connected; `printing`: print jobs and printer health;
- `research`: the figures the municipality plans with; `settings`: settings changed live;
- `validation`, `dates`: reading the coordinators' form fields and the texts they are told;
- `rooms`: the names of the rooms that events are published to.
"""
