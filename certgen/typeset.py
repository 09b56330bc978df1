"""From a line of text to positioned glyphs: font fallback, bidi and shaping.

Each character is drawn from the first font of a chain that covers it. The Unicode
bidirectional algorithm splits a line into runs of one direction, HarfBuzz shapes each run
(Arabic joining, Devanagari conjuncts, kerning, ligatures) and the runs are put in visual
order. Widths are in thousandths of an em, so one layout serves every font size.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import uharfbuzz as hb
from bidi import algorithm as bidi

FEATURES = {"kern": True, "liga": True}
# Characters that take their font from the letter they follow, so a name stays one run.
_FOLLOWERS = {"Mn", "Mc", "Me", "Cf", "Zs", "Pd", "Po", "Ps", "Pe", "Pi", "Pf", "Sk"}
_RTL_CLASSES = {"R", "AL", "AN", "RLE", "RLO", "RLI"}


class Face:
    """A TrueType file opened for shaping."""

    def __init__(self, path: Path):
        self.path = path
        face = hb.Face(hb.Blob.from_file_path(str(path)))
        self.font = hb.Font(face)
        self.scale = 1000 / face.upem
        self.covered = frozenset(face.unicodes)

    def covers(self, char: str) -> bool:
        return ord(char) in self.covered

    def width(self, gid: int) -> float:
        """The glyph's own advance, as the PDF font's width table will give it."""
        return float(self.font.get_glyph_h_advance(gid) * self.scale)


@functools.cache
def face(path: Path) -> Face:
    return Face(path)


class Glyph(NamedTuple):  # a tuple: a run builds dozens of these per certificate
    gid: int
    text: str  # the characters it stands for; '' for a cluster's later glyphs
    width: float  # its own advance
    advance: float  # where the next glyph starts (kerning applied)
    dx: float = 0.0
    dy: float = 0.0


@dataclass(frozen=True)
class Run:
    """Glyphs of one font and one direction, in visual order."""

    path: Path
    rtl: bool
    start: int  # where its text starts in the line's logical order
    glyphs: tuple[Glyph, ...]

    @property
    def advance(self) -> float:
        return sum(g.advance for g in self.glyphs)


@dataclass(frozen=True)
class Line:
    text: str  # logical order, as typed
    runs: tuple[Run, ...]  # visual order, left to right

    @property
    def advance(self) -> float:
        return sum(run.advance for run in self.runs)

    def width(self, size: float) -> float:
        """Width in pt at font size ``size``."""
        return self.advance * size / 1000

    @property
    def spelled(self) -> str:
        """What the glyphs spell in reading order (runs by where their text starts, a
        right-to-left run from its right end); ``text`` unless shaping merged characters
        in a way one glyph at a time cannot tell."""
        runs = sorted(self.runs, key=lambda run: run.start)
        return "".join(g.text for r in runs for g in (r.glyphs[::-1] if r.rtl else r.glyphs))


def uncovered(text: str, chain: Sequence[Path]) -> list[str]:
    """Characters no font in ``chain`` can draw (they would print as empty boxes)."""
    first = face(chain[0])
    lacking = {c for c in text if _visible(c) and not first.covers(c)}
    return sorted({c for c in lacking if not any(face(p).covers(c) for p in chain[1:])}, key=ord)


def _visible(char: str) -> bool:
    """Format controls (ZWJ, ZWNJ, bidi marks) are consumed by shaping, not drawn."""
    return char != "\n" and unicodedata.category(char) != "Cf"


@functools.lru_cache(maxsize=8192)
def layout(text: str, chain: tuple[Path, ...]) -> Line:
    """``text`` (one line, every character covered by ``chain``) as glyph runs."""
    if not text:
        return Line(text, ())
    levels = _levels(text)
    fonts = _fonts(text, chain)
    runs: list[tuple[int, int, int, Face]] = []  # start, end, level, face
    for i, (level, f) in enumerate(zip(levels, fonts, strict=True)):
        if runs and runs[-1][2] == level and runs[-1][3] is f:
            runs[-1] = (runs[-1][0], i + 1, level, f)
        else:
            runs.append((i, i + 1, level, f))
    shaped = [(level, _shape(text, a, b, f, level % 2 == 1)) for a, b, level, f in runs]
    return Line(text, tuple(_reorder(shaped)))


def _levels(text: str) -> list[int]:
    """Each character's bidi embedding level; all 0 for text with nothing right-to-left."""
    if not any(unicodedata.bidirectional(c) in _RTL_CLASSES for c in text):
        return [0] * len(text)
    storage = bidi.get_empty_storage()
    storage["base_level"] = bidi.get_base_level(text)
    storage["base_dir"] = ("L", "R")[storage["base_level"]]
    bidi.get_embedding_levels(text, storage)
    for index, char in enumerate(storage["chars"]):
        char["index"] = index
    bidi.explicit_embed_and_overrides(storage)  # drops controls, which keep their neighbour's level
    bidi.resolve_weak_types(storage)
    bidi.resolve_neutral_types(storage, False)
    bidi.resolve_implicit_levels(storage, False)
    levels = [-1] * len(text)
    for char in storage["chars"]:
        levels[char["index"]] = char["level"]
    previous = storage["base_level"]
    for i, level in enumerate(levels):
        levels[i] = previous = level if level >= 0 else previous
    return levels


