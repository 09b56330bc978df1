"""Design art in the formats designers export, ready to draw.

PNG and JPEG are checked for size before they are decoded and downsampled to the print
resolution the design asks for; SVG (through svglib) and a page of a PDF (through pdfrw)
stay vector. Art is drawn once per PDF, in the static form every page shares.
"""

from __future__ import annotations

import base64
import functools
import io
import re
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import PIL
from pdfrw import PdfArray, PdfDict, PdfReader
from pdfrw.buildxobj import pagexobj
from pdfrw.toreportlab import makerl
from PIL import Image
from reportlab import Version as REPORTLAB_VERSION
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from certgen import cache, tint
from certgen.errors import DesignError
from certgen.inks import Press
from certgen.units import parse_color

# Pillow warns at ~89 Mpx and errors only at twice that; art for an A4 page at 300 dpi
# needs under 9 Mpx, so refuse anything past 40 Mpx before it is decoded.
MAX_IMAGE_PIXELS = 40_000_000
SCREEN_JPEG_QUALITY = 80  # no visible loss on a screen, a fraction of the bytes
_DATA_IMAGE = re.compile(r"data:image/(png|jpe?g);base64,(.*)", re.DOTALL)
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
# What an SVG may expand to (each <use> copies what it names): svglib stops at 10,000 uses
# with a warning and draws the rest blank, so past this the art is refused.
MAX_SVG_SHAPES = 10_000
# SVG features svglib draws wrongly (a gradient as solid black) or not at all.
_UNDRAWABLE = {
    "linearGradient": "a gradient",
    "radialGradient": "a gradient",
    "pattern": "a pattern fill",
    "filter": "a filter",
    "mask": "a mask",
}
_URL_REF = re.compile(r"url\(\s*['\"]?#([^)'\"\s]+)")
# A PDF background is a page of vector art and its images: its streams may inflate to this
# much in all, its images hold MAX_IMAGE_PIXELS each, and it may have this many objects.
MAX_PDF_INFLATED = 256 * 1024 * 1024
MAX_PDF_OBJECTS = 100_000
# Keys of a PDF that act (JavaScript, launching a program, opening a link or file) or are
# interactive rather than printed: removed from art at every level, so no output has them.
_ACTIVE_KEYS = frozenset(
    "/JS /JavaScript /AA /OpenAction /A /Launch /URI /Annots /AcroForm /EmbeddedFile "
    "/EmbeddedFiles /RichMedia /SubmitForm /ImportData /GoToR /GoToE /Sound /Movie /Rendition "
    "/Names".split()
)
_UP_KEYS = frozenset({"/Parent", "/P"})  # back to the document: not part of the page's art


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
        from reportlab.graphics import renderPDF

        renderPDF.draw(self.drawing, c, 0, 0)
        c.restoreState()


class PdfPage(Art):
    """A page of a PDF, drawn as a form XObject through pdfrw. pdfrw keeps every document
    it draws a page into on the page's objects, so a PdfPage serves one document and
    ``fresh`` reads another from the same bytes."""

    def __init__(self, data: bytes, page: int, fonts: bool = True, paint: tint.Paint | None = None):
        self.data, self.page, self.fonts, self.paint = data, page, fonts, paint
        source = PdfReader(fdata=data).pages[page - 1]
        _walk(source, measure=False)
        if paint is not None:
            _tinted_page(source, paint)
        if not fonts and source.Resources:  # reportlab's page default, never used by pixels
            source.Resources.Font = None
        self.xobject = pagexobj(source)
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
        return PdfPage(self.data, self.page, self.fonts, self.paint)


