"""The public booking pages (/afspraak): product, place, time, details; the booking lands on the
private appointment page, and every refusal is a friendly page with a way back."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from kiosk.models import Appointment, AppointmentSource, Slot, StopStatus
from kiosk.services.appointments import AppointmentService
from tests.factories import csrf_token_in, make_bookable_stop, make_product, make_stop
from tests.live import free_port
from tests.test_appointment_mail import Inbox

# The fake clock stands at Tuesday 2 June 2026, 10:00 UTC: 12:00 in Hoorn. The stop runs from
# 11:00 to 19:00 local time; product A's slots last 15 minutes, two places each (two desks).
FIRST_FREE = "12:15"


@pytest.fixture
def stop(db, clock):
    return make_bookable_stop(db, clock)


def fresh(db) -> None:
    """End the session's read so that it sees what the app committed since."""
    db.commit()
    db.expire_all()


def free_slots(db, clock, stop) -> list[Slot]:
    fresh(db)
    return list(
        db.scalars(
            select(Slot)
            .where(Slot.stop_id == stop.id, Slot.starts_at > clock.now)
            .order_by(Slot.starts_at)
        )
    )


def details_url(stop, slot, product="id-apply") -> str:
    return f"/afspraak/{product}/{stop.id}/{slot.id}"


def appointments(db) -> list[Appointment]:
    fresh(db)
    return list(db.scalars(select(Appointment).order_by(Appointment.id)))


def post_details(client, url: str, **fields: str):
    token = csrf_token_in(client.get(url).text)
    return client.post(url, data={"csrf_token": token, **fields})


def main_text(response) -> str:
    """The page's main part as text, without tags or runs of spaces."""
    main = response.text[response.text.index("<main") :]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


# -- the steps --------------------------------------------------------------------------------


def test_step_1_lists_bookable_products_with_free_times_and_what_to_bring(client, stop):
    page = client.get("/afspraak")
    assert page.status_code == 200
    text = main_text(page)
    assert "Stap 1 van 4" in text and "Paspoort of ID-kaart aanvragen" in text
    assert "Duurt ongeveer 15 minuten." in text and "een pasfoto" in text
    assert 'href="/afspraak/id-apply"' in page.text
    assert "Rijbewijs" not in text  # bookable, but no free time anywhere
    assert "ophalen" not in text  # not bookable


def test_step_1_says_so_when_nothing_can_be_booked(client, db, clock):
    make_stop(db, now=clock.now)
    text = main_text(client.get("/afspraak"))
    assert "Er zijn nu geen tijden vrij" in text and "zonder afspraak" in text


def test_step_2_lists_coming_stops_with_date_hours_and_address(client, db, clock, stop):
    later = make_stop(
        db,
        now=clock.now,
        starts_in=timedelta(days=7, hours=-2),
        hours=4,
        location="Wijkcentrum De Kern",
        status=StopStatus.PLANNED,
    )
    closed = make_stop(
        db, now=clock.now, starts_in=timedelta(days=1), location="Zorgcentrum Lindendael"
    )
    service = AppointmentService(db, clock=clock)
    for other in (later, closed):
        service.open_slots(other, other.products[0])
    closed.status = StopStatus.CLOSED
    db.commit()

    page = client.get("/afspraak/id-apply")
    assert page.status_code == 200
    text = main_text(page)
    assert "Stap 2 van 4" in text
    assert "Dinsdag 2 juni: Bibliotheek Hoorn" in text
    assert "Wisselstraat 8, Binnenstad" in text
    assert "Open van 11:00 tot 19:00 uur." in text
    assert f"27 tijden vrij, de eerste om {FIRST_FREE} uur." in text
    assert "Dinsdag 9 juni: Wijkcentrum De Kern" in text and "Open van 10:00 tot 14:00" in text
    assert text.index("Bibliotheek Hoorn") < text.index("Wijkcentrum De Kern")
    assert "Lindendael" not in text
    assert f'href="/afspraak/id-apply/{stop.id}"' in page.text and f"/{later.id}" in page.text


def test_step_2_takes_the_ticket_letter_too(client, stop):
    assert "Bibliotheek Hoorn" in client.get("/afspraak/A").text


