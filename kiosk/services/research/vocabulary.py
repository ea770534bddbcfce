"""The research vocabulary, in one place and free of Flask: Hoorn's neighbourhoods (wijken),
the parts of the day, the preferred moments residents can choose, and the kinds of unmet
demand. Labels are Dutch and marked with `N_` so that `make translations` extracts them; the
adapters translate them when they show them (``gettext(label)``).
"""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Final

from kiosk.models import DayPart, Moment, SignalKind


def N_(text: str) -> str:
    """Mark a text for translation without translating it here (pybabel extracts `N_`)."""
    return text


# Hoorn's neighbourhoods as residents name them, alphabetical: code -> Dutch name. Codes are
# stored; names are proper nouns and stay Dutch in every language.
NEIGHBOURHOODS: Final[dict[str, str]] = {
    "bangert-oosterpolder": "Bangert en Oosterpolder",
    "binnenstad": "Binnenstad",
    "blokker": "Blokker",
    "grote-waal": "Grote Waal",
    "hoorn-noord": "Hoorn-Noord",
    "hoorn-oost": "Hoorn-Oost",
    "kersenboogerd-noord": "Kersenboogerd-Noord",
    "kersenboogerd-zuid": "Kersenboogerd-Zuid",
    "nieuwe-steen": "Nieuwe Steen",
    "risdam-noord": "Risdam-Noord",
    "risdam-zuid": "Risdam-Zuid",
    "venenlaankwartier": "Venenlaankwartier",
    "zwaag": "Zwaag",
}
# The other answers to "where do you live?", after the neighbourhoods.
OUTSIDE = "outside"
PRIVATE = "private"
SKIPPED = "skipped"  # not answered: stored so that the other answer of the same person counts
OTHER_HOMES: Final[dict[str, str]] = {
    OUTSIDE: N_("Buiten Hoorn"),
    PRIVATE: N_("Zeg ik liever niet"),
}
# A four-digit postcode (never the letters: those narrow it down to a street).
POSTCODE4 = re.compile(r"[1-9][0-9]{3}")

DAY_PART_LABELS: Final[dict[DayPart, str]] = {
    DayPart.WEEKDAY: N_("Doordeweeks overdag"),
    DayPart.EVENING: N_("Doordeweeks 's avonds"),
    DayPart.WEEKEND: N_("Weekend"),
    DayPart.OTHER: N_("Buiten deze tijden"),
}
# The hours of each part of the day, local time: weekdays 08–17 and 17–22, weekends 08–22.
DAY_PART_HOURS: Final[dict[DayPart, tuple[time, time]]] = {
    DayPart.WEEKDAY: (time(8), time(17)),
    DayPart.EVENING: (time(17), time(22)),
    DayPart.WEEKEND: (time(8), time(22)),
}
MOMENT_LABELS: Final[dict[Moment, str]] = {
    Moment.WEEKDAY: N_("Doordeweeks overdag"),
    Moment.EVENING: N_("Doordeweeks 's avonds"),
    Moment.WEEKEND: N_("In het weekend"),
    Moment.ANY: N_("Maakt mij niet uit"),
    Moment.SKIPPED: N_("Niet beantwoord"),
}
SIGNAL_LABELS: Final[dict[str, str]] = {
    SignalKind.NOT_OFFERED.value: N_("Gevraagd, maar hier niet aangeboden"),
    SignalKind.CLOSED_TAP.value: N_("Getikt terwijl het loket dicht was"),
    "book_later": N_("Liever een afspraak voor later"),
    "no_show_ticket": N_("Nummer opgeroepen, niet gekomen"),
    "no_show_appointment": N_("Afspraak, niet gekomen"),
    "cancelled_long_wait": N_("Weggegaan na lang wachten"),
}
UNKNOWN_PLACE = N_("Onbekende wijk")


def day_part(local: datetime) -> DayPart:
    """The part of the day of a local time: weekday daytime, weekday evening, weekend, or
    outside these (night and early morning)."""
    moment = local.time()
    if local.weekday() >= 5:
        start, end = DAY_PART_HOURS[DayPart.WEEKEND]
        return DayPart.WEEKEND if start <= moment < end else DayPart.OTHER
    for part in (DayPart.WEEKDAY, DayPart.EVENING):
        start, end = DAY_PART_HOURS[part]
        if start <= moment < end:
            return part
    return DayPart.OTHER


def valid_home(answer: str) -> bool:
    """A neighbourhood code, "outside", "private", or a four-digit postcode."""
    return answer in NEIGHBOURHOODS or answer in OTHER_HOMES or bool(POSTCODE4.fullmatch(answer))


def home_label(code: str) -> str:
    """The (untranslated) label of an answer to "where do you live?"."""
    if code in NEIGHBOURHOODS:
        return NEIGHBOURHOODS[code]
    if POSTCODE4.fullmatch(code):
        return code
    return OTHER_HOMES.get(code) or MOMENT_LABELS[Moment.SKIPPED]


def neighbourhood_code(name: str) -> str | None:
    """Our code for a location's neighbourhood as typed by a coordinator ("Zwaag", "zwaag")."""
    wanted = name.strip().casefold()
    if not wanted:
        return None
    for code, label in NEIGHBOURHOODS.items():
        if wanted in (code, label.casefold()):
            return code
    return None
