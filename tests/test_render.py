"""What a printed certificate shows: text where its element says, in its declared font."""

from __future__ import annotations

import gc
import io
import re
from pathlib import Path

import pdfplumber
import pypdfium2 as pdfium
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reportlab.pdfbase.pdfdoc import PDFDocument

from certgen import codes, inputs, issue, render
from certgen.design import TextElement
from certgen.errors import InputError
from tests.helpers import NOW, inside, issue_rows, load, page_text, rows, words

TINY = load("tiny")


def issue_pdf(tmp_path: Path, people: list[dict[str, str]], design_name: str = "tiny") -> Path:
    design = load(design_name)
    return issue_rows(tmp_path, design, rows(design, people)).file


def element(design_name: str, element_id: str) -> TextElement:
    found = [e for e in load(design_name).text_elements if e.id == element_id]
    return found[0]


def box(e: TextElement) -> tuple[float, float, float, float]:
    return (e.x, e.y, e.width, e.height)


def test_origin_is_the_top_left_corner_in_mm(tmp_path: Path) -> None:
    pdf = issue_pdf(tmp_path, [{"recipient": "Bob"}])
    corner = next(w for w in words(pdf) if w.text == "CORNER")
    assert corner.x0 == pytest.approx(10, abs=0.5)
    # pdfminer places a glyph box from the font size and descent, about 1.3 mm low here.
    assert corner.top == pytest.approx(10, abs=1.5)


def test_names_land_inside_their_boxes_in_their_fonts(tmp_path: Path) -> None:
    pdf = issue_pdf(tmp_path, [{"recipient": "Bob Ng", "giver": "Jane Doe"}])
    found = {w.text: w for w in words(pdf)}
    for text, element_id, font in (
        ("Bob", "recipient", "NotoSerif-Regular"),
        ("Doe", "giver", "NotoSans-Bold"),
    ):
        word = found[text]
        assert inside(word, box(element("tiny", element_id))), (text, word)
        assert word.fontname.endswith(font), word.fontname  # subset prefix + PostScript name


@pytest.mark.parametrize("design", ["classic", "modern", "compact"])
@pytest.mark.parametrize(
    "name", ["Ελένη Παπαδοπούλου", "Анна Смирнова", "Łukasz Żółć", "José Nuñez"]
)
def test_greek_cyrillic_and_latin_names_come_back_out_of_the_pdf(
    tmp_path: Path, design: str, name: str
) -> None:
    pdf = issue_pdf(tmp_path, [{"recipient": name, "giver": name}], design)
    text = page_text(pdf)
    assert text.count(name) == 2  # as recipient and as giver
    found = [w for w in words(pdf) if w.text in name.split()]
    for element_id in ("recipient", "giver"):
        in_box = [w for w in found if inside(w, box(element(design, element_id)))]
        assert {w.text for w in in_box} == set(name.split()), (element_id, found)


def test_fonts_are_embedded_truetype_subsets(tmp_path: Path) -> None:
    pdf = issue_pdf(tmp_path, [{"recipient": "Bob", "giver": "Jane"}])
    data = pdf.read_bytes()
    fonts = {w.fontname for w in words(pdf)}
    assert fonts and all(re.fullmatch(r"[A-Z]{6}\+[A-Za-z-]+", f) for f in fonts), fonts
    assert data.count(b"/FontFile2") >= len(fonts)  # TrueType programs, embedded


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(min_size=1, max_size=60))
def test_any_name_renders_or_is_refused_cleanly(tmp_path: Path, name: str) -> None:
    design = TINY
    row, problems = inputs.resolve(design, {"recipient": name}, {"business": "A"}, NOW.date())
    if problems:
        return  # refused with a located problem, like any bad value
    try:
        certs = issue.prepare(
            design,
            [row],
            row_codes=[codes.generate()],
            base_url="https://g.example",
            issued_on=NOW.date(),
            file=None,
        )
    except InputError as exc:
        assert all(p.column == "recipient" for p in exc.problems), exc
        return
    cert = issue.with_qr(design, certs[0], "https://g.example")
    assert render.write_pdf(design, [cert], io.BytesIO(), title="t") == [1]


def test_long_names_shrink_then_wrap_and_stay_in_the_box() -> None:
    design, recipient = TINY, element("tiny", "recipient")
    short = render.fit(design, recipient, "Bob")
    assert short == render.Fitted(20, ("Bob",))
    longer = render.fit(design, recipient, "Maximilian Alexander Featherstonehaugh")
    assert longer is not None and longer.size < 20 and len(longer.lines) == 1
    longest = render.fit(design, recipient, "Maximilian Alexander Featherstonehaugh-Montgomery III")
    assert longest is not None and len(longest.lines) == 2 and longest.size >= recipient.min_size  # type: ignore[operator]
    assert render.fit(design, recipient, "word " * 40) is None


def test_text_that_cannot_fit_stops_the_run_naming_row_field_and_element(tmp_path: Path) -> None:
    people = [
        {"recipient": "Bob"},
        {"giver": "Bartholomew Maximilian Featherstonehaugh-Montgomery"},
    ]
    with pytest.raises(InputError) as caught:
        issue_pdf(tmp_path, people)
    message = str(caught.value)
    assert "t.csv, row 3, column 'giver'" in message and "element 'giver'" in message
    assert "even at 8 pt" in message
    assert not (tmp_path / "out.pdf").exists()


