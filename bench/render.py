"""Rendering benchmark: certificates per second, bytes per certificate and peak memory.

    python bench/render.py [--sizes 100,1000,10000] [--design classic]
    python bench/render.py --design all [--sizes 1000]   every shipped design beside compact

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
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import qrcode
from reportlab.lib.utils import ImageReader

from certgen import codes, inputs, issue, placement, qr, render, units
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


def _naive_texts(design: design_mod.Design, row: inputs.Row, code: str) -> dict[str, Any]:
    """Every text of the front, static ones too, rendered and fitted for this row alone;
    the lines are shaped again when drawn."""
    values = issue.context(design, row, code, NOW.date(), BASE_URL)
    texts = {}
    for e in design.text_elements:
        if e.side == "front":
            text = unicodedata.normalize("NFC", design.templates[e.id].render(values).strip())
            fitted = render.fit(design, e, text)
            assert fitted is not None
            texts[e.id] = render.Fitted(fitted.size, fitted.lines)
    return texts


def run_naive(design: design_mod.Design, rows: list[inputs.Row], folder: Path) -> Path:
    """The baseline, fixed so that certgen's own speed-ups do not move it: no shared form,
    every element laid out and drawn on every page, the background drawn as an image on
    every page (reportlab digests its pixels each time), raster QR."""
    output = folder / "naive.pdf"
    page = design.manifest.design
    background = ImageReader(str(design.assets[page.background])) if page.background else None
    width, height = units.mm_to_pt(design.width_mm), units.mm_to_pt(design.height_mm)
    with output.open("wb") as stream:
        layout = placement.Layout((design.width_mm, design.height_mm))
        writer = render.Writer(design, stream, title="naive", layout=layout)
        drawers = {**render.DRAWERS, design_mod.QrElement: _naive_qr}
        c = writer.surface.canvas
        for row in rows:
            code = codes.generate()
            if background:
                c.drawImage(background, 0, 0, width, height)
            every = render.Certificate(
                code, _naive_texts(design, row, code), codes.display(code), {}
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
    parser.add_argument("--sizes", help="rows a run (default 100,1000,10000; 1000 for all)")
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
    if args.design == "all":
        every_design(int((args.sizes or "1000").split(",")[-1]))
        return
    args.sizes = args.sizes or "100,1000,10000"
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


def every_design(count: int) -> None:
    """Each shipped design's rate at ``count`` rows, beside compact's in the same process
    (the issue's bar: none more than 2x slower)."""
    names = [a.name for a in design_mod.available([])]
    for name in names:
        measure("certgen", name, 10)  # warm-up: its fonts and art
    baseline, _ = measure("certgen", "compact", count)
    print(f"{count} rows a design, end to end, one process, this machine")
    print("{:<16} {:>8} {:>11} {:>14}".format("design", "cert/s", "bytes/cert", "vs compact"))
    for name in names:
        seconds, size = measure("certgen", name, count)
        slower = seconds / baseline
        print(f"{name:<16} {count / seconds:>8.0f} {size / count:>11.0f} {slower:>13.2f}x")


if __name__ == "__main__":
    main()
