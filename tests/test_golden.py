"""Golden files: fixed codes, time and data must reproduce the committed references.

Regenerate after an intended change with ``pytest tests/test_golden.py --regen-golden``
and review the images before committing them.
"""

from __future__ import annotations

import difflib
import shutil
import subprocess
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageChops

from certgen import inputs
from tests.helpers import NOW, SHIPPED, SHIPPED_NAMES, issue_rows, load, rows

GOLDEN = Path(__file__).resolve().parent / "golden"
DPI = 50
CHANNEL_TOLERANCE = 24  # of 255: anti-aliasing differences between rasterizer builds
PIXEL_SHARE = 0.002  # pixels allowed beyond the channel tolerance
SAMPLES = inputs.ReadOptions(protect=False)  # a design's sample rows carry its business


def issue_to(folder: Path, design_name: str, people: list[inputs.Row] | None = None) -> Path:
    design = load(design_name)
    if people is None:
        people, problems = inputs.read_csv(
            SHIPPED / design_name / "preview.csv", design, {}, NOW.date(), SAMPLES
        )
        assert not problems
    output = folder / f"{design_name}.pdf"
    return issue_rows(folder, design, people, output=output, batch_id="golden").file


def test_tiny_pdf_is_byte_identical_to_its_reference(tmp_path: Path, regen_golden: bool) -> None:
    design = load("tiny")
    people = rows(
        design,
        [
            {
                "recipient": "Ελένη Παπαδοπούλου",
                "giver": "Анна",
                "amount": "150",
                "expires": "2027-03-31",
            }
        ],
    )
    actual = issue_to(tmp_path, "tiny", people)
    expected = GOLDEN / "tiny.pdf"
    if regen_golden:
        shutil.copy(actual, expected)
    assert actual.read_bytes() == expected.read_bytes(), _pdf_diff(actual, expected, tmp_path)


def _pdf_diff(actual: Path, expected: Path, tmp_path: Path) -> str:
    """A readable diff of both files normalized by qpdf, where qpdf is installed."""
    qpdf = shutil.which("qpdf")
    if not qpdf:
        return f"{actual} differs from {expected} (install qpdf for a readable diff)"
    texts = []
    for path in (expected, actual):
        out = tmp_path / f"{path.stem}-{len(texts)}.qdf"
        subprocess.run(
            [qpdf, "--qdf", "--deterministic-id", "--object-streams=disable", str(path), str(out)],
            check=False,
        )
        texts.append(out.read_bytes().decode("latin-1").splitlines())
    return "\n".join(list(difflib.unified_diff(*texts, "expected", "actual", lineterm=""))[:80])


def render_page(pdf: Path) -> Image.Image:
    return pdfium.PdfDocument(str(pdf))[0].render(scale=DPI / 72).to_pil().convert("RGB")


def mismatch(actual: Image.Image, expected: Image.Image, report_to: Path) -> str | None:
    """Why two renderings differ beyond the tolerance (writing actual, expected and diff
    images to ``report_to``), or None."""
    if actual.size != expected.size:
        return f"size {actual.size} differs from {expected.size}"
    diff = ImageChops.difference(actual, expected)
    channels = diff.split()
    over = channels[0].point(lambda v: 255 * (v > CHANNEL_TOLERANCE))
    for channel in channels[1:]:
        over = ImageChops.lighter(over, channel.point(lambda v: 255 * (v > CHANNEL_TOLERANCE)))
    count = over.histogram()[255]
    if count <= PIXEL_SHARE * actual.width * actual.height:
        return None
    actual.save(report_to / "actual.png")
    expected.save(report_to / "expected.png")
    over.save(report_to / "diff.png")
    left, top, _, _ = over.getbbox() or (0, 0, 0, 0)
    first = next(x for x in range(left, actual.width) if over.getpixel((x, top)))
    return (
        f"{count} pixels differ beyond {CHANNEL_TOLERANCE}/255, first at ({first}, {top}); "
        f"see {report_to}/actual.png, expected.png, diff.png"
    )


@pytest.mark.parametrize("design_name", SHIPPED_NAMES)
def test_shipped_design_looks_like_its_reference(
    tmp_path: Path, design_name: str, regen_golden: bool
) -> None:
    actual = render_page(issue_to(tmp_path, design_name))
    reference = GOLDEN / f"{design_name}.png"
    if regen_golden:
        actual.save(reference)
    problem = mismatch(actual, Image.open(reference).convert("RGB"), tmp_path)
    assert problem is None, problem


def test_a_different_name_is_caught(tmp_path: Path) -> None:
    design = load("compact")
    preview = SHIPPED / "compact" / "preview.csv"
    people, _ = inputs.read_csv(preview, design, {}, NOW.date(), SAMPLES)
    changed = [inputs.Row(2, {**people[0].values, "recipient": "Robert Ng"})]
    actual = render_page(issue_to(tmp_path, "compact", changed))
    problem = mismatch(actual, Image.open(GOLDEN / "compact.png").convert("RGB"), tmp_path)
    assert problem is not None and "pixels differ" in problem
    assert (tmp_path / "diff.png").is_file()
