"""What a message says, in the resident's language, from the app's own gettext catalogues.

Messages are written where no request is (the queue's transaction for a desk's click, the
housekeeping loop for a reminder), so the catalogues are read here with Babel directly, the
same ``translations/<lang>/LC_MESSAGES/messages.mo`` files the pages use; a language without a
catalogue, or a text not translated yet, reads in Dutch (the msgids are Dutch).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations


@cache
def _catalogue(directory: str, language: str) -> NullTranslations:
    return Translations.load(directory, [language])  # NullTranslations when there is none


class MessageTexts:
    """The texts of the messages; each method takes the resident's language first."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = str(directory) if directory else None

    def translations(self, language: str) -> NullTranslations:
        """The catalogue of `language` (none for Dutch: the msgids are Dutch)."""
        if not self.directory or language == "nl":
            return NullTranslations()
        return _catalogue(self.directory, language)

    def title(self, language: str) -> str:
        """The heading of a push notification."""
        _ = self.translations(language).gettext
        return _("Loket op locatie")

    def almost(self, language: str, label: str) -> str:
        """A few people are ahead: time to come back."""
        _ = self.translations(language).gettext
        return _("%(label)s: u bent bijna aan de beurt. Kom terug naar de wachtruimte.") % {
            "label": label
        }

    def called(self, language: str, label: str, desk: str) -> str:
        """The number is called to a desk: "A012: ga naar Balie 2"."""
        _ = self.translations(language).gettext
        return _("%(label)s: ga naar %(desk)s") % {"label": label, "desk": desk}

    def reminder(self, language: str, *, time: str, place: str, code: str) -> str:
        """The appointment is tomorrow."""
        _ = self.translations(language).gettext
        return _(
            "Herinnering: morgen om %(time)s heeft u een afspraak bij %(place)s. "
            "Uw code is %(code)s. Kunt u niet komen? Zeg de afspraak dan af."
        ) % {"time": time, "place": place, "code": code}