def open_art(
    path: Path,
    *,
    page: int = 1,
    boxes: Iterable[tuple[float, float]] = (),
    dpi: int = 300,
    screen: bool = False,
    press: Press | None = None,
    matte: str | None = None,
    tinted: str | None = None,
) -> Art:
    """The art at ``path``; ``boxes`` are the sizes in pt it is drawn at, so a raster image
    keeps only the pixels ``dpi`` needs for the largest of them. For a ``screen``, raster
    art without transparency is stored as the smaller of JPEG and lossless. For a ``press``
    (PDF/X), every piece of art is pixels in its CMYK, vector art rendered at ``dpi`` first
    (tinted PDF art stays vector, in the press's CMYK); ``matte`` (a colour) is what
    transparent pixels are flattened onto, if anything. ``tinted`` (a colour): the art in
    shades of it (``tint``)."""
    suffix = path.suffix.lower()
    if press is not None and not (tinted and suffix == ".pdf"):
        return _pressed(path, page, list(boxes), dpi, press, matte, tinted)
    if suffix == ".svg":
        return _svg(path, tinted)
    if suffix == ".pdf":
        return _pdf_page(path, page, _paint(tinted, press) if tinted else None)
    return _raster(path, list(boxes), dpi, screen, tinted)


def _paint(colour: str, press: Press | None) -> tint.Paint:
    """How tinted vector art sets a colour: its shade of ``colour``, in RGB or in the
    press's CMYK."""
    base = parse_color(colour)

    def paint(rgb: tint.RGB, stroking: bool) -> bytes:
        r, g, b = tint.shade(base, rgb)
        if press is None:
            return f"{r:.4f} {g:.4f} {b:.4f} {'RG' if stroking else 'rg'}".encode()
        hexed = "#" + "".join(f"{round(v * 255):02X}" for v in (r, g, b))
        c, m, y, k = press.cmyk(hexed)
        return f"{c:.4f} {m:.4f} {y:.4f} {k:.4f} {'K' if stroking else 'k'}".encode()

    return paint


def _raster(
    path: Path, boxes: list[tuple[float, float]], dpi: int, screen: bool, tinted: str | None
) -> PdfPage:
    """The image fitted and encoded once into the cache (decoding, checking, resampling
    and compressing are a tenth of a second of a one-certificate run)."""
    made = _cached(
        path,
        "raster",
        (boxes, dpi, screen, tinted),
        lambda: _fitted(path, boxes, dpi, screen, tinted),
    )
    return PdfPage(made, 1)