def _fonts(text: str, chain: Sequence[Path]) -> list[Face]:
    """The font for each character: marks, spaces and punctuation stay with the font of the
    letter before them when it has them; anything else takes the first font that covers it.
    Fallbacks are opened only when a character needs one."""
    first = face(chain[0])
    if all(ord(c) in first.covered for c in text):
        return [first] * len(text)
    chosen: list[Face] = []
    for char in text:
        previous = chosen[-1] if chosen else None
        if previous and unicodedata.category(char) in _FOLLOWERS and previous.covers(char):
            chosen.append(previous)
            continue
        covering = next((f for f in map(face, chain) if f.covers(char)), previous or first)
        chosen.append(covering)
    return chosen


def _shape(line: str, start: int, end: int, f: Face, rtl: bool) -> Run:
    text = line[start:end]
    buffer = hb.Buffer()
    buffer.add_codepoints([ord(c) for c in text])
    buffer.guess_segment_properties()
    buffer.direction = "rtl" if rtl else "ltr"
    buffer.cluster_level = hb.BufferClusterLevel.MONOTONE_CHARACTERS
    buffer.flags = hb.BufferFlags.REMOVE_DEFAULT_IGNORABLES
    hb.shape(f.font, buffer, FEATURES)
    infos, positions, scale = buffer.glyph_infos, buffer.glyph_positions, f.scale
    if not infos:  # only default ignorables, such as a soft hyphen: nothing to draw
        return Run(f.path, rtl, start, ())
    starts = sorted({info.cluster for info in infos})
    ends = dict(zip(starts, [*starts[1:], len(text)], strict=True))
    seen: set[int] = set()
    glyphs = []
    for info, pos in zip(infos, positions, strict=True):
        gid, cluster = info.codepoint, info.cluster
        own = "" if cluster in seen else text[cluster : ends[cluster]]
        seen.add(cluster)
        glyphs.append(
            Glyph(
                gid,
                own,
                f.width(gid),
                pos.x_advance * scale,
                pos.x_offset * scale,
                pos.y_offset * scale,
            )
        )
    return Run(f.path, rtl, start, tuple(glyphs))


def _reorder(runs: list[tuple[int, Run]]) -> list[Run]:
    """Rule L2 of the bidi algorithm, on runs: from the highest level down to the lowest odd
    one, reverse every stretch of runs at that level or above."""
    if not runs:
        return []
    levels = [level for level, _ in runs]
    order = [run for _, run in runs]
    lowest_odd = min(level for level in levels if level % 2) if any(lv % 2 for lv in levels) else 0
    if not lowest_odd:
        return order
    for target in range(max(levels), lowest_odd - 1, -1):
        i = 0
        while i < len(order):
            if levels[i] >= target:
                j = i
                while j < len(order) and levels[j] >= target:
                    j += 1
                order[i:j] = order[i:j][::-1]
                levels[i:j] = levels[i:j][::-1]
                i = j
            else:
                i += 1
    return order
