"""Placement: where each certificate of a file lands, and what each page is.

A ``Layout`` maps the n-th certificate drawn into a PDF to its spots (its front, its back
with duplex, a mailer's address panel) on numbered pages, and says what each page is: its
paper, the marks to draw on it (crop or fold marks), where to cut it (TrimBox), and the
printer's correction. Own pages, sheet slots, a partly used first sheet (``skip``), the
cut-and-stack order, mailers and calibration are all placements here; the PDF writer only
draws what it is given. Everything is millimetres from the paper's top-left corner, as in
``sheets``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Literal

from certgen import units
from certgen.mailing import FOLD_MARK, Envelope
from certgen.sheets import Sheet, after_cutting

Side = Literal["front", "back", "panel"]
Line = tuple[float, float, float, float]  # x1, y1, x2, y2


@dataclass(frozen=True)
class Spot:
    """One side of one certificate on a page: its trim box's top-left corner there, or,
    for a mailer's address panel, the paper's own corner."""

    page: int  # from 0
    side: Side
    left: float
    top: float


@dataclass(frozen=True)
class Printer:
    """A printer's correction, measured with ``certgen calibrate``: everything it prints
    lands ``offset_x`` mm right and ``offset_y`` mm down of where it should, and ``scale``
    times as far from the paper's top-left corner. Pages are drawn with the inverse."""

    name: str
    offset_x: float = 0.0
    offset_y: float = 0.0
    scale: float = 1.0

    def matrix(self, height: float) -> tuple[float, float, float, float, float, float]:
        """The PDF transform (points, origin bottom-left) that undoes the error on a page
        ``height`` mm tall: a point drawn at (x, y) from the top-left lands at
        ((x - offset_x) / scale, (y - offset_y) / scale) before the printer moves it."""
        s, h = 1 / self.scale, units.mm_to_pt(height)
        dx, dy = units.mm_to_pt(-self.offset_x) * s, units.mm_to_pt(-self.offset_y) * s
        return (s, 0.0, 0.0, s, dx, h - s * h - dy)

    def describe(self) -> str:
        return (
            f"{self.name}: {self.offset_x:+g} mm x, {self.offset_y:+g} mm y, scale {self.scale:g}"
        )


@dataclass(frozen=True)
class Paper:
    """One page: its size, marks drawn over everything on it, and its trim box (left,
    top, right, bottom) where a print shop's software should cut."""

    width: float
    height: float
    marks: tuple[Line, ...] = ()
    trim: tuple[float, float, float, float] | None = None
    printer: Printer | None = None


