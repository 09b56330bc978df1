"""Drawing certificates as PDF pages. With ``art``, the only module that imports reportlab.

Input is plain data: each certificate's rendered strings and QR matrices. The design's
static parts (background, images, rules, text without variables) go into one form
XObject drawn on every page, so a long run stores the art once.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import io
import pickle
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from reportlab import Version as REPORTLAB_VERSION
from reportlab import rl_config
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTEncoding, TTFError, TTFont, TTFontFace
from reportlab.pdfgen.canvas import Canvas

from certgen import __version__, art, cache, qr, slimfont, typeset, units
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
from certgen.mailing import (
    ADDRESS_FONT,
    ADDRESS_MIN_SIZE,
    ADDRESS_SIZE,
    FOLD_MARK,
    LETTER_SIZE,
    Envelope,
)
from certgen.qr import Matrix
from certgen.sheets import Sheet

STATIC_FORM = "certgen-static"
BACK_FORM = "certgen-back"  # the same for the back side, with --duplex
rl_config.useA85 = 0  # ASCII85 makes every stream a quarter larger, for 7-bit channels we never use
SHRINK_STEP = 0.25  # pt


@dataclass(frozen=True)
class Metrics:
    """How far the fonts of some lines reach above and below the baseline, in thousandths
    of an em: the element's own font, widened by any fallback its lines draw from."""

    ascent: float
    descent: float  # negative, below the baseline

    def extent(self, size: float, lines: int, line_height: float) -> float:
        """Height in pt from the first line's ascender to the last line's descender."""
        return (lines - 1) * size * line_height + (self.ascent - self.descent) * size / 1000


@dataclass(frozen=True)
class Fitted:
    """A text laid out in its element: the size chosen and its lines; ``shaped`` and
    ``metrics`` keep what fitting measured, so drawing does not shape the lines again."""

    size: float
    lines: tuple[str, ...]
    shaped: tuple[typeset.Line, ...] = field(default=(), compare=False, repr=False)
    metrics: Metrics | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Certificate:
    """Everything that differs between certificates, ready to draw."""

    code: str
    texts: Mapping[str, Fitted]  # element id -> laid-out text (dynamic elements only)
    code_text: str
    qr: Mapping[str, Matrix]  # element id -> modules
    mailer: MailerText | None = None  # on a mailer: what its top panel prints


@dataclass(frozen=True)
class MailerText:
    """A mailer's top panel: the address block in the window, the business's return address
    above it, and the cover letter beside the window."""

    address: Fitted
    sender: Fitted | None = None
    letter: Fitted | None = None


class GlyphFont(TTFont):  # type: ignore[misc]
    """A TrueType font drawn glyph by glyph, as HarfBuzz placed them.

    reportlab subsets fonts by character, so a glyph with no character of its own (an
    Arabic joining form, a ligature, a Devanagari conjunct) is given a private-use one, and
    the subset's ToUnicode map sends that back to the text the glyph stands for: copying
    or searching the PDF finds the name as it was typed.
    """

    def __init__(self, name: str, path: Path):
        # TTFont.__init__, with the face read through the cache
        self.fontName, self.face, self.encoding = name, _face_of(path), TTEncoding()
        self.state: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self._asciiReadable = False  # else every subset holds all of ASCII, used or not
        self.shapable = not any(fnmatch.fnmatch(name, glob) for glob in rl_config.unShapedFontGlob)
        self._private: dict[tuple[int, str], str] = {}
        self._meaning: dict[int, str] = {}  # private code point -> text
        self._next_private = 0xE000

    def char(self, glyph: typeset.Glyph) -> str:
        """The character that selects ``glyph`` in this font's PDF subsets."""
        if len(glyph.text) == 1 and ord(glyph.text) in self.face.glyphToChar.get(glyph.gid, ()):
            return glyph.text
        key = (glyph.gid, glyph.text)
        if key not in self._private:
            face = self.face
            while self._next_private in face.charToGlyph:
                self._next_private += 1
            code = self._next_private
            face.charToGlyph[code] = glyph.gid
            face.charWidths[code] = glyph.width
            self._meaning[code] = glyph.text
            self._private[key] = chr(code)
        return self._private[key]

    def addObjects(self, doc: Any) -> None:
        state = self.state.get(doc)
        subsets = [list(s) for s in state.subsets] if state else []
        names = [self.getSubsetInternalName(n, doc)[1:] for n in range(len(subsets))]
        super().addObjects(doc)
        fonts = doc.idToObject["BasicFonts"].dict
        for name, subset in zip(names, subsets, strict=True):
            stream = doc.idToObject[fonts[name].ToUnicode.name]
            for index, code in enumerate(subset):
                if code in self._meaning:
                    meaning = self._meaning[code].encode("utf-16-be").hex().upper()
                    stream.content = stream.content.replace(
                        f"<{index:02X}> <{code:04X}>", f"<{index:02X}> <{meaning}>"
                    )


