"""Drawing certificates as PDF pages. With ``art``, the only module that imports reportlab.

Input is plain data: each certificate's rendered strings and QR matrices. The design's
static parts (background, images, rules, text without variables) go into one form
XObject drawn on every page, so a long run stores the art once.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import hashlib
import io
import pickle
import re
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal
from xml.sax.saxutils import escape

from reportlab import Version as REPORTLAB_VERSION
from reportlab import rl_config
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfdoc import (
    PDFArray,
    PDFDictionary,
    PDFInfo,
    PDFName,
    PDFStream,
    PDFString,
    PDFZCompress,
)
from reportlab.pdfbase.ttfonts import TTEncoding, TTFError, TTFont, TTFontFace
from reportlab.pdfgen.canvas import Canvas

from certgen import __version__, art, cache, imb, qr, slimfont, typeset, units
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
from certgen.inks import Pdfx, Press
from certgen.mailing import (
    ADDRESS_FONT,
    ADDRESS_MIN_SIZE,
    ADDRESS_SIZE,
    LETTER_SIZE,
    Envelope,
)
from certgen.placement import Layout, Spot
from certgen.qr import Matrix

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
    barcode: str | None = None  # the IMb's 65 bars (F, A, D, T), above the address


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


# Where a line may break inside a word: after a hyphen, and beside a Chinese, Japanese or
# Korean character, which are written without spaces (UAX #14's ideographic classes).
_BREAK_INSIDE = re.compile(
    r"(?<=[-\u2010])(?=\w)|(?<=[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af])"
    r"|(?=[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af])"
)


def _wrap(text: str, width: float, measure: Callable[[str], float]) -> list[str] | None:
    """Greedy wrap at spaces, after hyphens and between CJK characters; None if a piece
    that cannot break is wider than the box."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            for n, piece in enumerate(p for p in _BREAK_INSIDE.split(word) if p):
                if measure(piece) > width:
                    return None
                joined = " " if n == 0 and line else ""
                candidate = f"{line}{joined}{piece}"
                if measure(candidate) <= width:
                    line = candidate
                else:
                    lines.append(line)
                    line = piece
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


ArtKey = tuple[str, int, str | None]  # a file, its page, the colour it is tinted in


def load_art(design: Design, press: Press | None = None) -> dict[ArtKey, art.Art]:
    """Every piece of art the design draws, by file and page, for one document: opened,
    checked and encoded once a process (every chunk and every emailed certificate draws
    it), raster art downsampled to the largest size it is drawn at; for a ``press``, all
    of it CMYK pixels, the background's transparency flattened onto the colour under it."""
    page = design.manifest.design
    key = (design.path, design.hash, page.art_dpi, design.screen, press.digest if press else "")
    if key not in _ART:
        _ART.clear()  # one design a run
        _ART[key] = _open_art(design, press)
    return {name: opened.fresh() for name, opened in _ART[key].items()}


_ART: dict[tuple[Path, str, int, bool, str], dict[ArtKey, art.Art]] = {}


def _open_art(design: Design, press: Press | None) -> dict[ArtKey, art.Art]:
    page = design.manifest.design
    boxes: dict[ArtKey, list[tuple[float, float]]] = {}
    background = _background_key(design)
    if background:
        size = (units.mm_to_pt(design.width_mm), units.mm_to_pt(design.height_mm))
        boxes.setdefault(background, []).append(size)
    for e in design.manifest.elements:
        if isinstance(e, ImageElement) and e.file in design.assets:  # no logo: left out
            size = (units.mm_to_pt(e.width), units.mm_to_pt(e.height))
            boxes.setdefault((e.file, e.page, e.tint), []).append(size)
    under = page.background_color or "#FFFFFF"
    return {
        key: art.open_art(
            design.assets[key[0]],
            page=key[1],
            boxes=sizes,
            dpi=page.art_dpi,
            screen=design.screen,
            press=press,
            matte=under if key == background else None,
            tinted=key[2],
        )
        for key, sizes in boxes.items()
    }


