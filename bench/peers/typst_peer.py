"""The same certificate from a Typst template (the typst package from PyPI), the rows as
JSON. Typst has no QR code of its own without its package registry (no network here), so
the script encodes each URL with the qrcode package and Typst draws the modules.

    python bench/peers/typst_peer.py ROWS.json OUT.pdf
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import qrcode
import typst

sys.path.insert(0, str(Path(__file__).resolve().parent))
from content import BASE_URL, FIXED, FONTS, HEIGHT_MM, WIDTH_MM  # noqa: E402

TEMPLATE = """
#let rows = json("rows.json")
#let fixed = json("fixed.json")
#set page(width: %(width)smm, height: %(height)smm, margin: 0mm)
#set text(font: "Noto Sans", size: 9pt)
#let at(x, y, body) = place(top + left, dx: x * 1mm, dy: y * 1mm, body)
#let qr(code, side) = {
  let m = side / code.size
  for (r, c, n) in code.runs {
    let module = rect(width: n * m, height: m, fill: black, stroke: none)
    place(top + left, dx: c * m, dy: r * m, module)
  }
}
#for (i, row) in rows.enumerate() {
  if i > 0 { pagebreak() }
  at(10, 6, text(weight: "bold", size: 8.5pt, fixed.title))
  at(10, 13, text(font: "Noto Serif", style: "italic", size: 19pt, fixed.pain))
  at(10, 25, text(weight: "bold", size: 15pt, fixed.offer))
  at(10, 44, [For])
  at(10, 54, [This gift is for you from])
  at(56, 42, text(font: "Noto Serif", size: 16pt, row.recipient))
  at(56, 52, text(font: "Noto Serif", size: 16pt, row.giver))
  at(10, 67, text(weight: "bold", size: 11pt, fixed.business))
  at(10, 74, text(size: 8pt, fixed.phone + "  ·  " + fixed.expires))
  at(10, 84, text(size: 6pt, fixed.terms))
  at(200, 28, box(width: 36mm, height: 36mm, qr(row.qr, 36mm)))
  at(200, 68, text(weight: "bold", row.code))
}
"""


def matrix(url: str) -> dict[str, object]:
    """The QR code's dark modules as runs along each row (row, column, length): a few
    hundred rectangles for Typst to place rather than one a module."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(url)
    code.make(fit=True)
    runs = []
    for r, line in enumerate(code.get_matrix()):
        c = 0
        while c < len(line):
            if line[c]:
                start = c
                while c < len(line) and line[c]:
                    c += 1
                runs.append((r, start, c - start))
            else:
                c += 1
    return {"size": len(code.get_matrix()), "runs": runs}


def main(rows_path: str, out: str) -> None:
    rows = json.loads(Path(rows_path).read_text())
    started = time.perf_counter()
    for row in rows:
        row["qr"] = matrix(f"{BASE_URL}/r/{row['code']}")
    encoded = time.perf_counter()
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root)
        (folder / "rows.json").write_text(json.dumps(rows))
        (folder / "fixed.json").write_text(json.dumps(FIXED))
        source = folder / "certificates.typ"
        source.write_text(TEMPLATE % {"width": WIDTH_MM, "height": HEIGHT_MM})
        typst.compile(
            str(source), output=out, root=str(folder), font_paths=[str(FONTS)],
            ignore_system_fonts=True,
        )  # fmt: skip
    done = time.perf_counter()
    print(f"qr codes {encoded - started:.3f} s, typst {done - encoded:.3f} s", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:3])
