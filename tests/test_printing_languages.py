"""Slips in the resident's language: Turkish, Polish and Ukrainian through the printer's own code
page (golden bytes), Arabic as shaped right-to-left raster lines, the code page per language and
printer profile, and the QR code that opens the resident's page in their language.

The slip texts below are frozen here (not taken from translations/), so the golden files do not
change when the translators' catalogues land. Update the golden files only on purpose:
    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_printing_languages.py
"""

from __future__ import annotations

import pytest
from PIL import Image, ImageOps

from printer import SlipLine, SlipTexts, TicketSlip, plan, raster_text, render
from printer.codepages import CodePage, choose_code_page
from printer.slip import TextImage, TextLine, target_for
from tests.test_printer_escpos_reader import decode_qr, read
from tests.test_printer_slip import URL, check_golden, make_slip

# (header, number caption, product, people ahead {n}, footer), as a translator might write them.
FROZEN = {
    "tr": (
        "Hoorn Belediyesi",
        "Sıra numaranız",
        "Pasaport veya kimlik kartı başvurusu",
        "Önünüzde {n} kişi var",
        "Sıranızın ne zaman geleceğini görmek için kodu tarayın.",
    ),
    "pl": (
        "Gmina Hoorn – mobilny punkt obsługi",
        "Twój numer",
        "Wniosek o paszport lub dowód osobisty",
        "Przed Tobą są {n} osoby",
        "Zeskanuj kod, aby sprawdzić, kiedy będzie Twoja kolej.",
    ),
    "uk": (
        "Муніципалітет Горн",
        "Ваш номер",
        "Заява на паспорт або ID-картку",
        "Перед вами є {n} особи",
        "Скануйте код, щоб побачити, коли ваша черга. Її ґанок",
    ),
    "ar": (
        "بلدية هورن",
        "رقمك",
        "طلب جواز سفر أو بطاقة هوية",
        "أمامك {n} أشخاص",
        "امسح الرمز لترى متى يحين دورك.",
    ),
}


def slip_in(language: str, **overrides: object) -> TicketSlip:
    header, caption, product, ahead, footer = FROZEN[language]
    fields: dict[str, object] = {
        "header_lines": (header,),
        "product": product,
        "qr_url": f"{URL}?lang={language}",
        "footer_lines": (footer,),
        "texts": SlipTexts(number_caption=caption, people_ahead_many=ahead),
    }
    fields.update(overrides)
    return make_slip(**fields)


def printed_text(language: str) -> list[str]:
    header, caption, product, ahead, footer = FROZEN[language]
    return [header, caption, product, ahead.format(n=3), footer]


# -- golden bytes: Turkish, Polish, Ukrainian in the printer's own font ---------------------------

GOLDEN_PROFILES = [("tm-t88v", "TM-T88V", "native"), ("tm-t20ii", "TM-T20II", "auto")]
GOLDEN_PROFILES += [("pos-5890", "POS-5890", "auto")]


@pytest.mark.parametrize("language", ["tr", "pl", "uk"])
@pytest.mark.parametrize(("name", "profile", "qr_mode"), GOLDEN_PROFILES)
def test_slip_in_the_residents_language_matches_the_golden_file(language, name, profile, qr_mode):
    job = render(slip_in(language), profile, qr_mode)
    check_golden(f"{language}-{name}", job)
    printout = read(job, profile)
    assert printout.images == [] or len(printout.images) == 1  # text only, bar an image QR
    joined = " ".join(printout.lines)
    for text in printed_text(language):
        assert " ".join(text.split()) in joined or text in printout.lines, text
    assert "?" not in joined


def test_turkish_slip_is_exactly_this_on_a_tm_t88v():
    """The Turkish golden file's text, spelled out byte for byte in CP1254."""
    job = render(slip_in("tr"), "TM-T88V", "native")
    assert job.startswith(b"\x1b@\x1bR\x00\x1bt\x30\x1ba\x01")  # CP1254 = ESC t 48
    assert b"\x1bE\x01Hoorn Belediyesi\n\n" in job
    assert b"S\xfdra numaran\xfdz\n" in job  # ı = 0xFD
    assert b"Pasaport veya kimlik kart\xfd ba\xfevurusu\n" in job  # ş = 0xFE
    assert b"\xd6n\xfcn\xfczde 3 ki\xfei var\n" in job  # Ö ü ş
    assert b"S\xfdran\xfdz\xfdn ne zaman gelece\xf0ini" in job  # ğ = 0xF0