def test_step_3_shows_the_free_times_by_part_of_the_day(client, db, clock, stop):
    slots = free_slots(db, clock, stop)
    service = AppointmentService(db, clock=clock)
    full = slots[1]  # 12:30
    for _ in range(full.capacity):
        service.book(full.id)

    page = client.get(f"/afspraak/id-apply/{stop.id}")
    assert page.status_code == 200
    text = main_text(page)
    assert "Stap 3 van 4" in text and "Dinsdag 2 juni" in text
    assert "Ochtend" not in text  # 11:00-12:00 has passed
    assert text.index("Middag") < text.index(FIRST_FREE) < text.index("Avond")
    assert "18:45" in text and "11:45" not in text
    times = re.findall(r'class="time-button" href="([^"]+)"', page.text)
    assert len(times) == 26 and times[0] == details_url(stop, slots[0])
    assert details_url(stop, full) not in times


def test_step_3_names_the_day_when_a_stop_runs_past_midnight(client, db, clock):
    make_product(db, "A", bookable=True)
    late = make_stop(db, now=clock.now, starts_in=timedelta(hours=10), hours=4)  # 22:00-02:00
    AppointmentService(db, clock=clock).open_slots(late, late.products[0])
    text = main_text(client.get(f"/afspraak/id-apply/{late.id}"))
    assert text.index("Avond, dinsdag 2 juni") < text.index("23:45")
    assert text.index("23:45") < text.index("Ochtend, woensdag 3 juni") < text.index("00:00")


def test_step_3_without_free_times_says_so_and_links_back(client, db, clock, stop):
    service = AppointmentService(db, clock=clock)
    for slot in free_slots(db, clock, stop):
        for _ in range(slot.capacity):
            service.book(slot.id)
    page = client.get(f"/afspraak/id-apply/{stop.id}")
    assert page.status_code == 200
    assert "Op deze plek zijn geen tijden meer vrij" in main_text(page)
    assert 'href="/afspraak/id-apply"' in page.text


def test_step_4_sums_up_the_choice_with_an_optional_name_and_email(client, db, clock, stop):
    slot = free_slots(db, clock, stop)[0]
    page = client.get(details_url(stop, slot))
    assert page.status_code == 200
    text = main_text(page)
    assert "Stap 4 van 4" in text
    assert "Paspoort of ID-kaart aanvragen" in text and "Bibliotheek Hoorn" in text
    assert "Dinsdag 2 juni, 12:15 tot 12:30 uur" in text and "een pasfoto" in text
    assert '<label for="name">Naam om u te roepen (mag leeg blijven)</label>' in page.text
    assert '<label for="email">E-mailadres (mag leeg blijven)</label>' in page.text
    assert 'type="email" autocomplete="email"' in page.text
    assert csrf_token_in(page.text)


# -- booking ----------------------------------------------------------------------------------


def test_a_resident_books_and_lands_on_the_private_page(client, db, clock, stop):
    slot = free_slots(db, clock, stop)[0]
    response = post_details(
        client, details_url(stop, slot), name="  Anna de Vries ", email="anna@example.org"
    )
    assert response.status_code == 302
    (booked,) = appointments(db)
    assert response.headers["Location"] == f"/a/{booked.token}"
    assert (booked.slot_id, booked.name, booked.email) == (
        slot.id,
        "Anna de Vries",
        "anna@example.org",
    )
    assert (booked.source, booked.language) == (AppointmentSource.ONLINE, "nl")

    private = client.get(response.headers["Location"])
    text = main_text(private)
    assert booked.code in text and "Uw afspraak is gemaakt." in text
    assert "bevestiging naar" not in text  # no mail server configured: no promise of a mail
    assert "Uw afspraak is gemaakt." not in client.get(response.headers["Location"]).text
    assert free_slots(db, clock, stop)[0].booked == 1


