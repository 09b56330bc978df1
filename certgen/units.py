"""Units, page sizes and colours. Pure functions."""

from __future__ import annotations

import re

PT_PER_MM = 72 / 25.4
PT_PER_IN = 72.0

# Portrait (width, height) in millimetres; "-landscape" swaps them.
PAGE_SIZES_MM: dict[str, tuple[float, float]] = {
    "A4": (210.0, 297.0),
    "A5": (148.0, 210.0),
    "A6": (105.0, 148.0),
    "Letter": (215.9, 279.4),
    "Legal": (215.9, 355.6),
    "Letter-third": (215.9, 279.4 / 3),  # one third of a Letter sheet, for 3-up printing
}

_COLOR = re.compile(r"#([0-9a-fA-F]{6})")


def mm_to_pt(mm: float) -> float:
    return mm * PT_PER_MM


def pt_to_mm(pt: float) -> float:
    return pt / PT_PER_MM


def page_size_mm(name: str) -> tuple[float, float]:
    """``"A4"`` or ``"A4-landscape"`` (case-insensitive) to (width, height) in mm."""
    lower = name.lower()
    landscape = lower.endswith("-landscape")
    sizes = {key.lower(): value for key, value in PAGE_SIZES_MM.items()}
    size = sizes.get(lower.removesuffix("-landscape"))
    if size is None:
        known = ", ".join(sorted(PAGE_SIZES_MM))
        raise ValueError(f"unknown page size {name!r} (known: {known}, each with -landscape)")
    width, height = size
    return (max(width, height), min(width, height)) if landscape else (width, height)


def parse_color(text: str) -> tuple[float, float, float]:
    """``"#RRGGBB"`` to an (r, g, b) triple of floats in 0..1."""
    match = _COLOR.fullmatch(text)
    if not match:
        raise ValueError(f"colour {text!r} is not of the form #RRGGBB")
    value = int(match.group(1), 16)
    return ((value >> 16) / 255, ((value >> 8) & 0xFF) / 255, (value & 0xFF) / 255)
