"""Language choice: an explicit choice (``?lang=``, kept in the session), else the browser's."""

from __future__ import annotations

from flask import current_app, request, session


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = request.args.get("lang")
    if chosen is not None and chosen in languages:
        session["lang"] = chosen
        return chosen
    kept = session.get("lang")
    if isinstance(kept, str) and kept in languages:
        return kept
    best: str | None = request.accept_languages.best_match(languages)
    return best or current_app.config["DEFAULT_LANGUAGE"]
