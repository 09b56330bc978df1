"""A design as a designer sees it: one certificate with sample data, as a PNG.

Nothing is recorded: the code shown is ``codes.SAMPLE`` (all zeros), which the check
symbol accepts but ``codes.generate`` never returns.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

from certgen import codes, inputs, issue, render
from certgen.design import Design
from certgen.errors import InputError, Problem


def sample_values(design: Design) -> dict[str, str]:
    """Each field's ``sample``, for designs previewed without a CSV."""
    return {name: spec.sample for name, spec in design.fields.items() if spec.sample}


def sample_row(
    design: Design,
    csv_file: Path | None,
    row: int,
    defaults: Mapping[str, str],
    today: dt.date,
    overrides: Mapping[str, str] | None = None,
) -> inputs.Row:
    """Row ``row`` of ``csv_file``, numbered as every message numbers rows (the file's
    line, the header being row 1, as in a spreadsheet), else the design's samples with
    ``overrides`` in their place."""
    if csv_file is None:
        values = {**sample_values(design), **(overrides or {})}
        found, problems = inputs.resolve(design, values, defaults, today)
        if problems:
            raise InputError(problems)
        return found
    # A designer's sample rows may carry the business's details: nothing is issued.
    options = inputs.ReadOptions(protect=False)
    rows, problems = inputs.read_csv(csv_file, design, defaults, today, options)
    if problems:
        raise InputError(problems)
    found_row = next((r for r in rows if r.number == row), None)
    if found_row is None:
        numbers = [r.number for r in rows if r.number is not None]
        have = f"its rows are {min(numbers)} to {max(numbers)}" if numbers else "it has no rows"
        message = f"there is no row {row}: {have} (the header is row 1, as in a spreadsheet)"
        raise InputError([Problem(message, str(csv_file))])
    return found_row


def render_png(design: Design, row: inputs.Row, base_url: str, dpi: int, today: dt.date) -> bytes:
    certs = issue.prepare(
        design, [row], base_url=base_url, issued_on=today, file=None, row_codes=[codes.SAMPLE]
    )
    pdf = io.BytesIO()
    render.write_pdf(design, [issue.with_qr(design, certs[0], base_url)], pdf, title="preview")
    return page_png(pdf.getvalue(), dpi)


SAFE_MARGIN = 3.0  # mm inside the trim: where a cut that wanders may reach


def with_bounds(png: bytes, design: Design, dpi: float) -> bytes:
    """The picture with every element's box and id drawn over it, and the safe area (the
    trim less SAFE_MARGIN) dashed: what a designer lines things up by."""
    from PIL import ImageDraw

    image = Image.open(io.BytesIO(png)).convert("RGB")
    draw = ImageDraw.Draw(image)
    scale = dpi / 25.4

    def px(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        left, top, right, bottom = (v * scale for v in box)
        return left, top, max(right, left + 1), max(bottom, top + 1)

    front = {e.id for e in design.manifest.elements if e.side == "front"}  # what it shows
    for name, box in design.printed_boxes().items():
        if name not in front:
            continue
        left, top, right, bottom = px(box)
        draw.rectangle((left, top, right, bottom), outline=(230, 0, 170), width=1)
        draw.text((left + 2, top + 1), name, fill=(230, 0, 170))
    inset = SAFE_MARGIN
    left, top, right, bottom = px((inset, inset, design.width_mm - inset, design.height_mm - inset))
    dash = max(2, round(scale))
    for x in range(round(left), round(right), 2 * dash):  # dashed: told apart from a box
        draw.line((x, top, min(x + dash, right), top), fill=(0, 150, 255))
        draw.line((x, bottom, min(x + dash, right), bottom), fill=(0, 150, 255))
    for y in range(round(top), round(bottom), 2 * dash):
        draw.line((left, y, left, min(y + dash, bottom)), fill=(0, 150, 255))
        draw.line((right, y, right, min(y + dash, bottom)), fill=(0, 150, 255))
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi))
    return out.getvalue()


def fingerprint(paths: list[Path]) -> tuple[tuple[str, int, int], ...]:
    """What ``--watch`` compares: every file under ``paths`` with its size and time."""
    found = []
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for file in files:
            try:
                stat = file.stat()
            except OSError:
                continue  # removed as we looked: the next look sees it gone
            found.append((str(file), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def page_png(pdf: bytes, dpi: float, colours: int | None = None) -> bytes:
    """The first page of ``pdf`` as a PNG at ``dpi``; with ``colours``, a palette of at most
    that many (an email's picture: far fewer bytes, dark modules still dark)."""
    page = pdfium.PdfDocument(pdf)[0]
    image = page.render(scale=dpi / 72).to_pil()
    if colours:  # octree: a tenth of median cut's time, and smaller files for art like ours
        image = image.quantize(colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi))  # optimize=True: 4x the time, 2% smaller
    return out.getvalue()
