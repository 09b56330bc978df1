"""Certificates imposed on printer sheets: each trim box where the sheet says, crop marks
outside every trim, the ledger's page is the sheet, and a progress bar only on a terminal."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pdfplumber
import pypdfium2 as pdfium
import pytest

from certgen import codes, sheets
from certgen.errors import InputError
from certgen.ledger import open_ledger
from certgen.placement import Layout
from certgen.units import PT_PER_MM
from tests.helpers import REPO_ROOT, issue_rows, load, qr_codes, rows, words
from tests.test_cli import certgen as certgen_cli
from tests.test_cli import invoke

TINY = load("tiny")
TRIM = (TINY.width_mm, TINY.height_mm)
PEOPLE = [{"recipient": f"Person{i}"} for i in range(5)]


def positions(pdf: Path) -> dict[str, tuple[int, float, float]]:
    """Each PersonN word: its page, and its left and top in mm."""
    found = {}
    with pdfplumber.open(pdf) as doc:
        for number, page in enumerate(doc.pages, start=1):
            for w in page.extract_words():
                if w["text"].startswith("Person"):
                    found[w["text"]] = (number, w["x0"] / PT_PER_MM, w["top"] / PT_PER_MM)
    return found


def test_each_certificate_lands_where_the_sheet_says(tmp_path: Path) -> None:
    sheet = sheets.load("a4-2up", TRIM, gutter=6, crop_marks=True)
    assert (sheet.width, sheet.height) == pytest.approx((210, 297))
    single = issue_rows(tmp_path / "single", TINY, rows(TINY, PEOPLE)).file
    imposed = issue_rows(
        tmp_path / "sheet", TINY, rows(TINY, PEOPLE), layout=Layout(sheet.trim, sheet)
    )
    alone, placed = positions(single), positions(imposed.file)
    for i in range(5):
        name = f"Person{i}"
        slot_x, slot_y = sheet.slots[i % 2]
        page, x, y = placed[name]
        assert page == i // 2 + 1
        # Same place in the certificate, moved by the slot's corner: within 0.1 mm.
        assert x - alone[name][1] == pytest.approx(slot_x, abs=0.1)
        assert y - alone[name][2] == pytest.approx(slot_y, abs=0.1)
    # Centred, 6 mm apart: (297 - 2 x 105 - 6) / 2 = 40.5 mm from the top.
    assert [v for slot in sheet.slots for v in slot] == pytest.approx([31, 40.5, 31, 151.5])
    # The ledger's page is the sheet; each sheet's QR codes are its own certificates'.
    with open_ledger(f"sqlite:///{tmp_path / 'sheet' / 'ledger.db'}") as ledger:
        recorded = {code: ledger.get(code).page for code in imposed.codes}  # type: ignore[union-attr]
    found = qr_codes(imposed.file)
    assert len(found) == 3
    for page, urls in enumerate(found, start=1):
        on_page = {codes.normalize(u) for u in urls}
        assert on_page == {c for c, p in recorded.items() if p == page}


def test_crop_marks_sit_outside_every_trim_on_the_trim_lines(tmp_path: Path) -> None:
    sheet = sheets.load("a4-2up", TRIM, gutter=10, crop_marks=True)
    pdf = issue_rows(tmp_path, TINY, rows(TINY, PEOPLE[:2]), layout=Layout(sheet.trim, sheet)).file
    with pdfplumber.open(pdf) as doc:
        page = doc.pages[0]
        height = float(page.height)
        lines = [
            (
                ln["x0"] / PT_PER_MM,
                (height - ln["y1"]) / PT_PER_MM,
                ln["x1"] / PT_PER_MM,
                (height - ln["y0"]) / PT_PER_MM,
            )
            for ln in page.lines
            if ln["linewidth"] == pytest.approx(0.25)
        ]
    assert len(lines) == len(sheet.marks()) == 16  # 2 trims x 4 corners x 2, none overlap
    edges_x = {x for left, _, right, _ in sheet.trims() for x in (left, right)}
    edges_y = {y for _, top, _, bottom in sheet.trims() for y in (top, bottom)}
    for x0, top, x1, bottom in lines:
        for left, t, right, b in sheet.trims():  # not one point inside a trim box
            assert x1 <= left + 0.05 or x0 >= right - 0.05 or bottom <= t + 0.05 or top >= b - 0.05
        vertical = abs(x1 - x0) < 0.01
        # A mark continues a trim edge: same x (vertical) or same y (horizontal), 0.1 mm.
        on = edges_x if vertical else edges_y
        assert min(abs((x0 if vertical else top) - e) for e in on) < 0.1


def test_full_bleed_sheets_have_no_room_for_marks_and_say_so() -> None:
    compact = load("compact")
    trim = (compact.width_mm, compact.height_mm)
    assert len(sheets.load("letter-3up", trim).slots) == 3  # three fill the Letter page
    with pytest.raises(InputError, match="no crop mark fits on letter-3up"):
        sheets.load("letter-3up", trim, None, True)


def test_a_custom_sheet_file_fixes_the_grid(tmp_path: Path) -> None:
    spec = tmp_path / "labels.toml"
    spec.write_text(
        "width_mm = 320\nheight_mm = 230\ncolumns = 2\nrows = 2\ngutter_mm = 4\n"
        "left_mm = 10\ntop_mm = 8\n"
    )
    sheet = sheets.load(str(spec), TRIM)
    flat = [v for slot in sheet.slots for v in slot]
    assert flat == pytest.approx([10, 8, 162, 8, 10, 117, 162, 117])
    pdf = issue_rows(
        tmp_path / "out", TINY, rows(TINY, PEOPLE[:4]), layout=Layout(sheet.trim, sheet)
    ).file
    alone = positions(issue_rows(tmp_path / "one", TINY, rows(TINY, PEOPLE[:4])).file)
    for i, (name, (page, x, y)) in enumerate(sorted(positions(pdf).items())):
        assert page == 1
        assert (x - alone[name][1], y - alone[name][2]) == pytest.approx(sheet.slots[i], abs=0.1)


def test_sheets_that_cannot_hold_the_design_are_refused_clearly(tmp_path: Path) -> None:
    modern = load("modern")  # A4 landscape
    with pytest.raises(InputError, match=r"does not fit 2 to a A4 sheet"):
        sheets.load("a4-2up", (modern.width_mm, modern.height_mm))
    with pytest.raises(InputError, match="no sheet named 'a5-9up'.*letter-1up"):
        sheets.load("a5-9up", TRIM)


def run_cli(args: list[str], terminal: bool) -> tuple[int, str]:
    """The real console script; stderr on a pseudo-terminal or a pipe. Returns exit code and
    everything it wrote."""
    exe = shutil.which("certgen")
    assert exe
    if not terminal:
        done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)
        return done.returncode, done.stdout + done.stderr
    leader, follower = pty.openpty()
    process = subprocess.Popen([exe, *args], stdout=follower, stderr=follower)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    return process.wait(timeout=120), output.decode(errors="replace")


def test_progress_bar_on_a_terminal_only_and_a_summary_always(tmp_path: Path) -> None:
    samples = shutil.copytree(REPO_ROOT / "samples", tmp_path / "samples")  # its own ledger
    csv = str(samples / "customers.csv")
    config = str(samples / "certgen.toml")
    base = ["issue", csv, "-d", "compact", "--config", config, "--sheet", "letter-3up"]
    code, shown = run_cli([*base, "-o", "a.pdf"], terminal=True)
    assert code == 0, shown
    assert "Drawing" in shown and "10/10" in shown and "/s" in shown
    assert "Issued 10 certificates to a.pdf on letter-3up sheets in " in shown
    base += ["--new-run"]  # the same list again, on purpose
    code, logged = run_cli([*base, "-o", "b.pdf"], terminal=False)
    assert code == 0 and "Drawing" not in logged and "certificates/s" in logged
    code, quiet = run_cli([*base, "-o", "c.pdf", "--quiet"], terminal=True)
    assert code == 0 and "Drawing" not in quiet and "Issued 10 certificates" in quiet
    assert len(words(Path("a.pdf"))) > 0 and Path("c.pdf").exists()


def test_gutter_without_a_sheet_is_a_usage_error() -> None:
    code, shown = run_cli(
        [
            "issue",
            "-d",
            str(REPO_ROOT / "tests" / "designs" / "tiny"),
            "--to",
            "A",
            "--gutter",
            "3",
        ],
        terminal=False,
    )
    assert code == 2 and "--gutter needs --sheet" in shown


def test_a_sheet_run_reprinted_by_batch_id_is_the_same_file(tmp_path: Path) -> None:
    sheet = sheets.load("a4-2up", TRIM, gutter=6, crop_marks=True)
    people = rows(TINY, PEOPLE)
    first = issue_rows(tmp_path, TINY, people, layout=Layout(sheet.trim, sheet), batch_id="s1")
    before = first.file.read_bytes()
    again = issue_rows(tmp_path, TINY, people, layout=Layout(sheet.trim, sheet), batch_id="s1")
    assert again.reprinted and again.codes == first.codes and again.file.read_bytes() == before


def test_duplex_backs_land_behind_their_fronts_on_a_long_edge_turn(tmp_path: Path) -> None:
    """On an off-centre sheet, each certificate's back is on the next page, its slot
    mirrored left to right, and carries the front's own code."""
    sheet_file = tmp_path / "offset.toml"
    sheet_file.write_text(
        "width_mm = 300\nheight_mm = 220\ncolumns = 1\nrows = 2\nleft_mm = 20\ntop_mm = 10\n"
    )
    people = tmp_path / "people.csv"
    people.write_text("to,from\n" + "".join(f"Friend {i},Customer {i}\n" for i in range(3)))
    out = tmp_path / "duplex.pdf"
    done = subprocess.run(
        [
            shutil.which("certgen") or "certgen",
            "issue",
            str(people),
            "-d",
            "compact",
            "-q",
            "--set",
            "business=Riverside Auto Care",
            "--sheet",
            str(sheet_file),
            "--duplex",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    fronts = qr_codes(out)
    assert [len(f) for f in fronts] == [2, 0, 1, 0]  # front, back, front, back
    design = load("compact")
    back_code = next(e for e in design.manifest.elements if e.id == "back-code")
    slots = sheets.load(str(sheet_file), (design.width_mm, design.height_mm)).slots
    for front in (0, 2):
        codes_by_slot = {}
        with pdfplumber.open(out) as doc:
            for w in doc.pages[front + 1].extract_words():
                if codes.is_valid(codes.normalize(w["text"])):
                    codes_by_slot[w["top"] / PT_PER_MM] = (w["x0"] / PT_PER_MM, w["text"])
        urls = {codes.normalize(u) for u in fronts[front]}
        assert {codes.normalize(t) for _, t in codes_by_slot.values()} == urls
        for top, (x, _) in codes_by_slot.items():
            left, slot_top = min(slots, key=lambda s: abs(s[1] + back_code.y - top))
            assert x == pytest.approx(300 - left - design.width_mm + back_code.x, abs=0.1)
            assert back_code.y <= top - slot_top <= back_code.y + back_code.height
    with open_ledger(f"sqlite:///{tmp_path / 'home' / 'ledger.db'}") as ledger:
        pages = sorted(r.page for r in ledger.batch(ledger.runs()[0][0].id))
    assert pages == [1, 1, 3]  # the ledger's page is the front's


def test_duplex_needs_a_back_side(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            shutil.which("certgen") or "certgen",
            "issue",
            "-d",
            "classic",
            "--to",
            "Bob",
            "--set",
            "business=Riverside",
            "--duplex",
            "-o",
            str(tmp_path / "x.pdf"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 4
    assert "has no back side" in done.stderr and 'side = "back"' in done.stderr


DPI = 288  # 4 px a point: the bleed's pixels are read well away from anti-aliased edges


def _raster(pdf: Path, page: int = 0) -> tuple[Any, float]:
    """The page as RGB pixels, and pixels per mm."""
    doc = pdfium.PdfDocument(str(pdf))
    image = doc[page].render(scale=DPI / 72).to_pil().convert("RGB")
    doc.close()
    return image, DPI / 25.4


def _mirrored_across_edges(
    image: Any, scale: float, trim: tuple[float, ...], bleed: float, white_beyond: bool = True
) -> None:
    """Inside the bleed, the art is the art inside the trim mirrored across the edge; past
    the bleed the paper stays white (on a sheet, past it may be a neighbour's bleed)."""
    left, top, right, bottom = trim
    checked = 0
    for t in (0.2, 0.35, 0.5, 0.65, 0.8):
        x, y = left + t * (right - left), top + t * (bottom - top)
        for outside, inside, beyond in (
            ((left - 1.5, y), (left + 1.5, y), (left - bleed - 0.8, y)),
            ((right + 1.5, y), (right - 1.5, y), (right + bleed + 0.8, y)),
            ((x, top - 1.5), (x, top + 1.5), (x, top - bleed - 0.8)),
            ((x, bottom + 1.5), (x, bottom - 1.5), (x, bottom + bleed + 0.8)),
        ):

            def pixel(point: tuple[float, float]) -> tuple[int, int, int]:
                return image.getpixel((round(point[0] * scale), round(point[1] * scale)))  # type: ignore[no-any-return]

            assert all(abs(a - b) <= 12 for a, b in zip(pixel(outside), pixel(inside), strict=True))
            if white_beyond:
                assert pixel(beyond) == (255, 255, 255), (beyond, pixel(beyond))
            checked += 1
    assert checked == 20


def test_bleed_runs_the_art_past_the_trim_and_the_page_says_where_to_cut(env: Path) -> None:
    compact = load("compact")
    trim_w, trim_h = compact.width_mm, compact.height_mm
    done = certgen_cli(
        "issue", "-d", "compact", "--to", "Bob Ng", "--from", "Jane Doe", "--set",
        "business=Riverside Auto Care", "--bleed", "3", "--crop-marks", "-o", "bleed.pdf",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "with 3 mm bleed" in done.stdout
    doc = pdfium.PdfDocument("bleed.pdf")
    page = doc[0]
    margin = 3 + 6  # the bleed, then the crop marks from 4 mm to 9 mm out
    size = tuple(v / PT_PER_MM for v in page.get_size())
    trim_box = tuple(v / PT_PER_MM for v in page.get_trimbox())
    bleed_box = tuple(v / PT_PER_MM for v in page.get_bleedbox())
    doc.close()
    assert size == pytest.approx((trim_w + 2 * margin, trim_h + 2 * margin), abs=0.1)
    assert trim_box == pytest.approx((margin, margin, margin + trim_w, margin + trim_h), abs=0.1)
    assert bleed_box == pytest.approx(
        (margin - 3, margin - 3, margin + trim_w + 3, margin + trim_h + 3), abs=0.1
    )
    image, scale = _raster(Path("bleed.pdf"))
    trim = (margin, margin, margin + trim_w, margin + trim_h)  # from the top-left corner
    _mirrored_across_edges(image, scale, trim, 3)
    [urls] = qr_codes(Path("bleed.pdf"))
    assert len(urls) == 1
    # The text did not move with the bleed: Bob Ng is where it is on an unbled page.
    plain = certgen_cli(
        "issue", "-d", "compact", "--to", "Bob Ng", "--from", "Jane Doe", "--set",
        "business=Riverside Auto Care", "-o", "plain.pdf",
    )  # fmt: skip
    assert plain.returncode == 0
    bob = [w for w in words(Path("bleed.pdf")) if w.text == "Bob"][0]
    alone = [w for w in words(Path("plain.pdf")) if w.text == "Bob"][0]
    assert (bob.x0 - alone.x0, bob.top - alone.top) == pytest.approx((margin, margin), abs=0.1)


def test_bleed_on_a_sheet_fills_the_gutter_and_keeps_marks_off_the_art(env: Path) -> None:
    Path("sra3.toml").write_text("width_mm = 320\nheight_mm = 450\ncolumns = 1\nrows = 4\n")
    Path("four.csv").write_text("to,from\n" + "".join(f"F{i},G{i}\n" for i in range(4)))
    args = ["issue", "four.csv", "-d", "compact", "--set", "business=B", "--sheet", "sra3.toml"]
    done = certgen_cli(*args, "--bleed", "3", "--crop-marks", "-o", "sheet.pdf")
    assert done.returncode == 0, done.stderr
    compact = load("compact")
    sheet = sheets.load("sra3.toml", (compact.width_mm, compact.height_mm), None, True, 3)
    assert [y for _, y in sheet.slots][1] - [y for _, y in sheet.slots][0] == pytest.approx(
        compact.height_mm + 6  # the gutter is the two bleeds
    )
    image, scale = _raster(Path("sheet.pdf"))
    for trim in sheet.trims():
        _mirrored_across_edges(image, scale, trim, 3, white_beyond=False)
    with pdfplumber.open("sheet.pdf") as doc:
        page = doc.pages[0]
        lines = [
            (
                ln["x0"] / PT_PER_MM,
                ln["top"] / PT_PER_MM,
                ln["x1"] / PT_PER_MM,
                ln["bottom"] / PT_PER_MM,
            )
            for ln in page.lines
            if ln["linewidth"] == pytest.approx(0.25)
        ]
    assert lines and len(lines) == len(sheet.marks())
    for x0, top, x1, bottom in lines:  # no mark touches any certificate's bleed
        for left, t, right, b in sheet.trims(3):
            assert x1 <= left + 0.05 or x0 >= right - 0.05 or bottom <= t + 0.05 or top >= b - 0.05
    narrow = certgen_cli(*args, "--bleed", "3", "--gutter", "2", "-o", "narrow.pdf")
    assert narrow.returncode == 3
    assert "a 3 mm bleed needs a gutter of at least 6 mm, not 2 mm" in narrow.stderr
    assert not Path("narrow.pdf").exists()


def test_crop_marks_that_cannot_be_drawn_are_refused_not_dropped(env: Path) -> None:
    """Compact is a third of a Letter page: three fill the paper, so no mark has room."""
    Path("list.csv").write_text("to,from\nAnn,Bob\n")
    args = ["issue", "list.csv", "-d", "compact", "--set", "business=X", "-o", "marks.pdf"]
    status, _, err = invoke(*args, "--sheet", "letter-3up", "--crop-marks")
    assert status == 3 and "--crop-marks: no crop mark fits on letter-3up" in err, err
    assert "print fewer a sheet" in err and not Path("marks.pdf").exists()
    status, _, err = invoke(*args, "--sheet", "letter-2up", "--crop-marks")
    assert status == 0, err


def test_a_run_says_what_a_desktop_printer_would_cut_off_on_its_sheet(env: Path) -> None:
    """compact fills a third of Letter: its background and the code near its edge land in
    the printer's margin on letter-3up; a custom sheet with room around them says nothing."""
    Path("list.csv").write_text("to,from\nAnn,Bob\n")
    args = ["issue", "list.csv", "-d", "compact", "--set", "business=X", "-o", "m.pdf"]
    status, _, err = invoke(*args, "--sheet", "letter-3up")
    assert status == 0, err
    note = next(line for line in err.splitlines() if line.startswith("Note: on letter-3up"))
    assert "background (0.0 mm)" in note and "--bleed 3" in note
    compact = load("compact")
    roomy = Path("roomy.toml")
    width, height = compact.width_mm + 30, 3 * compact.height_mm + 40
    roomy.write_text(f"width_mm = {width}\nheight_mm = {height}\ncolumns = 1\nrows = 3\n")
    status, _, err = invoke(*args, "--sheet", str(roomy), "--new-run", "-o", "roomy.pdf")
    assert status == 0 and "printer prints nothing" not in err, err
    near = sheets.in_printer_margin(
        sheets.load("letter-3up", (compact.width_mm, compact.height_mm)),
        (compact.width_mm, compact.height_mm),
        {"inside": (6.0, 6.0, 20.0, 20.0), "edge": (0.0, 40.0, 10.0, 50.0)},
    )
    assert near == {"edge": 0.0}, "measured from each slot's place on the paper"


def test_designs_check_says_what_a_desktop_printer_would_cut_off(env: Path) -> None:
    status, out, err = invoke("designs", "check", "compact", "--sheet", "letter-3up")
    assert status == 0 and "no problems" in out, err
    note = next(line for line in err.splitlines() if line.startswith("Note: on letter-3up"))
    assert "background (0.0 mm)" in note and "code (3.0 mm)" in note and "come within 5 mm" in note
    status, _, err = invoke("designs", "check", "classic")
    assert status == 0 and "Note: printed one a page, background (0.0 mm), guilloche" in err
    compact = load("compact")
    roomy = Path("roomy.toml")
    width, height = compact.width_mm + 30, 3 * compact.height_mm + 40
    roomy.write_text(f"width_mm = {width}\nheight_mm = {height}\ncolumns = 1\nrows = 3\n")
    status, out, err = invoke("designs", "check", "compact", "--sheet", str(roomy))
    assert status == 0 and "Nothing comes within 5 mm" in out and "Note" not in err
