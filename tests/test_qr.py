"""QR matrices decode to their payload, whatever the payload."""

from __future__ import annotations

import random
import re

import pytest
import qrcode
import qrcode.util
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from certgen import codes, qr


def decode(matrix: qr.Matrix, module_px: int = 4, quiet: int = 4) -> list[bytes]:
    side = (matrix.size + 2 * quiet) * module_px
    image = Image.new("L", (side, side), 255)
    for row, start, length in matrix.runs:
        x, y = (start + quiet) * module_px, (row + quiet) * module_px
        image.paste(0, (x, y, x + length * module_px, y + module_px))
    return [bytes(r.bytes) for r in zxingcpp.read_barcodes(image)]


def test_redeem_url() -> None:
    assert qr.redeem_url("https://gifts.example/", "ABC") == "https://gifts.example/r/ABC"


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=120), st.sampled_from("LMQH"))
def test_any_payload_decodes(payload: str, ecc: str) -> None:
    assert decode(qr.matrix(payload, ecc)) == [payload.encode("utf-8")]


def test_redeem_urls_share_one_version() -> None:
    sizes = {
        qr.matrix(qr.redeem_url("https://gifts.example", codes.generate())).size for _ in range(50)
    }
    assert sizes == {29}  # version 3 holds 42 bytes at ECC M; the URL has 39


def _reference(payload: str, ecc: str) -> tuple[tuple[int, int, int], ...]:
    """The qrcode package's own encoder, in byte mode with certgen's mask."""
    data = payload.encode("utf-8")
    code = qrcode.QRCode(
        version=qr._version(len(data), ecc),
        error_correction=qr._ECC[ecc],
        border=0,
        mask_pattern=qr.MASK_PATTERN,
    )
    code.add_data(qrcode.util.QRData(data, mode=qrcode.util.MODE_8BIT_BYTE))
    code.make(fit=False)
    return tuple(
        (y, x, len(run))
        for y, line in enumerate(code.modules)
        for x, run in _dark_runs("".join("1" if m else "0" for m in line))
    )


def _dark_runs(line: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group()) for m in re.finditer("1+", line)]


@pytest.mark.parametrize("ecc", "LMQH")
@pytest.mark.parametrize("length", [1, 2, 9, 17, 39, 80, 150, 271, 600])
def test_the_table_encoder_matches_qrcode_module_for_module(length: int, ecc: str) -> None:
    """Versions 1 to 36: one block and many, with and without version bits."""
    rng = random.Random(length)  # noqa: S311 - a repeatable sample, not a secret
    payload = "".join(rng.choice("abcXYZ019é漢-/") for _ in range(length))
    assert qr.matrix(payload, ecc).runs == _reference(payload, ecc)


def test_the_largest_code_matches_qrcode() -> None:
    payload = "x" * 2953  # version 40 at level L holds 2,953 bytes
    assert qr.modules(payload, "L") == 177
    assert qr.matrix(payload, "L").runs == _reference(payload, "L")