def _background_key(design: Design) -> ArtKey | None:
    page = design.manifest.design
    return (
        (page.background, page.background_page, page.background_tint) if page.background else None
    )


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

    def box(self, element: RectElement | ImageElement) -> tuple[float, float, float, float]:
        """The element's box in pt: left, bottom, right, top."""
        left, top = self.x(element.x), self.y(element.y)
        return left, top - units.mm_to_pt(element.height), left + units.mm_to_pt(element.width), top


@dataclass(frozen=True)
class Surface:
    """What an element drawer draws on."""

    canvas: Canvas
    page: Page
    design: Design
    art: Mapping[ArtKey, art.Art]
    # (text, fonts, size) -> its text-showing operators: names and dates repeat in a run.
    shown: dict[tuple[str, tuple[Path, ...], float], str] = field(default_factory=dict)
    press: Press | None = None  # PDF/X: every colour in this press's CMYK

    def fill(self, colour: str) -> None:
        if self.press:
            self.canvas.setFillColorCMYK(*self.press.cmyk(colour))
        else:
            self.canvas.setFillColorRGB(*units.parse_color(colour))

    def stroke(self, colour: str) -> None:
        if self.press:
            self.canvas.setStrokeColorCMYK(*self.press.cmyk(colour))
        else:
            self.canvas.setStrokeColorRGB(*units.parse_color(colour))


def _draw_text(s: Surface, element: TextElement, cert: Certificate) -> None:
    fitted = cert.texts[element.id]
    if fitted.lines == ("",) and element.blank == "line":
        _draw_blank_line(s, element, _face(s.design, element))
    else:
        _draw_lines(s, element, fitted, element.line_height)


def _draw_code(s: Surface, element: CodeElement, cert: Certificate) -> None:
    _draw_lines(s, element, Fitted(element.size, (cert.code_text,)), 1.2)


def _draw_image(s: Surface, element: ImageElement, cert: Certificate) -> None:
    c, page = s.canvas, s.page
    if element.file not in s.design.assets:  # the business's logo, where it has none
        return
    picture = s.art[element.file, element.page, element.tint]
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
    s.fill(element.color)
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


def _draw_blank_line(s: Surface, element: TextElement, face: Any) -> None:
    """A rule to write on by hand, where the text's baseline would be."""
    c, page, size = s.canvas, s.page, element.size
    ascent, descent = face.ascent * size / 1000, face.descent * size / 1000
    box_h = units.mm_to_pt(element.height)
    baseline = page.y(element.y) - (box_h - (ascent - descent)) / 2 - ascent
    s.stroke(element.color)
    c.setLineWidth(0.6)
    left = page.x(element.x)
    c.line(left, baseline, left + units.mm_to_pt(element.width), baseline)


def _draw_qr(s: Surface, element: QrElement, cert: Certificate) -> None:
    c, modules = s.canvas, cert.qr[element.id]
    side = units.mm_to_pt(element.size)
    left, top = s.page.x(element.x), s.page.y(element.y)
    s.fill("#FFFFFF")
    c.rect(left, top - side, side, side, stroke=0, fill=1)  # the quiet zone stays white
    module = side / (modules.size + 2 * element.quiet_zone)
    margin = element.quiet_zone * module
    c.saveState()
    # One transform, then integer run-length rectangles in module units: a short stream.
    c.transform(module, 0, 0, -module, left + margin, top - margin)
    s.fill(element.color)
    rects = [_qr_rect(x, y, n) for y, bits in enumerate(modules.rows) for x, n in qr.row_runs(bits)]
    c.addLiteral("".join(rects) + "f")
    c.restoreState()


@functools.lru_cache(maxsize=65536)  # bounded: the largest codes have 177**3 rectangles
def _qr_rect(x: int, y: int, length: int) -> str:
    return f"{x} {y} {length} 1 re\n"