def _cached(path: Path, kind: str, details: object, make: Callable[[], PdfPage | bytes]) -> bytes:
    """Art made once into the cache, keyed by the file's bytes, ``details`` (the sizes it
    is drawn at, the resolution...) and the code and libraries that made it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        noun = "image" if kind == "raster" else "art"
        raise DesignError(f"cannot read {noun} {path.name}: {exc}", path=str(path)) from exc
    parts = (kind, PIL.__version__, REPORTLAB_VERSION, _code_digest(), cache.file_digest(data))

    def made() -> bytes:
        art = make()
        return art.data if isinstance(art, PdfPage) else art

    return cache.fetch("art", (*parts, repr(details)), made)


@functools.cache
def _code_digest() -> str:
    return cache.file_digest(Path(__file__).read_bytes()).hex()


def _fitted(
    path: Path, boxes: list[tuple[float, float]], dpi: int, screen: bool, tinted: str | None
) -> PdfPage:
    try:
        with Image.open(path, formats=["PNG", "JPEG"]) as checked:
            _check_pixels(checked, path.name, path)
            checked.verify()  # decodes the data once, so a corrupt file fails here
        with Image.open(path, formats=["PNG", "JPEG"]) as opened:
            image: Image.Image = tint.image(opened, tinted) if tinted else opened
            size = image.size
            # A transparent PNG (a logo) keeps its alpha as a soft mask, not black.
            alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            # Scale to the largest box's pixels at ``dpi``, keeping the shape.
            needed = max((max(w / size[0], h / size[1]) * dpi / 72 for w, h in boxes), default=1)
            if screen and not alpha:
                return _for_screen(image, min(needed, 1.0))
            if needed >= 1 and tinted:
                return _encoded(ImageReader(image), size, alpha)
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
    except DesignError:
        raise
    except Exception as exc:  # Pillow's decoders raise what the bytes make them
        raise DesignError(f"cannot read image {path.name}: {exc}", path=str(path)) from exc


def _for_screen(image: Image.Image, scale: float) -> PdfPage:
    """The art at ``scale`` as the smaller of a JPEG (photographs, fine line work) and
    lossless pixels (flat colour, which JPEG would blur at its edges for no gain)."""
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    pixels = image.convert("RGB")
    if size != image.size:
        pixels = pixels.resize(size, Image.Resampling.LANCZOS)
    jpeg = io.BytesIO()
    pixels.save(jpeg, "JPEG", quality=SCREEN_JPEG_QUALITY, optimize=True)
    as_jpeg = _encoded(ImageReader(io.BytesIO(jpeg.getvalue())), size)
    lossless = _encoded(ImageReader(pixels), size)
    return min(as_jpeg, lossless, key=lambda art: len(art.data))


class _Fontless(Canvas):  # type: ignore[misc]
    """A canvas whose pages set no font: reportlab's default (Helvetica, not embedded)
    would otherwise be named by art that has no text, which PDF/X refuses."""

    def _make_preamble(self) -> None:
        super()._make_preamble()
        self._preamble = self._preamble.split(" BT ")[0]  # type: ignore[has-type]


def _encoded(
    reader: ImageReader, pixels: tuple[int, int], alpha: bool = False, fontless: bool = False
) -> PdfPage:
    """The image on a page of its own, a point a pixel, encoded once: every PDF drawn after
    copies its compressed stream rather than compressing the pixels again (for a one-page
    emailed certificate, most of the time it took)."""
    buffer = io.BytesIO()
    c = (_Fontless if fontless else Canvas)(buffer, pagesize=pixels, invariant=1, pageCompression=1)
    c.drawImage(reader, 0, 0, *pixels, mask="auto" if alpha else None)
    c.showPage()
    c.save()
    return PdfPage(buffer.getvalue(), 1)


class _CmykReader(ImageReader):  # type: ignore[misc]
    """CMYK pixels with an alpha channel, which reportlab's own reader drops: the image
    goes in as DeviceCMYK with the alpha as its soft mask."""

    def __init__(self, cmyk: Image.Image, alpha: Image.Image | None):
        super().__init__(cmyk)
        self.alpha = alpha

    def getRGBData(self) -> bytes:  # reportlab's name; the data is CMYK
        if self._data is None:  # type: ignore[has-type]
            self.mode = "CMYK"
            self._dataA = ImageReader(self.alpha) if self.alpha is not None else None
            self._data = self._image.tobytes()
        return bytes(self._data)


def _pressed(
    path: Path,
    page: int,
    boxes: list[tuple[float, float]],
    dpi: int,
    press: Press,
    matte: str | None,
    tinted: str | None,
) -> PdfPage:
    """The art as CMYK pixels for ``press``, encoded once into the cache like raster art;
    transparent pixels flattened onto ``matte`` where it is given, else a soft mask."""

    def make() -> bytes:
        picture = _pixels(path, page, boxes, dpi)
        if tinted:
            picture = tint.image(picture, tinted)
        alpha = picture.getchannel("A") if "A" in picture.getbands() else None
        if alpha is not None and alpha.getextrema()[0] == 255:
            alpha = None  # opaque after all
        if alpha is not None and matte is not None:
            colour = tuple(round(v * 255) for v in parse_color(matte))
            ground = Image.new("RGB", picture.size, colour)
            ground.paste(picture.convert("RGB"), mask=alpha)
            picture, alpha = ground, None
        reader = _CmykReader(press.image(picture), alpha)
        return _encoded(reader, picture.size, alpha is not None, fontless=True).data

    made = _cached(path, "press", (press.digest, page, boxes, dpi, matte, tinted), make)
    return PdfPage(made, 1, fonts=False)


def _pixels(path: Path, page: int, boxes: list[tuple[float, float]], dpi: int) -> Image.Image:
    """The art as pixels enough for its largest box at ``dpi``: raster art downsampled
    (never enlarged), vector art rendered by PDFium (an SVG drawn to a PDF page first)."""
    suffix = path.suffix.lower()
    if suffix in (".svg", ".pdf"):
        import pypdfium2 as pdfium  # only a PDF/X run of vector art renders it

        if suffix == ".svg":
            vector: Art = _svg(path)
            buffer = io.BytesIO()
            c = Canvas(buffer, pagesize=(vector.width, vector.height), invariant=1)
            vector.draw(c, 0, 0, vector.width, vector.height)
            c.showPage()
            c.save()
            source, number = buffer.getvalue(), 1
        else:
            vector, source, number = _pdf_page(path, page), path.read_bytes(), page
        scale = max((max(w / vector.width, h / vector.height) for w, h in boxes), default=1.0)
        document = pdfium.PdfDocument(source)
        try:
            bitmap = document[number - 1].render(
                scale=scale * dpi / 72, fill_color=(255, 255, 255, 0), may_draw_forms=False
            )
            rendered: Image.Image = bitmap.to_pil()
            return rendered.convert("RGBA")
        finally:
            document.close()
    try:
        with Image.open(path, formats=["PNG", "JPEG"]) as image:
            _check_pixels(image, path.name, path)
            image.load()
            size = image.size
            needed = max((max(w / size[0], h / size[1]) * dpi / 72 for w, h in boxes), default=1)
            transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            picture = image.convert("RGBA" if transparent else "RGB")
    except DesignError:
        raise
    except Exception as exc:  # Pillow's decoders raise what the bytes make them
        raise DesignError(f"cannot read image {path.name}: {exc}", path=str(path)) from exc
    if needed < 1:
        target = (max(1, round(size[0] * needed)), max(1, round(size[1] * needed)))
        picture = picture.resize(target, Image.Resampling.LANCZOS)
    return picture


def transparent(art: Art) -> bool:
    """Whether the art has transparent pixels (a soft mask): PDF/X-1a forbids them."""
    return isinstance(art, PdfPage) and b"/SMask" in art.data


def _check_pixels(image: Image.Image, name: str, path: Path) -> None:
    pixels = image.width * image.height
    if pixels > MAX_IMAGE_PIXELS:
        raise DesignError(
            f"image {name} has {pixels:,} pixels; the limit is {MAX_IMAGE_PIXELS:,}",
            path=str(path),
            hint="downsample it to the print resolution (300 dpi is plenty)",
        )


def _svg(path: Path, tinted: str | None = None) -> Svg:
    """SVG art must be self-contained: an image or file it refers to outside itself could
    read any file the process can (a hostile design folder), so references are refused."""
    # lxml, svglib and reportlab's graphics: 70 ms of start-up only SVG art needs.
    from lxml import etree
    from svglib.svglib import svg2rlg

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
            with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as image:
                _check_pixels(image, f"embedded in {path.name}", path)
                image.verify()
        except DesignError:
            raise
        except Exception as exc:  # as for an image file: whatever the bytes make Pillow raise
            message = f"SVG {path.name} embeds an unreadable image ({exc})"
            raise DesignError(message, path=str(path)) from exc
    _check_drawable(root, path)
    try:
        drawing = svg2rlg(str(path), resolve_entities=False)
    except Exception as exc:  # svglib's parsers trust the file's numbers and units
        raise DesignError(f"cannot draw SVG {path.name}: {exc}", path=str(path)) from exc
    if drawing is None or not drawing.width or not drawing.height:
        raise DesignError(
            f"cannot draw SVG {path.name}",
            path=str(path),
            hint="give the <svg> element a width and height or a viewBox",
        )
    if tinted:
        _tinted_drawing(drawing, parse_color(tinted), path)
    return Svg(drawing)


def _tinted_drawing(node: Any, colour: tint.RGB, path: Path) -> None:
    """Every shape's fill and stroke in shades of ``colour``."""
    from reportlab.graphics.shapes import Image as Picture
    from reportlab.lib.colors import Color

    if isinstance(node, Picture):
        raise _untintable(path, tint.Untintable("it has an image"))
    for key in ("fillColor", "strokeColor"):
        value = getattr(node, key, None)
        if isinstance(value, Color):
            shaded = tint.shade(colour, (value.red, value.green, value.blue))
            setattr(node, key, Color(*shaded, alpha=value.alpha))
    for child in getattr(node, "contents", ()):
        _tinted_drawing(child, colour, path)


