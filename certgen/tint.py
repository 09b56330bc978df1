"""Art drawn in shades of one colour, so a design's art follows the brand's colours.

A tinted piece of art keeps its lightness and takes the colour: black becomes the tint,
white stays white, a grey a lighter tint; transparency is kept. Pixels are mapped
channel by channel; vector art (a PDF page's content) has each colour it sets rewritten,
so it stays vector (and in a press's CMYK where the run is PDF/X).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from PIL import Image

from certgen.units import parse_color

RGB = tuple[float, float, float]
Paint = Callable[[RGB, bool], bytes]  # a colour (and whether for strokes) to its operator
# Colour operators and how many numbers each takes (sc and scn: 1, 3 or 4, by the space).
_SETTERS = {b"g": 1, b"G": 1, b"rg": 3, b"RG": 3, b"k": 4, b"K": 4}
_SPACE_SETTERS = {b"sc", b"SC", b"scn", b"SCN"}
_REFUSED = {b"BI": "an inline image", b"sh": "a gradient"}
_TOKEN = re.compile(
    rb"\s+|%[^\r\n]*|[-+]?(?:\d+\.?\d*|\.\d+)|/[^\s()<>\[\]{}/%]*|<<|>>|<[0-9A-Fa-f\s]*>|[\[\]{}]"
    rb"|[A-Za-z'\"*][A-Za-z0-9'\"*]*|\(|."
)
_NUMBER = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)")


class Untintable(ValueError):
    """Art that cannot be drawn in shades of a colour; the message says what in it."""


def shade(tint: RGB, colour: RGB) -> RGB:
    """``colour``'s lightness in shades of ``tint``."""
    light = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
    return (
        tint[0] + (1 - tint[0]) * light,
        tint[1] + (1 - tint[1]) * light,
        tint[2] + (1 - tint[2]) * light,
    )


def image(picture: Image.Image, tint: str) -> Image.Image:
    """The pixels in shades of ``tint`` (RGB, or RGBA where the picture has transparency)."""
    colour = parse_color(tint)
    transparent = picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info
    source = picture.convert("RGBA" if transparent else "RGB")
    light = source.convert("L")
    channels = [
        light.point([round(255 * (c + (1 - c) * v / 255)) for v in range(256)]) for c in colour
    ]
    if transparent:
        channels.append(source.getchannel("A"))
    return Image.merge("RGBA" if transparent else "RGB", channels)


def content(data: bytes, paint: Paint) -> bytes:
    """A content stream with every colour it sets replaced by ``paint(colour, stroking)``
    (the operator and its operands); strings, names and everything else kept byte for byte.
    Inline images and gradients are refused (``Untintable``): they hold colours of their own."""
    out: list[bytes] = []
    operands: list[tuple[int, bytes]] = []  # (index in out, number) since the last operator
    position = 0
    while position < len(data):
        if data[position : position + 1] == b"(":
            end = _string_end(data, position)
            out.append(data[position:end])
            operands.clear()
            position = end
            continue
        match = _TOKEN.match(data, position)
        token = match.group() if match else data[position : position + 1]
        position += len(token)
        if token.isspace() or token.startswith(b"%"):
            out.append(token)
            continue
        if _NUMBER.fullmatch(token):
            operands.append((len(out), token))
            out.append(token)
            continue
        if token in _REFUSED:
            raise Untintable(f"it has {_REFUSED[token]}")
        count = _SETTERS.get(token)
        if token in _SPACE_SETTERS:
            count = len(operands)
            if count not in (1, 3, 4):  # a pattern's name cleared them
                raise Untintable("it paints with a pattern or a colour space of its own")
        if count is not None and len(operands) >= count:
            numbers = [float(n) for _, n in operands[-count:]]
            start = operands[-count][0]
            del out[start:]
            out.append(paint(_as_rgb(numbers), token[:1].isupper()))
        else:
            out.append(token)
        operands.clear()
    return b"".join(out)


def _as_rgb(numbers: list[float]) -> RGB:
    if len(numbers) == 1:
        return numbers[0], numbers[0], numbers[0]
    if len(numbers) == 3:
        return numbers[0], numbers[1], numbers[2]
    c, m, y, k = numbers
    return (1 - min(1, c + k), 1 - min(1, m + k), 1 - min(1, y + k))


def _string_end(data: bytes, start: int) -> int:
    """Where a literal string opened at ``start`` ends (balanced parentheses, escapes)."""
    depth, position = 0, start
    while position < len(data):
        byte = data[position]
        if byte == 0x5C:  # backslash: the next byte is taken as it is
            position += 2
            continue
        if byte == 0x28:
            depth += 1
        elif byte == 0x29:
            depth -= 1
            if depth == 0:
                return position + 1
        position += 1
    return len(data)