def _draw_rect(s: Surface, element: RectElement, cert: Certificate) -> None:
    c, page = s.canvas, s.page
    if element.fill:
        s.fill(element.fill)
    if element.stroke:
        s.stroke(element.stroke)
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
    s.stroke(element.color)
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
    """Writes certificates to a binary stream where ``layout`` places them: it only draws."""

    def __init__(
        self,
        design: Design,
        stream: BinaryIO,
        *,
        title: str,
        layout: Layout,
        pdfx: Pdfx | None = None,
    ):
        register_fonts(design)
        self.layout, self.pdfx = layout, pdfx
        self.trim = (units.mm_to_pt(design.width_mm), units.mm_to_pt(design.height_mm))
        self.bleed = units.mm_to_pt(layout.bleed)
        version = {None: None, "x1a": (1, 4), "x4": (1, 6)}[pdfx.version if pdfx else None]
        # reportlab sets Helvetica on every page, unembedded, unless the first font is
        # one of the design's own: PDF/X wants every font embedded.
        first = glyph_font(_chain(design, design.text_elements[0])[0]).fontName if pdfx else None
        c = Canvas(
            stream,
            pagesize=self.trim,
            invariant=1,
            pageCompression=1,
            pdfVersion=version,
            initialFontName=first,
        )
        c.setTitle(title)
        c.setAuthor("certgen")
        c.setSubject("Gift certificates")
        c.setCreator(f"certgen {__version__}")
        c.setProducer(f"certgen {__version__}")
        press = pdfx.press if pdfx else None
        pictures = load_art(design, press)
        if pdfx:
            _declare_pdfx(c, pdfx, title)
            if pdfx.version == "x1a":
                _refuse_transparency(design, pictures)
        self.surface = Surface(c, Page(design.height_mm), design, pictures, press=press)
        sides = ("front", "back") if layout.duplex else ("front",)
        self.layers = {side: _layers(design, side) for side in sides}
        self.count = 0  # certificates added
        self.page = 0  # the page being drawn, from 0
        self.begun = False  # whether anything is drawn on it yet
        self.later: dict[int, list[tuple[Spot, Certificate]]] = {}  # spots on pages to come
        self.panels: dict[float, Surface] = {}  # a mailer's surface, by its paper's height

    def _draw(self, elements: Iterable[object], cert: Certificate) -> None:
        for element in elements:
            DRAWERS[type(element)](self.surface, element, cert)

    def _draw_static(self) -> None:
        """The art every certificate shares, into form XObjects: one per run of elements
        without variables (the first with the background), so that elements are drawn in
        the order the design lists them, the later on top."""
        c, design = self.surface.canvas, self.surface.design
        width, height = self.trim
        b = self.bleed
        for side, layers in self.layers.items():
            for number, (name, elements) in enumerate(layers):
                if name is None:
                    continue
                texts = {
                    e.id: _static_text(design, e) for e in elements if isinstance(e, TextElement)
                }
                c.beginForm(name, -b, -b, width + b, height + b)
                page = design.manifest.design
                if number == 0 and side == "front" and page.background_color:
                    self.surface.fill(page.background_color)
                    c.rect(-b, -b, width + 2 * b, height + 2 * b, stroke=0, fill=1)
                background = _background_key(design)
                if number == 0 and side == "front" and background:
                    picture = self.surface.art[background]
                    draw = functools.partial(
                        _draw_background, c, picture, width, height, design.mirrored
                    )
                    draw()
                    if b:
                        _mirror_edges(c, draw, (0.0, 0.0, width, height), b)
                blank = Certificate("", texts, "", {})
                self._draw(elements, blank)
                for element in elements if b else ():  # art and fills at an edge bleed too
                    if isinstance(element, RectElement | ImageElement):
                        box = self.surface.page.box(element)
                        _mirror_edges(
                            c, functools.partial(self._draw, [element], blank), box, b, self.trim
                        )
                c.endForm()

    def add(self, cert: Certificate) -> int:
        """Draw one certificate; returns the number (from 1) of the page its front is on."""
        if self.count == 0:
            self._draw_static()
        spots = self.layout.spots(self.count)
        self.count += 1
        while self.page < min(spot.page for spot in spots):  # layouts never go back a page
            self._finish_page()
        for spot in spots:
            if spot.page == self.page:
                self._draw_spot(spot, cert)
            else:
                self.later.setdefault(spot.page, []).append((spot, cert))
        return next(spot.page for spot in spots if spot.side == "front") + 1

    def _begin_page(self) -> None:
        if self.begun:
            return
        self.begun = True
        c, mm, paper = self.surface.canvas, units.mm_to_pt, self.layout.paper(self.page)
        c.setPageSize((mm(paper.width), mm(paper.height)))
        if paper.trim:  # where to cut, for the print shop's software
            left, top, right, bottom = paper.trim
            height, b = mm(paper.height), self.bleed
            box = (mm(left), height - mm(bottom), mm(right), height - mm(top))
            c.setTrimBox(box)
            c.setBleedBox((box[0] - b, box[1] - b, box[2] + b, box[3] + b))
        elif self.pdfx:  # PDF/X boxes every page: a sheet of several is cut as it is
            whole = (0.0, 0.0, mm(paper.width), mm(paper.height))
            c.setTrimBox(whole)
            c.setBleedBox(whole)
        if paper.printer:
            c.transform(*paper.printer.matrix(paper.height))

    def _draw_spot(self, spot: Spot, cert: Certificate) -> None:
        self._begin_page()
        c, paper = self.surface.canvas, self.layout.paper(spot.page)
        if spot.side == "panel":
            self._draw_panel(cert, paper.height)
            return
        trim_h = self.surface.design.height_mm
        own_page = spot.left == spot.top == 0 and (paper.width, paper.height) == self.layout.trim
        moved = not own_page or bool(self.bleed)  # else the page is the trim: nothing to move
        if moved:
            bottom = units.mm_to_pt(paper.height - spot.top - trim_h)
            self._enter_trim(units.mm_to_pt(spot.left), bottom)
        for form, elements in self.layers[spot.side]:
            if form:
                c.doForm(form)
            else:
                self._draw(elements, cert)
        if moved:
            c.restoreState()

    def _draw_panel(self, cert: Certificate, height: float) -> None:
        """A mailer's address, return address and letter, in the mailer's coordinates."""
        panel, envelope = cert.mailer, self.layout.envelope
        if panel is None or envelope is None:
            raise ValueError("a mailer needs an envelope and the certificate's address block")
        if height not in self.panels:
            self.panels[height] = dataclasses.replace(self.surface, page=Page(height))
        surface = self.panels[height]
        box = address_box(envelope, len(panel.address.lines))
        _draw_lines(surface, box, panel.address, 1.15)
        if panel.sender:
            _draw_lines(surface, sender_box(envelope), panel.sender, 1.15)
        if panel.letter:
            _draw_lines(surface, letter_box(envelope), panel.letter, 1.3)
        if panel.barcode:
            _draw_imb(surface, envelope, panel.barcode)

    def _finish_page(self) -> None:
        """The spots left for this page, then its marks over everything; then the next."""
        self._begin_page()
        for spot, cert in self.later.pop(self.page, []):
            self._draw_spot(spot, cert)
        c, mm, paper = self.surface.canvas, units.mm_to_pt, self.layout.paper(self.page)
        if paper.marks:
            self.surface.stroke("#000000")
            c.setLineWidth(0.25)
            height = mm(paper.height)
            for x1, y1, x2, y2 in paper.marks:
                c.line(mm(x1), height - mm(y1), mm(x2), height - mm(y2))
        c.showPage()
        self.page += 1
        self.begun = False

    def _enter_trim(self, left: float, bottom: float) -> None:
        """Draw in a certificate's own coordinates from here until restoreState; its art
        stops at the trim, not on a neighbour."""
        c = self.surface.canvas
        c.saveState()
        c.translate(left, bottom)
        trim, b = c.beginPath(), self.bleed
        trim.rect(-b, -b, self.trim[0] + 2 * b, self.trim[1] + 2 * b)
        c.clipPath(trim, stroke=0, fill=0)

    def close(self) -> None:
        while self.page < self.layout.pages(self.count):
            self._finish_page()
        self.surface.canvas.save()


