"""Embedded subsets lose their hinting and long names, never an outline."""

from __future__ import annotations

import io
import re
import subprocess
import zlib
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from certgen import slimfont
from certgen.design import shared_fonts_dir
from tests.helpers import issue_rows, load, rows

FONTS = shared_fonts_dir()
HINTED = ["NotoSans-Regular.ttf", "EBGaramond12-Italic.ttf", "Lato-Bold.ttf"]


def _embedded(pdf: Path) -> list[bytes]:
    data = pdf.read_bytes()
    found = []
    for match in re.finditer(rb"/Length (\d+) /Length1 (\d+)\s*>>\s*stream\r?\n", data):
        found.append(zlib.decompress(data[match.end() : match.end() + int(match.group(1))]))
    return found


@pytest.mark.parametrize("name", HINTED)
def test_a_whole_font_keeps_every_outline_and_metric(name: str) -> None:
    original = (FONTS / name).read_bytes()
    before, after = TTFont(io.BytesIO(original)), TTFont(io.BytesIO(slimfont.slim(original)))
    assert "fpgm" in before and not {"fpgm", "prep", "cvt "} & set(after.keys())
    assert after["maxp"].maxSizeOfInstructions == 0
    glyf_before, glyf_after = before["glyf"], after["glyf"]
    for glyph in before.getGlyphOrder():
        old, new = glyf_before[glyph], glyf_after[glyph]
        assert old.getCoordinates(glyf_before)[0] == new.getCoordinates(glyf_after)[0], glyph
        assert not getattr(new, "program", None) or not new.program.getBytecode(), glyph
    assert before["hmtx"].metrics == after["hmtx"].metrics
    assert before.getBestCmap() == after.getBestCmap()
    names = {r.nameID for r in after["name"].names}
    assert {1, 2, 4, 6} <= names and 13 not in names
    assert after["name"].getDebugName(6) == before["name"].getDebugName(6)
    assert len(slimfont.slim(original)) < 0.8 * len(original)


def test_printed_subsets_are_slim_and_read_by_other_tools(tmp_path: Path) -> None:
    design = load("classic")
    people = rows(design, [{"recipient": "Zoë Ångström", "giver": "Łukasz"}])
    pdf = issue_rows(tmp_path, design, people, output=tmp_path / "c.pdf").file
    subsets = _embedded(pdf)
    assert len(subsets) >= 5
    for subset in subsets:
        font = TTFont(io.BytesIO(subset))
        assert not {"fpgm", "prep", "cvt "} & set(font.keys())
        font["glyf"].compile(font)  # every glyph parses and writes back
    checked = subprocess.run(
        ["gs", "-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=nullpage", str(pdf)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert checked.stdout + checked.stderr == ""  # Ghostscript warns of bad glyph data
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "Zoë Ångström" in text and "Łukasz" in text


def test_a_file_that_is_not_a_font_is_refused() -> None:
    with pytest.raises(slimfont.FontFileError):
        slimfont.slim(b"\0\1\0\0\0\1" + b"\0" * 6 + b"glyf" + b"\0" * 8 + b"\xff" * 4)