class _Face(TTFontFace):  # type: ignore[misc]
    """A face whose subsets carry no hinting and a short name table (``slimfont``), each
    made once a process: the emails of a run draw the same fixed text in every message."""

    _SUBSETS_KEPT = 512

    def makeSubset(self, subset: list[int]) -> bytes:
        made: dict[tuple[int, ...], bytes] = self.__dict__.setdefault("_subsets", {})
        key = tuple(subset)
        if key not in made:
            if len(made) >= self._SUBSETS_KEPT:
                made.clear()
            made[key] = slimfont.slim(super().makeSubset(subset))
        return made[key]


def _face_of(path: Path) -> TTFontFace:
    """reportlab's parse of a font file: its tables of characters, glyphs and widths, read
    once into the cache (pure Python, tens of milliseconds a font) and unpickled after."""
    data = path.read_bytes()

    def parse() -> bytes:
        source = io.BytesIO(data)
        source.name = str(path)  # for reportlab's messages and the subsets' names
        face = TTFontFace(source)
        unkept = {"_ttf_data", "_pdfScale"}  # the file itself; a function of unitsPerEm
        return pickle.dumps({k: v for k, v in vars(face).items() if k not in unkept}, 5)

    face = _Face.__new__(_Face)
    parts = ("reportlab-face", REPORTLAB_VERSION, cache.file_digest(data))
    # written by certgen, digest-checked, in the app folder (docs/security.md)
    face.__dict__.update(pickle.loads(cache.fetch("fonts", parts, parse)))  # noqa: S301
    face._ttf_data, face.filename = data, str(path)  # the entry may be another copy's
    scale = 1000 / face.unitsPerEm
    face._pdfScale = (lambda x: x) if scale == 1 else (lambda x: x * scale)
    return face


_GLYPH_FONTS: dict[Path, GlyphFont] = {}


def glyph_font(path: Path) -> GlyphFont:
    """reportlab's font registry is global: one registered font per file."""
    if path not in _GLYPH_FONTS:
        try:
            font = GlyphFont(f"certgen:{path}", path)
        except (TTFError, OSError) as exc:
            raise DesignError(f"cannot read font {path.name}: {exc}", path=str(path)) from exc
        except Exception as exc:  # reportlab's reader trusts the bytes (struct errors)
            message = f"cannot read font {path.name}: {type(exc).__name__}: {exc}"
            raise DesignError(message, path=str(path)) from exc
        namesakes = sum(f.face.name == font.face.name for f in _GLYPH_FONTS.values())
        if namesakes:  # two files of one font (a design's own copy of a shared one):
            font.face.subfontNameX = b"-%d" % (namesakes + 1)  # subsets need distinct names
        pdfmetrics.registerFont(font)
        _GLYPH_FONTS[path] = font
    return _GLYPH_FONTS[path]


def register_fonts(design: Design) -> None:
    """Open the fonts the design's elements name, so a broken file fails before any work.
    Fallback fonts (large CJK ones among them) are opened when a character needs them."""
    for element in design.manifest.elements:
        if isinstance(element, TextElement | CodeElement):
            glyph_font(design.fonts[element.font][element.style])


def _chain(design: Design, element: TextElement | CodeElement) -> tuple[Path, ...]:
    return design.font_chain(element.font, element.style)


def _face(design: Design, element: TextElement | CodeElement) -> Any:
    return glyph_font(design.fonts[element.font][element.style]).face


def _metrics(chain: tuple[Path, ...], lines: Iterable[str]) -> Metrics:
    paths = frozenset(run.path for text in lines for run in typeset.layout(text, chain).runs)
    return _reach(chain[0], paths)