def _draw_imb(s: Surface, envelope: Envelope, bars: str) -> None:
    """The Intelligent Mail barcode to USPS-B-3200's dimensions: each bar from the tracker's
    middle up (A, F) and down (D, F), in black ink alone."""
    mm = units.mm_to_pt
    left, band = envelope.barcode_at
    middle = s.page.y(band + imb.CLEAR_Y + imb.FULL / 2)
    half_tracker, half_full = mm(imb.TRACKER / 2), mm(imb.FULL / 2)
    s.fill("#000000")
    rects = []
    for i, bar in enumerate(bars):
        top = half_full if bar in "AF" else half_tracker
        bottom = half_full if bar in "DF" else half_tracker
        x = mm(left + i * imb.PITCH)
        rects.append(
            f"{_num(x)} {_num(middle - bottom)} {_num(mm(imb.BAR_WIDTH))} {_num(top + bottom)} re"
        )
    s.canvas.addLiteral("\n".join(rects) + "\nf")


def _layers(design: Design, side: str) -> list[tuple[str | None, list[Any]]]:
    """A side's elements in layers drawn in turn: forms of elements without variables
    (the first, with the background, always there) and runs drawn for each certificate
    (None). Each element is drawn after every element listed before it that it overlaps,
    as the design's order says; elements apart share the first layer they can, so a
    design whose overlaps follow the fixed-then-variable order needs a single form."""
    base = STATIC_FORM if side == "front" else BACK_FORM
    boxes = design.printed_boxes()
    layers: list[tuple[str | None, list[Any]]] = [(base, [])]
    placed: list[tuple[str, int]] = []  # each element's id and the index of its layer
    for element in (e for e in design.manifest.elements if e.side == side):
        static = design.is_static(element)
        box = boxes[element.id]
        # The last layer holding an element listed before this one that it overlaps: this
        # one goes in that layer (after what it holds) if of its kind, else in a later one.
        after = max((i for name, i in placed if _overlap(boxes[name], box)), default=0)
        kinds = range(after, len(layers))
        target = next((i for i in kinds if (layers[i][0] is not None) == static), None)
        if target is None:
            layers.append((f"{base}-{len(layers)}" if static else None, []))
            target = len(layers) - 1
        layers[target][1].append(element)
        placed.append((element.id, target))
    return layers


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _draw_background(
    c: Canvas, picture: art.Art, width: float, height: float, mirrored: bool
) -> None:
    """The background art over the trim; turned over left to right for a mirrored
    (right-to-left) layout, so its parts stay under the elements they frame."""
    c.saveState()
    if mirrored:
        c.translate(width, 0)
        c.scale(-1, 1)
    picture.draw(c, 0, 0, width, height)
    c.restoreState()