def test_name_and_email_may_stay_empty(client, db, clock, stop):
    slot = free_slots(db, clock, stop)[0]
    response = post_details(client, details_url(stop, slot), name=" ", email="")
    assert response.status_code == 302
    (booked,) = appointments(db)
    assert booked.name is None and booked.email is None


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "A" * 81}, "name", "Uw naam is te lang. Gebruik hoogstens 80 tekens."),
        ({"name": "Anna\x07"}, "name", "In uw naam staat een teken dat niet kan."),
        ({"email": "anna@"}, "email", "Vul een e-mailadres in zoals naam@voorbeeld.nl"),
        ({"email": "a" * 250 + "@x.nl"}, "email", "Dit e-mailadres is te lang."),
    ],
    ids=["long-name", "control-character", "bad-email", "long-email"],
)
def test_invalid_details_are_shown_at_the_field_and_kept(
    client, db, clock, stop, fields, field, message
):
    slot = free_slots(db, clock, stop)[0]
    data = {"name": "Anna", "email": "anna@example.org", **fields}
    page = post_details(client, details_url(stop, slot), **data)
    assert page.status_code == 422
    assert appointments(db) == []
    assert "<title>Fout:" in page.text
    summary = page.text[page.text.index('class="error-summary"') :]
    assert 'role="alert"' in summary[:200] and f'href="#{field}"' in summary
    error = re.search(rf'<p class="field__error" id="{field}-error">(.*?)</p>', page.text, re.S)
    assert error and message in error.group(1)
    field_input = re.search(rf'<input id="{field}"[^>]*>', page.text, re.S).group(0)
    assert 'aria-invalid="true"' in field_input and f"{field}-error" in field_input
    other = "email" if field == "name" else "name"
    assert f'id="{other}-error"' not in page.text
    if "\x07" not in data["name"]:
        assert f'value="{data[field]}"' in field_input


def test_a_time_taken_meanwhile_gets_a_friendly_answer_and_the_way_back(client, db, clock, stop):
    slot = free_slots(db, clock, stop)[0]
    url = details_url(stop, slot)
    token = csrf_token_in(client.get(url).text)  # the form is open; others take both places
    service = AppointmentService(db, clock=clock)
    for _ in range(slot.capacity):
        service.book(slot.id)

    response = client.post(url, data={"csrf_token": token, "name": "Anna"})
    assert response.status_code == 409
    text = main_text(response)
    assert "Deze tijd is niet meer vrij" in text and "Kies een andere tijd" in text
    assert f'href="/afspraak/id-apply/{stop.id}"' in response.text
    assert len(appointments(db)) == slot.capacity
    assert client.get(url).status_code == 409  # the form is not offered again either


def test_a_time_that_has_passed_is_refused_with_the_way_back(client, db, clock, stop):
    slot = free_slots(db, clock, stop)[0]
    url = details_url(stop, slot)
    token = csrf_token_in(client.get(url).text)
    clock.advance(minutes=20)
    response = client.post(url, data={"csrf_token": token})
    assert response.status_code == 409
    assert "Deze tijd is voorbij" in main_text(response)
    assert f'href="/afspraak/id-apply/{stop.id}"' in response.text
    assert appointments(db) == []


@pytest.mark.parametrize(
    ("path", "heading", "back"),
    [
        ("/afspraak/paspoort-kopen", "Geen afspraak mogelijk", "/afspraak"),
        ("/afspraak/id-collect", "Geen afspraak mogelijk", "/afspraak"),  # not bookable
        ("/afspraak/id-apply/99999", "Plek niet gevonden", "/afspraak/id-apply"),
        ("/afspraak/id-apply/{stop}/99999", "Tijd niet gevonden", "/afspraak/id-apply/{stop}"),
        ("/afspraak/id-collect/{stop}/{slot}", "Geen afspraak mogelijk", "/afspraak"),
        (
            "/afspraak/driving-licence/{stop}/{slot}",
            "Tijd niet gevonden",
            "/afspraak/driving-licence/{stop}",
        ),
        ("/afspraak/id-apply/{other}/{slot}", "Plek niet gevonden", "/afspraak/id-apply"),
    ],
    ids=[
        "unknown-product",
        "not-bookable",
        "unknown-stop",
        "unknown-slot",
        "slot-of-a-not-bookable-product",
        "slot-of-another-product",
        "stop-without-the-product",
    ],
)
def test_unknown_things_get_a_friendly_404_with_the_way_back(
    client, db, clock, stop, path, heading, back
):
    other = make_stop(db, now=clock.now, products="R", location="Wijkcentrum De Kern")
    values = {"stop": stop.id, "slot": free_slots(db, clock, stop)[0].id, "other": other.id}
    response = client.get(path.format(**values))
    assert response.status_code == 404
    assert f"<h1>{heading}</h1>" in response.text
    assert f'class="button button--large" href="{back.format(**values)}"' in response.text


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "forged"])
def test_booking_needs_the_forms_csrf_token(client, db, clock, stop, token):
    slot = free_slots(db, clock, stop)[0]
    url = details_url(stop, slot)
    client.get(url)
    data = {"name": "Anna"} | ({"csrf_token": token} if token else {})
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert "Het formulier is verlopen" in main_text(response)
    assert f'href="{url}"' in response.text
    assert appointments(db) == []


