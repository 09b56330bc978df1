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
    design: Design, csv_file: Path | None, row: int, defaults: Mapping[str, str], today: dt.date
) -> inputs.Row:
    """Row ``row`` of ``csv_file``, numbered as every message numbers rows (the file's
    line, the header being row 1, as in a spreadsheet), else the design's samples."""
    if csv_file is None:
        found, problems = inputs.resolve(design, sample_values(design), defaults, today)
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
