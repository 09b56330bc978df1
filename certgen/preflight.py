"""Preflight: what a print shop's software checks before it prints a PDF, rule by rule.

The file is read with pikepdf (qpdf): its version, its PDF/X identification, its output
intent, every colour space its pages' content streams, forms and images use, each image's
resolution at the size it is placed, its fonts, its page boxes and bleed, and transparency;
PDFium (pypdfium2) finds where its text is, for the safe area inside the trim.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf

from certgen.errors import CertgenError
from certgen.units import PT_PER_MM

MIN_PPI = 285.0  # 300 ppi at the placed size, with 5% of slack for rounding
MIN_BLEED = 3.0  # mm past the trim on every side (0.125 in is 3.175)
SAFE_MARGIN = 3.0  # mm inside the trim where no text should be (the cut wanders)
RGB_SPACES = {"DeviceRGB", "CalRGB", "ICCBased RGB", "Lab"}
Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


class PreflightFailed(CertgenError):
    exit_code = 19


@dataclass
class Rule:
    name: str
    passed: bool
    detail: str


@dataclass
class _Found:
    """What the content streams use, gathered once per form and page."""

    spaces: Counter[str] = field(default_factory=Counter)
    low_ppi: list[tuple[int, float]] = field(default_factory=list)  # (page, ppi)
    lowest_ppi: float = math.inf
    images: int = 0
    transparency: set[str] = field(default_factory=set)
    fonts: dict[str, bool] = field(default_factory=dict)  # name -> embedded


def check(path: Path, version: str | None = None) -> tuple[str, list[Rule]]:
    """The rules for PDF/X ``version`` (``x4`` or ``x1a``; default: what the file says it
    is, else x4) and whether the file at ``path`` passes each."""
    try:
        pdf = pikepdf.open(path)
    except (pikepdf.PdfError, OSError) as exc:
        raise PreflightFailed(f"{path}: not a PDF that can be read ({exc})") from None
    with pdf:
        declared = str(pdf.docinfo.get("/GTS_PDFXVersion", "")) if pdf.trailer.get("/Info") else ""
        if version is None:
            version = "x1a" if declared.startswith("PDF/X-1a") else "x4"
        found, seen = _Found(), set[tuple[Any, Matrix]]()
        for number, page in enumerate(pdf.pages, start=1):
            _scan(pdf, page, page.resources, IDENTITY, number, found, seen)
        rules = [
            _version(pdf, version),
            _identification(pdf, declared, version),
            _intent(pdf),
            _colours(found),
            _resolution(found),
            _fonts(found),
            *_boxes(pdf),
            _transparency(found, version),
        ]
    rules.append(_safe_area(path))
    return ("PDF/X-1a:2003" if version == "x1a" else "PDF/X-4"), rules


def _version(pdf: pikepdf.Pdf, version: str) -> Rule:
    most = "1.4" if version == "x1a" else "1.6"
    ok = tuple(map(int, pdf.pdf_version.split("."))) <= tuple(map(int, most.split(".")))
    return Rule("PDF version", ok, f"{pdf.pdf_version} (at most {most})")


def _identification(pdf: pikepdf.Pdf, declared: str, version: str) -> Rule:
    want = "PDF/X-1a:2003" if version == "x1a" else "PDF/X-4"
    xmp = ""
    metadata = pdf.Root.get("/Metadata")
    if metadata is not None:
        xmp = bytes(metadata.read_bytes()).decode("utf-8", "replace")
    in_xmp = f"<pdfxid:GTS_PDFXVersion>{want}</pdfxid:GTS_PDFXVersion>" in xmp
    ok = declared == want and (in_xmp or version == "x1a")
    shown = declared or "none"
    return Rule(
        "PDF/X identification",
        ok,
        f"document says {shown}; XMP {'agrees' if in_xmp else 'does not say'}",
    )


def _intent(pdf: pikepdf.Pdf) -> Rule:
    intents: Any = pdf.Root.get("/OutputIntents") or []
    for intent in intents:
        if intent.get("/S") != "/GTS_PDFX":
            continue
        profile = intent.get("/DestOutputProfile")
        if profile is None:
            return Rule("Output intent", False, "a PDF/X output intent without its ICC profile")
        from PIL import ImageCms

        try:
            icc = ImageCms.ImageCmsProfile(io.BytesIO(bytes(profile.read_bytes()))).profile
        except (ImageCms.PyCMSError, OSError) as exc:
            return Rule("Output intent", False, f"its ICC profile cannot be read ({exc})")
        space = icc.xcolor_space.strip()
        ok = space == "CMYK" and int(profile.get("/N", 0)) == 4
        name = (icc.profile_description or "").strip()
        return Rule("Output intent", ok, f"{name}, {space} {icc.device_class} profile")
    return Rule("Output intent", False, "none: the press's ICC profile is not named (give --pdfx)")


def _colours(found: _Found) -> Rule:
    rgb = sorted(s for s in found.spaces if s in RGB_SPACES)
    used = ", ".join(f"{s} ({n})" for s, n in sorted(found.spaces.items())) or "none"
    return Rule(
        "Colour spaces", not rgb, f"used: {used}" + (f"; RGB: {', '.join(rgb)}" if rgb else "")
    )


def _resolution(found: _Found) -> Rule:
    if not found.images:
        return Rule("Image resolution", True, "no images")
    worst = f"lowest {found.lowest_ppi:.0f} ppi at placed size"
    if found.low_ppi:
        pages = sorted({p for p, _ in found.low_ppi})[:5]
        shown = ", ".join(map(str, pages))
        return Rule("Image resolution", False, f"{worst}, under {MIN_PPI:.0f} on page {shown}")
    return Rule("Image resolution", True, f"{found.images} placed, {worst}")


def _fonts(found: _Found) -> Rule:
    missing = sorted(name for name, embedded in found.fonts.items() if not embedded)
    if missing:
        return Rule("Fonts embedded", False, f"not embedded: {', '.join(missing)}")
    return Rule("Fonts embedded", True, f"{len(found.fonts)} fonts, all embedded")


def _boxes(pdf: pikepdf.Pdf) -> list[Rule]:
    unboxed, outside, thin = [], [], []
    least = math.inf
    for number, page in enumerate(pdf.pages, start=1):
        media = _box(page.obj, "/MediaBox")
        trim, bleed = _box(page.obj, "/TrimBox"), _box(page.obj, "/BleedBox")
        if media is None or trim is None or bleed is None:
            unboxed.append(number)
            continue
        if not (_within(trim, bleed) and _within(bleed, media)):
            outside.append(number)
        margin = min(trim[0] - bleed[0], trim[1] - bleed[1], bleed[2] - trim[2], bleed[3] - trim[3])
        least = min(least, margin / PT_PER_MM)
        if margin / PT_PER_MM < MIN_BLEED - 0.01:
            thin.append(number)
    count = len(pdf.pages)
    boxes = Rule(
        "Page boxes",
        not unboxed and not outside,
        f"TrimBox and BleedBox on all {count} pages, trim within bleed within media"
        if not unboxed and not outside
        else f"pages without TrimBox and BleedBox: {_pages(unboxed)}; boxes out of order: "
        f"{_pages(outside)}",
    )
    shown = "none" if least == math.inf else f"{max(least, 0):.2f} mm"
    bleed_rule = Rule(
        "Bleed",
        not thin and not unboxed,
        f"at least {shown} past the trim on every side (needs {MIN_BLEED:g} mm; give --bleed 3)"
        if thin or unboxed
        else f"at least {shown} past the trim on every side",
    )
    return [boxes, bleed_rule]


def _transparency(found: _Found, version: str) -> Rule:
    if not found.transparency:
        return Rule("Transparency", True, "none")
    kinds = ", ".join(sorted(found.transparency))
    return Rule("Transparency", version != "x1a", f"{kinds} (PDF/X-1a allows none; PDF/X-4 does)")


def _safe_area(path: Path) -> Rule:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    near: list[str] = []
    try:
        for number in range(len(document)):
            page = document[number]
            left, bottom, right, top = page.get_trimbox()
            inset = SAFE_MARGIN * PT_PER_MM
            text = page.get_textpage()
            for i in range(text.count_chars()):
                x0, y0, x1, y1 = text.get_charbox(i)
                if x1 <= x0 or y1 <= y0:
                    continue  # spaces and marks without a box
                if (
                    x0 < left + inset
                    or x1 > right - inset
                    or y0 < bottom + inset
                    or y1 > top - inset
                ):
                    near.append(f"page {number + 1}: '{text.get_text_range(i, 1)}'")
                    break
            if len(near) >= 5:
                break
    finally:
        document.close()
    if near:
        return Rule(
            "Text in the safe area",
            False,
            f"text within {SAFE_MARGIN:g} mm of the trim: {'; '.join(near)}",
        )
    return Rule(
        "Text in the safe area", True, f"all text at least {SAFE_MARGIN:g} mm inside the trim"
    )


def _scan(
    pdf: pikepdf.Pdf,
    holder: Any,
    resources: Any,
    ctm: Matrix,
    page: int,
    found: _Found,
    seen: set[tuple[Any, Matrix]],
) -> None:
    """Walk a page's or form's content: colour operators, fonts, images placed (with the
    transformation in effect, for their ppi) and forms, into ``found``."""
    resources = resources if resources is not None else pikepdf.Dictionary()
    _note_resources(resources, found)
    stack: list[Matrix] = []
    for operands, operator in _operations(holder):
        op = str(operator)
        if op == "q":
            stack.append(ctm)
        elif op == "Q":
            ctm = stack.pop() if stack else IDENTITY
        elif op == "cm":
            ctm = _multiply(tuple(float(v) for v in operands), ctm)  # type: ignore[arg-type]
        elif op in ("rg", "RG"):
            found.spaces["DeviceRGB"] += 1
        elif op in ("k", "K"):
            found.spaces["DeviceCMYK"] += 1
        elif op in ("g", "G"):
            found.spaces["DeviceGray"] += 1
        elif op in ("cs", "CS"):
            found.spaces[_space_name(operands[0], resources)] += 1
        elif op == "gs":
            state = (resources.get("/ExtGState") or {}).get(str(operands[0]))
            if state is not None:
                _note_state(state, found)
        elif op == "Do":
            xobject = (resources.get("/XObject") or {}).get(str(operands[0]))
            if xobject is not None:
                _placed(pdf, xobject, ctm, page, found, seen)
        elif op == "INLINE IMAGE":
            found.images += 1


def _operations(holder: Any) -> Iterator[tuple[list[Any], Any]]:
    try:
        for instruction in pikepdf.parse_content_stream(holder):
            yield list(instruction.operands), instruction.operator
    except pikepdf.PdfError:
        return


def _placed(
    pdf: pikepdf.Pdf,
    xobject: Any,
    ctm: Matrix,
    page: int,
    found: _Found,
    seen: set[tuple[Any, Matrix]],
) -> None:
    subtype = xobject.get("/Subtype")
    if subtype == "/Image":
        found.images += 1
        found.spaces[_space_name(xobject.get("/ColorSpace", "/DeviceGray"), None)] += 1
        if xobject.get("/SMask") is not None:
            found.transparency.add("soft-masked images")
        width_pt, height_pt = math.hypot(ctm[0], ctm[1]), math.hypot(ctm[2], ctm[3])
        if width_pt and height_pt:
            ppi = min(int(xobject.Width) / width_pt, int(xobject.Height) / height_pt) * 72
            found.lowest_ppi = min(found.lowest_ppi, ppi)
            if ppi < MIN_PPI:
                found.low_ppi.append((page, ppi))
    elif subtype == "/Form":
        key = (xobject.objgen, _rounded(ctm))
        if key in seen:
            return
        seen.add(key)
        if xobject.get("/Group") is not None and xobject.Group.get("/S") == "/Transparency":
            found.transparency.add("transparency groups")
        matrix = tuple(float(v) for v in xobject.get("/Matrix", [1, 0, 0, 1, 0, 0]))
        inner = _multiply(matrix, ctm)  # type: ignore[arg-type]
        _scan(pdf, xobject, xobject.get("/Resources"), inner, page, found, seen)


def _note_resources(resources: Any, found: _Found) -> None:
    for _, font in (resources.get("/Font") or {}).items():
        name = str(font.get("/BaseFont", "/?"))[1:]
        if name not in found.fonts:
            found.fonts[name] = _embedded(font)
    for _, shading in (resources.get("/Shading") or {}).items():
        found.spaces[_space_name(shading.get("/ColorSpace"), resources)] += 1


def _note_state(state: Any, found: _Found) -> None:
    for key in ("/ca", "/CA"):
        if key in state and float(state[key]) < 1:
            found.transparency.add("constant alpha")
    if str(state.get("/BM", "/Normal")) not in ("/Normal", "/Compatible"):
        found.transparency.add("blend modes")
    if state.get("/SMask") not in (None, pikepdf.Name("/None")):
        found.transparency.add("soft masks")


def _embedded(font: Any) -> bool:
    if font.get("/Subtype") == "/Type3":
        return True  # drawn from the file's own glyph procedures
    if font.get("/Subtype") == "/Type0":
        return all(_embedded(f) for f in font.get("/DescendantFonts", []))
    descriptor = font.get("/FontDescriptor")
    if descriptor is None:
        return False
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def _space_name(space: Any, resources: Any) -> str:
    if isinstance(space, pikepdf.Name):
        name = str(space)[1:]
        if name in ("DeviceRGB", "DeviceCMYK", "DeviceGray", "Pattern"):
            return name
        named = (
            (resources.get("/ColorSpace") or {}).get(str(space)) if resources is not None else None
        )
        return _space_name(named, None) if named is not None else name
    if isinstance(space, pikepdf.Array) and len(space):
        family = str(space[0])[1:]
        if family == "ICCBased":
            n = int(space[1].get("/N", 0))
            return "ICCBased " + {1: "Gray", 3: "RGB", 4: "CMYK"}.get(n, str(n))
        if family == "Indexed":
            return f"Indexed {_space_name(space[1], resources)}"
        if family in ("Separation", "DeviceN"):
            return family
        return family
    return "DeviceGray" if space is None else str(space)


def _multiply(m: Matrix, n: Matrix) -> Matrix:
    """``m`` then ``n``, as PDF concatenates them (m x n)."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


def _rounded(m: Matrix) -> Matrix:
    a, b, c, d, e, f = (round(v, 3) for v in m)
    return (a, b, c, d, e, f)


def _box(page: Any, key: str) -> tuple[float, float, float, float] | None:
    box = page.get(key)
    if box is None:
        return None
    x0, y0, x1, y1 = (float(v) for v in box)
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _within(inner: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    e = 0.01
    return (
        inner[0] >= outer[0] - e
        and inner[1] >= outer[1] - e
        and inner[2] <= outer[2] + e
        and inner[3] <= outer[3] + e
    )


def _pages(numbers: list[int]) -> str:
    if not numbers:
        return "none"
    shown = ", ".join(map(str, numbers[:5]))
    return shown + (f" and {len(numbers) - 5} more" if len(numbers) > 5 else "")