@functools.cache
def _reach(first: Path, others: frozenset[Path]) -> Metrics:
    faces = [glyph_font(path).face for path in {first, *others}]
    return Metrics(max(f.ascent for f in faces), min(f.descent for f in faces))


def missing_glyphs(design: Design, element: TextElement, text: str) -> list[str]:
    """Characters of ``text`` that no font in the element's chain can draw."""
    return typeset.uncovered(text, _chain(design, element))


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
    chain = _chain(design, element)
    width, height = units.mm_to_pt(element.width), units.mm_to_pt(element.height)
    sizes = _sizes(element.size, element.min_size or element.size)
    hard_lines = text.split("\n")
    metrics = _metrics(chain, hard_lines)  # wrapping moves words, not fonts, between lines
    # Shaped once at 1000 units an em; a width at any size is a multiplication.
    advances = [typeset.layout(line, chain).advance for line in hard_lines]
    for size in sizes:
        if len(hard_lines) > element.max_lines:
            break
        if metrics.extent(size, len(hard_lines), element.line_height) > height:
            continue
        if all(advance * size / 1000 <= width for advance in advances):
            return _fitted(size, hard_lines, chain, metrics)
    if element.max_lines == 1:
        return None
    for size in sizes:
        lines = _wrap(text, width, functools.partial(_width, chain=chain, size=size))
        if (
            lines is not None
            and len(lines) <= element.max_lines
            and metrics.extent(size, len(lines), element.line_height) <= height
        ):
            return _fitted(size, lines, chain, metrics)
    return None


def _fitted(size: float, lines: list[str], chain: tuple[Path, ...], metrics: Metrics) -> Fitted:
    shaped = tuple(typeset.layout(line, chain) for line in lines)  # just shaped: cached
    return Fitted(size, tuple(lines), shaped, metrics)


def _width(text: str, chain: tuple[Path, ...], size: float) -> float:
    return typeset.layout(text, chain).width(size)


def _sizes(largest: float, smallest: float) -> list[float]:
    steps = int(round((largest - smallest) / SHRINK_STEP))
    return [largest - i * SHRINK_STEP for i in range(steps)] + [smallest]


def load_art(design: Design) -> dict[tuple[str, int], art.Art]:
    """Every piece of art the design draws, by file and page, for one document: opened,
    checked and encoded once a process (every chunk and every emailed certificate draws
    it), raster art downsampled to the largest size it is drawn at."""
    key = (design.path, design.hash, design.manifest.design.art_dpi, design.screen)
    if key not in _ART:
        _ART.clear()  # one design a run
        _ART[key] = _open_art(design)
    return {name: opened.fresh() for name, opened in _ART[key].items()}


_ART: dict[tuple[Path, str, int, bool], dict[tuple[str, int], art.Art]] = {}


def _open_art(design: Design) -> dict[tuple[str, int], art.Art]:
    page = design.manifest.design
    boxes: dict[tuple[str, int], list[tuple[float, float]]] = {}
    if page.background:
        size = (units.mm_to_pt(design.width_mm), units.mm_to_pt(design.height_mm))
        boxes.setdefault((page.background, page.background_page), []).append(size)
    for e in design.manifest.elements:
        if isinstance(e, ImageElement) and e.file in design.assets:  # no logo: left out
            size = (units.mm_to_pt(e.width), units.mm_to_pt(e.height))
            boxes.setdefault((e.file, e.page), []).append(size)
    return {
        (name, number): art.open_art(
            design.assets[name], page=number, boxes=sizes, dpi=page.art_dpi, screen=design.screen
        )
        for (name, number), sizes in boxes.items()
    }


@functools.cache  # asked for every certificate of a mailing run, when fitted and drawn
def address_box(envelope: Envelope, lines: int) -> TextElement:
    """The element an address block of ``lines`` lines is fitted into and drawn as."""
    return _panel_box("address", envelope.address, max(lines, 1), ADDRESS_SIZE, "top")


@functools.cache
def sender_box(envelope: Envelope) -> TextElement:
    """The return address's element: USPS's at the top left of the address area, DIN's
    return line just above the recipient zone."""
    valign: Literal["top", "bottom"] = "top" if envelope.style == "us" else "bottom"
    return _panel_box("sender", envelope.sender_zone, envelope.sender_lines, 8.0, valign)