def test_characters_no_font_has_are_refused_before_printing(tmp_path: Path) -> None:
    # An emoji and a Phoenician letter: no shipped font draws either (李 prints, from the
    # CJK fallback, so it is not listed).
    with pytest.raises(InputError) as caught:
        issue_pdf(tmp_path, [{"recipient": "Bob 😀 李 \U00010900"}])
    message = str(caught.value)
    assert "t.csv, row 2, column 'recipient'" in message and "element 'recipient'" in message
    assert "U+1F600" in message and "U+10900" in message and "U+674E" not in message
    assert "tried Noto Serif, Noto Sans, Noto Sans Arabic" in message
    assert not (tmp_path / "out.pdf").exists()


@pytest.mark.parametrize(
    "value",
    ['<img src="/etc/passwd"/>', '<img src="http://127.0.0.1:9/x"/>', "{{ 7*7 }}", "<b>&amp; &lt;"],
)
def test_values_print_literally_and_never_become_markup(tmp_path: Path, value: str) -> None:
    pdf = issue_pdf(tmp_path, [{"recipient": value}])
    assert value in page_text(pdf).replace("\n", " ")
    assert len(re.findall(rb"/Subtype\s*/Image", pdf.read_bytes())) == 1  # the logo only


def test_blank_giver_prints_a_line_to_write_on_not_none(tmp_path: Path) -> None:
    pdf = issue_pdf(tmp_path, [{"recipient": "Bob"}])
    text = page_text(pdf)
    assert "None" not in text and "giver" not in text
    giver = element("tiny", "giver")
    with pdfplumber.open(pdf) as doc:
        rules = [
            line for line in doc.pages[0].lines if line["x0"] == pytest.approx(giver.x * 72 / 25.4)
        ]
    assert len(rules) == 1


def test_metadata_is_certgens_own(tmp_path: Path) -> None:
    pdf = issue_pdf(tmp_path, [{"recipient": "Bob Secretname", "giver": "Jane Secretname"}])
    meta = pdfium.PdfDocument(str(pdf)).get_metadata_dict()
    assert meta["Title"] == "Tiny test certificate"
    assert meta["Creator"].startswith("certgen") and meta["Author"] == "certgen"
    assert "Secretname" not in repr(meta) and b"Secretname" not in _info(pdf)
    assert meta["CreationDate"] == "D:20000101000000+00'00'"  # invariant mode: fixed


def _info(pdf: Path) -> bytes:
    data = pdf.read_bytes()
    return data[data.rindex(b"/Info") :]


@pytest.mark.parametrize("design_name", ["modern", "classic"])  # raster art, vector art
def test_static_art_is_stored_once_and_qr_is_vector(tmp_path: Path, design_name: str) -> None:
    design = load(design_name)
    people = [{"recipient": f"Person {i}", "giver": "Jane"} for i in range(50)]
    one = issue_pdf(tmp_path / "a", people[:1], design_name).stat().st_size
    many = issue_pdf(tmp_path / "b", people, design_name).stat().st_size
    per_certificate = (many - one) / 49
    assert per_certificate < 6_000, per_certificate
    single = (tmp_path / "a" / "out.pdf").read_bytes()
    data = (tmp_path / "b" / "out.pdf").read_bytes()
    images = len(re.findall(rb"/Subtype\s*/Image", data))
    assert images == (1 if design_name == "modern" else 0)  # the background, once
    # The design's static layer and the art's forms (encoded once a process), each once
    # however many pages draw them.
    forms = len(re.findall(rb"/Subtype\s*/Form", data))
    assert forms == len(re.findall(rb"/Subtype\s*/Form", single)) >= 2
    assert design.assets  # the design does have art


def test_code_is_printed_for_reading(tmp_path: Path) -> None:
    pdf = issue_pdf(tmp_path, [{"recipient": "Bob"}])
    shown = re.findall(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]", page_text(pdf))
    assert len(shown) == 1 and codes.is_valid(codes.normalize(shown[0]))


@pytest.mark.parametrize("design_name", ["classic", "modern"])  # PDF and PNG backgrounds
def test_art_encoded_once_keeps_no_finished_document_alive(design_name: str) -> None:
    """Art is encoded once a process and copied into every PDF; no document it was drawn
    into stays in memory after it is written (a long run draws one per chunk)."""
    design = load(design_name)
    [row] = rows(design, [{"recipient": "Bob", "giver": "Jane"}])
    [cert] = issue.prepare(
        design,
        [row],
        base_url="https://x.example",
        issued_on=NOW.date(),
        file=None,
        row_codes=[codes.generate()],
    )
    cert = issue.with_qr(design, cert, "https://x.example")
    written = []
    for _ in range(3):
        out = io.BytesIO()
        render.write_pdf(design, [cert], out, "t")
        written.append(out.getvalue())
    assert written[0] == written[1] == written[2]  # the same bytes from the cached art
    images = len(re.findall(rb"/Subtype\s*/Image", written[0]))
    assert images == (1 if design_name == "modern" else 0)  # classic's art is vector
    gc.collect()
    assert [o for o in gc.get_objects() if isinstance(o, PDFDocument)] == []
