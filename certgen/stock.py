"""Printer stock people buy: sheets with the cards, postcards or perforated parts fixed.

Each stock's geometry is the vendor's published template (Avery's, as also recorded in
the gLabels template database), or for perforated paper the paper divided evenly.
Millimetres from the sheet's top-left corner, portrait, like everything in ``sheets``.
"""

from __future__ import annotations

from dataclasses import dataclass

INCH = 25.4
LETTER = (8.5 * INCH, 11 * INCH)
A4 = (210.0, 297.0)


@dataclass(frozen=True)
class Stock:
    name: str
    title: str
    paper: tuple[float, float]
    part: tuple[float, float]  # each card's (or perforated part's) width and height
    grid: tuple[int, int]  # columns, rows
    first: tuple[float, float]  # the top-left part's top-left corner
    pitch: tuple[float, float]  # from one part's corner to the next one's, across and down
    also: tuple[str, ...] = ()  # vendors' product numbers for the same sheet

    def corners(self) -> list[tuple[float, float]]:
        """Each part's top-left corner, row by row."""
        (x0, y0), (dx, dy), (columns, rows) = self.first, self.pitch, self.grid
        return [(x0 + c * dx, y0 + r * dy) for r in range(rows) for c in range(columns)]


def _avery(*numbers: str) -> tuple[str, ...]:
    return tuple(f"avery-{n}" for n in numbers)


STOCK = (
    Stock(
        "business-cards-letter",
        "Business cards, 3.5 x 2 in, 10 to a Letter sheet",
        LETTER,
        (3.5 * INCH, 2 * INCH),
        (2, 5),
        (0.75 * INCH, 0.5 * INCH),
        (3.5 * INCH, 2 * INCH),
        _avery("5371", "5376", "5871", "5911", "8371", "8376", "8471", "8871", "8877", "28371"),
    ),
    Stock(
        "business-cards-a4",
        "Business cards, 85 x 54 mm, 10 to an A4 sheet",
        A4,
        (85.0, 54.0),
        (2, 5),
        (15.0, 13.5),
        (95.0, 54.0),
        _avery("c32011"),
    ),
    Stock(
        "business-cards-a4-85x55",
        "Business cards, 85 x 55 mm, 10 to an A4 sheet (a centred grid: check it against your "
        "sheet's template with certgen calibrate)",
        A4,
        (85.0, 55.0),
        (2, 5),
        (20.0, 11.0),
        (85.0, 55.0),
    ),
    Stock(
        "postcards-letter-2up",
        "Postcards, 6 x 4 in, 2 to a Letter sheet",
        LETTER,
        (6 * INCH, 4 * INCH),
        (1, 2),
        (1.25 * INCH, 1.25 * INCH),
        (6 * INCH, 4.5 * INCH),
        _avery("5389"),
    ),
    Stock(
        "postcards-letter-4up",
        "Postcards, 4.25 x 5.5 in, 4 to a Letter sheet, edge to edge",
        LETTER,
        (4.25 * INCH, 5.5 * INCH),
        (2, 2),
        (0.0, 0.0),
        (4.25 * INCH, 5.5 * INCH),
        _avery("8387"),
    ),
    Stock(
        "postcards-a4-4up",
        "Postcards, A6 (105 x 148.5 mm), 4 to an A4 sheet, edge to edge",
        A4,
        (105.0, 148.5),
        (2, 2),
        (0.0, 0.0),
        (105.0, 148.5),
    ),
    Stock(
        "letter-half",
        "Half-sheets, 8.5 x 5.5 in, perforated Letter paper",
        LETTER,
        (8.5 * INCH, 5.5 * INCH),
        (1, 2),
        (0.0, 0.0),
        (0.0, 5.5 * INCH),
        _avery("5126", "8126"),
    ),
    Stock(
        "letter-third",
        "Third-sheets, 8.5 x 3.67 in, perforated Letter paper",
        LETTER,
        (8.5 * INCH, 11 * INCH / 3),
        (1, 3),
        (0.0, 0.0),
        (0.0, 11 * INCH / 3),
    ),
    Stock(
        "a4-half",
        "Half-sheets, A5 (210 x 148.5 mm), perforated A4 paper",
        A4,
        (210.0, 148.5),
        (1, 2),
        (0.0, 0.0),
        (0.0, 148.5),
    ),
    Stock(
        "a4-third",
        "Third-sheets, 210 x 99 mm, perforated A4 paper",
        A4,
        (210.0, 99.0),
        (1, 3),
        (0.0, 0.0),
        (0.0, 99.0),
    ),
)
BY_NAME = {name: s for s in STOCK for name in (s.name, *s.also)}