def _mirror_edges(
    c: Canvas,
    draw: Callable[[], None],
    box: tuple[float, float, float, float],
    bleed: float,
    trim: tuple[float, float] | None = None,
) -> None:
    """What ``draw`` draws in ``box`` (left, bottom, right, top in pt), mirrored into the
    bleed past each edge of the trim it touches: colour runs on past the cut without the
    art being stretched, so it stays where the text expects it."""
    left, bottom, right, top = box
    width, height = trim or (right, top)
    reach = {-1: left <= 0.01, 1: right >= width - 0.01}
    rise = {-1: bottom <= 0.01, 1: top >= height - 0.01}
    for fx in (-1, 0, 1):
        for fy in (-1, 0, 1):
            if fx == fy == 0 or (fx and not reach[fx]) or (fy and not rise[fy]):
                continue
            c.saveState()
            strip = c.beginPath()
            x, w = {-1: (-bleed, bleed), 0: (left, right - left), 1: (width, bleed)}[fx]
            y, h = {-1: (-bleed, bleed), 0: (bottom, top - bottom), 1: (height, bleed)}[fy]
            strip.rect(x, y, w, h)
            c.clipPath(strip, stroke=0, fill=0)
            c.translate(2 * width if fx == 1 else 0, 2 * height if fy == 1 else 0)
            c.scale(-1 if fx else 1, -1 if fy else 1)
            draw()
            c.restoreState()


def _static_text(design: Design, element: TextElement) -> Fitted:
    text = design.templates[element.id].render(design.static_context())
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
    layout: Layout | None = None,
    pdfx: Pdfx | None = None,
) -> list[int]:
    """All certificates, where ``layout`` places them (default: one a page), as PDF/X
    with ``pdfx``; returns the page each certificate's front is on."""
    layout = layout or Layout((design.width_mm, design.height_mm))
    writer = Writer(design, stream, title=title, layout=layout, pdfx=pdfx)
    pages = [writer.add(cert) for cert in certificates]
    writer.close()
    return pages


