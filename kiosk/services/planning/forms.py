"""What the coordinators' planning forms send: text as typed, which the use cases check.

Each field is a string (or a list of ids as strings, for checkboxes), exactly as the form sent
it; the planning services turn it into values or into a text per field (`Invalid`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass
class LocationInput:
    """A location as its form sends it."""

    name: str
    address: str = ""
    neighbourhood: str = ""
    latitude: str = ""
    longitude: str = ""
    products: Sequence[str] = ()  # ids of the products that may be offered here


@dataclass
class ProductInput:
    """A product as its form sends it."""

    code: str  # only when creating; fixed afterwards (booking links use it)
    prefix: str
    name_nl: str
    name_en: str = ""
    bring_nl: str = ""
    bring_en: str = ""
    duration: str = "10"
    mode: str = "walk_in"  # walk_in | both | appointment
    sort_order: str = ""
    active: bool = True


@dataclass
class DeskInput:
    """A desk: a row of the stop or series form, or the desk form."""

    name: str
    products: Sequence[str] = ()  # ids; empty: every product of the stop
    active: bool = True


@dataclass
class StopInput:
    """A stop as its form sends it."""

    location: str
    date: str
    start: str
    end: str
    products: Sequence[str] = ()
    desks: Sequence[DeskInput] = ()  # when creating; afterwards desks are changed one by one
    capacity: str = ""
    note: str = ""
    open_slots: bool = False
    slot_capacity: str = ""


@dataclass
class SeriesInput:
    """A new series as its form (and its preview) sends it."""

    location: str
    weekdays: Sequence[str]
    start: str
    end: str
    first_date: str
    weeks: str = ""
    last_date: str = ""
    exceptions: str = ""  # dates as typed, separated by commas or new lines
    skip: Sequence[str] = ()  # ISO dates ticked on the preview
    products: Sequence[str] = ()
    desks: Sequence[DeskInput] = ()
    capacity: str = ""
    note: str = ""
    open_slots: bool = False
    slot_capacity: str = ""


@dataclass
class SeriesEdit:
    """A change to the stops of a series that are still to come."""

    start: str
    end: str
    last_date: str
    products: Sequence[str] = ()
    desks: Sequence[DeskInput] = ()
    capacity: str = ""
    note: str = ""


class OfferInput(Protocol):
    """What the stop form, the series form and a series edit share: what a stop offers."""

    products: Sequence[str]
    desks: Sequence[DeskInput]
    capacity: str
    note: str
