"""Inks: how a design's colours are written into a PDF.

On screen and on a desktop printer, a design's colours go in as the sRGB it gives. For a
print shop (PDF/X), they go in as the CMYK of a press: an ICC output profile (the print
shop's, or a free one), converted with littleCMS through Pillow's ImageCms, relative
colorimetric with black point compensation. Greys and black go in as black ink alone, as
print shops ask for text and QR codes (no colour fringes where the plates shift).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from certgen.errors import InputError, Problem
from certgen.units import parse_color

if TYPE_CHECKING:
    from PIL import Image, ImageCms

# Debian's libgs-common (installed with Ghostscript): Artifex's CMYK profile for SWOP
# coated stock, under the AGPL-3.0 like the rest of Ghostscript; read where it is, not copied.
DEFAULT_PROFILES = (
    Path("/usr/share/color/icc/ghostscript/default_cmyk.icc"),
    Path("/usr/share/ghostscript/iccprofiles/default_cmyk.icc"),
)
VERSIONS = ("x4", "x1a")
Rgb = tuple[float, float, float]
Cmyk = tuple[float, float, float, float]


@dataclass(frozen=True)
class Press:
    """A CMYK output condition: the ICC profile a print shop prints to. Pillow's littleCMS
    is imported when a colour is first converted: a plain run never pays for it."""

    path: Path
    data: bytes
    description: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:16]

    def cmyk(self, colour: str) -> Cmyk:
        return _cmyk(self, colour)

    def image(self, picture: Image.Image) -> Image.Image:
        """``picture`` (any mode) in this press's CMYK; its alpha, if any, is dropped."""
        return _transform(self).apply(picture.convert("RGB"))


@dataclass(frozen=True)
class Pdfx:
    """A PDF/X run: the standard's version (``x4``: PDF/X-4, transparency allowed;
    ``x1a``: PDF/X-1a:2003, none) and the press its colours are for."""

    version: Literal["x4", "x1a"]
    press: Press

    @property
    def name(self) -> str:
        return "PDF/X-4" if self.version == "x4" else "PDF/X-1a:2003"

    def describe(self) -> str:
        return f"{self.name}, {self.press.description} ({self.press.digest})"


def press(path: Path | None) -> Press:
    """The press of the ICC profile at ``path``, or of the free default; refused clearly if
    it is not a CMYK output profile."""
    from PIL import ImageCms

    if path is None:
        found = next((p for p in DEFAULT_PROFILES if p.is_file()), None)
        if found is None:
            raise InputError(
                [
                    Problem(
                        "--pdfx needs a CMYK ICC profile, and the free one certgen uses is "
                        f"not installed ({DEFAULT_PROFILES[0]})",
                        hint="give your print shop's profile with --icc FILE.icc, or install "
                        "Ghostscript's profiles (apt install libgs-common)",
                    )
                ]
            )
        path = found
    try:
        data = path.read_bytes()
        profile = ImageCms.ImageCmsProfile(path.open("rb")).profile
    except (OSError, ImageCms.PyCMSError) as exc:
        raise InputError(
            [Problem(f"cannot read the ICC profile {path}: {exc}", hint="give an .icc file")]
        ) from None
    if profile.xcolor_space.strip() != "CMYK" or profile.device_class != "prtr":
        raise InputError(
            [
                Problem(
                    f"{path} is a {profile.xcolor_space.strip()} {profile.device_class} "
                    "profile, not a CMYK output (printer) profile",
                    hint="ask the print shop for its CMYK profile (FOGRA39, GRACoL, SWOP...)",
                )
            ]
        )
    chosen = Press(path, data, (profile.profile_description or path.stem).strip())
    try:
        chosen.cmyk("#336699")  # littleCMS builds the transform, or says why it cannot
    except (OSError, ImageCms.PyCMSError) as exc:
        raise InputError(
            [Problem(f"littleCMS cannot convert to {path}: {exc}", hint="give another profile")]
        ) from None
    return chosen


@functools.cache
def _transform(press: Press) -> ImageCms.ImageCmsTransform:
    from PIL import ImageCms

    source = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    target = ImageCms.ImageCmsProfile(str(press.path))
    return ImageCms.buildTransform(
        source,
        target,
        "RGB",
        "CMYK",
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
    )


@functools.cache
def _cmyk(press: Press, colour: str) -> Cmyk:
    r, g, b = parse_color(colour)
    if r == g == b:  # grey: black ink only
        return (0.0, 0.0, 0.0, round(1 - r, 4))
    from PIL import Image, ImageCms

    pixel = Image.new("RGB", (1, 1), tuple(round(v * 255) for v in (r, g, b)))
    c, m, y, k = ImageCms.applyTransform(pixel, _transform(press)).getpixel((0, 0))  # type: ignore[union-attr, misc]
    return (round(c / 255, 4), round(m / 255, 4), round(y / 255, 4), round(k / 255, 4))
