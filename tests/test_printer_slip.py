"""The ticket slip as ESC/POS bytes: golden files per profile and QR mode, code pages byte for
byte, layout decisions.

Update the golden files only on purpose, and review the diff:
    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_printer_slip.py
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from printer import PrinterConfigError, SlipLine, SlipTexts, TicketSlip, plan, render
from printer.codepages import ASCII, CodePage, choose_code_page, clean_text
from printer.slip import Gap, QrBlock, TextLine, target_for
from tests.test_printer_escpos_reader import read

GOLDEN = Path(__file__).parent / "golden" / "printer"
URL = "https://loket.hoorn.nl/t/Xk3v9QpL2mN8rT4wZ6yB1cD5fG7hJ0aS"  # 55 characters
ISSUED = datetime(2026, 6, 2, 10, 0, tzinfo=UTC)  # 12:00 in Hoorn (summer time)


def make_slip(**overrides: object) -> TicketSlip:
    fields: dict[str, object] = {
        "label": "A012",
        "product": "Paspoort of ID-kaart",
        "stop": "Bibliotheek Hoorn, Wisselstraat 8",
        "issued_at": ISSUED,
        "qr_url": URL,
        "header_lines": ("Gemeente Hoorn",),
        "people_ahead": 3,
        "footer_lines": ("Scan de code om te zien wanneer u aan de beurt bent",),
    }
    fields.update(overrides)
    return TicketSlip(**fields)  # type: ignore[arg-type]


def check_golden(name: str, data: bytes) -> None:
    path = GOLDEN / f"{name}.bin"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert path.exists(), f"{path} is missing: run once with UPDATE_GOLDEN=1 and review it"
    expected = path.read_bytes()
    if data != expected:
        at = next((i for i, (a, b) in enumerate(zip(data, expected, strict=False)) if a != b), None)
        at = min(len(data), len(expected)) if at is None else at
        got, want = data[max(0, at - 16) : at + 16], expected[max(0, at - 16) : at + 16]
        pytest.fail(
            f"{name}: {len(data)} bytes, golden {len(expected)}; first difference at {at}: "
            f"got {got!r}, golden {want!r}"
        )


# -- golden files ----------------------------------------------------------------------------------

GOLDEN_CASES = [
    # (golden name, profile, qr_mode)
    ("tm-t88v-native", "TM-T88V", "native"),
    ("tm-t88v-image", "TM-T88V", "image"),
    ("tm-t20ii-auto", "TM-T20II", "auto"),  # 80 mm at 203 dpi, 576 dots: native
    ("pos-5890-auto", "POS-5890", "auto"),  # 58 mm, no QR, no cutter: image + tear feed
    ("simple-auto", "simple", "auto"),  # CP437 only, unknown width, no QR, no cutter
]


@pytest.mark.parametrize(("name", "profile", "qr_mode"), GOLDEN_CASES)
def test_slip_bytes_match_the_golden_file(name, profile, qr_mode):
    check_golden(name, render(make_slip(), profile, qr_mode))


def test_native_slip_on_tm_t88v_is_exactly_this():
    """The golden file spelled out, so a reviewer can see every command."""
    job = render(make_slip(), "TM-T88V", "native")
    qr = (
        b"\x1d(k\x04\x001A2\x00"  # model 2
        b"\x1d(k\x03\x001C\x06"  # module 6 dots
        b"\x1d(k\x03\x001E1"  # error correction M
        b"\x1d(k"
        + bytes((len(URL) + 3, 0))
        + b"1P0"
        + URL.encode()  # store
        + b"\x1d(k\x03\x001Q0"  # print
    )
    assert (
        job
        == (
            b"\x1b@"  # initialise
            b"\x1bR\x00"  # USA character set
            b"\x1bt\x13"  # code page 19 = CP858
            b"\x1ba\x01"  # centre
            b"\x1bE\x01Gemeente Hoorn\n\n"
            b"\x1bE\x00Uw nummer\n"
            b"\x1bE\x01\x1d!\x33A012\n"  # 4 x 4
            b"\x1d!\x01Paspoort of ID-kaart\n"  # double height
            b"\x1bE\x00\x1d!\x00Bibliotheek Hoorn, Wisselstraat 8\n"
            b"02-06-2026 12:00\n"
            b"\x1bE\x01Er zijn 3 personen voor u\n"
            b"\n"  # quiet zone above the QR code
            b"\x1bE\x00" + qr + b"\n"  # and below
            b"Scan de code om te zien wanneer u aan\nde beurt bent\n"
            b"\x1bd\x06\x1dV\x00"  # feed to the cutter, full cut
        )
    )


def test_byte_budget_per_qr_mode_and_profile(capsys):
    figures = {}
    for profile in ("TM-T88V", "TM-T20II", "POS-5890", "simple"):
        for mode in ("native", "image"):
            if mode == "native" and not target_for(profile).native_qr:
                continue
            figures[f"{profile} {mode}"] = len(render(make_slip(), profile, mode))
    with capsys.disabled():
        print("\nslip bytes:", ", ".join(f"{k}: {v}" for k, v in figures.items()))
    assert figures["TM-T88V native"] <= 600
    assert figures["TM-T20II native"] <= 600
    assert figures["TM-T88V image"] > 10 * figures["TM-T88V native"]


# -- code pages, byte for byte ---------------------------------------------------------------------


def nl_slip() -> TicketSlip:
    return make_slip(
        header_lines=("Gemeente Hoorn",),
        product="Rijbewijs: kosten € 41,00",
        stop="Café De Zwaan, Ëlle-Grote Oost",
        people_ahead=1,
        footer_lines=("Zoë, u bent bijna aan de beurt",),
    )


def test_dutch_slip_uses_cp858_with_euro_and_diaeresis():
    job = render(nl_slip(), "TM-T88V", "native")
    assert b"\x1bt\x13" in job  # CP858
    assert b"Rijbewijs: kosten \xd5 41,00\n" in job  # € = 0xD5
    assert b"Caf\x82 De Zwaan, \xd3lle-Grote Oost\n" in job  # é = 0x82, Ë = 0xD3
    assert b"Zo\x89, u bent bijna aan de beurt\n" in job  # ë = 0x89
    assert b"Er is 1 persoon voor u\n" in job


def test_typographic_dash_tips_a_dutch_slip_to_cp1252():
    job = render(make_slip(product="Rijbewijs – € 41,00", stop="Café Zoë"), "TM-T88V", "native")
    assert b"\x1bt\x10" in job  # 16 = CP1252: has –, €, é and ë; CP858 lacks the dash
    assert b"Rijbewijs \x96 \x80 41,00\n" in job
    assert b"Caf\xe9 Zo\xeb\n" in job


def test_turkish_slip_uses_cp1254():
    slip = make_slip(
        product="Pasaport başvurusu",
        stop="Kütüphane Hoorn",
        lines=(SlipLine("Sıra numaranız: İki kişi önünüzde", bold=True), "Ağ € 5"),
        people_ahead=None,
        footer_lines=(),
    )
    job = render(slip, "TM-T88V", "native")
    assert b"\x1bt\x30" in job  # 48 = CP1254
    assert b"Pasaport ba\xfevurusu\n" in job  # ş = 0xFE
    assert b"K\xfct\xfcphane Hoorn\n" in job
    assert b"S\xfdra numaran\xfdz: \xddki ki\xfei \xf6n\xfcn\xfczde\n" in job  # ı İ ş ö ü
    assert b"A\xf0 \x80 5\n" in job  # ğ = 0xF0, € = 0x80


def test_polish_slip_uses_cp1250():
    slip = make_slip(stop="Łódź, ul. Żółkiewskiego", product="Dowód osobisty – opłata 10 €")
    job = render(slip, "TM-T88V", "native")
    assert b"\x1bt\x2d" in job  # 45 = CP1250
    assert b"\xa3\xf3d\x9f, ul. \xaf\xf3\xb3kiewskiego\n" in job  # Ł ó ź Ż ł
    assert b"Dow\xf3d osobisty \x96 op\xb3ata 10 \x80\n" in job  # – stays in CP1250


def test_mixed_turkish_and_polish_transliterates_what_no_single_code_page_has():
    slip = make_slip(stop="Ağ Łódź ığ", product="Paszport")
    layout = plan(slip, "TM-T88V", "native")
    # CP1254 prints ğ ı ó, CP1250 Ł ó ź: a tie, won by the earlier candidate
    assert layout.code_page.name == "CP1254"
    assert "Ağ Lódz ığ" in [b.text for b in layout.blocks if isinstance(b, TextLine)]


def test_code_page_437_only_transliterates_euro_and_keeps_diaeresis():
    job = render(nl_slip(), "simple", "auto")
    assert b"\x1bt\x00" in job  # CP437, selected explicitly
    assert b"Rijbewijs: kosten EUR 41,00\n" in job
    assert b"Zo\x89, u bent bijna aan de beurt\n" in job
    assert b"\xd5" not in job.split(b"\x1dv0")[0]  # no stray CP858 euro in the text


@pytest.mark.parametrize("profile", ["TM-T88V", "POS-5890", "simple", "default"])
def test_non_ascii_round_trips_through_the_selected_code_page(profile):
    slip = nl_slip()
    printed = read(render(slip, profile, "auto"), profile)
    assert "Gemeente Hoorn" in printed.lines
    euro = "€" if profile != "simple" else "EUR"
    assert f"Rijbewijs: kosten {euro} 41,00" in printed.lines
    assert "Zoë, u bent bijna aan de beurt" in printed.lines


def test_control_characters_in_data_cannot_inject_printer_commands():
    slip = make_slip(product="Paspoort\x1bi\x1dV\x00 \x07aanvragen", stop="Tab\there")
    job = render(slip, "TM-T88V", "native")
    assert b"PaspoortiV aanvragen\n" in job
    assert b"Tab here\n" in job
    assert job.count(b"\x1dV") == 1  # only our own cut


@pytest.mark.parametrize(
    ("text", "page", "expected"),
    [
        ("ğĞşŞıİ", "CP858", "gGsSiI"),
        ("łŁąężźśćń", "CP858", "lLaezzscn"),
        ("€ 5", "CP437", "EUR 5"),
        ("ĳsje", "CP1252", "ijsje"),
        ("Ő ű", "CP858", "O u"),  # no table entry: accents stripped
        ("日本", "CP858", "??"),
        ("“quote” …", "CP858", '"quote" ...'),
        ("“quote” …", "CP1252", "“quote” …"),  # CP1252 has them
    ],
)
def test_transliteration_table(text, page, expected):
    codec = {"CP858": "cp858", "CP437": "cp437", "CP1252": "cp1252"}[page]
    assert CodePage(page, 0, codec).transliterate(text) == expected


def test_code_page_choice_prefers_the_profile_order_and_falls_back_to_ascii():
    assert choose_code_page(["plain"], {"CP437": 0, "CP858": 19}).name == "CP858"
    assert choose_code_page(["ë"], {"CP437": 0}).name == "CP437"
    assert choose_code_page(["ğ"], {"CP437": 0, "CP857": 13, "CP1254": 48}).name == "CP1254"
    assert choose_code_page(["ğ"], {"Unknown": 0}) is ASCII
    assert ASCII.encode("Zoë €") == b"Zoe EUR"


def test_clean_text_composes_accents_and_drops_controls():
    assert clean_text("Zoe\u0308\x1b\x00\u200b!") == "Zoë!"


def test_duplicate_code_page_numbers_use_the_lowest():
    assert target_for("POS-5890").code_pages["CP858"] == 19  # also listed as 53


# -- layout decisions ------------------------------------------------------------------------------


def test_profile_without_native_qr_falls_back_to_an_image_in_auto_mode():
    layout = plan(make_slip(), "POS-5890", "auto")
    assert layout.qr.native is False
    printed = read(render(make_slip(), "POS-5890", "auto"), "POS-5890")
    assert printed.qrs == [] and len(printed.images) == 1
    assert printed.images[0].width <= 384


def test_native_mode_on_a_profile_without_qr_is_a_config_error():
    with pytest.raises(PrinterConfigError, match="no native QR"):
        render(make_slip(), "POS-5890", "native")


def test_unknown_profile_and_qr_mode_are_refused_clearly():
    with pytest.raises(PrinterConfigError, match="Did you mean TM-T88V"):
        render(make_slip(), "TM-T88X")
    with pytest.raises(ValueError, match="qr_mode"):
        render(make_slip(), "TM-T88V", "svg")  # type: ignore[arg-type]


def test_profile_without_cutter_feeds_to_the_tear_bar_instead():
    printed = read(render(make_slip(), "POS-5890", "auto"), "POS-5890")
    assert printed.cut is None
    assert printed.commands[-1] == "feed 5"
    with_cutter = read(render(make_slip(), "TM-T88V"), "TM-T88V")
    assert with_cutter.cut == "full" and with_cutter.commands[-2:] == ["feed 6", "cut full"]


def test_qr_has_a_blank_line_above_and_below():
    layout = plan(make_slip(), "TM-T88V")
    i = next(i for i, b in enumerate(layout.blocks) if isinstance(b, QrBlock))
    assert layout.blocks[i - 1] == Gap(1) and layout.blocks[i + 1] == Gap(1)
    job = render(make_slip(), "TM-T88V", "native")
    before, after = job.split(b"\x1d(k")[0], job.split(b"1Q0")[1]
    assert before.endswith(b"voor u\n\n\x1bE\x00") and after.startswith(b"\n")


def test_image_qr_is_centred_by_left_padding():
    printed = read(render(make_slip(), "TM-T88V", "image"), "TM-T88V")
    image = printed.images[0]
    bbox = ink_bbox(image)
    left, right = bbox[0], 512 - bbox[2]
    assert abs(left - right) <= 8
    assert "align 0" in printed.commands  # the padded image is sent left-aligned
    assert printed.commands.index("align 0") < printed.commands.index(
        next(c for c in printed.commands if c.startswith("raster"))
    )


def ink_bbox(image):
    from PIL import ImageOps

    return ImageOps.invert(image.convert("L")).getbbox()


@pytest.mark.parametrize(
    ("label", "profile", "scale"),
    [("A012", "TM-T88V", 4), ("A012", "POS-5890", 4), ("PA1234567", "TM-T88V", 4)],
)
def test_label_is_as_large_as_fits(label, profile, scale):
    layout = plan(make_slip(label=label), profile)
    big = next(b for b in layout.blocks if isinstance(b, TextLine) and b.text == label)
    assert (big.width, big.height) == (scale, scale)
    assert len(label) * 12 * big.width <= layout.target.width_dots


def test_long_label_is_shrunk_to_fit_58mm():
    layout = plan(make_slip(label="PRIO-0123"), "POS-5890")
    big = next(b for b in layout.blocks if isinstance(b, TextLine) and b.text == "PRIO-0123")
    assert big.width == 3 and 9 * 12 * 3 <= 384


def test_long_lines_wrap_at_word_boundaries_within_the_columns():
    slip = make_slip(footer_lines=("Scan de code om te zien wanneer u aan de beurt bent " * 2,))
    for profile, columns in (("TM-T88V", 42), ("POS-5890", 32)):
        lines = [b for b in plan(slip, profile).blocks if isinstance(b, TextLine)]
        assert all(len(b.text) * b.width <= columns for b in lines)


def test_booked_later_slip_uses_lines_instead_of_people_ahead():
    slip = make_slip(
        label="P003",
        people_ahead=None,
        lines=(
            SlipLine("Uw afspraak", bold=True),
            SlipLine("Dinsdag 9 juni, 14:30", large=True),
            "Bibliotheek Hoorn, Wisselstraat 8",
        ),
    )
    printed = read(render(slip, "TM-T88V"), "TM-T88V")
    assert not any("voor u" in line for line in printed.lines)
    styled = {t: (b, w, h) for t, b, w, h, _ in printed.styled}
    assert styled["Uw afspraak"] == (True, 1, 1)
    assert styled["Dinsdag 9 juni, 14:30"] == (False, 1, 2)


def test_time_is_local_or_preformatted_and_texts_are_replaceable():
    winter = make_slip(issued_at=datetime(2026, 1, 5, 8, 5, tzinfo=UTC))
    assert winter.issued_line() == "05-01-2026 09:05"
    other_tz = make_slip(tz=timezone(timedelta(hours=3)))
    assert other_tz.issued_line() == "02-06-2026 13:00"
    given = make_slip(issued_text="di 2 juni, 12:00")
    assert "di 2 juni, 12:00" in read(render(given, "TM-T88V"), "TM-T88V").lines
    english = make_slip(
        people_ahead=2,
        texts=SlipTexts(number_caption="Your number", people_ahead_many="{n} people before you"),
    )
    lines = read(render(english, "TM-T88V"), "TM-T88V").lines
    assert "Your number" in lines and "2 people before you" in lines
    nobody = read(render(make_slip(people_ahead=0), "TM-T88V"), "TM-T88V").lines
    assert "Er is niemand voor u" in nobody


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"issued_at": datetime(2026, 6, 2, 10, 0)}, "aware"),
        ({"label": " \x1b "}, "label"),
        ({"qr_url": ""}, "qr_url"),
        ({"people_ahead": -1}, "people_ahead"),
    ],
)
def test_slip_validates_its_data(overrides, message):
    with pytest.raises(ValueError, match=message):
        make_slip(**overrides)


def test_slip_is_plain_frozen_data_and_accepts_lists():
    slip = make_slip(header_lines=["Gemeente Hoorn", "Pop-up loket"], lines=["een", "twee"])
    assert slip.header_lines == ("Gemeente Hoorn", "Pop-up loket")
    assert slip.lines == (SlipLine("een"), SlipLine("twee"))
    assert hash(slip) == hash(
        make_slip(header_lines=["Gemeente Hoorn", "Pop-up loket"], lines=["een", "twee"])
    )
    with pytest.raises(AttributeError):
        slip.label = "B001"  # type: ignore[misc]


# -- python-escpos 3.1 behaviour that the code above works around (fails if escpos changes) ------


def test_escpos_facts_we_rely_on(capsys):
    from printer._escpos import printers

    no_cutter = printers.Dummy(profile="POS-5890")
    no_cutter.cut()
    assert no_cutter.output == b"\x1bd\x06"  # cut() quietly becomes a feed

    native = printers.Dummy(profile="TM-T88V")
    with pytest.raises(NotImplementedError):
        native.qr("x", native=True, center=True)  # native QR cannot be centred by escpos
    with pytest.raises(NotImplementedError):
        native.is_online()  # Dummy (and File) cannot read status

    magic = printers.Dummy(profile="TM-T88V")
    magic.text("ë")
    magic.hw("INIT")  # the printer is back in its default code page ...
    magic.text("ë")  # ... but escpos does not select the page again
    assert magic.output.count(b"\x1bt") == 1

    unknown_width = printers.Dummy(profile="simple")
    from PIL import Image

    unknown_width.image(Image.new("1", (8, 8), 0))
    assert "media.width.pixel field of the printer profile is not set" in capsys.readouterr().out


def test_our_image_qr_prints_nothing_to_stdout_on_a_profile_of_unknown_width(capsys):
    render(make_slip(), "simple", "image")
    render(make_slip(), "default", "image")
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("text", "columns", "expected"),
    [
        ("Bibliotheek Hoorn, Wisselstraat 8", 32, ["Bibliotheek Hoorn,", "Wisselstraat 8"]),
        ("Paspoort of ID-kaart aanvragen", 24, ["Paspoort of ID-kaart", "aanvragen"]),
        ("kort", 32, ["kort"]),
    ],
)
def test_wrapping_avoids_a_lone_short_last_line_and_keeps_hyphenated_words(text, columns, expected):
    from printer.slip import wrap_balanced

    assert wrap_balanced(text, columns) == expected


@pytest.mark.parametrize("length", [1, 20, 60, 65, 120, 300])
def test_qr_modules_is_the_size_of_the_code_that_is_drawn(length):
    from printer.slip import _qr_code, qr_modules

    data = "http://192.168.8.10:5000/t/" + "x" * length
    assert qr_modules(data) == _qr_code(data, 1).modules_count
