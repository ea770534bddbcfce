"""Error pages speak plain Dutch (or English), never the API's technical English, and a kiosk's
error page leads back to the kiosk's start."""

from __future__ import annotations

from tests.factories import pair_browser


def test_a_missing_page_says_so_in_plain_words(client):
    page = client.get("/bestaat-niet")
    assert page.status_code == 404
    assert "Deze pagina bestaat niet (meer)." in page.text and "Not found." not in page.text
    assert 'href="/"' in page.text


def test_english_when_chosen(client):
    page = client.get("/bestaat-niet?lang=en")
    assert "Not found." not in page.text and '<html lang="en"' in page.text


def test_a_kiosk_error_leads_back_to_the_kiosk(client, db, clock, stop):
    from kiosk.services.accounts import AccountService

    pair_browser(client, AccountService(db, clock=clock), stop, "kiosk")
    page = client.get("/kiosk/bestaat-niet")
    assert page.status_code == 404 and 'href="/kiosk"' in page.text


def test_an_expired_form_gets_plain_words_not_the_technical_message(client, db, clock, stop):
    from kiosk.services.accounts import AccountService

    pair_browser(client, AccountService(db, clock=clock), stop, "kiosk")
    page = client.post("/kiosk/tickets", data={"product": "id-apply"})  # no CSRF token
    assert page.status_code == 400
    assert "Dat lukte niet. Ga terug en probeer het opnieuw." in page.text
    assert "CSRF" not in page.text and 'href="/kiosk"' in page.text