def test_polish_slip_uses_cp1250_letters():
    job = render(slip_in("pl"), "TM-T88V", "native")
    assert b"\x1bt\x2d" in job  # CP1250 = ESC t 45
    assert b"Gmina Hoorn \x96 mobilny punkt obs\xb3ugi\n" in job  # – ł
    assert b"Przed Tob\xb9 s\xb9 3 osoby\n" in job  # ą = 0xB9


def test_ukrainian_slip_uses_cp1251_letters():
    job = render(slip_in("uk"), "TM-T88V", "native")
    assert b"\x1bt\x2e" in job  # CP1251 = ESC t 46
    assert "Муніципалітет Горн\n".encode("cp1251") in job
    assert "Її ґанок".encode("cp1251") in job  # Ї ї ґ
    assert b"\xb3" in job and b"\xaf" in job and b"\xb4" in job  # і Ї ґ


# -- the code page per language and printer profile ----------------------------------------------

TABLE = [
    # (language, profile, code page, ESC t number or None when the line is drawn as an image)
    ("tr", "TM-T88V", "CP1254", 48),
    ("tr", "TM-T20II", "CP1254", 48),
    ("tr", "POS-5890", "CP1254", 91),
    ("tr", "simple", "CP437", 0),
    ("pl", "TM-T88V", "CP1250", 45),
    ("pl", "TM-T20II", "CP1250", 45),
    ("pl", "POS-5890", "CP1250", 72),
    ("pl", "simple", "CP437", 0),
    ("uk", "TM-T88V", "CP1251", 46),
    ("uk", "TM-T20II", "CP1251", 46),
    ("uk", "POS-5890", "CP1251", 73),
    ("uk", "simple", "CP437", 0),
    ("ar", "TM-T88V", "CP858", 19),
    ("ar", "POS-5890", "CP858", 19),
    ("ar", "simple", "CP437", 0),
]


@pytest.mark.parametrize(("language", "profile", "page", "number"), TABLE)
def test_code_page_per_language_and_profile(language, profile, page, number):
    layout = plan(slip_in(language), profile)
    assert (layout.code_page.name, layout.code_page.number) == (page, number)


@pytest.mark.parametrize(
    ("language", "profile", "as_images"),
    [
        ("tr", "simple", False),  # ğ -> g: the words stay readable as text
        ("pl", "simple", False),  # ł -> l
        ("uk", "simple", True),  # no Cyrillic in CP437: drawn
        ("uk", "TM-T88V", False),
        ("ar", "TM-T88V", True),  # never through a code page
        ("ar", "TM-T20II", True),
        ("ar", "POS-5890", True),
        ("ar", "simple", True),
    ],
)
def test_which_lines_are_drawn_as_images(language, profile, as_images):
    layout = plan(slip_in(language), profile)
    drawn = [b.text for b in layout.blocks if isinstance(b, TextImage)]
    text = [b.text for b in layout.blocks if isinstance(b, TextLine)]
    if as_images:
        header, caption, _product, ahead, footer = FROZEN[language]
        joined = " ".join(drawn)
        assert all(t in joined for t in (header, caption, ahead.format(n=3), footer))
        # The label, the place (a Dutch name) and the time stay in the printer's own font.
        assert {"A012", "02-06-2026 12:00"} <= set(text)
    else:
        assert drawn == []
    assert not any("?" in line for line in text)


def test_turkish_and_polish_on_a_cp437_printer_lose_only_their_accents():
    def text(language: str) -> str:
        layout = plan(slip_in(language), "simple")
        return " ".join(b.text for b in layout.blocks if isinstance(b, TextLine))

    assert "Pasaport veya kimlik karti basvurusu" in text("tr")
    assert "Önünüzde 3 kisi var" in text("tr")  # CP437 has ö and ü
    assert "Gmina Hoorn - mobilny punkt obslugi" in text("pl")
    assert "Przed Toba sa 3 osoby" in text("pl")


@pytest.mark.parametrize(
    ("available", "expected", "printed"),
    [
        ({"CP437": 0, "CP866": 17, "CP1251": 46}, "CP1251", "Її ґанок і"),
        ({"CP437": 0, "CP866": 17, "CP1125": 44}, "CP1125", "Її ґанок і"),
        ({"CP437": 0, "CP866": 17}, "CP866", "Її ганок i"),  # і -> Latin i, ґ -> г
    ],
)
def test_ukrainian_code_page_choice_and_lookalikes(available, expected, printed):
    page = choose_code_page(["Її ґанок і"], available)
    assert page.name == expected
    assert page.transliterate("Її ґанок і") == printed
    assert not page.loses_letters("Її ґанок і")


