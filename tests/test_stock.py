"""Printer stock, a partly used first sheet and printer calibration: every certificate lands
where the vendor's template, the slot or the printer's correction says, measured in the
PDF (pdfplumber) and from the decoded QR codes."""

from __future__ import annotations

from pathlib import Path

import pdfplumber
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certgen import design as design_mod
from certgen import issue, placement, sheets
from certgen.errors import InputError
from certgen.units import PT_PER_MM
from tests.helpers import REPO_ROOT, issue_rows, qr_codes, rows
from tests.test_cli import certgen

INCH = 25.4
# The vendors' published templates, typed in from them (not from certgen): paper, the
# part's size, columns x rows, the first part's corner and the pitch, in mm.
PUBLISHED = {
    # Avery 5371 / 8371: 3.5 x 2 in, top margin 0.5 in, side margins 0.75 in, no gaps.
    "avery-5371": ((215.9, 279.4), (88.9, 50.8), (2, 5), (19.05, 12.7), (88.9, 50.8)),
    "avery-8371": ((215.9, 279.4), (88.9, 50.8), (2, 5), (19.05, 12.7), (88.9, 50.8)),
    # Avery C32011: 85 x 54 mm, top margin 13.5 mm, left margin 15 mm, 10 mm between.
    "avery-c32011": ((210, 297), (85, 54), (2, 5), (15, 13.5), (95, 54)),
    # Avery 5389: 6 x 4 in postcards, margins 1.25 in, 0.5 in between.
    "avery-5389": ((215.9, 279.4), (152.4, 101.6), (1, 2), (31.75, 31.75), (152.4, 114.3)),
    # Avery 8387: 4.25 x 5.5 in postcards, the Letter sheet in quarters.
    "avery-8387": ((215.9, 279.4), (107.95, 139.7), (2, 2), (0, 0), (107.95, 139.7)),
    "postcards-a4-4up": ((210, 297), (105, 148.5), (2, 2), (0, 0), (105, 148.5)),
    "letter-half": ((215.9, 279.4), (215.9, 139.7), (1, 2), (0, 0), (0, 139.7)),
    "letter-third": ((215.9, 279.4), (215.9, 93.1333), (1, 3), (0, 0), (0, 93.1333)),
    # No vendor template: 85 x 55 mm cards, the grid centred on the A4 sheet.
    "business-cards-a4-85x55": ((210, 297), (85, 55), (2, 5), (20, 11), (85, 55)),
    "a4-half": ((210, 297), (210, 148.5), (1, 2), (0, 0), (0, 148.5)),
    "a4-third": ((210, 297), (210, 99), (1, 3), (0, 0), (0, 99)),
}


def card(folder: Path, width: float, height: float) -> design_mod.Design:
    """A design of exactly ``width`` x ``height`` mm: a frame around its trim, a name and
    a QR code."""
    folder.mkdir(parents=True, exist_ok=True)
    side = min(width, height) * 0.5
    (folder / "design.toml").write_text(
        f"""format = 1
[design]
name = "{folder.name}"
title = "Card"
width_mm = {width}
height_mm = {height}

[fields.recipient]

[fields.business]

[[elements]]
type = "rect"
id = "frame"
x = 0
y = 0
width = {width}
height = {height}
stroke = "#000000"
stroke_width = 0.2

[[elements]]
type = "text"
id = "recipient"
x = 3
y = 3
width = {width - side - 8}
height = 8
text = "{{{{ recipient }}}}"
font = "Noto Sans"
size = 9
min_size = 6

[[elements]]
type = "qr"
id = "qr"
x = {width - side - 3}
y = 3
size = {side}
"""
    )
    return design_mod.load(folder)


def frames(pdf: Path) -> list[list[tuple[float, float, float, float]]]:
    """Each page's frames (left, top, right, bottom in mm), and the page sizes checked."""
    found = []
    with pdfplumber.open(pdf) as doc:
        for page in doc.pages:
            found.append(
                sorted(
                    (
                        r["x0"] / PT_PER_MM,
                        r["top"] / PT_PER_MM,
                        r["x1"] / PT_PER_MM,
                        r["bottom"] / PT_PER_MM,
                    )
                    for r in page.rects
                    if r["stroke"] and not r["fill"]
                )
            )
    return found


