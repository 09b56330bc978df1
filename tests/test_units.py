from __future__ import annotations

import pytest

from certgen import units


def test_named_sizes_and_landscape() -> None:
    assert units.page_size_mm("A4") == (210.0, 297.0)
    assert units.page_size_mm("a4-LANDSCAPE") == (297.0, 210.0)
    assert units.page_size_mm("Letter-landscape") == (279.4, 215.9)
    width, height = units.page_size_mm("Letter-third-landscape")
    assert width == 215.9 and height == pytest.approx(93.133, abs=0.001)


def test_unknown_size_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: A4"):
        units.page_size_mm("B5")


def test_mm_and_points() -> None:
    assert units.mm_to_pt(25.4) == pytest.approx(72)
    assert units.pt_to_mm(units.mm_to_pt(12.5)) == pytest.approx(12.5)


def test_colours() -> None:
    assert units.parse_color("#FF8000") == (1.0, 128 / 255, 0.0)
    for bad in ("red", "#FFF", "FF8000", "#GG0000"):
        with pytest.raises(ValueError, match="#RRGGBB"):
            units.parse_color(bad)
