"""The calibration page: rulers, two crosses and every certificate's outline on a sheet,
drawn as any page of that sheet would be (``placement``), so that measuring where the
printer put them gives a ``[printers.NAME]`` correction, and printing it with that
correction shows whether it holds."""

from __future__ import annotations

from typing import BinaryIO

from reportlab.pdfgen.canvas import Canvas

from certgen import __version__, units
from certgen.placement import Layout

CROSS = 50.0  # mm from the paper's top-left corner (cross A) and bottom-right one (cross B)
ARM = 12.0  # mm each way from a cross's centre


def write(layout: Layout, stream: BinaryIO) -> None:
    paper, sheet = layout.paper(0), layout.sheet
    mm = units.mm_to_pt
    width, height = paper.width, paper.height
    c = Canvas(stream, pagesize=(mm(width), mm(height)), invariant=1, pageCompression=1)
    c.setTitle(f"certgen calibration: {sheet.name}")
    c.setCreator(f"certgen {__version__}")
    if paper.printer:
        c.transform(*paper.printer.matrix(height))

    def line(x1: float, y1: float, x2: float, y2: float) -> None:
        c.line(mm(x1), mm(height - y1), mm(x2), mm(height - y2))

    c.setStrokeColorRGB(0.6, 0.6, 0.6)
    c.setLineWidth(0.3)
    for left, top, right, bottom in sheet.trims():
        c.rect(mm(left), mm(height - bottom), mm(right - left), mm(bottom - top))
    c.setStrokeColorRGB(0, 0, 0)
    c.setLineWidth(0.25)
    for mark in paper.marks:
        line(*mark)
    c.setFont("Helvetica", 6)
    for at in range(1, int(width) + 1):  # the top ruler, 0 at the paper's left edge
        tick = 6.0 if at % 10 == 0 else 4.0 if at % 5 == 0 else 2.5
        line(at, 0, at, tick)
        if at % 10 == 0 and at + 3 < width:
            c.drawCentredString(mm(at), mm(height - tick - 2.5), str(at))
    for at in range(1, int(height) + 1):  # the left ruler, 0 at the paper's top edge
        tick = 6.0 if at % 10 == 0 else 4.0 if at % 5 == 0 else 2.5
        line(0, at, tick, at)
        if at % 10 == 0 and at + 3 < height:
            c.drawString(mm(tick + 1), mm(height - at - 0.8), str(at))
    b = (width - CROSS, height - CROSS)
    for name, (x, y) in (("A", (CROSS, CROSS)), ("B", b)):
        c.setLineWidth(0.2)
        line(x - ARM, y, x + ARM, y)
        line(x, y - ARM, x, y + ARM)
        c.setFont("Helvetica-Bold", 9)
        c.drawString(mm(x + 2), mm(height - y + 2), name)
    c.setFont("Helvetica", 8.5)
    fixed = f"corrected for printer {paper.printer.describe()}" if paper.printer else "uncorrected"
    lines = [
        f"certgen calibration page: {sheet.name}, {width:g} x {height:g} mm, {fixed}.",
        'Print it at 100% ("actual size"), never "fit to page". Measure from the paper\'s edges:',
        f"  A: left edge to A's upright line (Ax), top edge to its level line (Ay): {CROSS:g} "
        f"and {CROSS:g} mm if exact.",
        f"  B: the same for cross B (Bx, By): {b[0]:g} and {b[1]:g} mm if exact.",
        f"  scale = (Bx - Ax) / {b[0] - CROSS:g};  offset_x_mm = Ax - {CROSS:g} x scale;  "
        f"offset_y_mm = Ay - {CROSS:g} x scale.",
        "In certgen.toml:  [printers.office]  offset_x_mm = ...  offset_y_mm = ...  scale = ...",
        "then print with --printer office: this page, printed so, has its crosses where they "
        "should be.",
    ]
    top = CROSS + ARM + 12
    for text in lines:
        c.drawString(mm(CROSS - ARM), mm(height - top), text)
        top += 5
    c.showPage()
    c.save()
