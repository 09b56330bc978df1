"""The plain reportlab script a developer would write: one canvas, TrueType fonts, each
page drawn with drawString and reportlab's own QR widget.

    python bench/peers/reportlab_peer.py ROWS.json OUT.pdf
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

sys.path.insert(0, str(Path(__file__).resolve().parent))
from content import BASE_URL, FIXED, FONTS, HEIGHT_MM, WIDTH_MM  # noqa: E402


def main(rows_path: str, out: str) -> None:
    for name, file in (
        ("Sans", "NotoSans-Regular.ttf"),
        ("Sans-Bold", "NotoSans-Bold.ttf"),
        ("Serif", "NotoSerif-Regular.ttf"),
        ("Serif-Italic", "NotoSerif-Italic.ttf"),
    ):
        pdfmetrics.registerFont(TTFont(name, str(FONTS / file)))
    height = HEIGHT_MM * mm
    c = Canvas(out, pagesize=(WIDTH_MM * mm, height))

    def top(y: float) -> float:  # millimetres from the top
        return float(height - y * mm)

    for row in json.loads(Path(rows_path).read_text()):
        c.setFont("Sans-Bold", 8.5)
        c.drawString(10 * mm, top(10), FIXED["title"])
        c.setFont("Serif-Italic", 19)
        c.drawString(10 * mm, top(20), FIXED["pain"])
        c.setFont("Sans-Bold", 15)
        c.drawString(10 * mm, top(31), FIXED["offer"])
        c.setFont("Sans", 9)
        c.drawString(10 * mm, top(48), "For")
        c.drawString(10 * mm, top(58), "This gift is for you from")
        c.setFont("Serif", 16)
        c.drawString(56 * mm, top(48), row["recipient"])
        c.drawString(56 * mm, top(58), row["giver"])
        c.setFont("Sans-Bold", 11)
        c.drawString(10 * mm, top(71), FIXED["business"])
        c.setFont("Sans", 8)
        c.drawString(10 * mm, top(77), f"{FIXED['phone']}  ·  {FIXED['expires']}")
        c.setFont("Sans", 6)
        c.drawString(10 * mm, top(86), FIXED["terms"])
        qr = QrCodeWidget(f"{BASE_URL}/r/{row['code']}", barLevel="M", barBorder=0)
        left, bottom, right, upper = qr.getBounds()
        side = 36 * mm
        drawing = Drawing(
            side, side, transform=[side / (right - left), 0, 0, side / (upper - bottom), 0, 0]
        )
        drawing.add(qr)
        renderPDF.draw(drawing, c, 200 * mm, top(64))
        c.setFont("Sans-Bold", 9)
        c.drawCentredString(218 * mm, top(71), row["code"])
        c.showPage()
    c.save()


if __name__ == "__main__":
    main(*sys.argv[1:3])
