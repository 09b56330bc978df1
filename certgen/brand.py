"""The business's brand kit (``[brand]`` in certgen.toml): its colours and font families,
which every design that names them in its styles takes (``design.Design.branded``).

A font is a family name certgen knows (``certgen designs fonts`` lists them) or a TrueType
file; a file's bold and italic faces are the files beside it named the usual way
(``Acme-Regular.ttf``, ``Acme-Bold.ttf``, ``Acme-Italic.ttf``, ``Acme-BoldItalic.ttf``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

COLOURS = ("primary", "accent")
FONTS = ("heading_font", "body_font")
KEYS = frozenset({*COLOURS, *FONTS, "logo"})
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
# A file's faces: the part of its name that says which (Acme-Bold.ttf, AcmeBoldItalic.ttf).
_FACE_WORDS = {
    "regular": ("Regular", "Book", "Roman", ""),
    "bold": ("Bold",),
    "italic": ("Italic", "Oblique"),
    "bold_italic": ("BoldItalic", "BoldOblique"),
}


class BrandError(ValueError):
    """A [brand] value that cannot be used; the message says which and how to write it."""


@dataclass(frozen=True)
class Font:
    """A brand font: a family certgen knows, or the faces of a TrueType file."""

    family: str  # the name elements are drawn in
    files: Mapping[str, Path] | None = None  # face -> file, for the business's own font


@dataclass(frozen=True)
class Brand:
    primary: str | None = None  # #RRGGBB
    accent: str | None = None
    heading_font: Font | None = None
    body_font: Font | None = None

    def __bool__(self) -> bool:
        return any((self.primary, self.accent, self.heading_font, self.body_font))

    def colour(self, name: str) -> str | None:
        return {"primary": self.primary, "accent": self.accent}.get(name)

    def font(self, role: str) -> Font | None:
        return {"heading": self.heading_font, "body": self.body_font}.get(role)

    def token(self) -> bytes:
        """What the brand changes on a page, for the design's hash (a font file's bytes)."""
        parts = [self.primary or "", self.accent or ""]
        for font in (self.heading_font, self.body_font):
            parts.append(font.family if font else "")
            for face, path in sorted((font.files or {}).items()) if font else ():
                parts.append(f"{face}:{path.read_bytes().hex()}")
        return "\0".join(parts).encode()


def parse(table: Mapping[str, object], folder: Path, where: str) -> Brand:
    """``[brand]``'s colours and fonts checked (``logo`` is read by config); a relative font
    file is read beside the certgen.toml in ``folder``."""
    values: dict[str, object] = {}
    for key in COLOURS:
        value = table.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or not _HEX.fullmatch(value):
            raise BrandError(
                f'{where}: [brand] {key} must be written #RRGGBB (like "#1f4e3d"), not {value!r}'
            )
        values[key] = value.upper()
    for key in FONTS:
        value = table.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            raise BrandError(f"{where}: [brand] {key} is a font family's name or a .ttf file")
        values[key] = _font(value, folder, f"{where}: [brand] {key}")
    return Brand(**values)  # type: ignore[arg-type]


def _font(value: str, folder: Path, where: str) -> Font:
    if not value.lower().endswith(".ttf"):
        return Font(value.strip())
    path = Path(value).expanduser()
    path = (path if path.is_absolute() else folder / path).resolve()
    if not path.is_file():
        raise BrandError(f"{where}: the font file {path} does not exist")
    return Font(f"brand {path.stem}", faces(path))


def faces(file: Path) -> dict[str, Path]:
    """A family's faces from one of its files: the file itself as the regular face, and
    the siblings its name implies for the others (missing ones draw in the nearest face)."""
    words = sorted((w for ws in _FACE_WORDS.values() for w in ws if w), key=len, reverse=True)
    base = file.stem
    for word in words:
        if base.endswith(word):
            base = base[: -len(word)].rstrip("-_ ")
            break
    found = {}
    for face, names in _FACE_WORDS.items():
        siblings = [
            file.with_name(f"{base}{joiner}{word}.ttf" if word else f"{base}.ttf")
            for word in names
            for joiner in (("-", "_", "") if word else ("",))
        ]
        first = next((s for s in siblings if s.is_file()), None)
        if first:
            found[face] = first
    found.setdefault("regular", file)  # a name that follows no pattern: itself
    return found
