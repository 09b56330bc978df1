"""Rendering benchmark: certificates per second, bytes per certificate and peak memory.

    python bench/render.py [--sizes 100,1000,10000] [--design classic]

Each size runs twice in this process: the naive baseline (every page drawn from scratch,
the QR code a raster image with the standard's mask search) and certgen's own path
(static art in one form XObject, vector QR with a fixed mask). Both run end to end: codes,
templates, fitting, drawing and, for certgen, recording every code in a SQLite ledger.
Peak memory is the largest resident set of a child process running that size alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import qrcode
from reportlab.lib.utils import ImageReader

from certgen import codes, inputs, issue, qr, render, units
from certgen import design as design_mod
from certgen.ledger import open_ledger

NOW = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
BASE_URL = "https://gifts.example"
DEFAULTS = {"business": "Riverside Auto Care", "phone": "(555) 010-2030"}


def make_rows(design: design_mod.Design, count: int) -> list[inputs.Row]:
    rows = []
    for i in range(count):
        given = {"recipient": f"Friend Number {i}", "giver": f"Customer {i % 997}"}
        row, problems = inputs.resolve(design, given, DEFAULTS, NOW.date(), row=i + 2)
        assert not problems
        rows.append(row)
    return rows


def run_certgen(design: design_mod.Design, rows: list[inputs.Row], folder: Path) -> Path:
    output = folder / "certgen.pdf"
    with open_ledger(f"sqlite:///{folder / 'ledger.db'}") as ledger:
        issue.issue(
            design,
            rows,
            output=output,
            ledger=ledger,
            base_url=BASE_URL,
            source="bench.csv",
            now=NOW,
        )
    return output


def _naive_qr(s: render.Surface, element: Any, cert: render.Certificate) -> None:
    image = qrcode.make(qr.redeem_url(BASE_URL, cert.code), border=element.quiet_zone)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    side = units.mm_to_pt(element.size)
    left, top = s.page.x(element.x), s.page.y(element.y)
    s.canvas.drawImage(ImageReader(buffer), left, top - side, side, side)


def run_naive(design: design_mod.Design, rows: list[inputs.Row], folder: Path) -> Path:
    """The baseline: no shared form, everything drawn on every page, raster QR."""
    output = folder / "naive.pdf"
    row_codes = [codes.generate() for _ in rows]
    certs = issue.prepare(
        design, rows, row_codes=row_codes, base_url=BASE_URL, issued_on=NOW.date(), file=None
    )
    with output.open("wb") as stream:
        writer = render.Writer(design, stream, title="naive")
        drawers = {**render.DRAWERS, design_mod.QrElement: _naive_qr}
        static_texts: dict[str, render.Fitted] = {}
        for e in writer.static["front"]:
            if isinstance(e, design_mod.TextElement):
                fitted = render.fit(design, e, design.templates[e.id].render({}))
                assert fitted is not None
                static_texts[e.id] = fitted
        c = writer.surface.canvas
        width, height = (
            units.mm_to_pt(design.width_mm),
            units.mm_to_pt(design.height_mm),
        )
        for cert in certs:
            page = design.manifest.design
            if page.background:
                background = writer.surface.art[page.background, page.background_page]
                background.draw(c, 0, 0, width, height)
            every = render.Certificate(
                cert.code, {**static_texts, **cert.texts}, cert.code_text, {}
            )
            for element in (e for e in design.manifest.elements if e.side == "front"):
                drawers[type(element)](writer.surface, element, every)
            c.showPage()
        writer.close()
    return output


VARIANTS: dict[str, Callable[[design_mod.Design, list[inputs.Row], Path], Path]] = {
    "naive": run_naive,
    "certgen": run_certgen,
}


def measure(variant: str, design_name: str, count: int) -> tuple[float, int]:
    """Seconds and output bytes for one run."""
    design = design_mod.load(design_mod.shipped_designs_dir() / design_name)
    rows = make_rows(design, count)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        output = VARIANTS[variant](design, rows, Path(tmp))
        seconds = time.perf_counter() - start
        return seconds, output.stat().st_size


def peak_rss_mib(variant: str, design_name: str, count: int) -> float:
    done = subprocess.run(
        [sys.executable, __file__, "--child", variant, design_name, str(count)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(done.stdout.strip())


ROW = "{:>7} {:>8} {:>8} {:>11} {:>9} {:>9}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--design", default="classic")
    parser.add_argument(
        "--baseline-max", type=int, default=1000, help="largest size the slow baseline runs at"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        variant, design_name, count = args.child
        measure(variant, design_name, int(count))
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return
    measure("certgen", args.design, 10)  # warm-up: imports, font parsing
    print(f"design {args.design}; end to end, one process, this machine")
    print(ROW.format("rows", "variant", "cert/s", "bytes/cert", "peak MiB", "speed-up"))
    for count in (int(n) for n in args.sizes.split(",")):
        rates = {}
        for variant in VARIANTS:
            if variant == "naive" and count > args.baseline_max:
                continue
            seconds, size = measure(variant, args.design, count)
            rates[variant] = count / seconds
            peak = peak_rss_mib(variant, args.design, count)
            ratio = f"{rates[variant] / rates['naive']:.1f}x" if "naive" in rates else "-"
            rate, per_cert = f"{count / seconds:.0f}", f"{size / count:.0f}"
            print(ROW.format(count, variant, rate, per_cert, f"{peak:.0f}", ratio))


if __name__ == "__main__":
    main()
