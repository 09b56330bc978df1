"""Email benchmark: messages composed per second and bytes per message, per shipped design.

    python bench/send.py [--count 40] [--design classic]

Each design runs twice in this process: the baseline (the message with the certificate's PDF
attached only, as certgen sent it before the inline picture) and certgen's own (the same
message with the certificate shown in the HTML body as a PNG of its page). Both compose
complete messages (layout, QR code, PDF, MIME) as `certgen send` does for each row, without
a server: the server and `--rate` set the pace of a real run.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import time

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--design", action="append")
    args = parser.parse_args()
    names = args.design or ["classic", "modern", "compact"]
    print(f"{'design':<9} {'variant':<16} {'messages/s':>10} {'bytes/message':>14}")
    for name in names:
        design = design_mod.load(design_mod.locate(name, []))
        measure(design, 2)  # fonts, art and shaping caches warm, as in a run
        for variant, used in (("PDF only", without_picture(design)), ("PDF + picture", design)):
            rate, size = measure(used, args.count)
            print(f"{name:<9} {variant:<16} {rate:>10.1f} {size:>14,.0f}")


if __name__ == "__main__":
    main()
