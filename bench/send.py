"""Email benchmark: messages composed per second and bytes per message, per shipped design.

    python bench/send.py [--count 40] [--design classic]

Each design runs three ways in this process, each composing complete messages (layout, QR
code, PDF, the HTML's picture of the page, MIME) as `certgen send` does for each row,
without a server (the server and `--rate` set the pace of a real run):
- naive: the certificate's PDF as it prints (art at print resolution) attached, as a
  script would that renders each certificate and attaches it;
- certgen: the emailed PDF (art at screen resolution, lighter fonts), as `send` writes it;
- certgen, no picture: the same without the PNG in the HTML body (a design's template may
  leave ``certificate_image`` out);
- send -j1, send -j2: the real `certgen send` of --count x 5 rows into an outbox, end to end
  (checks, codes recorded, each email claimed, written and marked sent), composed by one
  process and by two; the rate is the one certgen prints.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from certgen import codes, inputs, issue, send
from certgen import design as design_mod
from certgen import text as text_mod

TODAY = dt.date(2026, 11, 23)
BASE_URL = "https://gifts.example"
DEFAULTS = {"business": "Riverside Auto Care", "phone": "(555) 010-2030"}
OUTGOING = send.Outgoing("Riverside <gifts@riverside.example>", BASE_URL, "recipient", "k" * 32)


def rows(design: design_mod.Design, count: int) -> list[inputs.Row]:
    made = []
    for i in range(count):
        values = {"recipient": f"Friend {i}", "giver": f"Customer {i}", "email": f"f{i}@x.example"}
        row, problems = inputs.resolve(
            design, values, DEFAULTS, TODAY, extra=send.FIELDS["recipient"]
        )
        assert not problems, problems
        made.append(row)
    return made


def without_picture(design: design_mod.Design) -> design_mod.Design:
    """The design with an HTML body that does not ask for the certificate's picture."""
    templates = design.emails["recipient"]
    assert templates.html is not None
    source = templates.html.source.replace("{{ certificate_image }}", "")
    html = text_mod.compile_text(
        source,
        known=set(templates.html.variables) | set(design.fields),
        path="bench",
        element=None,
        field=None,
        html=True,
    )
    emails = {**design.emails, "recipient": dataclasses.replace(templates, html=html)}
    return dataclasses.replace(design, messages=emails)


def measure(design: design_mod.Design, count: int) -> tuple[float, float]:
    """(messages per second, bytes per message)."""
    made = rows(design, count)
    row_codes = [codes.generate() for _ in made]
    started = time.perf_counter()
    size = 0
    for row, code in zip(made, row_codes, strict=True):
        [cert] = issue.prepare(
            design, [row], row_codes=[code], base_url=BASE_URL, issued_on=TODAY, file=None
        )
        message = send.compose(design, row, cert, OUTGOING, batch_id="bench", issued_on=TODAY)
        size += len(message.as_bytes())
    seconds = time.perf_counter() - started
    return count / seconds, size / count


def as_printed(design: design_mod.Design) -> design_mod.Design:
    """The design whose emailed PDF is the printed one."""

    class Printed(type(design)):  # type: ignore[misc]
        def for_screen(self, dpi: int) -> design_mod.Design:
            return self

    return Printed(**{f.name: getattr(design, f.name) for f in dataclasses.fields(design)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--design", action="append")
    args = parser.parse_args()
    names = args.design or ["classic", "modern", "compact"]
    print(f"{'design':<9} {'variant':<20} {'messages/s':>10} {'bytes/message':>14}")
    for name in names:
        design = design_mod.load(design_mod.locate(name, []))
        variants = [
            ("naive (as printed)", as_printed(design)),
            ("certgen", design),
            ("certgen, no picture", without_picture(design)),
        ]
        for variant, used in variants:
            measure(used, 2)  # fonts, art and shaping caches warm, as in a run
            rate, size = measure(used, args.count)
            print(f"{name:<9} {variant:<20} {rate:>10.1f} {size:>14,.0f}")
        for jobs in (1, 2):
            rate, size = end_to_end(name, args.count * 5, jobs)
            print(f"{name:<9} {f'send -j{jobs}':<20} {rate:>10.1f} {size:>14,.0f}")


def end_to_end(design: str, count: int, jobs: int) -> tuple[float, float]:
    """(emails per second as certgen reports them, bytes per .eml) of a real send."""
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root)
        listing = folder / "friends.csv"
        people = "".join(f"Friend {i},Customer {i},f{i}@x.example\n" for i in range(count))
        listing.write_text("to,from,email\n" + people)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CERTGEN_")}
        env["CERTGEN_HOME"] = str(folder / "home")
        command = [sys.executable, "-m", "certgen", "send", str(listing), "-d", design]
        command += ["--set", f"business={DEFAULTS['business']}", "--base-url", BASE_URL]
        command += ["--outbox", str(folder / "out"), "-j", str(jobs)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        rate = re.search(r"([0-9.]+) emails/s", done.stdout)
        assert rate, done.stdout
        files = list((folder / "out").glob("*.eml"))
        assert len(files) == count
        return float(rate.group(1)), sum(f.stat().st_size for f in files) / count


if __name__ == "__main__":
    main()