def _untintable(path: Path, exc: tint.Untintable) -> DesignError:
    return DesignError(
        f"{path.name} cannot be tinted: {exc}",
        path=str(path),
        hint="tint a PNG, a JPEG or vector art of paths alone, or leave tint out",
    )


def _tinted_page(page: PdfDict, paint: tint.Paint) -> None:
    """The page's content and its forms' content with every colour through ``paint``;
    the page starts in the tint's own colour (a form draws in the colour it is called in).
    Art that shows no text loses the fonts it names by habit (reportlab's Helvetica, which
    PDF/X would refuse as not embedded)."""
    contents = page.Contents
    streams = list(contents) if isinstance(contents, PdfArray) else [contents]
    start = paint((0.0, 0.0, 0.0), False) + b" " + paint((0.0, 0.0, 0.0), True) + b"\n"
    painted = list(streams)
    text = _repainted(streams, paint, start)
    resources, seen, resources_seen = [page.Resources], set(), []
    while resources:
        held = resources.pop()
        if not isinstance(held, PdfDict) or id(held) in seen:
            continue
        seen.add(id(held))
        resources_seen.append(held)
        if held.Shading or held.Pattern:
            raise tint.Untintable("it has a gradient or a pattern")
        for xobject in (held.XObject or {}).values():
            if xobject.Subtype == "/Image":
                raise tint.Untintable("it has an image")
            text = _repainted([xobject], paint, b"") or text
            painted.append(xobject)
            resources.append(xobject.Resources)
    if not text:
        for held in resources_seen:
            held.Font = None
        for stream in painted:  # and the empty text objects that name them
            stream.stream = _TEXT_OBJECT.sub("", stream.stream)


