"""Certificates in the customer's language: every fixed word of the shipped designs in ten
languages, chosen per run (--locale) or per row (a locale column), dates and money in the
locale's way, right-to-left languages mirrored; each design's golden image in German and
Arabic beside the English one, and the longest words fitting every design."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from PIL import Image

from certgen import inputs, issue, lang, text
from certgen.design import DEFAULT_LETTER_TO_GIVER, DEFAULT_LETTER_TO_RECIPIENT, TextElement
from tests.helpers import NOW, SHIPPED, SHIPPED_NAMES, load, words
from tests.test_cli import invoke
from tests.test_golden import GOLDEN, SAMPLES, mismatch, render_page

LANGUAGES = ("en", "es", "fr", "de", "pt", "ar", "he", "ja", "zh", "ko")
WORDED = re.compile(r"""_\(\s*'((?:[^'\\]|\\.)*)'""")


def _messages() -> set[str]:
    """Every message the shipped designs' texts and certgen's cover letters pass through _()."""
    sources = [DEFAULT_LETTER_TO_GIVER, DEFAULT_LETTER_TO_RECIPIENT]
    for name in SHIPPED_NAMES:
        sources += [e.text for e in load(name).manifest.elements if isinstance(e, TextElement)]
    return {m.encode().decode("unicode_escape") for s in sources for m in WORDED.findall(s)}


def test_every_fixed_word_is_in_every_catalogue() -> None:
    messages = _messages()
    assert len(messages) >= 30 and "For" in messages and "Valid until %(date)s" in messages
    assert "Warm regards," in messages  # the mailer's cover letter
    assert lang.languages() == ("en", *sorted(LANGUAGES[1:]))
    for code in LANGUAGES[1:]:
        with (lang.WORDING / f"{code}.po").open("rb") as handle:
            catalogue = {str(m.id): m for m in read_po(handle) if m.id}
        for message in messages:
            entry = catalogue.get(message)
            assert entry and entry.string and not entry.fuzzy, (code, message)
            places = sorted(re.findall(r"%\((\w+)\)s", message))
            assert sorted(re.findall(r"%\((\w+)\)s", str(entry.string))) == places, (code, message)


def _sample(name: str) -> list[inputs.Row]:
    design = load(name)
    rows, problems = inputs.read_csv(
        SHIPPED / name / "preview.csv", design, {}, NOW.date(), SAMPLES
    )
    assert not problems
    return list(rows)


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_the_longest_words_fit_every_design_in_every_language(name: str) -> None:
    """Front and back, every fixed text in every catalogue's words fits its box (at worst
    shrunk to the design's minimum) with no refusal."""
    rows = _sample(name)
    for code in LANGUAGES:
        design = load(name).for_locale(code)
        found = issue.static_problems(design, duplex=True)
        assert not found, (code, [p.message for p in found])
        _, problems = issue.lay_out(design, rows, ["A" * 20], base_url="https://x.example",
                                    issued_on=NOW.date(), file=None, duplex=True)  # fmt: skip
        assert not problems, (code, [p.message for p in problems])


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_german_words_print_inside_their_boxes(tmp_path: Path, name: str) -> None:
    """German runs longest: each fixed text's words are found inside its element's box."""
    from tests.helpers import issue_rows

    design = load(name).for_locale("de")
    result = issue_rows(tmp_path, design, _sample(name)[:1], output=tmp_path / "de.pdf")
    found = words(result.file)
    checked = 0
    for element in design.text_elements:
        if element.side != "front" or "_(" not in element.text or not design.is_static(element):
            continue
        printed = design.templates[element.id].render(design.static_context()).split()
        inside = {
            w.text
            for w in found
            if element.x - 0.5 <= w.x0
            and w.x1 <= element.x + element.width + 0.5
            and element.y - 0.5 <= w.top
            and w.bottom <= element.y + element.height + 0.5
        }
        assert set(printed) <= inside, (element.id, printed, inside)
        checked += 1
    assert checked >= 2


@pytest.mark.parametrize("locale", ["de", "ar"])
@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_shipped_design_looks_like_its_reference_in_german_and_arabic(
    tmp_path: Path, name: str, locale: str, regen_golden: bool
) -> None:
    from tests.helpers import issue_rows

    design = load(name).for_locale(locale)
    result = issue_rows(tmp_path, design, _sample(name), output=tmp_path / "x.pdf", batch_id="g")
    actual = render_page(result.file)
    reference = GOLDEN / f"{name}-{locale}.png"
    if regen_golden:
        actual.save(reference)
    problem = mismatch(actual, Image.open(reference).convert("RGB"), tmp_path)
    assert problem is None, problem