def test_too_many_bookings_from_one_address_get_a_friendly_429(make_app, clock):
    app = make_app(RATELIMIT_BOOK="2/minute")
    client = app.test_client()
    with app.extensions["loket.sessionmaker"]() as db:
        stop = make_bookable_stop(db, clock)
        slots = free_slots(db, clock, stop)
        answers = [post_details(client, details_url(stop, s)).status_code for s in slots[:3]]
        assert answers == [302, 302, 429]
        limited = post_details(client, details_url(stop, slots[3]))
        assert limited.status_code == 429
        text = main_text(limited)
        assert "Even geduld" in text and "Wacht een paar minuten" in text
        assert limited.headers.get("Retry-After")
        assert len(appointments(db)) == 2
        assert client.get(details_url(stop, slots[3])).status_code == 200  # looking is fine


# -- language, e-mail, home -------------------------------------------------------------------


def test_the_pages_speak_english_when_asked_and_book_in_english(client, db, clock, stop):
    page = client.get("/afspraak?lang=en")
    assert '<html lang="en"' in page.text
    assert "Apply for a passport or ID card" in page.text and "passport photo" in page.text
    stops_page = client.get("/afspraak/id-apply")  # the choice is kept in the session
    assert '<html lang="en"' in stops_page.text and "Tuesday 2 June" in stops_page.text
    slot = free_slots(db, clock, stop)[0]
    assert "Tuesday 2 June" in client.get(details_url(stop, slot)).text
    assert post_details(client, details_url(stop, slot)).status_code == 302
    (booked,) = appointments(db)
    assert booked.language == "en"


def test_a_phone_in_english_gets_english_without_asking(client, stop):
    page = client.get("/afspraak", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en"' in page.text and "Apply for a passport" in page.text


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


def test_the_confirmation_email_goes_out_after_booking_on_the_page(make_app, clock, inbox):
    handler, port = inbox
    app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_FROM="loket@hoorn.test")
    client = app.test_client()
    with app.extensions["loket.sessionmaker"]() as db:
        make_product(db, "A", bookable=True)
        stop = make_stop(db, now=clock.now)
        AppointmentService(db, clock=clock).open_slots(stop, stop.products[0])
        slot = free_slots(db, clock, stop)[0]
        response = post_details(client, details_url(stop, slot), email="anna@example.org")
        assert response.status_code == 302
        (booked,) = appointments(db)
    message = handler.wait()
    assert message["To"] == "anna@example.org" and booked.code in message["Subject"]
    private = main_text(client.get(response.headers["Location"]))
    assert "We sturen een bevestiging naar anna@example.org." in private


def test_the_home_page_links_to_booking(client):
    assert 'href="/afspraak"' in client.get("/").text


def test_booking_pages_follow_the_strict_csp(client, db, clock, stop):
    slot = free_slots(db, clock, stop)[0]
    for url in ("/afspraak", "/afspraak/id-apply", f"/afspraak/id-apply/{stop.id}"):
        page = client.get(url)
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert "<script>" not in page.text and "style=" not in page.text
    details = client.get(details_url(stop, slot)).text
    assert "<script>" not in details and "style=" not in details
    assert db.scalar(select(func.count()).select_from(Appointment)) == 0