_SHOWS_TEXT = re.compile(rb"(?<![A-Za-z])(?:Tj|TJ)(?![A-Za-z])")
_TEXT_OBJECT = re.compile(r"(?<![A-Za-z])BT(?![A-Za-z]).*?(?<![A-Za-z])ET(?![A-Za-z])", re.DOTALL)


def _repainted(streams: list[PdfDict], paint: tint.Paint, start: bytes) -> bool:
    """The streams repainted; whether any shows text."""
    text = False
    for number, stream in enumerate(streams):
        data = (start if number == 0 else b"") + _decoded(stream)
        stream.Filter, stream.DecodeParms = None, None
        stream.stream = tint.content(data, paint).decode("latin-1")
        text = text or bool(_SHOWS_TEXT.search(data))
    return text


def _decoded(stream: PdfDict) -> bytes:
    """A content stream's bytes through its filters (Flate and ASCII85, as drawing
    programs and reportlab write them; the inflated size was measured on reading)."""
    filters = stream.Filter
    names = list(filters) if isinstance(filters, PdfArray) else [filters] if filters else []
    data = stream.stream.encode("latin-1")
    for name in names:
        flate = name in ("/FlateDecode", "/Fl") and not stream.DecodeParms
        if not flate and name not in ("/ASCII85Decode", "/A85"):
            raise tint.Untintable(f"its content is encoded with {name}, which certgen cannot read")
        try:
            if flate:
                data = zlib.decompress(data)
            else:
                data = base64.a85decode(data.strip().removeprefix(b"<~").removesuffix(b"~>"))
        except (zlib.error, ValueError) as exc:
            raise tint.Untintable(f"its content is damaged ({exc})") from None
    return bytes(data)


def _check_drawable(root: Any, path: Path) -> None:
    """Refuse what svglib would draw wrongly: gradients, patterns, filters and masks, and
    more shapes (counting what each <use> copies) than it draws."""
    from lxml import etree

    ids = {node.get("id"): node for node in root.iter() if node.get("id")}
    for node in root.iter():
        for ref in _URL_REF.findall(" ".join(str(v) for v in node.attrib.values())):
            target = ids.get(ref)
            kind = _UNDRAWABLE.get(etree.QName(target).localname) if target is not None else None
            if kind:
                raise DesignError(
                    f"SVG {path.name} uses {kind}, which certgen cannot draw (it would print "
                    "wrongly)",
                    path=str(path),
                    hint="flatten it in the drawing program, or export the art as PDF or PNG",
                )
    # Keyed by the element itself: the dict keeps lxml's proxy alive, so it stays the same.
    weights: dict[Any, int] = {}

    def weight(node: Any, using: frozenset[Any]) -> int:
        key = node
        if key in weights:
            return weights[key]
        if key in using:
            raise DesignError(f"SVG {path.name} has a <use> that refers to itself", path=str(path))
        total = 1
        href = node.get(_XLINK_HREF) or node.get("href") or ""
        if href.startswith("#") and href[1:] in ids:
            total += weight(ids[href[1:]], using | {key})
        for child in node:
            total += weight(child, using | {key})
            if total > MAX_SVG_SHAPES:
                break
        if total > MAX_SVG_SHAPES:
            raise DesignError(
                f"SVG {path.name} draws more than {MAX_SVG_SHAPES:,} shapes (counting what "
                "each <use> copies)",
                path=str(path),
                hint="simplify it, or export the art as PDF or PNG",
            )
        weights[key] = total
        return total

    weight(root, frozenset())