def page_sizes(pdf: Path) -> list[tuple[float, float]]:
    with pdfplumber.open(pdf) as doc:
        return [(p.width / PT_PER_MM, p.height / PT_PER_MM) for p in doc.pages]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_stock_matches_the_published_template(tmp_path: Path, name: str) -> None:
    paper, part, (columns, rows_), first, pitch = PUBLISHED[name]
    design = card(tmp_path / "card", *part)
    sheet = sheets.load(name, part)
    count = columns * rows_ + 1  # a second sheet, partly filled
    people = rows(design, [{"recipient": f"P{i}", "business": "B"} for i in range(count)])
    pdf = issue_rows(tmp_path, design, people, layout=placement.Layout(part, sheet)).file
    assert page_sizes(pdf) == [pytest.approx(paper, abs=0.2)] * 2
    expected = sorted(
        (x, y, x + part[0], y + part[1])
        for r in range(rows_)
        for c in range(columns)
        for x, y in [(first[0] + c * pitch[0], first[1] + r * pitch[1])]
    )
    placed = frames(pdf)
    assert len(placed[0]) == columns * rows_ and len(placed[1]) == 1
    for got, want in zip(placed[0], expected, strict=True):
        assert got == pytest.approx(want, abs=0.2)
    assert placed[1][0] == pytest.approx(expected[0], abs=0.2)  # the next sheet starts again


def test_a_design_that_fits_the_parts_only_turned_gets_a_landscape_page(tmp_path: Path) -> None:
    design = card(tmp_path / "wide", 139.7, 107.95)  # 5.5 x 4.25 in, landscape
    people = rows(design, [{"recipient": f"P{i}", "business": "B"} for i in range(4)])
    sheet = sheets.load("avery-8387", (design.width_mm, design.height_mm))
    pdf = issue_rows(tmp_path, design, people, layout=placement.Layout(sheet.trim, sheet)).file
    assert page_sizes(pdf) == [pytest.approx((279.4, 215.9), abs=0.01)]
    want = [(0, 0), (139.7, 0), (0, 107.95), (139.7, 107.95)]
    got = [(left, top) for left, top, _, _ in frames(pdf)[0]]
    flat = [v for corner in sorted(got) for v in corner]
    assert flat == pytest.approx([v for corner in sorted(want) for v in corner], abs=0.2)
    corner = sheets.load("business-cards-a4", (80, 45)).slots[0]  # centred on its card
    assert corner == pytest.approx((15 + 2.5, 13.5 + 4.5))


def test_stock_the_design_does_not_fit_is_refused_with_both_sizes(
    tmp_path: Path, env: Path
) -> None:
    with pytest.raises(InputError, match=r"127 x 88.9 mm certificate does not fit the 88.9 x 50.8"):
        sheets.load("business-cards-letter", (127, 88.9))
    with pytest.raises(InputError, match="too close for their art"):
        sheets.load("postcards-letter-4up", (107.95, 139.7), bleed=3)
    with pytest.raises(InputError, match="--gutter"):
        sheets.load("avery-5371", (88.9, 50.8), gutter=2)
    done = certgen(
        "issue", "-d", "compact", "--to", "A", "--from", "B", "--set", "business=S",
        "--sheet", "business-cards-letter", "-o", "x.pdf",
    )  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "does not fit the 88.9 x 50.8 mm parts of business-cards-letter" in done.stderr
    assert not Path("x.pdf").exists()


def test_sheets_list_names_every_stock_with_its_vendors_numbers(env: Path) -> None:
    done = certgen("sheets", "list")
    assert done.returncode == 0, done.stderr
    for name in PUBLISHED:
        assert name in done.stdout
    assert "letter-3up" in done.stdout and "88.9 x 50.8 mm" in done.stdout


def slots_of(pdf: Path, design: design_mod.Design, per_sheet: int) -> list[list[str]]:
    """Each page's certificates' codes in the order of their slots (frames row by row)."""
    found = []
    codes_ = qr_codes(pdf)
    with pdfplumber.open(pdf) as doc:
        for page, on_page in zip(doc.pages, codes_, strict=True):
            found.append([w["text"] for w in page.extract_words() if w["text"].startswith("P")])
            assert len(on_page) == len(found[-1])
    return found


