"""Speech for screens: server-side audio, so a Chromium without voices can still talk.

    board.js / kiosk.js --speak(text, lang)--> static/js/speech.js
        --GET /speech?lang=&text=--> kiosk/views/speech.py (paired device or staff, rate limited)
            -> Synthesizer.wav(lang, text)          (here: cache on disk, else espeak-ng)
        <-- audio/wav, cached by the browser for a year (the text is in the URL)

- `engine`: `Synthesizer`, Debian's espeak-ng behind a per-phrase disk cache (atomic writes,
  pruned by size). The process runs in gevent's cooperative subprocess under `loket run`, so a
  synthesis never stalls other requests;
- `announcements`: what the board needs besides audio: a stop's second announcement language,
  and which boards run without sound (staff see "geen geluid" in the desk's device list).

Only screen texts and ticket labels are ever spoken; nothing personal (a name, an e-mail) is
sent here, and the endpoint refuses anyone but paired devices and staff.
"""

from kiosk.services.speech.announcements import AnnouncementService
from kiosk.services.speech.engine import (
    VOICES,
    SpeechError,
    SpeechUnavailable,
    Synthesizer,
    TextTooLong,
    UnsupportedLanguage,
)

__all__ = [
    "VOICES",
    "AnnouncementService",
    "SpeechError",
    "SpeechUnavailable",
    "Synthesizer",
    "TextTooLong",
    "UnsupportedLanguage",
]
