"""Two optional, anonymous questions at the kiosk after a ticket (where do you live, when would
you rather come), one tap each and a skip on every step; and the taps that count unmet demand
("I came for this" on the screens of products offered elsewhere and of a closed kiosk).

Unlinkable by design: the questions are reached by a plain link (no ticket token in the address,
and no referrer is sent), answers travel only in POST bodies (never in an address that a server
log keeps), and the server counts them in tallies without a time. Between the two questions the
kiosk's own signed session cookie remembers which tally the first answer went to, so that the
second answer joins it; it is dropped at the end and when the next resident starts.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from kiosk.extensions import configured_limit, limiter
from kiosk.factories import research_service
from kiosk.models import Device, Moment, Product, SignalKind, Stop
from kiosk.services.errors import DomainError
from kiosk.services.research import AnswerKey, InvalidAnswer
from kiosk.services.research.vocabulary import MOMENT_LABELS, NEIGHBOURHOODS, OTHER_HOMES
from kiosk.views.kiosk_base import kiosk_screen, per_kiosk, screen_context

bp = Blueprint("kiosk_survey", __name__, url_prefix="/kiosk/vragen")

SESSION_KEY = "survey"
MOMENTS = (Moment.WEEKDAY, Moment.EVENING, Moment.WEEKEND, Moment.ANY)


def _homes() -> list[tuple[str, str]]:
    return [*NEIGHBOURHOODS.items(), *((code, _(label)) for code, label in OTHER_HOMES.items())]


def _home_page(stop: Stop | None, error: bool = False) -> str:
    return render_template(
        "kiosk/survey_home.html", homes=_homes(), error=error, **screen_context(stop)
    )


def _postcode_page(stop: Stop | None, error: bool = False) -> str:
    return render_template("kiosk/survey_postcode.html", error=error, **screen_context(stop))


def _moment_page(stop: Stop | None, error: bool = False) -> str:
    moments = [(m.value, _(MOMENT_LABELS[m])) for m in MOMENTS]
    return render_template(
        "kiosk/survey_moment.html", moments=moments, error=error, **screen_context(stop)
    )


@bp.get("")
@kiosk_screen
def start(device: Device, stop: Stop | None) -> Response | str:
    """Question 1 of 2: the neighbourhood, one tap (or the postcode, or skip)."""
    session.pop(SESSION_KEY, None)  # a new resident: forget an unfinished survey
    if stop is None:
        return redirect(url_for("kiosk.home"))
    return _home_page(stop)


@bp.get("/postcode")
@kiosk_screen
def postcode(device: Device, stop: Stop | None) -> Response | str:
    """Question 1 by postcode: four digits on a keypad (never the letters)."""
    if stop is None:
        return redirect(url_for("kiosk.home"))
    return _postcode_page(stop)


@bp.post("")
@limiter.limit(configured_limit("RESEARCH_RATELIMIT"), key_func=per_kiosk)
@kiosk_screen
def answer_home(device: Device, stop: Stop | None) -> Response | tuple[str, int]:
    """Count the first answer (empty: skipped) and go on to question 2."""
    if stop is None:
        return redirect(url_for("kiosk.home"))
    answer = request.form.get("home", "")[:24]
    try:
        key = research_service().record_answer(stop, home=answer or None)
    except InvalidAnswer:
        if request.form.get("typed"):
            return _postcode_page(stop, error=True), 422
        return _home_page(stop, error=True), 422
    if key is None:
        session.pop(SESSION_KEY, None)
    else:
        session[SESSION_KEY] = key.as_dict()
    return redirect(url_for("kiosk_survey.moment"))


@bp.get("/moment")
@kiosk_screen
def moment(device: Device, stop: Stop | None) -> Response | str:
    """Question 2 of 2: when the resident would rather come."""
    if stop is None:
        return redirect(url_for("kiosk.home"))
    return _moment_page(stop)


@bp.post("/moment")
@limiter.limit(configured_limit("RESEARCH_RATELIMIT"), key_func=per_kiosk)
@kiosk_screen
def answer_moment(device: Device, stop: Stop | None) -> Response | tuple[str, int]:
    """Count the second answer (with the first, if there was one) and say thank you."""
    earlier = AnswerKey.from_dict(session.pop(SESSION_KEY, None))
    if stop is None:
        return redirect(url_for("kiosk.home"))
    answer = request.form.get("moment", "")[:16]
    service = research_service()
    try:
        if earlier is not None and earlier.stop_id == stop.id:
            service.add_moment(earlier, answer)
        else:
            service.record_answer(stop, moment=answer or None)
    except InvalidAnswer:
        if earlier is not None:
            session[SESSION_KEY] = earlier.as_dict()
        return _moment_page(stop, error=True), 422
    return redirect(url_for("kiosk_survey.thanks"))


@bp.get("/bedankt")
@kiosk_screen
def thanks(device: Device, stop: Stop | None) -> str:
    """Thank you; the idle bar takes the screen back to the start."""
    return render_template("kiosk/survey_thanks.html", **screen_context(stop))


@bp.post("/gemist")
@limiter.limit(configured_limit("RESEARCH_RATELIMIT"), key_func=per_kiosk)
@kiosk_screen
def missed(device: Device, stop: Stop | None) -> Response:
    """ "I came for this": a product this stop does not offer, or anything while closed."""
    kind = request.form.get("kind", "")[:16]
    product = request.form.get("product", "")[:40] or None
    try:
        research_service().record_signal(kind, stop, product)
    except DomainError:
        return redirect(url_for("kiosk.home"))
    flash(_("Bedankt. Wij hebben genoteerd waarvoor u kwam."))
    if kind == SignalKind.NOT_OFFERED.value:
        return redirect(url_for("kiosk.elsewhere"))
    return redirect(url_for("kiosk.home"))


@bp.before_app_request
def _forget_unfinished_survey() -> None:
    """A kiosk screen outside the survey (the start, after the idle timer): the first answer of
    an unfinished survey leaves the kiosk's cookie. It was counted already."""
    if (  # the path first: other requests (the API, boards) need not open the session
        request.path.startswith("/kiosk")
        and request.blueprint != bp.name
        and SESSION_KEY in session
    ):
        session.pop(SESSION_KEY, None)


@bp.app_template_global("closed_tap_products")
def closed_tap_products() -> list[Product]:
    """The products a resident can say they came for on the closed screen."""
    return [p for p in research_service().products() if p.active]