def _pdf_page(path: Path, page: int, paint: tint.Paint | None = None) -> PdfPage:
    try:
        data = path.read_bytes()
        pages = PdfReader(fdata=data).pages
        if 1 <= page <= len(pages):
            _walk(pages[page - 1], measure=True)
            art = PdfPage(data, page, paint=paint)
    except tint.Untintable as exc:
        raise _untintable(path, exc) from None
    except DesignError as exc:
        raise DesignError(
            f"PDF {path.name}: {exc.message}", path=str(path), hint=exc.hint
        ) from None
    except Exception as exc:  # pdfrw trusts the file's structure
        raise DesignError(f"cannot read PDF {path.name}: {exc}", path=str(path)) from exc
    if not 1 <= page <= len(pages):
        raise DesignError(
            f"PDF {path.name} has {len(pages)} page(s), not a page {page}",
            path=str(path),
            field="page",
        )
    return art


def _walk(page: PdfDict, *, measure: bool) -> None:
    """Remove every acting or interactive key (``_ACTIVE_KEYS``) from the page's content and
    resources, at every level; with ``measure``, also refuse a page whose streams inflate
    past MAX_PDF_INFLATED, whose images pass MAX_IMAGE_PIXELS or that has more objects than
    MAX_PDF_OBJECTS: all before anything decodes them."""
    for key in _ACTIVE_KEYS & set(page.keys()):
        page[key] = None  # pdfrw: None deletes the key
    stack: list[Any] = [page.Contents, page.Resources]
    seen: set[int] = set()
    inflated = 0
    while stack:
        obj = stack.pop()
        if not isinstance(obj, PdfDict | PdfArray) or id(obj) in seen:
            continue
        seen.add(id(obj))
        if measure and len(seen) > MAX_PDF_OBJECTS:
            raise DesignError(f"its page has more than {MAX_PDF_OBJECTS:,} objects")
        if isinstance(obj, PdfArray):
            stack.extend(obj)
            continue
        for key in _ACTIVE_KEYS & set(obj.keys()):
            obj[key] = None
        if measure and obj.stream is not None:
            inflated += _inflated(obj, MAX_PDF_INFLATED - inflated)
        stack.extend(value for key, value in obj.iteritems() if key not in _UP_KEYS)


def _inflated(stream: PdfDict, room: int) -> int:
    """The bytes a stream decodes to, counted a block at a time and never past ``room``;
    an image's pixels are checked from its dictionary."""
    if stream.Subtype == "/Image":
        pixels = int(stream.Width or 0) * int(stream.Height or 0)
        if pixels > MAX_IMAGE_PIXELS:
            raise DesignError(
                f"an image in it has {pixels:,} pixels; the limit is {MAX_IMAGE_PIXELS:,}",
                hint="downsample its images to the print resolution",
            )
    filters = stream.Filter
    first = filters[0] if isinstance(filters, PdfArray) and filters else filters
    raw = stream.stream.encode("latin-1")
    if first not in ("/FlateDecode", "/Fl"):
        return len(raw)
    inflater = zlib.decompressobj()
    total, pending = 0, raw
    while pending and not inflater.eof:
        try:
            total += len(inflater.decompress(pending, 1 << 20))
        except zlib.error:
            break  # damaged data ends the stream here, for a viewer as for certgen
        pending = inflater.unconsumed_tail
        if total > room:
            raise DesignError(
                f"its content inflates to more than {MAX_PDF_INFLATED // 2**20} MiB",
                hint="a background needs far less: export it again, with images downsampled",
            )
    return total