@functools.cache
def letter_box(envelope: Envelope) -> TextElement:
    """The cover letter's element, beside the window."""
    return _panel_box("letter", envelope.letter, 40, LETTER_SIZE, "top", line_height=1.3)


def _panel_box(
    name: str,
    box: tuple[float, float, float, float],
    lines: int,
    size: float,
    valign: Literal["top", "bottom"],
    line_height: float = 1.15,
) -> TextElement:
    left, top, right, bottom = box
    return TextElement(
        type="text",
        id=name,
        x=left,
        y=top,
        width=right - left,
        height=bottom - top,
        text="",
        font=ADDRESS_FONT,
        size=size,
        min_size=ADDRESS_MIN_SIZE,
        max_lines=lines,
        line_height=line_height,
        valign=valign,
    )


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
    art: Mapping[tuple[str, int], art.Art]
    # (text, fonts, size) -> its text-showing operators: names and dates repeat in a run.
    shown: dict[tuple[str, tuple[Path, ...], float], str] = field(default_factory=dict)


def _draw_text(s: Surface, element: TextElement, cert: Certificate) -> None:
    fitted = cert.texts[element.id]
    if fitted.lines == ("",) and element.blank == "line":
        _draw_blank_line(s.canvas, s.page, element, _face(s.design, element))
    else:
        _draw_lines(s, element, fitted, element.line_height)


def _draw_code(s: Surface, element: CodeElement, cert: Certificate) -> None:
    _draw_lines(s, element, Fitted(element.size, (cert.code_text,)), 1.2)


def _draw_image(s: Surface, element: ImageElement, cert: Certificate) -> None:
    c, page = s.canvas, s.page
    if element.file not in s.design.assets:  # the business's logo, where it has none
        return
    picture = s.art[element.file, element.page]
    left, top = page.x(element.x), page.y(element.y)
    width, height = units.mm_to_pt(element.width), units.mm_to_pt(element.height)
    if element.fit == "stretch":
        picture.draw(c, left, top - height, width, height)
        return
    iw, ih = picture.width, picture.height
    scale = (max if element.fit == "cover" else min)(width / iw, height / ih)
    dw, dh = iw * scale, ih * scale
    c.saveState()
    clip = c.beginPath()
    clip.rect(left, top - height, width, height)
    c.clipPath(clip, stroke=0, fill=0)
    picture.draw(c, left + (width - dw) / 2, top - height + (height - dh) / 2, dw, dh)
    c.restoreState()


def _draw_lines(
    s: Surface, element: TextElement | CodeElement, fitted: Fitted, line_height: float
) -> None:
    c, page, chain = s.canvas, s.page, _chain(s.design, element)
    size = fitted.size
    metrics = fitted.metrics or _metrics(chain, fitted.lines)
    shaped = fitted.shaped or tuple(typeset.layout(text, chain) for text in fitted.lines)
    block = metrics.extent(size, len(fitted.lines), line_height)
    box_h = units.mm_to_pt(element.height)
    valign = getattr(element, "valign", "middle")
    offset = {"top": 0.0, "middle": (box_h - block) / 2, "bottom": box_h - block}[valign]
    baseline = page.y(element.y) - offset - metrics.ascent * size / 1000
    left, width = page.x(element.x), units.mm_to_pt(element.width)
    c.setFillColorRGB(*units.parse_color(element.color))
    for text, line in zip(fitted.lines, shaped, strict=True):
        if line.runs:
            slack = width - line.width(size)
            x = left + {"left": 0.0, "center": slack / 2, "right": slack}[element.align]
            key = (text, chain, size)
            if key not in s.shown:
                s.shown[key] = _show_glyphs(c, line, size)
            c.addLiteral(f"BT 1 0 0 1 {_num(x)} {_num(baseline)} Tm\n{s.shown[key]}\nET")
        baseline -= size * line_height