def test_a_line_loses_letters_only_when_a_letter_would_become_a_question_mark():
    latin = CodePage("CP437", 0, "cp437")
    assert not latin.loses_letters("Sıra? ğ ł €")
    assert latin.loses_letters("Ваш номер")
    assert latin.loses_letters("رقمك")


def test_ukrainian_on_a_cp437_printer_prints_as_images_that_read_back(tmp_path):
    job = render(slip_in("uk"), "simple")
    printout = read(job, "simple")
    assert "?" not in "".join(printout.lines)
    assert len(printout.images) > 4  # the lines, and the QR code (no native QR on this profile)
    (code,) = [image for image in printout.images if image.height > 100]
    assert decode_qr(code) == f"{URL}?lang=uk"


# -- Arabic: shaped, right to left, as raster images ---------------------------------------------


def ink_columns(image: Image.Image) -> tuple[int, int]:
    box = ImageOps.invert(image.convert("L")).getbbox()
    assert box is not None, "nothing drawn"
    return box[0], box[2]


@pytest.mark.skipif(not raster_text.can_shape(), reason="Pillow without libraqm (make fonts)")
def test_arabic_slip_prints_shaped_right_to_left_lines_and_its_qr_in_arabic():
    job = render(slip_in("ar"), "TM-T88V", "native")
    printout = read(job, "TM-T88V")
    assert "A012" in printout.lines and "02-06-2026 12:00" in printout.lines
    assert "?" not in "".join(printout.lines)
    assert len(printout.images) == 6  # header, caption, product (2 lines), people ahead, footer
    assert all(image.width <= 512 for image in printout.images)
    assert printout.qrs[0].data == f"{URL}?lang=ar".encode()
    assert len(job) < 16_000  # figures: ~11.7 KB on a TM-T88V


@pytest.mark.skipif(not raster_text.can_shape(), reason="Pillow without libraqm (make fonts)")
def test_arabic_is_laid_out_from_the_right():
    # Alef (a tall stroke) then beh (low, with a dot below): right to left, alef is on the right.
    image = raster_text.line_image("ا ب").convert("L")
    left, right = ink_columns(image)
    middle = (left + right) // 2

    def ink_height(x0: int, x1: int) -> int:
        box = ImageOps.invert(image.crop((x0, 0, x1, image.height))).getbbox()
        return 0 if box is None else box[3] - box[1]

    assert ink_height(middle, right) > ink_height(left, middle)


@pytest.mark.skipif(not raster_text.can_shape(), reason="Pillow without libraqm (make fonts)")
def test_arabic_letters_are_joined():
    # Three behs written together join into one word, narrower than three standalone letters.
    joined = raster_text.text_width("ببب")
    apart = 3 * raster_text.text_width("ب")
    assert joined < apart
    assert raster_text.line_image("ببب").tobytes() != raster_text.line_image("ب ب ب").tobytes()


def test_right_to_left_detection():
    assert raster_text.is_right_to_left("رقمك A012")
    assert not raster_text.is_right_to_left("A012 رقمك")
    assert raster_text.needs_shaping("A012 رقمك") and not raster_text.needs_shaping("Ваш")


def test_long_arabic_lines_wrap_within_the_paper():
    long = " ".join(["امسح الرمز لترى متى يحين دورك"] * 4)
    layout = plan(slip_in("ar", footer_lines=(long,)), "POS-5890")
    drawn = [b for b in layout.blocks if isinstance(b, TextImage)]
    assert len(drawn) > 6
    assert all(b.image().width <= 384 for b in drawn)


def test_without_shaping_arabic_is_not_drawn_unjoined(monkeypatch):
    """Without libraqm the printer would draw unjoined letters left to right: it does not."""
    monkeypatch.setattr(raster_text, "can_shape", lambda: False)
    layout = plan(slip_in("ar"), "TM-T88V")
    assert not any(isinstance(b, TextImage) and "رقمك" in b.text for b in layout.blocks)
    # Ukrainian needs no shaping and is still drawn on a CP437 printer.
    uk = plan(slip_in("uk"), "simple")
    assert any(isinstance(b, TextImage) for b in uk.blocks)


def test_a_printer_without_raster_images_transliterates():
    assert target_for("TM-U220").raster is False
    layout = plan(slip_in("uk"), "TM-U220")
    assert not any(isinstance(b, TextImage) for b in layout.blocks)


def test_extra_lines_follow_the_same_rules():
    slip = slip_in("ar", people_ahead=None, lines=(SlipLine("موعدك الساعة 14:30", bold=True),))
    drawn = [b for b in plan(slip, "TM-T88V").blocks if isinstance(b, TextImage)]
    assert any(b.text == "موعدك الساعة 14:30" and b.bold for b in drawn)
