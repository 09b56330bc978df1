"""Certificate codes: 80 random bits in Crockford base32 plus a Damm check symbol.

A code is 16 data symbols (5 bits each, drawn with ``secrets``) and one check symbol,
shown as ``XXXX-XXXX-XXXX-XXXX-C``. The check symbol comes from the Damm algorithm over
the quasigroup ``x * y = 2x + y`` in GF(32), which is totally anti-symmetric: it catches
every single-symbol substitution and every adjacent transposition, and it stays inside
the alphabet (Crockford's own mod-37 check needs ``*~$=U``, awkward in URLs).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from typing import overload

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
DATA_LENGTH = 16
CODE_LENGTH = DATA_LENGTH + 1
GROUP = 4

_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
# What people type for symbols Crockford leaves out.
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SEPARATORS = str.maketrans("", "", " -_.\t")
_SHIFTS = range(0, DATA_LENGTH * 5, 5)
_GF32_POLY = 0b100101  # x^5 + x^2 + 1, irreducible


def _times_two(x: int) -> int:
    x <<= 1
    return x ^ _GF32_POLY if x & 0b100000 else x


def _damm(values: list[int]) -> int:
    interim = 0
    for value in values:
        interim = _times_two(interim) ^ value
    return interim


def check_symbol(data: str) -> str:
    """The symbol that makes ``data + symbol`` verify."""
    return ALPHABET[_times_two(_damm([_VALUE[c] for c in data]))]


def is_valid(code: str) -> bool:
    """True for a canonical code whose check symbol matches."""
    if len(code) != CODE_LENGTH or any(c not in _VALUE for c in code):
        return False
    return _damm([_VALUE[c] for c in code]) == 0


def generate(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """A new canonical code, never ``SAMPLE``. ``randbelow`` is replaceable only to make
    tests reproducible."""
    while True:
        if randbelow is secrets.randbelow:  # the same 80 uniform bits, in one system call
            bits = secrets.randbits(DATA_LENGTH * 5)
            data = "".join(ALPHABET[bits >> shift & 31] for shift in _SHIFTS)
        else:
            data = "".join(ALPHABET[randbelow(len(ALPHABET))] for _ in range(DATA_LENGTH))
        if data != SAMPLE_DATA:
            return data + check_symbol(data)


SAMPLE_DATA = "0" * DATA_LENGTH
SAMPLE = SAMPLE_DATA + check_symbol(SAMPLE_DATA)  # shown in previews; never issued


def display(code: str) -> str:
    """``ABCD-EFGH-JKMN-PQRS-T``: groups of four, the check symbol on its own."""
    data, check = code[:DATA_LENGTH], code[DATA_LENGTH:]
    groups = [data[i : i + GROUP] for i in range(0, DATA_LENGTH, GROUP)]
    return "-".join([*groups, check])


def normalize(text: str) -> str:
    """What a person typed or scanned, in canonical form (not yet validated).

    Case, spaces and dashes are ignored; I and L read as 1, O as 0. A full redeem URL
    is accepted too: the code is its last path segment.
    """
    text = text.strip().rstrip("/").rsplit("/", 1)[-1]
    return text.upper().translate(_SEPARATORS).translate(_READ_AS)


class Packed(Sequence[str]):
    """Canonical codes in one ASCII buffer, CODE_LENGTH bytes each: a run of 100,000 holds
    1.7 MB of codes rather than 6.5 MB of string objects."""

    def __init__(self, codes: Iterable[str] = ()):
        self.data = bytearray()
        self.extend(codes)

    def extend(self, codes: Iterable[str]) -> None:
        for code in codes:
            self.append(code)

    def append(self, code: str) -> None:
        encoded = code.encode("ascii")
        if len(encoded) != CODE_LENGTH:
            raise ValueError(f"not a canonical code: {code!r}")
        self.data += encoded

    def __len__(self) -> int:
        return len(self.data) // CODE_LENGTH

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"Packed({list(self)!r})"

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        start = range(len(self))[index] * CODE_LENGTH
        return self.data[start : start + CODE_LENGTH].decode("ascii")
