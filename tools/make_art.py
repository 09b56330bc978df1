"""Regenerate the background art of the shipped designs: python tools/make_art.py

Art is drawn at twice the target resolution and downsampled, which antialiases the fine
guilloche lines. Crisp rules and boxes are vector elements in each design.toml instead.
No art holds a brand colour: what follows the brand is drawn in greys and tinted by the
design (an image's ``tint = "primary"``: black becomes the colour, white stays white),
or is a vector element filled with the colour's name.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
DPI = 300  # what print shops ask for at the placed size
SS = 2  # supersampling factor


def px(mm: float) -> int:
    return round(mm / 25.4 * DPI * SS)


def canvas(width_mm: float, height_mm: float, color: str) -> Image.Image:
    return Image.new("RGB", (px(width_mm), px(height_mm)), color)


def finish(image: Image.Image, path: Path, **save: object) -> None:
    size = (image.width // SS, image.height // SS)
    image.resize(size, Image.Resampling.LANCZOS).save(path, dpi=(DPI, DPI), **save)


def guilloche_band(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], color: str) -> None:
    """Interlaced sine waves running around a rectangular band."""
    left, top, right, bottom = box
    band = px(9)
    perimeter = [
        (left, top, right, top),
        (right, top, right, bottom),
        (right, bottom, left, bottom),
        (left, bottom, left, top),
    ]
    for phase in range(6):
        for x0, y0, x1, y1 in perimeter:
            length = math.hypot(x1 - x0, y1 - y0)
            ux, uy = (x1 - x0) / length, (y1 - y0) / length
            nx, ny = -uy, ux
            points = []
            for step in range(int(length // 3) + 1):
                t = step * 3
                offset = band / 2 * math.sin(t / px(6) * 2 * math.pi + phase * math.pi / 3)
                points.append(
                    (
                        x0 + ux * t + nx * (offset - band / 2 - px(1)),
                        y0 + uy * t + ny * (offset - band / 2 - px(1)),
                    )
                )
            draw.line(points, fill=color, width=SS)


def rosette(draw: ImageDraw.ImageDraw, cx: int, cy: int, radius: int, color: str) -> None:
    for k in range(36):
        angle = k * math.pi / 18
        ox, oy = cx + radius / 2 * math.cos(angle), cy + radius / 2 * math.sin(angle)
        r = radius / 2
        draw.ellipse((ox - r, oy - r, ox + r, oy + r), outline=color, width=SS)


def classic() -> None:
    """Vector art: a guilloche band and rosettes as PDF paths, drawn from one wave and one
    rosette each (form XObjects placed many times), so the file is a few kilobytes and as
    sharp on a print shop's press as on a phone."""
    from reportlab.lib.colors import HexColor
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    w, h = 279.4, 215.9

    def page(name: str) -> Canvas:
        c = Canvas(str(TEMPLATES / "classic" / name), pagesize=(w * mm, h * mm), invariant=1)
        c.setPageCompression(1)
        c.setCreator("certgen tools/make_art.py")
        c.scale(mm, mm)
        return c

    c = page("background.pdf")  # the paper and the watermark: the same for every brand
    c.setFillColor(HexColor("#FBF7EC"))
    c.rect(0, 0, w, h, stroke=0, fill=1)
    c.beginForm("rosette", -1.1, -1.1, 1.1, 1.1)  # 36 circles round a point, a unit radius
    for k in range(36):
        angle = k * math.pi / 18
        c.circle(0.5 * math.cos(angle), 0.5 * math.sin(angle), 0.5, stroke=1, fill=0)
    c.endForm()

    def rosette(c: Canvas, cx: float, cy: float, radius: float, colour: str, width: float) -> None:
        c.saveState()
        c.setStrokeColor(HexColor(colour))
        c.translate(cx, h - cy)
        c.scale(radius, radius)
        c.setLineWidth(width / radius)
        c.doForm("rosette")
        c.restoreState()

    rosette(c, w / 2, h / 2 + 8, 60, "#F1EAD6", 0.3)  # the watermark, under the text
    c.showPage()
    c.save()
    # The guilloche, tinted by the brand's primary colour: a grey of 0.57 is the light
    # shade of it the band has always been drawn in (#9DB8A8 for the design's own green).
    c = page("guilloche.pdf")
    band, period, inset = 9.0, 6.0, 12.0
    sides = {"long": w - 2 * inset, "short": h - 2 * inset}
    for name, length in sides.items():  # one phase of the wave along a side, a period over
        c.beginForm(f"wave-{name}", -period, 0, length + period, band + 2)
        # y = middle - A sin(2 pi t / period), each half period one cubic curve: for sin on
        # [0, pi] the controls (4/3, 4/3) and (pi - 4/3, 4/3) give its slopes and its crest.
        path = c.beginPath()
        half, amplitude, middle = period / 2, band / 2, band / 2 + 1
        reach, crest = 4 / 3 * half / math.pi, 4 / 3 * amplitude
        t, sign = -period, 1.0
        path.moveTo(t, middle)
        while t < length + period:
            y = middle - sign * crest
            path.curveTo(t + reach, y, t + half - reach, y, t + half, middle)
            t, sign = t + half, -sign
        c.drawPath(path, stroke=1, fill=0)
        c.endForm()
    c.setStrokeGray(0.57)
    c.setLineWidth(0.12)
    c.setLineJoin(1)
    # Each side runs clockwise from a corner (y up in PDF), its band outside the inset.
    corners = [(inset, h - inset), (w - inset, h - inset), (w - inset, inset), (inset, inset)]
    for index, (x, y) in enumerate(corners):
        name = "long" if index % 2 == 0 else "short"
        c.saveState()
        c.translate(x, y)
        c.rotate(-90 * index)
        clip = c.beginPath()
        clip.rect(0, 0, sides[name], band + 2)
        c.clipPath(clip, stroke=0, fill=0)
        for phase in range(6):  # a sixth of a period apart
            c.saveState()
            c.translate(-phase * period / 6, 0)
            c.doForm(f"wave-{name}")
            c.restoreState()
        c.restoreState()
    c.showPage()
    c.save()
    c = page("rosettes.pdf")  # the corners' rosettes, tinted by the accent colour
    c.beginForm("rosette", -1.1, -1.1, 1.1, 1.1)
    for k in range(36):
        angle = k * math.pi / 18
        c.circle(0.5 * math.cos(angle), 0.5 * math.sin(angle), 0.5, stroke=1, fill=0)
    c.endForm()
    for cx, cy in ((16, 16), (w - 16, 16), (16, h - 16), (w - 16, h - 16)):
        rosette(c, cx, cy, 9, "#000000", 0.12)
    c.showPage()
    c.save()


