"""``certgen designs check``: every problem a design has, before anyone prints it.

Beyond what loading finds (schema, files, fonts, elements, templates), it opens the art and
lays the design out with its sample values, and measures what a designer cannot see by eye:
text that does not fit, QR modules too small to scan at print size, and elements in the
margin printers trim.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from certgen import codes, inputs, issue, qr, render
from certgen.design import CodeElement, Design, QrElement, TextElement, inspect
from certgen.errors import DesignError, InputError
from certgen.preview import sample_values

MIN_MODULE_MM = 0.4  # below this, phone cameras miss printed QR codes
SAFE_MARGIN_MM = 3.0  # printers and guillotines may trim this much


def check(folder: Path, base_url: str, today: dt.date | None = None) -> list[DesignError]:
    design, problems = inspect(folder)
    if design is None:
        return problems
    where = str(design.path / "design.toml")
    return [
        *_art(design),
        *_samples(design, base_url, today or dt.date.today(), where),
        *_qr_sizes(design, base_url, where),
        *_margins(design, where),
    ]


def _art(design: Design) -> list[DesignError]:
    """Art that cannot be opened: corrupt, too many pixels, SVG reaching outside itself."""
    try:
        render.load_art(design)
    except DesignError as exc:
        return [exc]
    return []


def _samples(design: Design, base_url: str, today: dt.date, where: str) -> list[DesignError]:
    row, problems = inputs.resolve(design, sample_values(design), {}, today)
    found = [
        DesignError(
            f"sample value: {p.message}",
            path=where,
            field=f"fields.{p.column}",
            hint=f"give [fields.{p.column}] a sample that prints as a real one would",
        )
        for p in problems
    ]
    if found:
        return found
    try:
        issue.prepare(
            design, [row], base_url=base_url, issued_on=today, file=None, row_codes=[codes.SAMPLE]
        )
    except InputError as exc:
        return [
            DesignError(f"with the sample values, {p.message}", path=where, hint=p.hint)
            for p in exc.problems
        ]
    return []


def _qr_sizes(design: Design, base_url: str, where: str) -> list[DesignError]:
    found = []
    for e in design.manifest.elements:
        if not isinstance(e, QrElement):
            continue
        payload = qr.redeem_url(base_url, codes.SAMPLE) if e.payload == "url" else codes.SAMPLE
        count = qr.modules(payload, e.ecc) + 2 * e.quiet_zone
        module = e.size / count
        if module < MIN_MODULE_MM:
            found.append(
                DesignError(
                    f"its modules would print {module:.2f} mm wide; "
                    f"scanners need {MIN_MODULE_MM} mm",
                    path=where,
                    element=e.id,
                    field="size",
                    hint=f"make size at least {count * MIN_MODULE_MM:.0f} mm, or shorten base_url",
                )
            )
    return found


def _margins(design: Design, where: str) -> list[DesignError]:
    found = []
    for e in design.manifest.elements:
        if not isinstance(e, TextElement | CodeElement | QrElement):
            continue  # art and rules may run to the edge
        right, bottom = e.x + e.width, e.y + e.height
        inside = min(e.x, e.y, design.width_mm - right, design.height_mm - bottom)
        if inside < SAFE_MARGIN_MM:
            found.append(
                DesignError(
                    f"comes within {max(inside, 0):.1f} mm of the page edge, "
                    "which printers may trim",
                    path=where,
                    element=e.id,
                    hint=f"keep text and codes at least {SAFE_MARGIN_MM:g} mm inside",
                )
            )
    return found