@pytest.mark.parametrize("jobs", [1, 2])
def test_start_at_leaves_the_used_slots_empty_and_chunks_start_fresh_sheets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    monkeypatch.setattr(issue, "CHUNK", 6)  # chunks of two sheets: their edges are tested
    design = card(tmp_path / "card", 88.9, 50.8)
    sheet = sheets.load("business-cards-letter", (88.9, 50.8))
    people = rows(design, [{"recipient": f"P{i:02d}", "business": "B"} for i in range(25)])
    layout = placement.Layout(sheet.trim, sheet, skip=7)  # --start-at 8
    pdf = issue_rows(tmp_path, design, people, layout=layout, jobs=jobs).file
    # Slots 8 to 10 of the first sheet, then whole sheets of ten, in the list's order.
    corners = [(round(left), round(top)) for left, top, _, _ in frames(pdf)[0]]
    assert len(corners) == 3 and set(corners) <= {(round(x), round(y)) for x, y in sheet.slots[7:]}
    by_page = slots_of(pdf, design, 10)
    assert [len(p) for p in by_page] == [3, 10, 10, 2]
    assert [name for page in by_page for name in sorted(page)] == [f"P{i:02d}" for i in range(25)]
    with pdfplumber.open(pdf) as doc:
        first = {w["text"]: w["top"] / PT_PER_MM for w in doc.pages[0].extract_words()}
    assert first["P00"] < first["P02"]  # slot 8 (row 4) above slot 10 (row 5)


def test_start_at_on_the_command_line(env: Path) -> None:
    Path("four.csv").write_text("to,from\nA1,B\nA2,B\nA3,B\nA4,B\n")
    base = ["issue", "four.csv", "-d", "compact", "--set", "business=S", "--sheet", "letter-3up"]
    done = certgen(*base, "--start-at", "3", "-o", "used.pdf", "--run-id", "s3")
    assert done.returncode == 0, done.stderr
    assert [len(codes) for codes in qr_codes(Path("used.pdf"))] == [1, 3]
    pages = qr_codes(Path("used.pdf"))
    for page, on_page in enumerate(pages, start=1):  # the ledger's page is the sheet
        for url in on_page:
            shown = certgen("show", url.rsplit("/", 1)[-1])
            assert f"used.pdf, page {page}" in shown.stdout, shown.stdout
    refused = {
        "--start-at 4": [*base, "--start-at", "4", "-o", "a.pdf"],
        "--sheet too": ["issue", "four.csv", "-d", "compact", "--set", "business=S",
                        "--start-at", "2", "-o", "b.pdf"],
        "--split": [*base, "--start-at", "2", "--split", "2", "-o", "c.pdf"],
    }  # fmt: skip
    for say, command in refused.items():
        done = certgen(*command)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "--start-at" in done.stderr, say
    again = certgen(*base, "--start-at", "2", "-o", "used.pdf", "--run-id", "s3")
    assert again.returncode != 0 and "Traceback" not in again.stderr


def lines_mm(pdf: Path) -> list[tuple[float, float, float, float]]:
    with pdfplumber.open(pdf) as doc:
        page = doc.pages[0]
        return sorted(
            (ln["x0"] / PT_PER_MM, ln["top"] / PT_PER_MM, ln["x1"] / PT_PER_MM,
             ln["bottom"] / PT_PER_MM)
            for ln in page.lines
        )  # fmt: skip


