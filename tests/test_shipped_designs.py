"""The twelve shipped designs as a business would use them: each at its exact size, the
wallet cards ten to a business-card sheet, the postcards' address side, each with its
picture in the designer's guide."""

from __future__ import annotations

import csv
from pathlib import Path

import pdfplumber
import pikepdf
import pytest

from certgen import codes, stock
from certgen import design as design_mod
from tests.helpers import REPO_ROOT, SHIPPED, SHIPPED_NAMES, qr_codes
from tests.test_cli import certgen

MM = 72 / 25.4
# The sizes each shipped design is sold as (mm), whatever it is called in its manifest.
TRIMS = {
    "wallet": (88.9, 50.8),
    "wallet-eu": (85.0, 55.0),
    "postcard": (152.4, 101.6),
    "postcard-a6": (148.0, 105.0),
    "dl": (210.0, 99.0),
    "a5": (210.0, 148.0),
    "half-letter": (215.9, 139.7),
    "letter-portrait": (215.9, 279.4),
    "a4-portrait": (210.0, 297.0),
    "compact": (215.9, 93.13),
    "classic": (279.4, 215.9),
    "modern": (297.0, 210.0),
}


def test_twelve_designs_ship() -> None:
    assert sorted(TRIMS) == SHIPPED_NAMES


def _boxes(pdf: Path) -> list[dict[str, tuple[float, ...]]]:
    with pikepdf.open(pdf) as doc:
        return [
            {
                key: tuple(round(float(v) / MM, 1) for v in page.obj.get(f"/{key}", page.MediaBox))
                for key in ("MediaBox", "TrimBox")
            }
            for page in doc.pages
        ]


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_each_design_prints_at_its_exact_trim(env: Path, name: str) -> None:
    done = certgen("issue", "-d", name, "--to", "Bob Ng", "--from", "Jane Doe", "--set",
                   "business=Studio Nine", "-o", "one.pdf")  # fmt: skip
    assert done.returncode == 0, done.stderr
    width, height = TRIMS[name]
    [page] = _boxes(Path("one.pdf"))
    for box in page.values():
        assert box == pytest.approx((0, 0, width, height), abs=0.1), (name, page)


@pytest.mark.parametrize(
    ("name", "sheet"),
    [("wallet", "business-cards-letter"), ("wallet-eu", "business-cards-a4-85x55")],
)
def test_wallet_cards_impose_ten_up_on_business_card_stock(
    env: Path, name: str, sheet: str
) -> None:
    with open("ten.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["to", "from"])
        writer.writerows([f"Friend {i}", f"Customer {i}"] for i in range(10))
    done = certgen("issue", "ten.csv", "-d", name, "--sheet", sheet, "--set", "business=S",
                   "-o", "sheet.pdf")  # fmt: skip
    assert done.returncode == 0, done.stderr
    parts = stock.BY_NAME[sheet]
    with pdfplumber.open("sheet.pdf") as pdf:
        [page] = pdf.pages
        assert (page.width / MM, page.height / MM) == pytest.approx(parts.paper, abs=0.2)
        words = page.extract_words()
    shown = [w for w in words if codes.is_valid(codes.normalize(w["text"]))]
    assert len(shown) == 10
    (pw, ph), corners = parts.part, parts.corners()
    places = set()
    for word in shown:  # each card's code inside a part of its own
        x, y = word["x0"] / MM, word["top"] / MM
        [place] = [
            i for i, (cx, cy) in enumerate(corners) if cx <= x < cx + pw and cy <= y < cy + ph
        ]
        places.add(place)
    assert places == set(range(10))
    assert sum(len(found) for found in qr_codes(Path("sheet.pdf"))) == 10


@pytest.mark.parametrize("name", ["postcard", "postcard-a6"])
def test_a_postcards_back_is_its_address_side(env: Path, name: str) -> None:
    Path("list.csv").write_text(
        "recipient,giver,street,city,state,zip\n"
        "Bob Ng,Jane Doe,17 Oak Street,Springfield,IL,62704\n"
    )
    done = certgen("issue", "list.csv", "-d", name, "--duplex", "--set", "business=S",
                   "-o", "cards.pdf")  # fmt: skip
    assert done.returncode == 0, done.stderr
    width, _ = TRIMS[name]
    with pdfplumber.open("cards.pdf") as pdf:
        assert len(pdf.pages) == 2
        back = pdf.pages[1].extract_words()
    address = [w for w in back if w["text"] in ("Bob", "Oak", "Springfield,", "62704")]
    assert {w["text"] for w in address} == {"Bob", "Oak", "Springfield,", "62704"}
    assert all(w["x0"] / MM > width / 2 for w in address)  # on the address half
    assert any(w["text"] == "stamp" for w in back)


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_each_design_has_its_picture_in_the_guide(name: str) -> None:
    picture = REPO_ROOT / "docs" / "images" / f"{name}.png"
    assert picture.is_file() and picture.stat().st_size > 2000
    assert f"images/{name}.png" in (REPO_ROOT / "docs" / "designing.md").read_text()
    design = design_mod.load(SHIPPED / name)
    assert design.manifest.brand.primary and design.manifest.brand.accent  # on the brand kit