def _show_glyphs(c: Canvas, line: typeset.Line, size: float) -> str:
    """Operators that show the glyphs where HarfBuzz placed them, left to right (TJ moves for
    kerning and marks, Ts for raised marks). Viewers read right-to-left runs back into
    typed order themselves (PDFium, as in Chrome, does); an ActualText span would confuse
    them, so it is added only where the glyphs cannot spell the line one by one."""
    doc = c._doc  # reportlab's document: fonts number their subsets per document
    actual = line.spelled != line.text
    ops = []
    if actual:
        ops.append(f"/Span <</ActualText <FEFF{line.text.encode('utf-16-be').hex().upper()}>>> BDC")
    pen = cursor = rise = 0.0  # thousandths of an em; cursor: where the PDF's text position is
    parts: list[str] = []

    def flush() -> None:
        if parts:
            ops.append(f"[{' '.join(parts)}] TJ")
            parts.clear()

    for run in line.runs:
        font = glyph_font(run.path)
        chars = [font.char(glyph) for glyph in run.glyphs]
        glyphs = iter(zip(run.glyphs, chars, strict=True))
        for subset, codes in font.splitString("".join(chars), doc):
            flush()
            ops.append(f"{font.getSubsetInternalName(subset, doc)} {_num(size)} Tf")
            for code, (glyph, char) in zip(codes, glyphs, strict=False):
                if glyph.dy != rise:
                    flush()
                    rise = glyph.dy
                    ops.append(f"{_num(rise * size / 1000)} Ts")
                target = pen + glyph.dx
                if abs(target - cursor) > 0.01:
                    parts.append(_num(cursor - target))
                parts.append(f"<{code:02X}>")
                cursor = target + font.face.getCharWidth(ord(char))
                pen += glyph.advance
    flush()
    if rise:
        ops.append("0 Ts")
    if actual:
        ops.append("EMC")
    return "\n".join(ops)


def _num(value: float) -> str:
    """A PDF number: short, and the same on every machine."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _draw_blank_line(c: Canvas, page: Page, element: TextElement, face: Any) -> None:
    """A rule to write on by hand, where the text's baseline would be."""
    size = element.size
    ascent, descent = face.ascent * size / 1000, face.descent * size / 1000
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
    rects = [_qr_rect(x, y, n) for y, bits in enumerate(modules.rows) for x, n in qr.row_runs(bits)]
    c.addLiteral("".join(rects) + "f")
    c.restoreState()


