"""Printer sheets: where each certificate's trim box lands when several share a sheet.

A named sheet (``letter-3up``) gives the paper and how many certificates it carries; the grid
and the paper's orientation are chosen so that the design fits, centred, with the gutter
between certificates. A custom sheet is a small TOML file that fixes the grid itself.
Everything here is millimetres from the sheet's top-left corner, like design manifests.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from certgen import stock, tomlfile, units
from certgen.errors import DesignError, InputError, Problem

PAPERS = {"letter": "Letter", "a4": "A4"}
COUNTS = (1, 2, 3)
NAMES = tuple(f"{paper}-{n}up" for paper in PAPERS for n in COUNTS)
MARK_LENGTH = 5.0  # mm
MARK_OFFSET = 2.0  # mm between a trim edge and its crop mark


@dataclass(frozen=True)
class Sheet:
    name: str
    width: float
    height: float
    slots: tuple[tuple[float, float], ...]  # each trim box's top-left corner
    trim: tuple[float, float]  # the certificate's width and height
    crop_marks: bool = False
    bleed: float = 0.0  # how far the art runs past each trim edge

    def describe(self) -> str:
        """What the layout is, for a run's settings: a change of gutter moves the slots."""
        slots = hashlib.sha256(repr(self.slots).encode()).hexdigest()[:8]
        marks = ", crop marks" if self.crop_marks else ""
        return f"{self.name}, {len(self.slots)} up, bleed {self.bleed:g} mm{marks}, slots {slots}"

    def trims(self, grow: float = 0.0) -> list[tuple[float, float, float, float]]:
        """Every trim box as (left, top, right, bottom), or grown by ``grow`` on each side."""
        w, h = self.trim
        return [(x - grow, y - grow, x + w + grow, y + h + grow) for x, y in self.slots]

    def marks(self) -> list[tuple[float, float, float, float]]:
        """Crop marks as lines (x1, y1, x2, y2): two at each trim corner, continuing its
        edges outwards beyond the bleed, kept only where they touch no certificate's art
        and stay on the paper."""
        if not self.crop_marks:
            return []
        found = []
        start = max(MARK_OFFSET, self.bleed + 1.0)
        end = start + MARK_LENGTH
        for left, top, right, bottom in self.trims():
            for y in (top, bottom):
                found += [(left - end, y, left - start, y), (right + start, y, right + end, y)]
            for x in (left, right):
                found += [(x, top - end, x, top - start), (x, bottom + start, x, bottom + end)]
        return sorted({m for m in found if self._clear(m)})

    def _clear(self, mark: tuple[float, float, float, float]) -> bool:
        x1, y1, x2, y2 = mark
        on_paper = 0 <= min(x1, x2) and max(x1, x2) <= self.width
        on_paper = on_paper and 0 <= min(y1, y2) and max(y1, y2) <= self.height
        e = 0.01  # a mark on a trim's edge would show on the cut certificate
        return on_paper and not any(
            min(x1, x2) < r + e
            and max(x1, x2) > lft - e
            and min(y1, y2) < b + e
            and max(y1, y2) > t - e
            for lft, t, r, b in self.trims(self.bleed)
        )