def test_a_printer_profile_moves_every_mark_by_its_offset(env: Path) -> None:
    Path("certgen.toml").write_text(
        '[defaults]\nbusiness = "S"\n'
        "[printers.office]\noffset_x_mm = 1.5\noffset_y_mm = -0.8\n"
        "[printers.small]\noffset_x_mm = 1\noffset_y_mm = 2\nscale = 0.98\n"
    )
    designs = str(REPO_ROOT / "tests" / "designs")
    base = ["issue", "-d", "tiny", "--designs-dir", designs, "--to", "A", "--sheet", "letter-2up"]
    for name, extra in (("plain", []), ("office", ["--printer", "office"]),
                        ("small", ["--printer", "small"])):  # fmt: skip
        done = certgen(*base, "--crop-marks", "-o", f"{name}.pdf", *extra)
        assert done.returncode == 0, done.stderr
    plain = lines_mm(Path("plain.pdf"))
    assert len(plain) >= 8  # crop marks (those two trims share are drawn once)
    for name, (dx, dy, scale) in (("office", (1.5, -0.8, 1.0)), ("small", (1, 2, 0.98))):
        moved = lines_mm(Path(f"{name}.pdf"))
        assert len(moved) == len(plain)
        for (x0, y0, x1, y1), got in zip(plain, moved, strict=True):
            # Where the printer, off by (dx, dy) and scaling, will put them back.
            want = ((x0 - dx) / scale, (y0 - dy) / scale, (x1 - dx) / scale, (y1 - dy) / scale)
            assert got == pytest.approx(want, abs=0.1)
    unknown = certgen(*base, "-o", "x.pdf", "--printer", "hall")
    assert unknown.returncode == 2 and "no printer 'hall'" in unknown.stderr
    assert "known: office, small" in unknown.stderr
    shown = certgen("config")
    assert "printers.office" in shown.stdout and "offset_x_mm=1.5" in shown.stdout


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ("[printers.p]\nscale = 3\n", "scale must be a number from 0.5 to 2"),
        ("[printers.p]\noffset_x = 1\n", "unknown key 'offset_x' in [p]"),
        ('[printers.p]\noffset_y_mm = "a"\n', "offset_y_mm must be a number"),
        ("[printers]\np = 1\n", "write each printer as a table"),
    ],
)
def test_a_wrong_printer_table_is_a_clear_error(env: Path, table: str, says: str) -> None:
    Path("certgen.toml").write_text(table)
    done = certgen("config")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert says in done.stderr


def test_the_calibration_page_has_its_crosses_where_the_profile_says(env: Path) -> None:
    Path("certgen.toml").write_text("[printers.office]\noffset_x_mm = 2\noffset_y_mm = 1\n")
    for name, extra in (("plain", []), ("fixed", ["--printer", "office"])):
        done = certgen("calibrate", "--sheet", "avery-5371", "-o", f"{name}.pdf", *extra)
        assert done.returncode == 0, done.stderr
    plain, fixed = lines_mm(Path("plain.pdf")), lines_mm(Path("fixed.pdf"))
    upright = [ln for ln in plain if ln[0] == pytest.approx(50, abs=0.01) and ln[3] - ln[1] > 20]
    level = [ln for ln in plain if ln[1] == pytest.approx(50, abs=0.01) and ln[2] - ln[0] > 20]
    assert upright and level  # cross A, 50 mm from the left and top edges
    assert len(fixed) == len(plain)
    for (x0, y0, x1, y1), got in zip(plain, fixed, strict=True):
        assert got == pytest.approx((x0 - 2, y0 - 1, x1 - 2, y1 - 1), abs=0.1)
    with pdfplumber.open("plain.pdf") as doc:
        page = doc.pages[0]
        assert (page.width / PT_PER_MM, page.height / PT_PER_MM) == pytest.approx((215.9, 279.4))
        outlines = [r for r in page.rects if r["width"] > 200]
        assert len(outlines) == 10  # every card's outline
        assert "Print it at 100%" in page.extract_text()


@settings(max_examples=200, deadline=None)
@given(
    per_row=st.integers(1, 4),
    rows_=st.integers(1, 5),
    skip=st.integers(0, 19),
    count=st.integers(0, 60),
    duplex=st.booleans(),
)
def test_layouts_place_every_certificate_once_and_never_go_back_a_page(
    per_row: int, rows_: int, skip: int, count: int, duplex: bool
) -> None:
    trim = (40.0, 30.0)
    slots = tuple((5 + c * 45.0, 5 + r * 35.0) for r in range(rows_) for c in range(per_row))
    sheet = sheets.Sheet("t", 5 + per_row * 45.0, 5 + rows_ * 35.0, slots, trim)
    layout = placement.Layout(trim, sheet, duplex=duplex, skip=skip % len(slots))
    seen: set[tuple[int, str, float, float]] = set()
    last = 0
    for i in range(count):
        spots = layout.spots(i)
        assert min(s.page for s in spots) >= last
        last = min(s.page for s in spots)
        for spot in spots:
            key = (spot.page, spot.side, spot.left, spot.top)
            assert key not in seen  # two certificates never share a place
            seen.add(key)
            paper = layout.paper(spot.page)
            assert 0 <= spot.left and spot.left + trim[0] <= paper.width + 1e-9
            assert spot.page < layout.pages(count)
        if duplex:
            front, back = spots
            assert back.page == front.page + 1 and back.top == front.top
            assert back.left == pytest.approx(sheet.width - front.left - trim[0])
