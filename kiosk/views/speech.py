"""``GET /speech?lang=<code>&text=<text>``: a screen text or a ticket label as WAV, for paired
kiosks and boards and logged-in staff; and the ``loket speech`` commands.

The text is in the URL, so a response never changes: browsers keep it for a year. Errors are
JSON ``{"error": {"code", "message"}}``: 400 (language, text), 403 (not a device or staff),
429 (too many), 503 (espeak-ng missing or failing: the page then uses the browser's voices).
Only screen texts and ticket labels are ever sent here; nothing personal.
"""

from __future__ import annotations

import click
from flask import Blueprint, Response, current_app, request
from flask.cli import with_appcontext
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address

from kiosk import speech as setup
from kiosk.auth import current_principal
from kiosk.errors import HTTP_CODES, api_error
from kiosk.extensions import limiter
from kiosk.factories import announcement_service
from kiosk.models import Role
from kiosk.services.base import Actor
from kiosk.services.errors import DomainError
from kiosk.speech import config, fixed_phrases, synthesizer

bp = Blueprint("speech", __name__, cli_group="speech")

# A phrase never changes at its address: let the browser keep it.
CACHE_SECONDS = 365 * 24 * 3600
CLI_ACTOR = Actor("system", None, "cli")


class NotAllowed(DomainError):
    code = "forbidden"
    status = 403
    message = "Only paired kiosks and boards, and staff, may use speech."


def _speech_limit() -> str:
    return str(config(current_app._get_current_object(), "RATELIMIT_SPEECH"))  # type: ignore[attr-defined]


def _caller_key() -> str:
    """Per device or staff member (kiosks on a bus may share an address), else per address."""
    try:
        principal = current_principal()
    except DomainError:
        return f"addr:{get_remote_address()}"
    if principal.device is not None:
        return f"device:{principal.device.id}"
    if principal.user is not None:
        return f"staff:{principal.user.id}"
    return f"addr:{get_remote_address()}"


@bp.errorhandler(DomainError)
def _refused(error: DomainError) -> Response:
    # JSON even outside /api/: the caller is always a script (static/js/speech.js).
    return api_error(error.status, error.code, error.message, **error.details)


@bp.errorhandler(RateLimitExceeded)
def _limited(_error: RateLimitExceeded) -> Response:
    code, message = HTTP_CODES[429]
    return api_error(429, code, message)


@bp.get("/speech")
@limiter.limit(_speech_limit, key_func=_caller_key)
def speech() -> Response:
    """The phrase as WAV: from the cache, or made by espeak-ng now."""
    principal = current_principal()
    staff = principal.user is not None and principal.user.has_role(Role.STAFF)
    if not staff and principal.device is None:
        raise NotAllowed()
    path = synthesizer().wav(request.args.get("lang", ""), request.args.get("text", ""))
    # A phrase is small (~100 KB for a call): read at once, no file left open on the response.
    response = Response(path.read_bytes(), mimetype="audio/wav")
    response.set_etag(path.stem)  # the hash of voice, speed and text
    response.headers["Cache-Control"] = f"private, max-age={CACHE_SECONDS}, immutable"
    response.make_conditional(request)  # 304 for a browser that has it already
    return response


# -- loket speech ... ---------------------------------------------------------------------------


@bp.cli.command("prerender")
@with_appcontext
def prerender_command() -> None:
    """Make the audio of every fixed prompt in every language (run by `make run`)."""
    speaker = synthesizer()
    if not speaker.available():
        raise click.ClickException(
            "espeak-ng is not installed (apt-get install espeak-ng); screens use the "
            "browser's voices meanwhile."
        )
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        made, cached = speaker.prerender(fixed_phrases(app))
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(
        f"{len(setup.prompts(app))} prompts in {len(app.config['LANGUAGES'])} languages: "
        f"{made} made, {cached} already cached in {speaker.cache_dir}."
    )


@bp.cli.command("language")
@click.argument("stop_id", type=int)
@click.argument("language", required=False)
@with_appcontext
def language_command(stop_id: int, language: str | None) -> None:
    """Set a stop's second announcement language (e.g. `tr`); without one: remove it."""
    try:
        now = announcement_service().set_second_language(
            stop_id, language, languages=current_app.config["LANGUAGES"], actor=CLI_ACTOR
        )
    except DomainError as error:
        raise click.ClickException(error.message) from error
    if now:
        click.echo(f"Stop {stop_id}: calls are announced in the board's language, then '{now}'.")
    else:
        click.echo(f"Stop {stop_id}: calls are announced in the board's language only.")
