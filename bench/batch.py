"""Mailing-run benchmark: the real `certgen issue` on a generated CSV, as a mail house runs it.

    python bench/batch.py [--sizes 10000,100000] [--design compact] [--split 1000]
    python bench/batch.py --orders --sizes 10000   # sheets in the list's order vs cut-stack
    python bench/batch.py --pdfx --sizes 10000     # plain PDF vs PDF/X-4, both with bleed

For each size: one PDF, and --split files with their manifest drawn by one process and by one
per core; each records every code in a fresh SQLite ledger. Then the same names as a Shopify
customers export (its real, wide header row) read through --profile shopify, the recipient's
name built by the profile's template, beside the plain CSV, one file by one per core, the
best of three runs each, alternated.
Prints certificates per second (wall clock, process start included), bytes per certificate
over all files, and the peak resident memory of the certgen process (the largest of its
processes with --jobs),
beside the naive baseline of bench/render.py (each page drawn from scratch, QR codes as
raster images) run in this process on 1,000 rows. With several sizes, it ends with each
variant's peak memory at the largest size against the smallest.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import render as render_bench  # bench/render.py, beside this file

ROW = "{:>7}  {:<22} {:>8} {:>11} {:>9}"
ORDERS = ("rows", "cut-stack")


BUSINESS = ["--set", "business=Riverside Auto Care"]


def write_csv(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as stream:
        stream.write("to,from\n")
        for i in range(count):
            stream.write(f"Friend {i} Lee,Customer {i}\n")


SHOPIFY = (
    "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,"
    "Default Address Address1,Default Address Address2,Default Address City,"
    "Default Address Province Code,Default Address Country Code,Default Address Zip,"
    "Default Address Phone,Phone,Accepts SMS Marketing,Total Spent,Total Orders,Note,"
    "Tax Exempt,Tags"
)


def write_shopify(path: Path, count: int) -> None:
    """The plain CSV's names as a Shopify export: a friend's first and last name, and the
    giver in the note, among every other column the export has."""
    with path.open("w", encoding="utf-8") as stream:
        stream.write(SHOPIFY + "\n")
        for i in range(count):
            stream.write(
                f"{7000000 + i},Friend {i},Lee,friend{i}@example.com,yes,,{i} Oak Street,,"
                f"Boston,MA,US,'0{2100 + i % 800},'+1617555{i % 10000:04d},"
                f"'+1617555{i % 10000:04d},no,{i % 500}.50,{i % 9},Customer {i},no,vip\n"
            )


def run_cli(args: list[str], home: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one certgen process."""
    exe = shutil.which("certgen")
    assert exe, "install certgen first (pip install -e .)"
    env = {**os.environ, "CERTGEN_HOME": str(home)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", exe, *args], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(done.stderr)
    return seconds, float(done.stdout.strip().splitlines()[-1])


def child(argv: list[str]) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def measure(
    label: str,
    command: list[str],
    out: Path,
    count: int,
    naive: float,
    peaks: dict[str, list[float]],
) -> float:
    """Run one variant into ``out``; print and return its certificates per second."""
    seconds, peak = run_cli([*command, "-o", str(out)], out.parent)
    size = sum(f.stat().st_size for f in out.parent.glob("run*.pdf"))
    rate = count / seconds
    peaks.setdefault(label, []).append(peak)
    row = (count, f"{label} ({rate / naive:.1f}x)", f"{rate:.0f}", f"{size / count:.0f}")
    print(ROW.format(*row, f"{peak:.0f}"))
    return rate


def compare_profile(folder: Path, count: int, design: str, cores: str) -> None:
    """The same names as a Shopify export through --profile shopify (the recipient's name
    from its template, the giver from --map) beside the plain CSV, one file on every core;
    alternated three times and the best of each kept, so a busy moment does not decide."""
    write_shopify(folder / "shopify.csv", count)
    plain = ["issue", str(folder / "rows.csv"), "-d", design, "-q", "--jobs", cores, *BUSINESS]
    shopify = ["issue", str(folder / "shopify.csv"), "-d", design, "-q", "--jobs", cores]
    shopify += ["--profile", "shopify", "--list-of", "friends", "--map", "giver={{ note }}"]
    shopify += BUSINESS
    best = {"plain CSV": 0.0, "shopify profile": 0.0}
    for attempt in range(3):
        for label, command in (("plain CSV", plain), ("shopify profile", shopify)):
            out = folder / f"compare-{attempt}-{label.replace(' ', '_')}" / "run.pdf"
            out.parent.mkdir()
            seconds, _ = run_cli([*command, "-o", str(out)], out.parent)
            best[label] = max(best[label], count / seconds)
    for label, rate in best.items():
        print(ROW.format(count, f"{label} -j {cores} best/3", f"{rate:.0f}", "-", "-"))
    change = best["shopify profile"] / best["plain CSV"] - 1
    print(f"{'':>7}  a Shopify export through its profile: {change:+.1%} against the plain CSV")


def compare(folder: Path, count: int, base: list[str], variants: dict[str, list[str]]) -> None:
    """The variants of one run, alternated three times and the best of each kept (a busy
    moment does not decide); the change of each against the first."""
    best = dict.fromkeys(variants, 0.0)
    for attempt in range(3):
        for label, extra in variants.items():
            out = folder / f"{label.replace(' ', '_')}-{attempt}" / "run.pdf"
            out.parent.mkdir()
            seconds, _ = run_cli([*base, *extra, "-o", str(out)], out.parent)
            best[label] = max(best[label], count / seconds)
    for label, rate in best.items():
        print(ROW.format(count, f"{label} best/3", f"{rate:.0f}", "-", "-"))
    first, *others = best
    for label in others:
        change = best[label] / best[first] - 1
        print(f"{'':>7}  {label}: {change:+.1%} against {first}")


def compare_orders(folder: Path, count: int, design: str, cores: str) -> None:
    """letter-3up sheets filled in the list's order beside cut-and-stack: what placing for
    the guillotine costs."""
    base = ["issue", str(folder / "rows.csv"), "-d", design, "-q", "--jobs", cores, *BUSINESS]
    base += ["--sheet", "letter-3up"]
    compare(folder, count, base, {f"3-up --order {o}": ["--order", o] for o in ORDERS})


def compare_pdfx(folder: Path, count: int, design: str, cores: str) -> None:
    """PDF/X-4 for a print shop (CMYK colours and art, output intent, boxes) beside the
    plain PDF, both with a 3 mm bleed: what the print shop's file costs."""
    base = ["issue", str(folder / "rows.csv"), "-d", design, "-q", "--jobs", cores, *BUSINESS]
    base += ["--bleed", "3"]
    compare(folder, count, base, {"plain": [], "--pdfx x4": ["--pdfx", "x4"]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--design", default="compact")
    parser.add_argument("--split", type=int, default=1000)
    parser.add_argument(
        "--orders", action="store_true", help="only compare --order rows and cut-stack"
    )
    parser.add_argument("--pdfx", action="store_true", help="only compare plain PDF and --pdfx x4")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    if args.orders or args.pdfx:
        for count in (int(n) for n in args.sizes.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                write_csv(Path(tmp) / "rows.csv", count)
                compared = compare_orders if args.orders else compare_pdfx
                compared(Path(tmp), count, args.design, str(os.cpu_count() or 1))
        return
    seconds, _ = render_bench.measure("naive", args.design, 1000)
    naive = 1000 / seconds
    print(f"design {args.design}; this machine ({os.cpu_count()} cores)")
    print(ROW.format("rows", "variant", "cert/s", "bytes/cert", "peak MiB"))
    print(ROW.format(1000, "naive baseline", f"{naive:.0f}", "-", "-"))
    peaks: dict[str, list[float]] = {}
    for count in (int(n) for n in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            write_csv(folder / "rows.csv", count)
            cores = str(os.cpu_count() or 1)
            for label, extra in (
                ("one file -j 1", ["--jobs", "1"]),
                (f"one file -j {cores}", ["--jobs", cores]),
                (f"--split {args.split} -j 1", ["--split", str(args.split), "--jobs", "1"]),
                (f"--split {args.split} -j {cores}", ["--split", str(args.split), "--jobs", cores]),
            ):
                out = folder / label.replace(" ", "_").replace("-", "") / "run.pdf"
                out.parent.mkdir()
                command = ["issue", str(folder / "rows.csv"), "-d", args.design, "-q"]
                measure(label, [*command, *BUSINESS, *extra], out, count, naive, peaks)
            compare_profile(folder, count, args.design, cores)
    sizes = args.sizes.split(",")
    if len(sizes) > 1:
        print(f"peak memory, {sizes[-1]} rows against {sizes[0]}:")
        for label, found in peaks.items():
            print(f"  {label:<22} {found[-1] / found[0] - 1:+.0%}")


if __name__ == "__main__":
    main()
