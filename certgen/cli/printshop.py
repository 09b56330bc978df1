"""Checking a PDF as a print shop's preflight would, before it goes there."""

from __future__ import annotations

from pathlib import Path

import click

from certgen.cli.base import cli


@cli.command()
@click.argument("pdf_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--pdfx",
    type=click.Choice(("x4", "x1a")),
    help="The standard to check against (default: the one the file declares, else x4).",
)
def preflight(pdf_file: Path, pdfx: str | None) -> None:
    """Check PDF_FILE as a print shop's preflight does, a pass or fail per rule.

    Version, PDF/X identification, output intent, the colour spaces every page, form and
    image uses (no RGB), image resolution at placed size, fonts embedded, TrimBox and
    BleedBox, bleed, text inside the safe area, transparency. Exit code 19 if any fails.

    \b
    certgen issue customers.csv -d classic --pdfx x4 --bleed 3 -o shop.pdf
    certgen preflight shop.pdf
    """
    from certgen import preflight as preflight_mod

    standard, rules = preflight_mod.check(pdf_file, pdfx)
    click.echo(f"{pdf_file}, checked as {standard}:")
    width = max(len(rule.name) for rule in rules)
    for rule in rules:
        mark = "pass" if rule.passed else "FAIL"
        click.echo(f"  {mark}  {rule.name:<{width}}  {rule.detail}")
    failed = [rule.name for rule in rules if not rule.passed]
    if failed:
        raise preflight_mod.PreflightFailed(
            f"{len(failed)} of {len(rules)} rules failed: {', '.join(failed)}; for a print "
            "shop, issue with --pdfx x4 --bleed 3"
        )
    click.echo(f"All {len(rules)} rules pass.")