def modern() -> None:
    h = 210.0  # the page is white; its dashed rule is a line element
    # The panel, tinted by the primary colour: a little lighter at the top, the colour
    # itself at the bottom, with soft light spots.
    panel = Image.new("L", (px(100), px(h)))
    pdraw = ImageDraw.Draw(panel)
    for y in range(panel.height):
        pdraw.line([(0, y), (panel.width, y)], fill=round(24 * (1 - y / panel.height)))
    glow = Image.new("L", panel.size, 0)
    gdraw = ImageDraw.Draw(glow)
    for cx, cy, r in ((85, 30, 45), (10, 150, 60), (70, 200, 35)):
        gdraw.ellipse((px(cx - r), px(cy - r), px(cx + r), px(cy + r)), fill=38)
    panel.paste(255, mask=glow.filter(ImageFilter.GaussianBlur(px(4))))
    finish(panel, TEMPLATES / "modern" / "panel.png", optimize=True)


def compact() -> None:
    w, h = 215.9, 279.4 / 3
    image = canvas(w, h, "#FFFDF8")
    stub = Image.new("RGB", (px(w - 158), px(h)), "#F6EEE3")
    sdraw = ImageDraw.Draw(stub)
    for i in range(-25, 20):
        x = px(i * 4)
        sdraw.line([(x, 0), (x + px(h), px(h))], fill="#F0E4D4", width=SS)
    image.paste(stub, (px(158), 0))
    finish(image, TEMPLATES / "compact" / "background.png", optimize=True)


if __name__ == "__main__":
    for make in (classic, modern, compact):
        make()