@functools.lru_cache(maxsize=65536)  # bounded: the largest codes have 177**3 rectangles
def _qr_rect(x: int, y: int, length: int) -> str:
    return f"{x} {y} {length} 1 re\n"


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
    """Writes certificates to a binary stream: one a page, or several to a printer sheet."""

    def __init__(
        self,
        design: Design,
        stream: BinaryIO,
        *,
        title: str,
        sheet: Sheet | None = None,
        envelope: Envelope | None = None,
        duplex: bool = False,
    ):
        register_fonts(design)
        self.trim = (units.mm_to_pt(design.width_mm), units.mm_to_pt(design.height_mm))
        size = (units.mm_to_pt(sheet.width), units.mm_to_pt(sheet.height)) if sheet else self.trim
        self.bleed = units.mm_to_pt(sheet.bleed) if sheet else 0.0
        c = Canvas(stream, pagesize=size, invariant=1, pageCompression=1)
        if sheet and len(sheet.slots) == 1:  # where to cut, for the print shop's software
            left, top = (units.mm_to_pt(v) for v in sheet.slots[0])
            bottom = size[1] - top - self.trim[1]
            trim_box = (left, bottom, left + self.trim[0], bottom + self.trim[1])
            c.setTrimBox(trim_box)
            b = self.bleed
            c.setBleedBox((trim_box[0] - b, trim_box[1] - b, trim_box[2] + b, trim_box[3] + b))
        c.setTitle(title)
        c.setAuthor("certgen")
        c.setSubject("Gift certificates")
        c.setCreator(f"certgen {__version__}")
        c.setProducer(f"certgen {__version__}")
        self.surface = Surface(c, Page(design.height_mm), design, load_art(design))
        sides = ("front", "back") if duplex else ("front",)
        elements = {s: [e for e in design.manifest.elements if e.side == s] for s in sides}
        self.static = {s: [e for e in elements[s] if design.is_static(e)] for s in sides}
        self.dynamic = {s: [e for e in elements[s] if not design.is_static(e)] for s in sides}
        self.duplex = duplex
        self.on_sheet: list[Certificate] = []  # the sheet being filled, for its back
        self.sheet, self.height = sheet, size[1]
        self.marks = sheet.marks() if sheet else []
        self.envelope = envelope
        # The address is placed on the mailer sheet, in its own coordinates.
        paper = envelope.paper[1] if envelope else design.height_mm
        self.mailer = dataclasses.replace(self.surface, page=Page(paper))
        self.pages = 0
        self.slot = 0  # certificates on the sheet being filled

    def _draw(self, elements: Iterable[object], cert: Certificate) -> None:
        for element in elements:
            DRAWERS[type(element)](self.surface, element, cert)

    def _draw_static(self) -> None:
        """The art every certificate shares, into one form XObject per side."""
        c, design = self.surface.canvas, self.surface.design
        width, height = self.trim
        b = self.bleed
        for side, static in self.static.items():
            texts = {e.id: _static_text(design, e) for e in static if isinstance(e, TextElement)}
            name = STATIC_FORM if side == "front" else BACK_FORM
            c.beginForm(name, -b, -b, width + b, height + b)
            page = design.manifest.design
            if page.background_color and side == "front":
                c.setFillColorRGB(*units.parse_color(page.background_color))
                c.rect(-b, -b, width + 2 * b, height + 2 * b, stroke=0, fill=1)
            if page.background and side == "front":
                art = self.surface.art[page.background, page.background_page]
                art.draw(c, 0, 0, width, height)
                if b:
                    _mirror_edges(c, art, width, height, b)
            self._draw(static, Certificate("", texts, "", {}))
            c.endForm()

    def _draw_back(self, cert: Certificate) -> None:
        self.surface.canvas.doForm(BACK_FORM)
        self._draw(self.dynamic["back"], cert)

    def add(self, cert: Certificate) -> int:
        """Draw one certificate; returns the number (from 1) of the page it is on."""
        c = self.surface.canvas
        if self.pages == 0 and self.slot == 0:
            self._draw_static()
        if self.envelope:
            return self._add_mailer(cert, self.envelope)
        if self.sheet is None:
            c.doForm(STATIC_FORM)
            self._draw(self.dynamic["front"], cert)
            c.showPage()
            self.pages += 1
            if self.duplex:
                self._draw_back(cert)
                c.showPage()
                self.pages += 1
                return self.pages - 1
            return self.pages
        if self.slot == 0:
            self.pages += 1
        left, top = self.sheet.slots[self.slot]
        self._enter_trim(units.mm_to_pt(left), self.height - units.mm_to_pt(top) - self.trim[1])
        c.doForm(STATIC_FORM)
        self._draw(self.dynamic["front"], cert)
        c.restoreState()
        self.on_sheet.append(cert)
        self.slot += 1
        page = self.pages
        if self.slot == len(self.sheet.slots):
            self._finish_sheet()  # with --duplex, its back is the next page
        return page

    def _add_mailer(self, cert: Certificate, envelope: Envelope) -> int:
        """The mailer sheet: address block and fold marks in the top panel, and the
        certificate centred below the first fold, or on the next page if it is larger.
        With duplex, each sheet is followed by its back: the certificate's back where a
        long-edge turn puts it, and a blank back for a cover sheet."""
        c, mm = self.surface.canvas, units.mm_to_pt
        width, height = (mm(v) for v in envelope.paper)
        c.setPageSize((width, height))
        panel = cert.mailer
        if panel is None:
            raise ValueError("a mailer needs the certificate's address block")
        _draw_lines(
            self.mailer, address_box(envelope, len(panel.address.lines)), panel.address, 1.15
        )
        if panel.sender:
            _draw_lines(self.mailer, sender_box(envelope), panel.sender, 1.15)
        if panel.letter:
            _draw_lines(self.mailer, letter_box(envelope), panel.letter, 1.3)
        below = height - mm(envelope.folds[0])
        beside = self.trim[0] <= width + 0.01 and self.trim[1] <= below + 0.01
        if beside:
            left, bottom = (width - self.trim[0]) / 2, below - self.trim[1]
            self._enter_trim(left, bottom)
        else:
            self._fold_marks(envelope)
            self._show_page(blank_back=self.duplex)
            width, (left, bottom) = self.trim[0], (0.0, 0.0)
            c.setPageSize(self.trim)
            c.saveState()
        c.doForm(STATIC_FORM)
        self._draw(self.dynamic["front"], cert)
        c.restoreState()
        if beside:  # the fold marks go over the certificate's art
            self._fold_marks(envelope)
        self._show_page()
        front = self.pages
        if self.duplex:
            self._enter_trim(width - left - self.trim[0], bottom)
            self._draw_back(cert)
            c.restoreState()
            self._show_page()
        return front

    def _show_page(self, blank_back: bool = False) -> None:
        for _ in range(2 if blank_back else 1):
            self.surface.canvas.showPage()
            self.pages += 1

    def _fold_marks(self, envelope: Envelope) -> None:
        c, mm = self.surface.canvas, units.mm_to_pt
        width, height = (mm(v) for v in envelope.paper)
        c.setStrokeColorRGB(0, 0, 0)
        c.setLineWidth(0.25)
        for fold in envelope.folds:
            y = height - mm(fold)
            c.line(0, y, mm(FOLD_MARK), y)
            c.line(width - mm(FOLD_MARK), y, width, y)

    def _enter_trim(self, left: float, bottom: float) -> None:
        """Draw in a certificate's own coordinates from here until restoreState; its art
        stops at the trim, not on a neighbour."""
        c = self.surface.canvas
        c.saveState()
        c.translate(left, bottom)
        trim, b = c.beginPath(), self.bleed
        trim.rect(-b, -b, self.trim[0] + 2 * b, self.trim[1] + 2 * b)
        c.clipPath(trim, stroke=0, fill=0)

    def _finish_sheet(self) -> None:
        """Crop marks, then with --duplex the sheet's back: each certificate's back side
        where the paper turned over its long edge puts it, the slot mirrored left to right."""
        c, mm = self.surface.canvas, units.mm_to_pt
        c.setStrokeColorRGB(0, 0, 0)
        c.setLineWidth(0.25)
        for x1, y1, x2, y2 in self.marks:
            c.line(mm(x1), self.height - mm(y1), mm(x2), self.height - mm(y2))
        c.showPage()
        if self.duplex and self.sheet:
            width = mm(self.sheet.width)
            for (left, top), cert in zip(self.sheet.slots, self.on_sheet, strict=False):
                bottom = self.height - mm(top) - self.trim[1]
                self._enter_trim(width - mm(left) - self.trim[0], bottom)
                self._draw_back(cert)
                c.restoreState()
            c.showPage()
            self.pages += 1
        self.on_sheet.clear()
        self.slot = 0

    def close(self) -> None:
        if self.slot:
            self._finish_sheet()
        self.surface.canvas.save()