class Layout:
    """Certificates on pages: one a page, or ``sheet``'s slots in order from slot ``skip``
    of the first sheet (the earlier slots of a partly used sheet stay empty), each page of
    fronts followed by its backs with ``duplex`` (the sheet turned over its long edge)."""

    def __init__(
        self,
        trim: tuple[float, float],
        sheet: Sheet | None = None,
        *,
        duplex: bool = False,
        skip: int = 0,
        printer: Printer | None = None,
    ):
        self.trim, self.given = trim, sheet
        self.envelope: Envelope | None = None
        self.sheet = sheet or Sheet("page", *trim, ((0.0, 0.0),), trim)
        self.per_sheet = len(self.sheet.slots)
        if not 0 <= skip < self.per_sheet:
            raise ValueError(f"skip {skip} of {self.per_sheet} slots")
        self.duplex, self.skip, self.printer = duplex, skip, printer
        self.bleed = self.sheet.bleed
        marks = tuple(self.sheet.marks())
        boxed = sheet is not None and self.per_sheet == 1  # a bleed page: say where to cut
        left, top = self.sheet.slots[0]
        box = (left, top, left + trim[0], top + trim[1]) if boxed else None
        self._front = Paper(self.sheet.width, self.sheet.height, marks, box, printer)
        self._back = Paper(self.sheet.width, self.sheet.height, (), box, printer)

    def settings(self) -> dict[str, object]:
        """What a run records of its placement: a resumed run must place as it did."""
        found: dict[str, object] = {
            "sheet": self.given.describe() if self.given else None,
            "mailer": self.envelope.describe() if self.envelope else None,
            "duplex": self.duplex,
        }
        if self.skip:
            found["start_at"] = self.skip + 1
        if self.printer:
            found["printer"] = self.printer.describe()
        return found

    def restarted(self, skip: int) -> Layout:
        """The same placement with the first sheet's first ``skip`` slots left empty: a
        file drawn in chunks starts each later chunk on a fresh sheet."""
        if skip == self.skip:
            return self
        again = copy.copy(self)
        again.skip = skip
        return again

    def cut_stack(self, count: int, split: int | None = None) -> list[int]:
        """Cut-and-stack imposition: the positions of ``count`` rows in the order to draw
        them, so that each file's stack (``split`` rows a file), cut and piled, is in the
        rows' order (``sheets.after_cutting``)."""
        drawn: list[int] = []
        for start in range(0, count, split or max(count, 1)):
            size = min(split or count, count - start)
            drawn += [start + place for place in after_cutting(size, self.per_sheet)]
        return drawn

    def stacked(self, count: int) -> list[int]:
        """For each of a file's ``count`` certificates, its place in the cut stack."""
        return after_cutting(count, self.per_sheet)

    def where(self, index: int) -> tuple[int, int]:
        """The sheet (from 0) and slot (from 0) certificate ``index`` is drawn in."""
        return divmod(index + self.skip, self.per_sheet)

    def spots(self, index: int) -> tuple[Spot, ...]:
        sheet, slot = self.where(index)
        left, top = self.sheet.slots[slot]
        sides = 2 if self.duplex else 1
        front = Spot(sheet * sides, "front", left, top)
        if not self.duplex:
            return (front,)
        mirrored = self.sheet.width - left - self.trim[0]  # turned over its long edge
        return front, Spot(sheet * sides + 1, "back", mirrored, top)

    def paper(self, page: int) -> Paper:
        return self._back if self.duplex and page % 2 else self._front

    def pages(self, count: int) -> int:
        """Pages in a file of ``count`` certificates: the last sheet's, partly filled, too."""
        if count == 0:
            return 0
        return (self.where(count - 1)[0] + 1) * (2 if self.duplex else 1)


class Mailers(Layout):
    """A mailer sheet each: the address panel and fold marks, the certificate centred
    below the first fold where it fits (else on a page of its own after the mailer), with
    duplex each page followed by its back (blank behind a mailer without the certificate)."""

    def __init__(
        self,
        trim: tuple[float, float],
        envelope: Envelope,
        *,
        duplex: bool = False,
        printer: Printer | None = None,
    ):
        super().__init__(trim, duplex=duplex, printer=printer)
        self.envelope = envelope
        width, height = envelope.paper
        folds = [
            line
            for fold in envelope.folds
            for line in ((0.0, fold, FOLD_MARK, fold), (width - FOLD_MARK, fold, width, fold))
        ]
        self._mailer = Paper(width, height, tuple(folds), None, printer)
        self._blank = Paper(width, height, (), None, printer)
        self._own = Paper(*trim, (), None, printer)
        below = height - envelope.folds[0]
        self.beside = trim[0] <= width + 0.01 and trim[1] <= below + 0.01
        sides = 2 if duplex else 1
        self.per_mailer = sides if self.beside else 2 * sides
        if self.beside:
            self._at = ((width - trim[0]) / 2, envelope.folds[0])
            self._papers = [self._mailer, self._blank][:sides]
        else:
            self._at = (0.0, 0.0)
            if duplex:
                self._papers = [self._mailer, self._blank, self._own, self._own]
            else:
                self._papers = [self._mailer, self._own]

    def where(self, index: int) -> tuple[int, int]:
        return index, 0

    def spots(self, index: int) -> tuple[Spot, ...]:
        first = index * self.per_mailer
        page = first if self.beside else first + self.per_mailer // 2
        left, top = self._at
        found = [Spot(first, "panel", 0.0, 0.0), Spot(page, "front", left, top)]
        if self.duplex:
            width = self._papers[-1].width
            found.append(Spot(page + 1, "back", width - left - self.trim[0], top))
        return tuple(found)

    def paper(self, page: int) -> Paper:
        return self._papers[page % self.per_mailer]

    def pages(self, count: int) -> int:
        return count * self.per_mailer
