"""Design art in the formats designers export, ready to draw.

PNG and JPEG are checked for size before they are decoded and downsampled to the print
resolution the design asks for; SVG (through svglib) and a page of a PDF (through pdfrw)
stay vector. Art is drawn once per PDF, in the static form every page shares.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lxml import etree
from pdfrw import PdfReader
from pdfrw.buildxobj import pagexobj
from pdfrw.errors import PdfParseError
from pdfrw.toreportlab import makerl
from PIL import Image
from reportlab.graphics import renderPDF
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from svglib.svglib import svg2rlg

from certgen.errors import DesignError

# Pillow warns at ~89 Mpx and errors only at twice that; art for an A4 page at 300 dpi
# needs under 9 Mpx, so refuse anything past 40 Mpx before it is decoded.
MAX_IMAGE_PIXELS = 40_000_000
_DATA_IMAGE = re.compile(r"data:image/(png|jpe?g);base64,(.*)", re.DOTALL)
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


class Art:
    """Something drawn into a box: ``width`` x ``height`` is its own size, for its shape."""

    width: float
    height: float

    def draw(self, c: Canvas, x: float, y: float, w: float, h: float) -> None:
        raise NotImplementedError

    def fresh(self) -> Art:
        """The art for another document."""
        return self


class Svg(Art):
    def __init__(self, drawing: Any):
        self.drawing = drawing
        self.width, self.height = float(drawing.width), float(drawing.height)

    def draw(self, c: Canvas, x: float, y: float, w: float, h: float) -> None:
        c.saveState()
        c.translate(x, y)
        c.scale(w / self.width, h / self.height)
        renderPDF.draw(self.drawing, c, 0, 0)
        c.restoreState()


class PdfPage(Art):
    """A page of a PDF, drawn as a form XObject through pdfrw. pdfrw keeps every document
    it draws a page into on the page's objects, so a PdfPage serves one document and
    ``fresh`` reads another from the same bytes."""

    def __init__(self, data: bytes, page: int):
        self.data, self.page = data, page
        self.xobject = pagexobj(PdfReader(fdata=data).pages[page - 1])
        left, bottom, right, top = (float(v) for v in self.xobject.BBox)
        self.origin = (left, bottom)
        self.width, self.height = right - left, top - bottom

    def draw(self, c: Canvas, x: float, y: float, w: float, h: float) -> None:
        c.saveState()
        c.translate(x, y)
        c.scale(w / self.width, h / self.height)
        c.translate(-self.origin[0], -self.origin[1])
        c.doForm(makerl(c, self.xobject))
        c.restoreState()

    def fresh(self) -> PdfPage:
        return PdfPage(self.data, self.page)


def open_art(
    path: Path, *, page: int = 1, boxes: Iterable[tuple[float, float]] = (), dpi: int = 300
) -> Art:
    """The art at ``path``; ``boxes`` are the sizes in pt it is drawn at, so a raster image
    keeps only the pixels ``dpi`` needs for the largest of them."""
    suffix = path.suffix.lower()
    if suffix == ".svg":
        return _svg(path)
    if suffix == ".pdf":
        return _pdf_page(path, page)
    return _raster(path, list(boxes), dpi)


def _raster(path: Path, boxes: list[tuple[float, float]], dpi: int) -> PdfPage:
    try:
        with Image.open(path, formats=["PNG", "JPEG"]) as image:
            _check_pixels(image, path.name, path)
            image.verify()  # decodes the data once, so a corrupt file fails here
        with Image.open(path, formats=["PNG", "JPEG"]) as image:
            size = image.size
            # A transparent PNG (a logo) keeps its alpha as a soft mask, not black.
            alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            # Scale to the largest box's pixels at ``dpi``, keeping the shape.
            needed = max((max(w / size[0], h / size[1]) * dpi / 72 for w, h in boxes), default=1)
            if needed >= 1:
                # From the path, reportlab embeds a JPEG's bytes as they are.
                return _encoded(ImageReader(str(path)), size, alpha)
            target = (max(1, round(size[0] * needed)), max(1, round(size[1] * needed)))
            smaller = image.resize(target, Image.Resampling.LANCZOS)
            if image.format == "JPEG":
                encoded = io.BytesIO()
                smaller.save(encoded, "JPEG", quality=92)
                return _encoded(ImageReader(io.BytesIO(encoded.getvalue())), target)
            return _encoded(ImageReader(smaller), target, alpha)
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DesignError(f"cannot read image {path.name}: {exc}", path=str(path)) from exc


def _encoded(reader: ImageReader, pixels: tuple[int, int], alpha: bool = False) -> PdfPage:
    """The image on a page of its own, a point a pixel, encoded once: every PDF drawn after
    copies its compressed stream rather than compressing the pixels again (for a one-page
    emailed certificate, most of the time it took)."""
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=pixels, invariant=1, pageCompression=1)
    c.drawImage(reader, 0, 0, *pixels, mask="auto" if alpha else None)
    c.showPage()
    c.save()
    return PdfPage(buffer.getvalue(), 1)


def _check_pixels(image: Image.Image, name: str, path: Path) -> None:
    pixels = image.width * image.height
    if pixels > MAX_IMAGE_PIXELS:
        raise DesignError(
            f"image {name} has {pixels:,} pixels; the limit is {MAX_IMAGE_PIXELS:,}",
            path=str(path),
            hint="downsample it to the print resolution (300 dpi is plenty)",
        )


def _svg(path: Path) -> Svg:
    """SVG art must be self-contained: an image or file it refers to outside itself could
    read any file the process can (a hostile design folder), so references are refused."""
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        root = etree.parse(str(path), parser).getroot()
    except (etree.XMLSyntaxError, OSError) as exc:
        raise DesignError(f"cannot read SVG {path.name}: {exc}", path=str(path)) from exc
    for node in root.iter():
        href = node.get(_XLINK_HREF) or node.get("href")
        if href is None or href.startswith("#"):
            continue
        embedded = _DATA_IMAGE.fullmatch(href.strip())
        if not embedded:
            raise DesignError(
                f"SVG {path.name} refers to '{href[:80]}' outside itself",
                path=str(path),
                hint="embed images in the SVG (data: URIs) or export the art as one file",
            )
        try:
            data = base64.b64decode(embedded.group(2), validate=False)
            with Image.open(io.BytesIO(data)) as image:
                _check_pixels(image, f"embedded in {path.name}", path)
        except (OSError, binascii.Error) as exc:
            message = f"SVG {path.name} embeds an unreadable image"
            raise DesignError(message, path=str(path)) from exc
    drawing = svg2rlg(str(path), resolve_entities=False)
    if drawing is None or not drawing.width or not drawing.height:
        raise DesignError(
            f"cannot draw SVG {path.name}",
            path=str(path),
            hint="give the <svg> element a width and height or a viewBox",
        )
    return Svg(drawing)


def _pdf_page(path: Path, page: int) -> PdfPage:
    try:
        data = path.read_bytes()
        pages = PdfReader(fdata=data).pages
    except (OSError, PdfParseError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DesignError(f"cannot read PDF {path.name}: {exc}", path=str(path)) from exc
    if not 1 <= page <= len(pages):
        raise DesignError(
            f"PDF {path.name} has {len(pages)} page(s), not a page {page}",
            path=str(path),
            field="page",
        )
    return PdfPage(data, page)