def test_a_golden_in_the_wrong_language_is_caught(tmp_path: Path) -> None:
    from tests.helpers import issue_rows

    design = load("compact").for_locale("es")
    result = issue_rows(tmp_path, design, _sample("compact"), output=tmp_path / "x.pdf")
    problem = mismatch(
        render_page(result.file), Image.open(GOLDEN / "compact-de.png").convert("RGB"), tmp_path
    )
    assert problem is not None and "pixels differ" in problem


def test_a_run_in_a_language_and_rows_in_their_own(env: Path) -> None:
    Path("list.csv").write_text(
        "to,from,locale,expires\nAna,Bo,es,2027-03-31\nSara,Bo,ar,2027-03-31\nEd,Bo,,2027-03-31\n"
    )
    status, _, err = invoke("issue", "list.csv", "-d", "compact", "--locale", "de", "--set",
                            "business=Studio", "-o", "run.pdf")  # fmt: skip
    assert status == 0, err
    spanish, arabic, german = (_text(Path("run.pdf"), n) for n in range(3))
    assert "Este regalo es para ti de parte de" in spanish and "31 de marzo de 2027" in spanish
    assert "Este regalo" not in german and "Dieses Geschenk ist für Sie von" in german
    assert "31. März 2027" in german
    assert "Dieses Geschenk" not in arabic and "مارس" in arabic
    status, _, err = invoke("issue", "-d", "compact", "--locale", "xx-nowhere", "--to", "A",
                            "--set", "business=S", "-o", "x.pdf")  # fmt: skip
    assert status != 0 and "locale 'xx-nowhere'" in err and not Path("x.pdf").exists()


def test_a_mailers_cover_letter_is_in_its_rows_language(env: Path) -> None:
    Path("m.csv").write_text(
        "to,from,street,city,state,zip,locale\n"
        "Ana Ruiz,Bo Li,17 Oak Street,Springfield,IL,62704,es\n"
        "Ed Ng,Bo Li,2 Elm Rd,Dayton,OH,45402,\n"
    )
    status, _, err = invoke("issue", "m.csv", "-d", "compact", "--mailing", "--locale", "fr",
                            "--set", "business=Studio", "--set", "address=1 Main St, Springfield",
                            "-o", "m.pdf")  # fmt: skip
    assert status == 0, err
    spanish, french = _text(Path("m.pdf"), 0), _text(Path("m.pdf"), 1)
    assert spanish.startswith("Estimado/a Ana:") and "Un cordial saludo," in spanish
    assert french.startswith("Cher/Chère Ed,") and "Bien cordialement," in french


def test_right_to_left_mirrors_the_layout(env: Path) -> None:
    for locale, out in (("en", "en.pdf"), ("he", "he.pdf")):
        status, _, err = invoke("issue", "-d", "compact", "--locale", locale, "--to", "Bob",
                                "--set", "business=Studio", "-o", out)  # fmt: skip
        assert status == 0, err
    width = load("compact").width_mm

    def code_centre(pdf: str) -> float:
        shown = [
            w for w in words(Path(pdf)) if re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{1,4}){4}", w.text)
        ]
        [code] = shown
        return (code.x0 + code.x1) / 2

    assert code_centre("en.pdf") > width * 0.7  # the stub on the right
    assert code_centre("he.pdf") == pytest.approx(width - code_centre("en.pdf"), abs=1.0)
    assert "עבור" in _text(Path("he.pdf"), 0)


def _text(pdf: Path, page: int) -> str:
    """A page's text in reading order (poppler's, which puts right-to-left runs right)."""
    done = subprocess.run(["pdftotext", "-f", str(page + 1), "-l", str(page + 1), str(pdf), "-"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout


def test_dates_and_money_in_the_locales_way() -> None:
    day = dt.date(2027, 3, 31)
    assert text.date(day) == "31 March 2027"  # English as certgen has always printed it
    assert text.date(day, locale="de") == "31. März 2027"
    assert text.date(day, locale="ja") == "2027年3月31日"
    assert text.date(day, locale="es_MX") == "31 de marzo de 2027"
    assert text.money(Decimal("1200.5")) == "$1,200.50"
    assert text.money(Decimal("1200.5"), "EUR", locale="de") == "1.200,50\xa0€"
    assert text.money(Decimal("1200"), "$", locale="fr") == "$1\u202f200"
    with pytest.raises(ValueError, match="needs its values"):
        lang.translate("de", "Valid until %(date)s", {})
