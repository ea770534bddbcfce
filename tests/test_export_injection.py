"""Formula injection in the research exports (issue 14, item 3): a place whose neighbourhood is
named like a spreadsheet formula must reach the CSV and the XLSX as text, never as a formula.

The attack: a coordinator (or anyone who can edit the tour plan) names a neighbourhood
`=HYPERLINK("http://evil.example","Klik")`; the research export shows neighbourhoods by name, so
whoever opens the export in a spreadsheet would get a live link. OWASP's rule: a cell starting
with = + - @, tab or carriage return gets a single quote in front; numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from kiosk.research.export import FORMULA_STARTS, neutralise
from kiosk.services.queue import QueueService
from tests.factories import csrf_token_in, make_stop, make_user

EVIL = '=HYPERLINK("http://evil.example","Klik")'
PASSWORD = "correct horse battery"
RANGE = "from=2026-06-02&to=2026-06-02"


# Cheap Argon2id parameters (tests/conftest.py): these tests are not about hashing cost.
pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.mark.parametrize(
    "text, cell",
    [
        (EVIL, "'" + EVIL),
        ("+31 229 252200", "'+31 229 252200"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Zwaag", "Zwaag"),
        ("Grote Waal – Avond", "Grote Waal – Avond"),  # an en dash is not a minus
        ("", ""),
    ],
)
def test_text_that_a_spreadsheet_would_run_gets_a_quote(text, cell):
    assert neutralise(text) == cell


@pytest.mark.parametrize("number", [0, 7, -3, -0.5, 12.5])
def test_numbers_stay_numbers(number):
    assert neutralise(number) == number and type(neutralise(number)) is type(number)


@pytest.fixture
def poisoned(app, db, clock):
    """A stop in a neighbourhood named like a formula, at a place named like one, with 12
    tickets (shown as 10) on Tuesday 2 June 2026 (the fake clock's day)."""
    stop = make_stop(db, now=clock.now, location="@Bibliotheek")
    stop.location.neighbourhood = EVIL
    db.commit()
    queue = QueueService(db, clock=clock)
    for _ in range(12):
        queue.issue_ticket(stop, "A")
    make_user(db, "cora", role="coordinator", password=PASSWORD)
    client = app.test_client()
    token = csrf_token_in(client.get("/login").text)
    login = {"username": "cora", "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=login).status_code == 302
    return client, stop


def test_the_csv_has_no_cell_a_spreadsheet_would_run(poisoned):
    client, stop = poisoned
    response = client.get(f"/admin/research/export.csv?{RANGE}&stop={stop.id}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8"))))
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    # The name is still there, readable, as text.
    assert any(c.startswith("'" + EVIL) for c in cells)
    assert any(c.startswith("'@Bibliotheek") for c in cells)  # the stop filter's name
    # Figures are still plain numbers.
    assert any(r[1].startswith("'" + EVIL) and r[2] == "Bezoekers" and r[3] == "10" for r in rows)


def test_the_xlsx_has_no_formula_and_keeps_numbers(poisoned):
    from openpyxl import load_workbook

    client, stop = poisoned
    response = client.get(f"/admin/research/export.xlsx?{RANGE}&stop={stop.id}")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets
        for name in sheets:
            assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name
    book = load_workbook(io.BytesIO(response.data))
    texts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
    assert not [t for t in texts if t.startswith(FORMULA_STARTS)]
    where = next(r for r in book["Waar en wanneer"].values if str(r[0]).endswith('"Klik")'))
    assert where[0] == "'" + EVIL
    assert where[3] == 10 and isinstance(where[3], int)  # visitors: a number, not text
    assert any(t.startswith("'@Bibliotheek, ") for t in texts)
