"""The board's information slides: coordinators manage them in the admin (add, change, order,
switch, delete; per stop or for all; a text per language with Dutch required; a pictogram), every
change is logged and reaches the boards at once; the board gets them in its state and page.

The board's behaviour in a browser (rotation, never over a call) is in
tests/browser/test_board_slides.py.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from kiosk.models import BoardSlide, Event, StopStatus
from kiosk.services.base import RecordingNotifier
from kiosk.services.queue import QueueService
from kiosk.services.slides import MAX_TEXT, SlideInput, SlideService, board_slides
from kiosk.services.validation import Invalid, Refused
from tests.factories import csrf_token_in, make_stop, make_user

pytestmark = pytest.mark.usefixtures("fast_hashing")
PASSWORD = "correct horse battery"


# -- helpers ------------------------------------------------------------------------------------


def login(app, username: str, role: str, db):
    make_user(db, username, role=role, password=PASSWORD)
    client = app.test_client()
    token = csrf_token_in(client.get("/login").text)
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.text
    client.csrf = token
    return client


def post(client, url: str, data: dict | None = None, **kw):
    return client.post(url, data={"csrf_token": client.csrf, **(data or {})}, **kw)


def fresh(db) -> None:
    db.rollback()
    db.expire_all()


def all_slides(db) -> list[BoardSlide]:
    fresh(db)
    return list(db.scalars(select(BoardSlide).order_by(BoardSlide.sort_order, BoardSlide.id)))


def events(db, action: str) -> list[Event]:
    fresh(db)
    return list(db.scalars(select(Event).where(Event.action == action).order_by(Event.id)))


@pytest.fixture
def cora(app, db):
    return login(app, "cora", "coordinator", db)


@pytest.fixture
def service(db, clock):
    notifier = RecordingNotifier()
    made = SlideService(db, notifier, clock)
    made.recorded = notifier
    return made


def slide_form(**fields: str) -> dict[str, str]:
    return {"text_nl": "Neem uw oude paspoort en een pasfoto mee.", "active": "1", **fields}


# -- the service --------------------------------------------------------------------------------


def test_a_slide_for_all_stops_reaches_every_board_of_these_days(service, db, clock, stop):
    later = make_stop(db, now=clock.now, starts_in=timedelta(days=14), location="Wijkcentrum")

    slide = service.create_slide(
        SlideInput(texts={"nl": "Neem een pasfoto mee.", "en": "Bring a photo."}, icon="id")
    )

    assert slide.stop_id is None and slide.texts == {
        "nl": "Neem een pasfoto mee.",
        "en": "Bring a photo.",
    }
    (published,) = service.recorded.published
    name, payload, room = published
    assert (name, room) == ("board_slides", f"stop:{stop.id}")
    assert payload == {
        "stop_id": stop.id,
        "slides": [
            {
                "id": slide.id,
                "icon": "id",
                "texts": {"nl": "Neem een pasfoto mee.", "en": "Bring a photo."},
            }
        ],
    }
    assert later.id not in {int(r.removeprefix("stop:")) for _, _, r in service.recorded.published}


def test_a_stop_shows_its_own_and_the_common_slides_that_are_on_in_order(service, db, clock, stop):
    other = make_stop(db, now=clock.now, location="Zorgcentrum De Dijk")
    common = service.create_slide(SlideInput(texts={"nl": "Voor iedereen"}))
    own = service.create_slide(SlideInput(texts={"nl": "Alleen hier"}, stop=str(stop.id)))
    elsewhere = service.create_slide(SlideInput(texts={"nl": "Daar"}, stop=str(other.id)))
    off = service.create_slide(SlideInput(texts={"nl": "Uit"}, active=False))
    service.move_slide(own.id, up=True)

    assert [s["id"] for s in board_slides(db, stop.id)] == [own.id, common.id]
    assert [s["id"] for s in board_slides(db, other.id)] == [common.id, elsewhere.id]
    assert off.id not in {s["id"] for s in board_slides(db, other.id)}
    # board_state carries them, so a board that (re)connects has them at once.
    state = QueueService(db, clock=clock).board_state(stop)
    assert [s["texts"]["nl"] for s in state["slides"]] == ["Alleen hier", "Voor iedereen"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (SlideInput(texts={"nl": "  "}), "text_nl", "Vul de tekst in het Nederlands in."),
        (SlideInput(texts={"nl": "x" * (MAX_TEXT + 1)}), "text_nl", "Gebruik hoogstens"),
        (SlideInput(texts={"nl": "Goed", "tr": "y" * (MAX_TEXT + 1)}), "text_tr", "hoogstens"),
        (SlideInput(texts={"nl": "Goed"}, icon="rocket"), "icon", "Kies een van de pictogrammen"),
        (SlideInput(texts={"nl": "Goed"}, stop="999"), "stop", "Kies een loketdag uit de lijst"),
        (SlideInput(texts={"nl": "Goed"}, stop="abc"), "stop", "Kies een loketdag uit de lijst"),
    ],
)
def test_a_slide_that_would_not_fit_or_makes_no_sense_is_refused(service, db, data, field, message):
    with pytest.raises(Invalid) as refused:
        service.create_slide(data)

    assert message in str(refused.value.errors[field])
    assert all_slides(db) == []
    assert service.recorded.published == []


def test_a_long_list_of_slides_is_refused_with_a_reason(service, db, monkeypatch):
    monkeypatch.setattr("kiosk.services.slides.MAX_SLIDES", 2)
    service.create_slide(SlideInput(texts={"nl": "Een"}))
    service.create_slide(SlideInput(texts={"nl": "Twee"}))

    with pytest.raises(Refused) as refused:
        service.create_slide(SlideInput(texts={"nl": "Drie"}))

    assert str(refused.value.reason) == "Er zijn al 2 dia's. Verwijder er eerst een."
    assert len(all_slides(db)) == 2


def test_each_change_is_logged_with_what_changed(service, db, stop):
    slide = service.create_slide(SlideInput(texts={"nl": "Eerst"}))
    service.update_slide(
        slide.id, SlideInput(texts={"nl": "Daarna", "pl": "Potem"}, icon="calendar")
    )
    service.set_active(slide.id, False)
    service.delete_slide(slide.id)

    (created,) = events(db, "slide.create")
    assert created.data["values"]["texts"] == {"nl": "Eerst"}
    updates = events(db, "slide.update")
    assert updates[0].data["changes"]["texts"] == [{"nl": "Eerst"}, {"nl": "Daarna", "pl": "Potem"}]
    assert updates[0].data["changes"]["icon"] == [None, "calendar"]
    assert updates[1].data["changes"] == {"active": [True, False]}
    (deleted,) = events(db, "slide.delete")
    assert deleted.object_id == slide.id and deleted.data["values"]["texts"]["pl"] == "Potem"
    assert all_slides(db) == []
    # Every change told the board of the stop on today.
    assert [name for name, _, _ in service.recorded.published] == ["board_slides"] * 4
    assert service.recorded.published[-1][1]["slides"] == []


def test_moving_a_slide_past_the_end_changes_nothing(service, db):
    first = service.create_slide(SlideInput(texts={"nl": "Een"}))
    second = service.create_slide(SlideInput(texts={"nl": "Twee"}))
    service.move_slide(first.id, up=True)
    service.move_slide(second.id, up=False)
    assert [s.id for s in all_slides(db)] == [first.id, second.id]
    service.move_slide(second.id, up=True)
    assert [s.id for s in all_slides(db)] == [second.id, first.id]
    assert len(events(db, "slide.move")) == 1


def test_moving_a_slide_to_another_stop_tells_both_boards(service, db, clock, stop):
    other = make_stop(db, now=clock.now, location="Zorgcentrum De Dijk")
    slide = service.create_slide(SlideInput(texts={"nl": "Hier"}, stop=str(stop.id)))
    service.recorded.published.clear()

    service.update_slide(slide.id, SlideInput(texts={"nl": "Hier"}, stop=str(other.id)))

    rooms = {room: payload["slides"] for _, payload, room in service.recorded.published}
    assert rooms == {
        f"stop:{stop.id}": [],
        f"stop:{other.id}": [{"id": slide.id, "icon": None, "texts": {"nl": "Hier"}}],
    }


def test_a_closed_stop_of_today_still_hears_of_a_common_slide(service, db, clock):
    closed = make_stop(db, now=clock.now, status=StopStatus.CLOSED)
    service.create_slide(SlideInput(texts={"nl": "Morgen zijn we er weer"}))
    assert [room for _, _, room in service.recorded.published] == [f"stop:{closed.id}"]


# -- the admin pages ----------------------------------------------------------------------------


def test_a_coordinator_adds_a_slide_in_two_languages_with_a_pictogram(cora, db, stop):
    page = cora.get("/admin/slides")
    assert page.status_code == 200 and "Er zijn nog geen dia" in page.text
    assert 'href="/admin/slides" aria-current="page"' in page.text

    form = cora.get("/admin/slides/new")
    assert form.status_code == 200
    assert 'name="text_nl"' in form.text and 'name="text_ar"' in form.text
    assert 'value="info-circle"' in form.text and "Bibliotheek Hoorn" in form.text

    response = post(
        cora,
        "/admin/slides/new",
        slide_form(text_en="Bring your old passport and a photo.", icon="id", stop=str(stop.id)),
        follow_redirects=True,
    )

    assert "De dia is toegevoegd." in response.text
    (slide,) = all_slides(db)
    assert slide.texts == {
        "nl": "Neem uw oude paspoort en een pasfoto mee.",
        "en": "Bring your old passport and a photo.",
    }
    assert (slide.icon, slide.stop_id, slide.active) == ("id", stop.id, True)
    assert "Neem uw oude paspoort" in response.text and "NL, EN" in response.text
    (event,) = events(db, "slide.create")
    assert event.actor_type == "staff"


def test_a_slide_form_with_mistakes_says_where_and_keeps_the_input(cora, db, stop):
    response = post(
        cora,
        "/admin/slides/new",
        slide_form(text_nl="", text_en="Only English", icon="rocket"),
    )

    assert response.status_code == 422
    assert "Vul de tekst in het Nederlands in." in response.text
    assert "Kies een van de pictogrammen, of geen pictogram." in response.text
    assert 'value="Only English"' in response.text
    assert 'href="#text_nl"' in response.text  # the summary links to the field
    assert all_slides(db) == []


def test_a_coordinator_edits_orders_switches_and_deletes_slides(cora, db, stop):
    for text in ("Eerste", "Tweede"):
        post(cora, "/admin/slides/new", slide_form(text_nl=text))
    first, second = (s.id for s in all_slides(db))

    edit = cora.get(f"/admin/slides/{first}")
    assert 'value="Eerste"' in edit.text
    saved = post(
        cora,
        f"/admin/slides/{first}",
        slide_form(text_nl="Eerste, beter"),
        follow_redirects=True,
    )
    assert "De dia is opgeslagen." in saved.text

    post(cora, f"/admin/slides/{second}/move", {"direction": "up"})
    assert [s.id for s in all_slides(db)] == [second, first]

    off = post(cora, f"/admin/slides/{first}/active", {}, follow_redirects=True)
    assert "De dia staat uit." in off.text
    assert all_slides(db)[1].active is False
    on = post(cora, f"/admin/slides/{first}/active", {"active": "1"}, follow_redirects=True)
    assert "De dia staat aan." in on.text

    confirm = cora.get(f"/admin/slides/{first}/delete")
    assert "Wilt u de dia „Eerste, beter” verwijderen?" in confirm.text
    gone = post(cora, f"/admin/slides/{first}/delete", follow_redirects=True)
    assert "De dia is verwijderd." in gone.text
    assert [s.id for s in all_slides(db)] == [second]
    assert cora.get(f"/admin/slides/{first}").status_code == 404


def test_a_slide_post_without_the_csrf_token_is_refused(cora, db):
    response = cora.post("/admin/slides/new", data=slide_form())
    assert response.status_code == 400
    assert all_slides(db) == []


def test_staff_and_strangers_cannot_manage_slides(app, db, stop):
    staff = login(app, "sam", "staff", db)
    response = post(staff, "/admin/slides/new", slide_form())
    assert response.status_code == 403 and "Deze pagina is voor coördinatoren." in response.text

    stranger = app.test_client()
    assert stranger.get("/admin/slides").status_code == 302
    assert all_slides(db) == []


def test_a_slide_shows_on_the_board_page_in_its_language_and_the_second_one(
    app, client, db, clock, stop
):
    from kiosk.services.speech import AnnouncementService

    AnnouncementService(db, clock=clock).set_second_language(stop.id, "tr", languages=["nl", "tr"])
    service = SlideService(db, clock=clock)
    service.create_slide(
        SlideInput(
            texts={"nl": "Neem een pasfoto mee.", "tr": "Vesikalık fotoğraf getirin."}, icon="id"
        )
    )
    service.create_slide(SlideInput(texts={"nl": "Alleen Nederlands"}))

    html = client.get("/board").text
    band = html.split('id="board-slides"', 1)[1].split("</section>", 1)[0]

    assert "Neem een pasfoto mee." in band and 'lang="tr"' in band
    assert "Vesikalık fotoğraf getirin." in band
    assert "/static/vendor/icons/id.svg" in band
    assert band.count('class="board-slide"') == 2
    english = client.get("/board?lang=en").text.split('id="board-slides"', 1)[1]
    # No English text: the Dutch one, marked as Dutch.
    assert (
        '<p class="board-slide__text" data-field="text" lang="nl" dir="auto">Alleen Nederlands'
        in english
    )


# -- the rest of the board's new furniture: the clock, the next stops by place -----------------


def test_the_board_shows_the_local_time_for_its_script_to_keep(client, clock, stop):
    # 10:00 UTC on 2 June is 12:00 in Hoorn (summer time).
    html = client.get("/board").text

    assert '<time id="board-clock">12:00</time>' in html
    assert "Het is nu" in html  # said to screen readers before the bare time
    assert 'data-timezone="Europe/Amsterdam"' in html


def test_the_next_stops_name_each_place_once_with_its_dates(client, db, clock, stop):
    for days in (1, 2, 3, 4):
        make_stop(
            db,
            now=clock.now,
            starts_in=timedelta(days=days),
            status=StopStatus.PLANNED,
            location="Wijkcentrum",
        )
    make_stop(
        db,
        now=clock.now,
        starts_in=timedelta(days=2, hours=3),
        status=StopStatus.PLANNED,
        location="Zorgcentrum De Dijk",
    )

    html = client.get("/board").text
    panel = html.split('id="board-next-title"', 1)[1].split("</section>", 1)[0]
    places = re.findall(r'<span class="board-next__place">([^<]+)</span>', panel)
    dates = re.findall(r'<li class="board-next__when">([^<]+)</li>', panel)

    assert places == ["Wijkcentrum", "Zorgcentrum De Dijk"]
    assert [" ".join(d.split()) for d in dates] == [
        "woensdag 3 juni, 12:00–20:00",
        "donderdag 4 juni, 12:00–20:00",
        "vrijdag 5 juni, 12:00–20:00",  # three dates a place; the fourth waits its turn
        "donderdag 4 juni, 15:00–23:00",
    ]
