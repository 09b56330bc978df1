"""A design's own font file checked with fontTools before reportlab or HarfBuzz reads it.

reportlab's TrueType reader trusts the file: a truncated or damaged font ends in a struct
error deep inside it, or later, mid-run, in HarfBuzz. Reading the table directory and the
tables certgen uses here costs a few milliseconds and says what is wrong.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fontTools.ttLib import TTFont, TTLibError

# fontTools logs oddities it reads past (an old 'created' date) as warnings.
logging.getLogger("fontTools").setLevel(logging.ERROR)

# What reportlab's embedding and HarfBuzz's shaping read; TrueType outlines only
# (reportlab cannot embed CFF outlines, an OpenType .otf).
REQUIRED = ("cmap", "head", "hhea", "hmtx", "maxp", "loca", "glyf")
_CHECKED: dict[tuple[Path, int, int], str | None] = {}


class BadFont(ValueError):
    """The font cannot be used; the message says why."""


def check(path: Path) -> None:
    stat = path.stat()
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _CHECKED:
        _CHECKED[key] = _problem(path, stat.st_size)
    if _CHECKED[key]:
        raise BadFont(_CHECKED[key])


def _problem(path: Path, size: int) -> str | None:
    try:
        with TTFont(path, lazy=True, fontNumber=0) as font:
            missing = [tag for tag in REQUIRED if tag not in font]
            if "CFF " in font or "CFF2" in font:
                return "it has PostScript (CFF) outlines; use a TrueType (.ttf) version"
            if missing:
                return f"it has no {', '.join(missing)} table; it is damaged or not a TrueType font"
            for tag, entry in font.reader.tables.items():
                if entry.offset + entry.length > size:
                    return f"its '{tag.strip()}' table runs past the end of the file (truncated?)"
            glyphs = font["maxp"].numGlyphs
            if not 0 < glyphs <= 65535:
                return f"it says it has {glyphs} glyphs"
            offsets = font["loca"].locations
            if len(offsets) < glyphs or max(offsets, default=0) > font.reader.tables["glyf"].length:
                return "its glyph index (loca) points outside its glyph table"
            if font["hhea"].numberOfHMetrics > glyphs:
                return "its metrics (hhea) count more glyphs than it has"
            if not font.getBestCmap():
                return "it maps no characters (no Unicode cmap)"
    except (TTLibError, OSError, AssertionError, ValueError, KeyError, IndexError) as exc:
        return f"it cannot be read ({type(exc).__name__}: {exc})"
    except Exception as exc:  # fontTools' table parsers raise what the bytes make them
        return f"it cannot be read ({type(exc).__name__}: {exc})"
    return None
