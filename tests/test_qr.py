"""QR matrices decode to their payload, whatever the payload."""

from __future__ import annotations

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
