"""QR payloads and module matrices. Knows nothing about PDF."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import qrcode
import qrcode.constants

_ECC = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}
# The standard picks the mask by a penalty search over all eight, which costs more than
# drawing the rest of a certificate. Every mask decodes; tests decode each page's code.
MASK_PATTERN = 2


def redeem_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/r/{code}"


@dataclass(frozen=True)
class Matrix:
    """Dark modules as (row, start column, run length), without the quiet zone."""

    size: int
    runs: tuple[tuple[int, int, int], ...]


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


def matrix(payload: str, ecc: str = "M") -> Matrix:
    data = payload.encode("utf-8")
    version = _version(len(data), ecc)
    code = qrcode.QRCode(
        version=version, error_correction=_ECC[ecc], border=0, mask_pattern=MASK_PATTERN
    )
    code.add_data(data, optimize=0)  # byte mode, the mode _version sized for
    code.make(fit=False)
    modules = code.modules
    runs = []
    for y, line in enumerate(modules):
        x = 0
        while x < len(line):
            if line[x]:
                start = x
                while x < len(line) and line[x]:
                    x += 1
                runs.append((y, start, x - start))
            else:
                x += 1
    return Matrix(len(modules), tuple(runs))
