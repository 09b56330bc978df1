"""Drawing certificates as PDF pages. The only module that imports reportlab.

Input is plain data: each certificate's rendered strings and QR matrices. The design's
static parts (background, images, rules, text without variables) go into one form
XObject drawn on every page, so a long run stores the art once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image
from reportlab import rl_config
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

from certgen import __version__, units
from certgen.design import (
    CodeElement,
    Design,
    ImageElement,
    LineElement,
    QrElement,
    RectElement,
    TextElement,
)
from certgen.errors import DesignError
from certgen.qr import Matrix

STATIC_FORM = "certgen-static"
rl_config.useA85 = 0  # ASCII85 makes every stream a quarter larger, for 7-bit channels we never use
# Pillow warns at ~89 Mpx and errors only at twice that; art for an A4 page at 300 dpi
# needs under 9 Mpx, so refuse anything past 40 Mpx before it is decoded.
MAX_IMAGE_PIXELS = 40_000_000
SHRINK_STEP = 0.25  # pt


@dataclass(frozen=True)
class Fitted:
    """A text laid out in its element: the size chosen and its lines."""

    size: float
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Certificate:
    """Everything that differs between certificates, ready to draw."""

    code: str
    texts: Mapping[str, Fitted]  # element id -> laid-out text (dynamic elements only)
    code_text: str
    qr: Mapping[str, Matrix]  # element id -> modules


def font_name(design: Design, family: str, style: str) -> str:
    """reportlab's font registry is global, so names carry the design's name."""
    return f"{design.name}/{family}/{style}"


def register_fonts(design: Design) -> None:
    registered = set(pdfmetrics.getRegisteredFontNames())
    for family, styles in design.fonts.items():
        for style, path in styles.items():
            name = font_name(design, family, style)
            if name in registered:
                continue
            try:
                pdfmetrics.registerFont(TTFont(name, str(path)))
            except (TTFError, OSError) as exc:
                raise DesignError(f"cannot read font {path.name}: {exc}", path=str(path)) from exc


def _font(design: Design, element: TextElement | CodeElement) -> tuple[str, Any]:
    name = font_name(design, element.font, element.style)
    return name, pdfmetrics.getFont(name)


def missing_glyphs(design: Design, element: TextElement, text: str) -> list[str]:
    """Characters of ``text`` the element's font cannot draw (they would print as boxes)."""
    _, font = _font(design, element)
    cmap = font.face.charToGlyph
    return sorted({c for c in text if c != "\n" and ord(c) not in cmap})


def _extent(font: Any, size: float, lines: int, line_height: float) -> float:
    """Height in pt from the first line's ascender to the last line's descender."""
    glyph = (font.face.ascent - font.face.descent) * size / 1000
    return float((lines - 1) * size * line_height + glyph)