def _mirror_edges(c: Canvas, picture: art.Art, width: float, height: float, bleed: float) -> None:
    """The art's edges mirrored into the bleed around the trim: colour runs on past the cut
    without the art being stretched, so it stays where the text expects it."""
    for fx in (-1, 0, 1):
        for fy in (-1, 0, 1):
            if fx == fy == 0:
                continue
            c.saveState()
            strip = c.beginPath()
            x, w = {-1: (-bleed, bleed), 0: (0.0, width), 1: (width, bleed)}[fx]
            y, h = {-1: (-bleed, bleed), 0: (0.0, height), 1: (height, bleed)}[fy]
            strip.rect(x, y, w, h)
            c.clipPath(strip, stroke=0, fill=0)
            c.translate(2 * width if fx == 1 else 0, 2 * height if fy == 1 else 0)
            c.scale(-1 if fx else 1, -1 if fy else 1)
            picture.draw(c, 0, 0, width, height)
            c.restoreState()


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
    design: Design,
    certificates: Iterable[Certificate],
    stream: BinaryIO,
    title: str,
    sheet: Sheet | None = None,
    envelope: Envelope | None = None,
    duplex: bool = False,
) -> list[int]:
    """All certificates, one a page, imposed on ``sheet`` or each on a mailer for
    ``envelope``, each page followed by its back with ``duplex``; returns the page each
    certificate's front is on."""
    writer = Writer(design, stream, title=title, sheet=sheet, envelope=envelope, duplex=duplex)
    pages = [writer.add(cert) for cert in certificates]
    writer.close()
    return pages
