"""QR payloads and module matrices. Knows nothing about PDF.

A QR code is linear over GF(2) in its data codewords: Reed-Solomon is linear, placement
moves bits and the mask flips fixed modules. So a matrix is a fixed base (function
patterns, format bits, the mask over all-zero data) XOR one pattern per data codeword
value, each pattern built once and cached. Redeem URLs differ only in their code, so a
run builds a few hundred patterns and then encodes each certificate in a few dozen XORs,
where the qrcode package's pure-Python encoder took milliseconds. qrcode itself supplies
the tables (versions, blocks, function patterns), and the tests compare the two.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import qrcode
import qrcode.base
import qrcode.constants
import qrcode.util

_ECC = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}
# The standard picks the mask by a penalty search over all eight, which costs more than
# drawing the rest of a certificate. Every mask decodes; tests decode each page's code.
MASK_PATTERN = 2
_PAD = (0xEC, 0x11)


def redeem_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/r/{code}"


@dataclass(frozen=True)
class Matrix:
    """A QR code without its quiet zone: ``rows[r]`` has bit ``c`` set where the module
    in column ``c`` is dark."""

    size: int
    rows: tuple[int, ...]

    @property
    def runs(self) -> tuple[tuple[int, int, int], ...]:
        """Dark modules as (row, start column, run length)."""
        return tuple(
            (r, start, length)
            for r, bits in enumerate(self.rows)
            for start, length in row_runs(bits)
        )


@functools.cache
def _version(length: int, ecc: str) -> int:
    """The smallest version that holds ``length`` bytes. Redeem URLs all have one length,
    so this is found once instead of by encoding every payload twice (``fit=True``)."""
    code = qrcode.QRCode(error_correction=_ECC[ecc])
    code.add_data("a" * length, optimize=0)
    return int(code.best_fit())


def modules(payload: str, ecc: str = "M") -> int:
    """Modules per side of the QR code for ``payload``, without the quiet zone."""
    return 17 + 4 * _version(len(payload.encode("utf-8")), ecc)


_EXP, _LOG = qrcode.base.EXP_TABLE, qrcode.base.LOG_TABLE


@functools.cache
def _generator(count: int) -> tuple[int, ...]:
    """Logarithms of the coefficients of the Reed-Solomon generator polynomial of degree
    ``count``, highest first, without its leading 1 (none of them is zero)."""
    poly = [1]
    for i in range(count):
        shifted = [0 if b == 0 else _EXP[(_LOG[b] + i) % 255] for b in [0, *poly]]
        poly = [a ^ b for a, b in zip([*poly, 0], shifted, strict=True)]
    return tuple(_LOG[c] for c in poly[1:])


def _remainder(message: list[int], count: int) -> list[int]:
    """The ``count`` error-correction codewords of ``message`` (polynomial long division,
    multiplying through the log tables: this runs a few hundred times a run)."""
    generator, rest = _generator(count), [0] * count
    for byte in message:
        factor = byte ^ rest[0]
        rest = [*rest[1:], 0]
        if factor:
            shift = _LOG[factor]
            rest = [r ^ _EXP[(g + shift) % 255] for r, g in zip(rest, generator, strict=True)]
    return rest


class _Encoder:
    """Everything about one (version, error-correction level) that no payload changes."""

    def __init__(self, version: int, ecc: str) -> None:
        self.version, self.level, self.size = version, _ECC[ecc], 17 + 4 * version
        self.blocks = [
            (b.data_count, b.total_count - b.data_count)
            for b in qrcode.base.rs_blocks(version, self.level)
        ]
        self.capacity = sum(data for data, _ in self.blocks)
        zeros, ones = self._placed(0), self._placed(1)  # with zero data the mask alone shows
        data_cells = {
            (r, c) for r in range(self.size) for c in range(self.size) if zeros[r][c] != ones[r][c]
        }
        # Bit positions (row * size + column) in the order codeword bits are placed.
        self.places = [r * self.size + c for r, c in self._zigzag() if (r, c) in data_cells]
        self.base_bits = sum(
            1 << (r * self.size + c)
            for r in range(self.size)
            for c in range(self.size)
            if zeros[r][c]
        )
        # Where each data codeword ends up: (its block, index in block, stream position),
        # and the stream position of each block's error-correction codewords.
        self.ecc_at: list[list[int]] = [[] for _ in self.blocks]
        order: list[tuple[str, int, int]] = []
        for i in range(max(data for data, _ in self.blocks)):
            order += [("d", b, i) for b, (data, _) in enumerate(self.blocks) if i < data]
        for i in range(max(ec for _, ec in self.blocks)):
            order += [("e", b, i) for b, (_, ec) in enumerate(self.blocks) if i < ec]
        starts = [sum(d for d, _ in self.blocks[:b]) for b in range(len(self.blocks))]
        by_index: dict[int, tuple[int, int, int]] = {}
        for position, (kind, block, index) in enumerate(order):
            if kind == "d":
                by_index[starts[block] + index] = (block, index, position)
            else:
                self.ecc_at[block].append(position)
        self.data_at = [by_index[i] for i in range(self.capacity)]
        self.patterns: dict[tuple[int, int], int] = {}

    def _placed(self, fill: int) -> list[list[bool]]:
        code = qrcode.QRCode(self.version, self.level, border=0, mask_pattern=MASK_PATTERN)
        code.data_cache = [0xFF * fill] * sum(d + e for d, e in self.blocks)
        code.makeImpl(False, MASK_PATTERN)
        return [[bool(m) for m in row] for row in code.modules]

    def _zigzag(self) -> list[tuple[int, int]]:
        """Every module in the order the standard places codeword bits (qrcode's map_data)."""
        cells, n = [], self.size
        upward = True
        for col in range(n - 1, 0, -2):
            if col <= 6:
                col -= 1
            rows = range(n - 1, -1, -1) if upward else range(n)
            cells += [(r, c) for r in rows for c in (col, col - 1)]
            upward = not upward
        return cells

    def _bits(self, position: int, value: int) -> int:
        """The modules a codeword of ``value`` at stream ``position`` turns over."""
        places, result = self.places[8 * position : 8 * position + 8], 0
        for bit, place in enumerate(places):
            if value >> (7 - bit) & 1:
                result |= 1 << place
        return result

    def pattern(self, index: int, value: int) -> int:
        """What data codeword ``index`` of ``value`` adds to the base: its own bits and
        its share of its block's error correction."""
        key = (index, value)
        if key not in self.patterns:
            block, offset, position = self.data_at[index]
            data, ec = self.blocks[block]
            message = [0] * data
            message[offset] = value
            result = self._bits(position, value)
            for place, byte in zip(self.ecc_at[block], _remainder(message, ec), strict=True):
                result ^= self._bits(place, byte)
            self.patterns[key] = result
        return self.patterns[key]

    def codewords(self, data: bytes) -> list[int]:
        """The data codewords for ``data`` in byte mode: mode, length, data, terminator,
        padding to a byte and pad codewords."""
        count_bits = 8 if self.version < 10 else 16
        bits = (0b0100 << count_bits | len(data)) << 8 * len(data) | int.from_bytes(data)
        length = 4 + count_bits + 8 * len(data)
        zeros = min(4, 8 * self.capacity - length)  # the terminator
        zeros += -(length + zeros) % 8  # then to a whole byte
        words = list((bits << zeros).to_bytes((length + zeros) // 8))
        return words + [_PAD[i % 2] for i in range(self.capacity - len(words))]

    def encode(self, data: bytes) -> int:
        result = self.base_bits
        for index, value in enumerate(self.codewords(data)):
            if value:
                result ^= self.pattern(index, value)
        return result


@functools.cache
def _encoder(version: int, ecc: str) -> _Encoder:
    return _Encoder(version, ecc)


def row_runs(bits: int) -> list[tuple[int, int]]:
    """The dark runs of one row as (start column, length)."""
    runs, column = [], 0
    while bits:
        gap = (bits & -bits).bit_length() - 1
        bits >>= gap
        length = (~bits & (bits + 1)).bit_length() - 1  # the trailing ones
        runs.append((column + gap, length))
        bits >>= length
        column += gap + length
    return runs


def matrix(payload: str, ecc: str = "M") -> Matrix:
    data = payload.encode("utf-8")
    encoder = _encoder(_version(len(data), ecc), ecc)
    bits, size = encoder.encode(data), encoder.size
    mask = (1 << size) - 1
    return Matrix(size, tuple(bits >> row * size & mask for row in range(size)))
