"""Names in every script print as themselves: shaped, in reading order, never as empty boxes.

Text is read back the way a user meets it: PDFium (Chrome's PDF engine) extracts what a
viewer copies and searches; pdfplumber gives each glyph with its font and position; the page
is rasterized to see whether Arabic letters join.
"""

from __future__ import annotations

import functools
from collections import Counter
from pathlib import Path

import pdfplumber
import pypdfium2 as pdfium
import pytest
from reportlab.pdfbase.ttfonts import TTFontFile

from certgen import design as design_mod
from certgen import typeset
from certgen.units import PT_PER_MM
from tests.helpers import issue_rows, load, rows

NAMES = {
    "Latin": "Łukasz Żółć",
    "Greek": "Ελένη Παπαδοπούλου",
    "Cyrillic": "Анна Смирнова",
    "Arabic": "محمد عبد الله",
    "Hebrew": "שרה כהן",
    "Devanagari": "अनुष्का शर्मा",
    "Chinese": "王小明",
    "Japanese": "山田さくら",
    "Korean": "김민준",
}


def issue_one(tmp_path: Path, design: str, **values: str) -> Path:
    d = load(design)
    return issue_rows(tmp_path, d, rows(d, [values])).file


def box_pt(design: str, element_id: str) -> tuple[float, float, float, float]:
    """The element's box as (left, top, right, bottom) in pt from the page's top-left."""
    e = next(e for e in load(design).text_elements if e.id == element_id)
    return (
        e.x * PT_PER_MM,
        e.y * PT_PER_MM,
        (e.x + e.width) * PT_PER_MM,
        (e.y + e.height) * PT_PER_MM,
    )


def text_in_box(pdf: Path, box: tuple[float, float, float, float]) -> str:
    """What PDFium extracts from the box, as a viewer would copy it."""
    doc = pdfium.PdfDocument(str(pdf))
    page = doc[0]
    height = page.get_height()
    left, top, right, bottom = box
    text = page.get_textpage().get_text_bounded(left, height - bottom, right, height - top)
    doc.close()
    return " ".join(str(text).split())


def chars_in_box(pdf: Path, box: tuple[float, float, float, float]) -> list[dict[str, object]]:
    with pdfplumber.open(pdf) as doc:
        return [
            c
            for c in doc.pages[0].chars
            if c["x0"] >= box[0] - 1
            and c["x1"] <= box[2] + 1
            and c["top"] >= box[1] - 1
            and c["bottom"] <= box[3] + 1
        ]


@functools.cache
def shipped_fonts() -> dict[str, Path]:
    """PostScript name -> file, for every font certgen ships."""
    folder = design_mod.shared_fonts_dir()
    return {TTFontFile(str(p)).name.decode(): p for p in folder.glob("*.ttf")}


@pytest.mark.parametrize("design", ["classic", "modern", "compact"])
@pytest.mark.parametrize("script", list(NAMES))
def test_a_name_in_any_script_reads_back_as_typed_from_fonts_that_have_it(
    tmp_path: Path, design: str, script: str
) -> None:
    name = NAMES[script]
    pdf = issue_one(tmp_path, design, recipient=name, giver=name)
    for element_id in ("recipient", "giver"):
        box = box_pt(design, element_id)
        assert name in text_in_box(pdf, box), (element_id, text_in_box(pdf, box))
        drawn = chars_in_box(pdf, box)
        # Every glyph comes from a font whose character map has what it stands for...
        for char in drawn:
            font = shipped_fonts()[str(char["fontname"]).split("+", 1)[1]]
            text = str(char["text"])
            assert all(typeset.face(font).covers(c) for c in text.strip()), (char, font.name)
        # ...and together they stand for each character of the name exactly once.
        spelled = Counter("".join(str(c["text"]) for c in drawn).replace(" ", ""))
        assert spelled == Counter(name.replace(" ", "")), (element_id, spelled)


def dark_blobs(pdf: Path, box: tuple[float, float, float, float], dpi: int = 300) -> int:
    """Connected areas of ink inside the box: a joined Arabic word is one, its letters set
    apart are one each."""
    doc = pdfium.PdfDocument(str(pdf))
    scale = dpi / 72
    image = doc[0].render(scale=scale).to_pil().convert("L")
    doc.close()
    left, top, right, bottom = (round(v * scale) for v in box)
    crop = image.crop((left, top, right, bottom))
    width, height = crop.size
    ink = {(x, y) for y in range(height) for x in range(width) if crop.getpixel((x, y)) < 110}
    blobs = 0
    while ink:
        blobs += 1
        stack = [ink.pop()]
        while stack:
            x, y = stack.pop()
            for neighbour in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                if neighbour in ink:
                    ink.remove(neighbour)
                    stack.append(neighbour)
    return blobs


def test_arabic_letters_join_into_one_word(tmp_path: Path) -> None:
    box = box_pt("modern", "recipient")
    joined = issue_one(tmp_path / "joined", "modern", recipient="محمد")
    # Control: the same four letters with spaces between them cannot join.
    apart = issue_one(tmp_path / "apart", "modern", recipient="م ح م د")
    assert dark_blobs(apart, box) == 4
    assert dark_blobs(joined, box) == 1


def test_right_to_left_mixed_with_left_to_right_is_laid_out_by_the_bidi_algorithm(
    tmp_path: Path,
) -> None:
    name = "Sara שרה כהן and Tom"
    pdf = issue_one(tmp_path, "modern", recipient=name)
    box = box_pt("modern", "recipient")
    x: dict[str, float] = {}
    for char in chars_in_box(pdf, box):
        x.setdefault(str(char["text"]), float(char["x0"]))  # type: ignore[arg-type]
    # English left to right, around the Hebrew words, which read right to left: the first
    # Hebrew word (שרה) stands right of the second (כהן), each from its right end.
    assert x["S"] < x["a"] < x["ן"] < x["כ"] < x["ר"] < x["ש"] < x["T"]
    # PDFium reads each Hebrew word back in typed order (it keeps the words of a mixed
    # line in their places on the page, as viewers built on it do).
    extracted = text_in_box(pdf, box)
    assert extracted.startswith("Sara ") and extracted.endswith(" and Tom")
    assert {"שרה", "כהן"} <= set(extracted.split())


def test_devanagari_is_shaped_into_conjuncts(tmp_path: Path) -> None:
    name = NAMES["Devanagari"]
    pdf = issue_one(tmp_path, "modern", recipient=name)
    drawn = [c for c in chars_in_box(pdf, box_pt("modern", "recipient")) if c["text"] != " "]
    letters = len(name.replace(" ", ""))
    # Unshaped, every code point would be its own glyph and the virama (्) would show.
    # Shaped, ष् is a half form and र् a reph mark over म: fewer glyphs, no bare virama.
    texts = [c["text"] for c in drawn]
    assert "्" not in texts and "ष्" in texts, texts
    assert len(drawn) < letters, (len(drawn), letters)
