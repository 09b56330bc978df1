"""Reading PDFs as a user sees them: words with positions, and decoded QR codes."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pdfplumber
import pypdfium2 as pdfium
import zxingcpp

from certgen import design as design_mod
from certgen import inputs, issue
from certgen.design import Design
from certgen.ledger import open_ledger
from certgen.units import PT_PER_MM

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED = design_mod.shipped_designs_dir()
SHIPPED_NAMES = sorted(p.name for p in SHIPPED.iterdir() if (p / "design.toml").is_file())
TEST_DESIGNS = Path(__file__).resolve().parent / "designs"
NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
DEFAULTS = {"business": "Riverside Auto Care", "phone": "(555) 010-2030"}
BASE_URL = "https://gifts.example"


def load(name: str) -> Design:
    folder = SHIPPED / name if (SHIPPED / name).is_dir() else TEST_DESIGNS / name
    return design_mod.load(folder)


def rows(design: Design, people: Sequence[dict[str, str]]) -> list[inputs.Row]:
    result = []
    for number, given in enumerate(people, start=2):
        row, problems = inputs.resolve(
            design, given, DEFAULTS, NOW.date(), file="t.csv", row=number
        )
        assert not problems, problems
        result.append(row)
    return result


def seeded(seed: int = 7):  # type: ignore[no-untyped-def]
    return random.Random(seed).randrange  # noqa: S311 - reproducible codes for tests only


def issue_rows(
    folder: Path, design: Design, people: list[inputs.Row], **options: Any
) -> issue.BatchResult:
    """Issue into ``folder/out.pdf`` (unless ``output`` is given) with the folder's own
    SQLite ledger, a fixed time and seeded codes."""
    folder.mkdir(parents=True, exist_ok=True)
    settings: dict[str, Any] = {"output": folder / "out.pdf", "randbelow": seeded(), **options}
    with open_ledger(f"sqlite:///{folder / 'ledger.db'}") as ledger:
        return issue.issue(
            design, people, ledger=ledger, base_url=BASE_URL, source="t.csv", now=NOW, **settings
        )


@dataclass(frozen=True)
class Word:
    text: str
    x0: float  # mm from the left
    top: float  # mm from the top
    x1: float
    bottom: float
    fontname: str
    size: float = 0.0  # pt


def words(pdf: Path, page: int = 0) -> list[Word]:
    with pdfplumber.open(pdf) as doc:
        found = doc.pages[page].extract_words(
            extra_attrs=["fontname", "size"], keep_blank_chars=False
        )
    return [
        Word(
            w["text"],
            w["x0"] / PT_PER_MM,
            w["top"] / PT_PER_MM,
            w["x1"] / PT_PER_MM,
            w["bottom"] / PT_PER_MM,
            w["fontname"],
            w["size"],
        )
        for w in found
    ]


def page_text(pdf: Path, page: int = 0) -> str:
    with pdfplumber.open(pdf) as doc:
        return doc.pages[page].extract_text() or ""


def page_count(pdf: Path) -> int:
    return len(pdfium.PdfDocument(str(pdf)))


def qr_codes(pdf: Path, dpi: int = 150) -> list[list[str]]:
    """The QR payloads found on each page, rasterized at ``dpi``."""
    doc = pdfium.PdfDocument(str(pdf))
    found = []
    for page in doc:
        image = page.render(scale=dpi / 72).to_pil()
        results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        found.append([r.text for r in results])
    doc.close()
    return found


def inside(word: Word, box: tuple[float, float, float, float], tolerance: float = 0.5) -> bool:
    x, y, w, h = box
    return (
        word.x0 >= x - tolerance
        and word.x1 <= x + w + tolerance
        and word.top >= y - tolerance
        and word.bottom <= y + h + tolerance
    )