def _wrap(text: str, width: float, measure: Callable[[str], float]) -> list[str] | None:
    """Greedy word wrap; None if a single word is wider than the box."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            if measure(word) > width:
                return None
            candidate = f"{line} {word}" if line else word
            if measure(candidate) <= width:
                line = candidate
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


def fit(design: Design, element: TextElement, text: str) -> Fitted | None:
    """The largest size from ``size`` down to ``min_size`` at which ``text`` fits its box:
    on one line if it can, else wrapped onto up to ``max_lines`` lines. None if it cannot."""
    name, font = _font(design, element)
    width, height = units.mm_to_pt(element.width), units.mm_to_pt(element.height)
    sizes = _sizes(element.size, element.min_size or element.size)
    hard_lines = text.split("\n")
    for size in sizes:
        if len(hard_lines) > element.max_lines:
            break
        if _extent(font, size, len(hard_lines), element.line_height) > height:
            continue
        if all(pdfmetrics.stringWidth(line, name, size) <= width for line in hard_lines):
            return Fitted(size, tuple(hard_lines))
    if element.max_lines == 1:
        return None
    for size in sizes:
        lines = _wrap(text, width, functools.partial(_width, name=name, size=size))
        if (
            lines is not None
            and len(lines) <= element.max_lines
            and _extent(font, size, len(lines), element.line_height) <= height
        ):
            return Fitted(size, tuple(lines))
    return None


def _width(text: str, name: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(text, name, size))


def _sizes(largest: float, smallest: float) -> list[float]:
    steps = int(round((largest - smallest) / SHRINK_STEP))
    return [largest - i * SHRINK_STEP for i in range(steps)] + [smallest]


def open_image(path: Path) -> ImageReader:
    """A PNG or JPEG checked for size before it is decoded."""
    try:
        with Image.open(path, formats=["PNG", "JPEG"]) as image:
            pixels = image.width * image.height
            if pixels > MAX_IMAGE_PIXELS:
                raise DesignError(
                    f"image {path.name} has {pixels:,} pixels; the limit is {MAX_IMAGE_PIXELS:,}",
                    path=str(path),
                    hint="downsample it to the print resolution (300 dpi is plenty)",
                )
            image.verify()  # decodes the data once, so a corrupt file fails here
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DesignError(f"cannot read image {path.name}: {exc}", path=str(path)) from exc
    # From the path, reportlab embeds a JPEG's bytes as they are instead of re-encoding.
    return ImageReader(str(path))


class Page:
    """Coordinates: the manifest's mm from top-left to reportlab's pt from bottom-left."""

    def __init__(self, height_mm: float):
        self.height = units.mm_to_pt(height_mm)

    def x(self, mm: float) -> float:
        return units.mm_to_pt(mm)

    def y(self, mm: float) -> float:
        return self.height - units.mm_to_pt(mm)


@dataclass(frozen=True)
class Surface:
    """What an element drawer draws on."""

    canvas: Canvas
    page: Page
    design: Design
    images: Mapping[str, ImageReader]


def _draw_text(s: Surface, element: TextElement, cert: Certificate) -> None:
    name, font = _font(s.design, element)
    fitted = cert.texts[element.id]
    if fitted.lines == ("",) and element.blank == "line":
        _draw_blank_line(s.canvas, s.page, element, font)
    else:
        _draw_lines(s.canvas, s.page, element, name, font, fitted, element.line_height)


def _draw_code(s: Surface, element: CodeElement, cert: Certificate) -> None:
    name, font = _font(s.design, element)
    fitted = Fitted(element.size, (cert.code_text,))
    _draw_lines(s.canvas, s.page, element, name, font, fitted, 1.2)


def _draw_image(s: Surface, element: ImageElement, cert: Certificate) -> None:
    c, page = s.canvas, s.page
    reader = s.images[element.file]
    left, top = page.x(element.x), page.y(element.y)
    width, height = units.mm_to_pt(element.width), units.mm_to_pt(element.height)
    if element.fit == "stretch":
        c.drawImage(reader, left, top - height, width, height)
        return
    iw, ih = reader.getSize()
    scale = (max if element.fit == "cover" else min)(width / iw, height / ih)
    dw, dh = iw * scale, ih * scale
    c.saveState()
    clip = c.beginPath()
    clip.rect(left, top - height, width, height)
    c.clipPath(clip, stroke=0, fill=0)
    c.drawImage(reader, left + (width - dw) / 2, top - height + (height - dh) / 2, dw, dh)
    c.restoreState()


def _draw_lines(
    c: Canvas,
    page: Page,
    element: TextElement | CodeElement,
    font_name: str,
    font: Any,
    fitted: Fitted,
    line_height: float,
) -> None:
    size = fitted.size
    leading = size * line_height
    ascent = font.face.ascent * size / 1000
    block = _extent(font, size, len(fitted.lines), line_height)
    box_h = units.mm_to_pt(element.height)
    valign = getattr(element, "valign", "middle")
    offset = {"top": 0.0, "middle": (box_h - block) / 2, "bottom": box_h - block}[valign]
    baseline = page.y(element.y) - offset - ascent
    left, width = page.x(element.x), units.mm_to_pt(element.width)
    c.setFont(font_name, size)
    c.setFillColorRGB(*units.parse_color(element.color))
    for line in fitted.lines:
        if element.align == "center":
            c.drawCentredString(left + width / 2, baseline, line)
        elif element.align == "right":
            c.drawRightString(left + width, baseline, line)
        else:
            c.drawString(left, baseline, line)
        baseline -= leading


def _draw_blank_line(c: Canvas, page: Page, element: TextElement, font: Any) -> None:
    """A rule to write on by hand, where the text's baseline would be."""
    size = element.size
    ascent, descent = font.face.ascent * size / 1000, font.face.descent * size / 1000
    box_h = units.mm_to_pt(element.height)
    baseline = page.y(element.y) - (box_h - (ascent - descent)) / 2 - ascent
    c.setStrokeColorRGB(*units.parse_color(element.color))
    c.setLineWidth(0.6)
    left = page.x(element.x)
    c.line(left, baseline, left + units.mm_to_pt(element.width), baseline)


def _draw_qr(s: Surface, element: QrElement, cert: Certificate) -> None:
    c, modules = s.canvas, cert.qr[element.id]
    side = units.mm_to_pt(element.size)
    left, top = s.page.x(element.x), s.page.y(element.y)
    c.setFillColorRGB(1, 1, 1)
    c.rect(left, top - side, side, side, stroke=0, fill=1)  # the quiet zone stays white
    module = side / (modules.size + 2 * element.quiet_zone)
    margin = element.quiet_zone * module
    c.saveState()
    # One transform, then integer run-length rectangles in module units: a short stream.
    c.transform(module, 0, 0, -module, left + margin, top - margin)
    c.setFillColorRGB(*units.parse_color(element.color))
    path = c.beginPath()
    for row, start, length in modules.runs:
        path.rect(start, row, length, 1)
    c.drawPath(path, stroke=0, fill=1)
    c.restoreState()


