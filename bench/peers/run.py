"""certgen beside the tools a user could pick instead, on the same certificate content.

    python bench/peers/run.py [--sizes 1,10000] [--runs 5]

The peers (bench/peers/content.py has what each draws):
- certgen: `certgen issue` with the compact design (its art too), every code recorded
  in a fresh SQLite ledger; one certificate from the options, a list with --jobs 2;
- typst: a Typst template (the typst package from PyPI) over the rows as JSON, QR codes
  encoded by the qrcode package (Typst's QR packages need its registry, out of reach here);
- reportlab: a plain reportlab script, reportlab's own QR widget.
Each is a new process (start-up included), wall clock: the median of --runs for one
certificate, one run for a list. Every output is checked on its first, middle and last page:
the QR code decodes (zxing-cpp at 150 dpi) to the redeem URL of the code printed on that
page, and the page's text holds its recipient and giver.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import content
import pypdfium2 as pdfium
import zxingcpp

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable


def commands(name: str, count: int, folder: Path, out: Path) -> list[str]:
    rows, listing = folder / f"rows-{count}.json", folder / f"rows-{count}.csv"
    if name == "certgen":
        base = [PYTHON, "-m", "certgen", "issue", "-d", "compact", "-q", "--force"]
        base += ["--set", f"business={content.FIXED['business']}", "--base-url", content.BASE_URL]
        base += ["--set", "terms=" + content.FIXED["terms"], "-o", str(out)]
        if count == 1:
            person = content.people(1)[0]
            return [*base, "--to", person["recipient"], "--from", person["giver"]]
        return [*base, str(listing), "--jobs", "2"]
    script = HERE / f"{name}_peer.py"
    return [PYTHON, str(script), str(rows), str(out)]


def check(pdf: Path, count: int) -> None:
    """First, middle and last page: the QR code names the page's code, the names are there."""
    doc = pdfium.PdfDocument(str(pdf))
    assert len(doc) == count, f"{pdf.name}: {len(doc)} pages for {count} certificates"
    people = content.people(count)
    for index in sorted({0, count // 2, count - 1}):
        page = doc[index]
        text = page.get_textpage().get_text_range()
        found = [r.text for r in zxingcpp.read_barcodes(page.render(scale=150 / 72).to_pil())]
        assert len(found) == 1, f"{pdf.name} page {index + 1}: {len(found)} QR codes"
        code = found[0].rsplit("/r/", 1)[-1]
        assert found[0] == f"{content.BASE_URL}/r/{code}", found
        printed = re.sub(r"[\s-]", "", text)
        assert code.replace("-", "") in printed, f"{pdf.name} page {index + 1}: {code} not printed"
        for field in ("recipient", "giver"):
            assert people[index][field] in text, f"{pdf.name} page {index + 1}: no {field}"
    doc.close()


def run(command: list[str], env: dict[str, str]) -> tuple[float, float | None]:
    """Wall seconds, and the seconds Typst itself took where the peer says (its stderr)."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{' '.join(command[:4])} failed: {done.stderr[-2000:]}")
    alone = re.search(r"typst ([0-9.]+) s", done.stderr)
    return seconds, float(alone.group(1)) if alone else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    peers = ["certgen", "typst", "reportlab"]
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CERTGEN_")}
        env["CERTGEN_HOME"] = str(folder / "home")
        print(
            f"{'certificates':>12}  {'peer':<14} {'seconds':>8} {'per second':>11} {'x certgen':>9}"
        )
        for count in sizes:
            content.write_rows(folder / f"rows-{count}.json", count)
            content.write_csv(folder / f"rows-{count}.csv", count)
            times = {}
            for name in peers:
                out = folder / f"{name}-{count}.pdf"
                command = commands(name, count, folder, out)
                runs = args.runs if count == 1 else 1
                if count == 1:
                    run(command, env)  # a machine that has run it once: caches and files warm
                measured = [run(command, env) for _ in range(runs)]
                times[name] = statistics.median(seconds for seconds, _ in measured)
                if name == "typst":
                    alone = statistics.median(a for _, a in measured if a is not None)
                    times["  typst alone"] = alone  # its compile, without process or QR codes
                check(out, count)
            for name, seconds in times.items():
                ratio = seconds / times["certgen"]
                rate = count / seconds
                print(f"{count:>12,}  {name:<14} {seconds:>8.3f} {rate:>11,.0f} {ratio:>9.2f}")
    print("every output checked: QR decodes to the printed code, names extract")


if __name__ == "__main__":
    main()