class SheetFile(BaseModel):
    """A custom sheet: paper size and grid; offsets default to a centred grid."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    width_mm: float = Field(gt=0, le=2000)
    height_mm: float = Field(gt=0, le=2000)
    columns: int = Field(ge=1, le=20)
    rows: int = Field(ge=1, le=20)
    gutter_mm: float = Field(default=0, ge=0, le=100)
    left_mm: float | None = Field(default=None, ge=0)
    top_mm: float | None = Field(default=None, ge=0)


def load(
    name_or_path: str,
    trim: tuple[float, float],
    gutter: float | None = None,
    crop_marks: bool = False,
    bleed: float = 0.0,
) -> Sheet:
    """The sheet ``name_or_path`` names, for certificates ``trim`` (width, height) mm whose
    art runs ``bleed`` mm past the trim (the gutter is then at least twice that)."""
    if name_or_path.lower() in stock.BY_NAME:
        if gutter is not None:
            message = f"--gutter: the parts of {name_or_path} sheets are where the paper has them"
            raise InputError([Problem(message, hint="leave out --gutter")])
        return _marked(_stocked(stock.BY_NAME[name_or_path.lower()], trim, crop_marks, bleed))
    if name_or_path.lower() in NAMES:
        gutter = 2 * bleed if gutter is None else gutter
        _check_gutter(gutter, bleed)
        sheet = _named(name_or_path.lower(), trim, gutter, crop_marks)
        return _marked(dataclasses.replace(sheet, bleed=bleed))
    path = Path(name_or_path)
    if not path.is_file():
        raise InputError(
            [
                Problem(
                    f"no sheet named '{name_or_path}'",
                    hint=f"use one of {', '.join(NAMES)}, a printer stock (certgen sheets "
                    "list shows them) or a sheet TOML file",
                )
            ]
        )
    try:
        spec = SheetFile.model_validate(tomlfile.read(path))
    except (OSError, tomlfile.Unreadable, pydantic.ValidationError) as exc:
        raise DesignError(f"not a sheet file: {exc}", path=str(path)) from None
    if gutter is None and "gutter_mm" not in spec.model_fields_set:
        gutter = 2 * bleed  # room for each neighbour's bleed
    if gutter is not None:
        spec = spec.model_copy(update={"gutter_mm": gutter})
    _check_gutter(spec.gutter_mm, bleed)
    slots = _grid(
        spec.width_mm,
        spec.height_mm,
        spec.columns,
        spec.rows,
        trim,
        spec.gutter_mm,
        spec.left_mm,
        spec.top_mm,
    )
    if slots is None:
        raise DesignError(
            f"{spec.columns} x {spec.rows} certificates of {trim[0]:g} x {trim[1]:g} mm with a "
            f"{spec.gutter_mm:g} mm gutter do not fit a {spec.width_mm:g} x {spec.height_mm:g} "
            "mm sheet",
            path=str(path),
        )
    return _marked(
        Sheet(path.stem, spec.width_mm, spec.height_mm, tuple(slots), trim, crop_marks, bleed)
    )


def _stocked(
    paper: stock.Stock, trim: tuple[float, float], crop_marks: bool, bleed: float
) -> Sheet:
    """The stock's parts, each with a certificate centred on it; a certificate that fits
    the parts only turned puts the page in landscape (the sheet is fed the same way)."""
    (width, height), (part_w, part_h) = paper.paper, paper.part
    corners = paper.corners()
    e = 1e-6
    if trim[0] > part_w + e or trim[1] > part_h + e:
        if trim[0] > part_h + e or trim[1] > part_w + e:
            raise InputError(
                [
                    Problem(
                        f"a {trim[0]:g} x {trim[1]:g} mm certificate does not fit the "
                        f"{part_w:.4g} x {part_h:.4g} mm parts of {paper.name} ({paper.title})",
                        hint="pick a design that size or smaller (certgen designs list), or "
                        "another sheet (certgen sheets list)",
                    )
                ]
            )
        turned = [(y, width - x - part_w) for x, y in corners]  # the page turned left
        corners = sorted(turned, key=lambda corner: (round(corner[1], 6), corner[0]))
        (width, height), (part_w, part_h) = (height, width), (part_h, part_w)
    slots = tuple((x + (part_w - trim[0]) / 2, y + (part_h - trim[1]) / 2) for x, y in corners)
    sheet = Sheet(paper.name, width, height, slots, trim, crop_marks, bleed)
    grown = sheet.trims(bleed - e)
    if bleed and any(_overlap(a, b) for i, a in enumerate(grown) for b in grown[i + 1 :]):
        raise InputError(
            [
                Problem(
                    f"--bleed {bleed:g}: the certificates on {paper.name} sheets are too close "
                    "for their art to run past the trim without printing on each other",
                    hint="leave out --bleed, or give a sheet file with a gutter of at least "
                    f"{2 * bleed:g} mm",
                )
            ]
        )
    return sheet


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _marked(sheet: Sheet) -> Sheet:
    """The sheet, unless crop marks were asked for and none fits: never silently none."""
    if sheet.crop_marks and not sheet.marks():
        room = max(MARK_OFFSET, sheet.bleed + 1.0) + MARK_LENGTH
        raise InputError(
            [
                Problem(
                    f"--crop-marks: no crop mark fits on {sheet.name}: the certificates leave "
                    f"no {room:g} mm of paper outside them, nor a gutter that wide between "
                    "them",
                    hint="print fewer a sheet (2up or 1up), or on a sheet file with room "
                    "around them; or leave out --crop-marks and give --bleed, whose TrimBox "
                    "tells the print shop where to cut",
                )
            ]
        )
    return sheet


DESKTOP_MARGIN = 5.0  # mm a desktop printer leaves unprinted at each edge (about 4 to 6)


def in_printer_margin(
    sheet: Sheet | None,
    trim: tuple[float, float],
    boxes: dict[str, tuple[float, float, float, float]],
) -> dict[str, float]:
    """Of the design's ``boxes`` (name -> left, top, right, bottom in mm of the trim), those
    that come within DESKTOP_MARGIN of the paper's edge on ``sheet`` (None: a page each, the
    paper the trim), with how near; none on a sheet with bleed, which goes to a print shop."""
    if sheet is not None and sheet.bleed:
        return {}
    paper = (sheet.width, sheet.height) if sheet else trim
    corners = sheet.slots if sheet else ((0.0, 0.0),)
    near: dict[str, float] = {}
    for name, (left, top, right, bottom) in boxes.items():
        for x, y in corners:
            edge = min(x + left, y + top, paper[0] - x - right, paper[1] - y - bottom)
            if edge < DESKTOP_MARGIN - 1e-6:
                near[name] = min(near.get(name, edge), max(edge, 0.0))
    return near


def margin_note(where: str, near: dict[str, float]) -> str:
    """The note for what ``in_printer_margin`` found, ``where`` (on letter-3up sheets...)."""
    shown = ", ".join(f"{name} ({mm:.1f} mm)" for name, mm in sorted(near.items())[:8])
    more = f" and {len(near) - 8} more" if len(near) > 8 else ""
    verb = "comes" if len(near) == 1 else "come"
    return (
        f"Note: {where}, {shown}{more} {verb} within {DESKTOP_MARGIN:g} mm of the paper's edge, "
        "where a desktop printer prints nothing: they will be cut off there. Keep them inside "
        "that margin, print on a sheet with room around the design, or at a print shop with "
        "--bleed 3."
    )


ORDERS = ("rows", "cut-stack")


def after_cutting(count: int, per_sheet: int) -> list[int]:
    """For each certificate in the order drawn (sheets filled slot by slot, the last sheet
    partly), its place (from 0) in the stack a guillotine leaves: cut the stack of sheets
    into one pile a slot, then put the piles on each other, the first slot's on top.

    Drawing row ``after_cutting(...)[j]`` at place ``j`` is cut-and-stack imposition: the
    piled stack is then in the rows' order (presorted mail stays presorted)."""
    if count == 0:
        return []
    sheets_ = -(-count // per_sheet)
    filled_last = count - (sheets_ - 1) * per_sheet  # slots the last sheet fills
    starts, start = [], 0
    for slot in range(per_sheet):  # a slot's pile: a certificate from every sheet but, past
        starts.append(start)  # the last sheet's filled slots, the last one
        start += sheets_ if slot < filled_last else sheets_ - 1
    return [starts[j % per_sheet] + j // per_sheet for j in range(count)]


def _check_gutter(gutter: float, bleed: float) -> None:
    """Neighbours' art must not overlap: each runs ``bleed`` into the gutter."""
    if gutter < 2 * bleed - 1e-9:
        message = (
            f"a {bleed:g} mm bleed needs a gutter of at least {2 * bleed:g} mm, not {gutter:g} mm"
        )
        hint = f"give --gutter {2 * bleed:g} or more"
        raise InputError([Problem(message, hint=hint)])


def bleed_page(trim: tuple[float, float], bleed: float, crop_marks: bool) -> Sheet:
    """One certificate a page, the page larger than the trim by the bleed and, with crop
    marks, by room for them; the PDF's TrimBox and BleedBox tell a print shop where to cut."""
    margin = bleed + (max(MARK_OFFSET, bleed + 1.0) + MARK_LENGTH - bleed if crop_marks else 0)
    width, height = trim[0] + 2 * margin, trim[1] + 2 * margin
    return Sheet("bleed", width, height, ((margin, margin),), trim, crop_marks, bleed)


def _named(name: str, trim: tuple[float, float], gutter: float, crop_marks: bool) -> Sheet:
    paper, count = name.split("-")
    width, height = units.page_size_mm(PAPERS[paper])
    n = int(count.removesuffix("up"))
    # Portrait paper first, a single column first: the usual way to feed and cut.
    for w, h in ((width, height), (height, width)):
        for columns, rows in ((1, n), (n, 1)):
            slots = _grid(w, h, columns, rows, trim, gutter, None, None)
            if slots is not None:
                return Sheet(name, w, h, tuple(slots), trim, crop_marks)
    raise InputError(
        [
            Problem(
                f"a {trim[0]:g} x {trim[1]:g} mm certificate does not fit {n} to a {PAPERS[paper]} "
                f"sheet with a {gutter:g} mm gutter",
                hint="pick fewer per sheet, a smaller gutter, or a custom sheet file",
            )
        ]
    )


def _grid(
    width: float,
    height: float,
    columns: int,
    rows: int,
    trim: tuple[float, float],
    gutter: float,
    left: float | None,
    top: float | None,
) -> list[tuple[float, float]] | None:
    """Top-left corners, row by row, or None if the grid leaves the paper."""
    used_w = columns * trim[0] + (columns - 1) * gutter
    used_h = rows * trim[1] + (rows - 1) * gutter
    left = (width - used_w) / 2 if left is None else left
    top = (height - used_h) / 2 if top is None else top
    if left < -1e-6 or top < -1e-6 or left + used_w > width + 1e-6 or top + used_h > height + 1e-6:
        return None
    return [
        (left + c * (trim[0] + gutter), top + r * (trim[1] + gutter))
        for r in range(rows)
        for c in range(columns)
    ]