class _PdfxInfo(PDFInfo):  # type: ignore[misc]
    """The document information with the PDF/X version a print shop's preflight reads."""

    pdfx = ""

    def format(self, document: Any) -> bytes:
        text: bytes = super().format(document)
        version = b"(" + self.pdfx.encode("ascii") + b")"  # PDF/X-4, PDF/X-1a:2003
        return text.replace(b"<<", b"<<\n/GTS_PDFXVersion " + version, 1)


def _declare_pdfx(c: Canvas, pdfx: Pdfx, title: str) -> None:
    """The output intent (the press's ICC profile), the version keys in the document
    information and in its XMP metadata, as ISO 15930 asks; the boxes are per page."""
    doc = c._doc
    info = _PdfxInfo()
    info.__dict__.update(doc.info.__dict__)
    info.pdfx = pdfx.name
    doc.info = info
    profile = PDFStream(PDFDictionary({"N": 4}), pdfx.press.data, filters=[PDFZCompress])
    intent = PDFDictionary(
        {
            "Type": PDFName("OutputIntent"),
            "S": PDFName("GTS_PDFX"),
            "OutputConditionIdentifier": PDFString("Custom"),
            "OutputCondition": PDFString(pdfx.press.description),
            "Info": PDFString(pdfx.press.description),
            "RegistryName": PDFString("http://www.color.org"),
            "DestOutputProfile": doc.Reference(profile),
        }
    )
    catalog = doc.Catalog  # reportlab writes only the catalog keys it knows: add this one
    catalog.__NoDefault__ = [*type(catalog).__NoDefault__, "OutputIntents"]
    c.setCatalogEntry("OutputIntents", PDFArray([doc.Reference(intent)]))
    when = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(doc._timeStamp.t))
    xmp = XMP.format(
        title=escape(title),
        version=pdfx.name,
        when=when,
        producer=escape(f"certgen {__version__}"),
        id=hashlib.sha256(f"{title}{when}{pdfx.describe()}".encode()).hexdigest()[:32],
    )
    metadata = PDFStream(
        PDFDictionary({"Type": PDFName("Metadata"), "Subtype": PDFName("XML")}),
        xmp.encode(),
        filters=[],  # preflight tools read it as it is
    )
    c.setCatalogEntry("Metadata", doc.Reference(metadata))


XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about=""
 xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
 xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
 xmlns:pdfxid="http://www.npes.org/pdfx/ns/id/">
<dc:format>application/pdf</dc:format>
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
<xmp:CreateDate>{when}</xmp:CreateDate>
<xmp:ModifyDate>{when}</xmp:ModifyDate>
<xmp:MetadataDate>{when}</xmp:MetadataDate>
<xmp:CreatorTool>{producer}</xmp:CreatorTool>
<pdf:Producer>{producer}</pdf:Producer>
<pdf:Trapped>False</pdf:Trapped>
<xmpMM:DocumentID>uuid:{id}</xmpMM:DocumentID>
<xmpMM:InstanceID>uuid:{id}</xmpMM:InstanceID>
<xmpMM:VersionID>1</xmpMM:VersionID>
<xmpMM:RenditionClass>default</xmpMM:RenditionClass>
<pdfxid:GTS_PDFXVersion>{version}</pdfxid:GTS_PDFXVersion>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="r"?>"""


def _refuse_transparency(design: Design, pictures: Mapping[ArtKey, art.Art]) -> None:
    """PDF/X-1a has no transparency: art with transparent pixels (other than a background,
    flattened onto its colour) cannot go in."""
    for (name, _, _), picture in pictures.items():
        if art.transparent(picture):
            users = [e.id for e in design.manifest.elements if getattr(e, "file", None) == name]
            raise DesignError(
                f"{name} has transparent pixels, which PDF/X-1a does not allow",
                path=str(design.path / "design.toml"),
                element=users[0] if users else None,
                hint="use --pdfx x4 (which keeps them), or give art without transparency",
            )
