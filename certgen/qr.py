"""QR payloads and module matrices. Knows nothing about PDF."""

from __future__ import annotations

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


def matrix(payload: str, ecc: str = "M") -> Matrix:
    code = qrcode.QRCode(error_correction=_ECC[ecc], border=0, mask_pattern=MASK_PATTERN)
    code.add_data(payload)
    code.make(fit=True)
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
