"""A TrueType subset made lighter for embedding: no hinting, a short name table.

reportlab copies a font's hinting (the ``fpgm``, ``prep`` and ``cvt `` tables and every
glyph's instructions) and its whole ``name`` table (EB Garamond's licence text alone is
several kilobytes) into each subset. Hinting snaps outlines to a screen's pixel grid at
small sizes; printers and today's PDF viewers draw the outlines themselves, so it is
dead weight: about 40% of a subset, in every emailed certificate. The outlines, metrics
and character map are left as they are.
"""

from __future__ import annotations

import struct

DROPPED = frozenset({b"cvt ", b"fpgm", b"prep", b"hdmx", b"LTSH", b"VDMX"})
# copyright, family, style, unique id, full name, version, PostScript name, licence URL
KEPT_NAMES = frozenset({0, 1, 2, 3, 4, 5, 6, 14})
_MORE_COMPONENTS, _WORDS, _SCALE, _XY_SCALE, _TWO_BY_TWO, _INSTRUCTIONS = (
    0x20,
    0x01,
    0x08,
    0x40,
    0x80,
    0x100,
)


class FontFileError(ValueError):
    """Bytes that are not a TrueType font as reportlab writes its subsets."""


def slim(font: bytes) -> bytes:
    tables = _tables(font)
    if b"glyf" not in tables or b"loca" not in tables or b"head" not in tables:
        raise FontFileError("not a TrueType font with outlines")
    head = bytearray(tables[b"head"])
    long_offsets = struct.unpack_from(">h", head, 50)[0] == 1
    glyphs = [_unhinted(g) for g in _glyphs(tables[b"glyf"], tables[b"loca"], long_offsets)]
    offsets, position = [], 0
    for glyph in glyphs:
        offsets.append(position)
        position += len(glyph)
    offsets.append(position)
    long_offsets = position > 0x1FFFE
    struct.pack_into(">h", head, 50, 1 if long_offsets else 0)
    head[8:12] = b"\0\0\0\0"  # checkSumAdjustment, set below
    tables[b"head"] = bytes(head)
    tables[b"glyf"] = b"".join(glyphs)
    if long_offsets:
        tables[b"loca"] = struct.pack(f">{len(offsets)}L", *offsets)
    else:
        tables[b"loca"] = struct.pack(f">{len(offsets)}H", *(o >> 1 for o in offsets))
    if b"maxp" in tables and len(tables[b"maxp"]) >= 32:
        maxp = bytearray(tables[b"maxp"])
        struct.pack_into(">H", maxp, 26, 0)  # maxSizeOfInstructions
        tables[b"maxp"] = bytes(maxp)
    if b"name" in tables:
        tables[b"name"] = _short_names(tables[b"name"])
    for tag in DROPPED:
        tables.pop(tag, None)
    return _font(tables)


def _tables(font: bytes) -> dict[bytes, bytes]:
    try:
        count = struct.unpack_from(">H", font, 4)[0]
        tables = {}
        for i in range(count):
            tag, _, offset, length = struct.unpack_from(">4sLLL", font, 12 + 16 * i)
            if offset + length > len(font):
                raise FontFileError(f"table {tag!r} runs past the end of the file")
            tables[tag] = font[offset : offset + length]
        return tables
    except struct.error as exc:
        raise FontFileError(f"truncated font: {exc}") from exc


def _glyphs(glyf: bytes, loca: bytes, long_offsets: bool) -> list[bytes]:
    if long_offsets:
        offsets = struct.unpack(f">{len(loca) // 4}L", loca[: len(loca) // 4 * 4])
    else:
        offsets = tuple(2 * o for o in struct.unpack(f">{len(loca) // 2}H", loca))
    return [glyf[start:end] for start, end in zip(offsets, offsets[1:], strict=False)]


def _unhinted(glyph: bytes) -> bytes:
    """The glyph without its instructions, padded to a 4-byte boundary."""
    if len(glyph) < 10:
        return b""  # an empty glyph (a space)
    contours = struct.unpack_from(">h", glyph)[0]
    if contours >= 0:
        at = 10 + 2 * contours
        length = struct.unpack_from(">H", glyph, at)[0]
        points = struct.unpack_from(">H", glyph, at - 2)[0] + 1 if contours else 0
        outline = glyph[at + 2 + length :]
        glyph = glyph[:at] + b"\0\0" + outline[: _outline_length(outline, points)]
    else:
        data, at, flags = bytearray(glyph), 10, _MORE_COMPONENTS
        hinted = False
        while flags & _MORE_COMPONENTS:
            flags = struct.unpack_from(">H", data, at)[0]
            hinted |= bool(flags & _INSTRUCTIONS)
            struct.pack_into(">H", data, at, flags & ~_INSTRUCTIONS)
            at += 4 + (4 if flags & _WORDS else 2)
            at += (
                2 if flags & _SCALE else 4 if flags & _XY_SCALE else 8 if flags & _TWO_BY_TWO else 0
            )
        glyph = bytes(data[:at]) if hinted else bytes(data)
    return glyph + b"\0" * (-len(glyph) % 4)


def _outline_length(outline: bytes, points: int) -> int:
    """The bytes of a simple glyph's flags and coordinates: what follows is padding."""
    at, flags = 0, list[int]()
    while len(flags) < points:
        flag = outline[at]
        at += 1
        repeat = 1
        if flag & 0x08:
            repeat += outline[at]
            at += 1
        flags += [flag] * repeat
    for short, same in ((0x02, 0x10), (0x04, 0x20)):  # x, then y
        at += sum(1 if f & short else 0 if f & same else 2 for f in flags[:points])
    return at


def _short_names(name: bytes) -> bytes:
    """The name table with the records that identify the font and its licence's address,
    in Windows' Unicode encoding (and any platform the font has nothing else for)."""
    count, start = struct.unpack_from(">2xHH", name)
    records = [struct.unpack_from(">6H", name, 6 + 12 * i) for i in range(count)]
    windows = any(r[0] == 3 for r in records)
    kept = [r for r in records if r[3] in KEPT_NAMES and (r[0] == 3 or not windows)]
    strings, table = b"", []
    for platform, encoding, language, name_id, length, offset in kept:
        text = name[start + offset : start + offset + length]
        table.append(
            struct.pack(">6H", platform, encoding, language, name_id, length, len(strings))
        )
        strings += text
    head = struct.pack(">3H", 0, len(kept), 6 + 12 * len(kept))
    return head + b"".join(table) + strings


def _checksum(data: bytes) -> int:
    data += b"\0" * (-len(data) % 4)
    words: tuple[int, ...] = struct.unpack(f">{len(data) // 4}L", data)
    return sum(words) & 0xFFFFFFFF


def _font(tables: dict[bytes, bytes]) -> bytes:
    tags = sorted(tables)
    power = 1 << (len(tags).bit_length() - 1)
    header = struct.pack(
        ">LHHHH",
        0x00010000,
        len(tags),
        power * 16,
        power.bit_length() - 1,
        (len(tags) - power) * 16,
    )
    offset = 12 + 16 * len(tags)
    directory, body = [], []
    for tag in tags:
        data = tables[tag]
        directory.append(struct.pack(">4sLLL", tag, _checksum(data), offset, len(data)))
        padded = data + b"\0" * (-len(data) % 4)
        body.append(padded)
        offset += len(padded)
    font = bytearray(header + b"".join(directory) + b"".join(body))
    head_at = struct.unpack_from(">L", font, 12 + 16 * tags.index(b"head") + 8)[0]
    struct.pack_into(">L", font, head_at + 8, (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF)
    return bytes(font)