def _draw_rect(s: Surface, element: RectElement, cert: Certificate) -> None:
    c, page = s.canvas, s.page
    if element.fill:
        c.setFillColorRGB(*units.parse_color(element.fill))
    if element.stroke:
        c.setStrokeColorRGB(*units.parse_color(element.stroke))
        c.setLineWidth(element.stroke_width)
    x, y = page.x(element.x), page.y(element.y + element.height)
    w, h = units.mm_to_pt(element.width), units.mm_to_pt(element.height)
    stroke, fill = int(element.stroke is not None), int(element.fill is not None)
    if element.radius:
        c.roundRect(x, y, w, h, units.mm_to_pt(element.radius), stroke=stroke, fill=fill)
    else:
        c.rect(x, y, w, h, stroke=stroke, fill=fill)


def _draw_rule(s: Surface, element: LineElement, cert: Certificate) -> None:
    c, page = s.canvas, s.page
    c.setStrokeColorRGB(*units.parse_color(element.color))
    c.setLineWidth(element.width)
    c.setDash(list(element.dash) if element.dash else [])
    c.line(page.x(element.x1), page.y(element.y1), page.x(element.x2), page.y(element.y2))
    c.setDash([])


# One drawer per element type: a new element type is a model in design.py plus an entry here.
DRAWERS: dict[type, Callable[[Surface, Any, Certificate], None]] = {
    TextElement: _draw_text,
    CodeElement: _draw_code,
    QrElement: _draw_qr,
    ImageElement: _draw_image,
    RectElement: _draw_rect,
    LineElement: _draw_rule,
}


class Writer:
    """Writes certificates one page each to a binary stream."""

    def __init__(self, design: Design, stream: BinaryIO, *, title: str):
        register_fonts(design)
        size = (units.mm_to_pt(design.width_mm), units.mm_to_pt(design.height_mm))
        c = Canvas(stream, pagesize=size, invariant=1, pageCompression=1)
        c.setTitle(title)
        c.setAuthor("certgen")
        c.setSubject("Gift certificates")
        c.setCreator(f"certgen {__version__}")
        c.setProducer(f"certgen {__version__}")
        images = {name: open_image(path) for name, path in design.assets.items()}
        self.surface = Surface(c, Page(design.height_mm), design, images)
        elements = design.manifest.elements
        self.static = [e for e in elements if design.is_static(e)]
        self.dynamic = [e for e in elements if not design.is_static(e)]
        self.pages = 0

    def _draw(self, elements: Iterable[object], cert: Certificate) -> None:
        for element in elements:
            DRAWERS[type(element)](self.surface, element, cert)

    def _draw_static(self) -> None:
        """The art every page shares, into one form XObject."""
        c, design = self.surface.canvas, self.surface.design
        texts = {e.id: _static_text(design, e) for e in self.static if isinstance(e, TextElement)}
        c.beginForm(STATIC_FORM)
        page = design.manifest.design
        width, height = units.mm_to_pt(design.width_mm), units.mm_to_pt(design.height_mm)
        if page.background_color:
            c.setFillColorRGB(*units.parse_color(page.background_color))
            c.rect(0, 0, width, height, stroke=0, fill=1)
        if page.background:
            c.drawImage(self.surface.images[page.background], 0, 0, width, height)
        self._draw(self.static, Certificate("", texts, "", {}))
        c.endForm()

    def add(self, cert: Certificate) -> int:
        """Draw one certificate on a new page; returns its page number (from 1)."""
        if self.pages == 0:
            self._draw_static()
        self.surface.canvas.doForm(STATIC_FORM)
        self._draw(self.dynamic, cert)
        self.surface.canvas.showPage()
        self.pages += 1
        return self.pages

    def close(self) -> None:
        self.surface.canvas.save()


def _static_text(design: Design, element: TextElement) -> Fitted:
    text = design.templates[element.id].render({})
    fitted = fit(design, element, text)
    if fitted is None:
        raise DesignError(
            "its text does not fit its box",
            path=str(design.path),
            element=element.id,
            hint="enlarge the box, lower min_size or allow more max_lines",
        )
    return fitted


def write_pdf(
    design: Design, certificates: Iterable[Certificate], stream: BinaryIO, title: str
) -> list[int]:
    """All certificates, one a page; returns each one's page number."""
    writer = Writer(design, stream, title=title)
    pages = [writer.add(cert) for cert in certificates]
    writer.close()
    return pages
