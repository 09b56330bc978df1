"""Where certificates go on paper, as the options give it: the sheet or printer stock,
its gutter, marks and bleed, a partly used first sheet, the printer's correction; and the
commands about sheets (``sheets list``, ``calibrate``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from certgen import config as config_mod
from certgen.cli.base import (
    cli,
    design_option,
    designs_dir_option,
    grouped_options,
    load_run_settings,
    settings_options,
)

if TYPE_CHECKING:
    from certgen.design import Design
    from certgen.mailing import Envelope
    from certgen.placement import Layout, Printer


@dataclass(frozen=True)
class SheetOptions:
    sheet: str | None
    gutter: float | None
    crop_marks: bool
    bleed: float
    start_at: int
    printer: str | None

    def check(self, mailing: bool = False) -> None:
        if self.sheet is None and self.gutter is not None:
            raise click.UsageError("--gutter needs --sheet")
        if self.sheet is None and self.crop_marks and not self.bleed:
            raise click.UsageError("--crop-marks needs --sheet or --bleed")
        if mailing and (self.sheet or self.bleed):
            raise click.UsageError(
                "--mailing prints one mailer a sheet; leave out --sheet and --bleed"
            )
        if self.start_at > 1 and self.sheet is None:
            raise click.UsageError("--start-at is for a printer sheet: give --sheet too")

    def layout(
        self,
        design: Design | None,
        config: config_mod.Config,
        *,
        duplex: bool = False,
        envelope: Envelope | None = None,
        quiet: bool = False,
    ) -> Layout:
        """The placement these options ask for, with a note when the design's art comes
        within a desktop printer's unprintable margin of the sheet's edge. Without a design,
        the certificates are the size of the printer stock's parts."""
        from certgen import placement, sheets, stock

        if design:
            trim = (design.width_mm, design.height_mm)
        elif self.sheet and self.sheet.lower() in stock.BY_NAME:
            trim = stock.BY_NAME[self.sheet.lower()].part
        else:
            raise click.UsageError("give -d DESIGN: the sheet's grid is fitted to the design")
        printer = printer_named(config, self.printer)
        if envelope:
            return placement.Mailers(trim, envelope, duplex=duplex, printer=printer)
        imposed = None
        if self.sheet:
            imposed = sheets.load(self.sheet, trim, self.gutter, self.crop_marks, self.bleed)
        elif self.bleed:
            imposed = sheets.bleed_page(trim, self.bleed, self.crop_marks)
        if imposed and self.start_at > len(imposed.slots):
            raise click.BadParameter(
                f"{imposed.name} sheets hold {len(imposed.slots)} certificates: start at 1 to "
                f"{len(imposed.slots)}",
                param_hint="--start-at",
            )
        if self.sheet and imposed and design and not quiet:  # a desktop printer's sheet
            near = sheets.in_printer_margin(imposed, trim, design.printed_boxes())
            if near:
                click.echo(sheets.margin_note(f"on {imposed.name} sheets", near), err=True)
        return placement.Layout(
            trim, imposed, duplex=duplex, skip=self.start_at - 1, printer=printer
        )


def printer_named(config: config_mod.Config, name: str | None) -> Printer | None:
    """The ``[printers.NAME]`` correction of the campaign file, or a clear refusal."""
    if name is None:
        return None
    from certgen.placement import Printer

    if name not in config.printers:
        known = ", ".join(sorted(config.printers)) or "none yet"
        where = config.source or "certgen.toml"
        raise click.BadParameter(
            f"no printer '{name}' in {where} (known: {known}); measure it with certgen "
            f"calibrate and add [printers.{name}] offset_x_mm = ..., offset_y_mm = ..., "
            "scale = ...",
            param_hint="--printer",
        )
    return Printer(name, *config.printers[name])


_SHEET_OPTIONS = [
    click.option(
        "--sheet",
        metavar="NAME|FILE",
        help="Several to a printer sheet: letter-1up/2up/3up, a4-1up/2up/3up, a printer "
        "stock (certgen sheets list), or a sheet TOML file.",
    ),
    click.option(
        "--gutter", type=float, metavar="MM", help="Space between certificates on a sheet."
    ),
    click.option(
        "--crop-marks", is_flag=True, help="Draw crop marks outside each trim (and its bleed)."
    ),
    click.option(
        "--bleed",
        type=click.FloatRange(min=0, max=20),
        default=0,
        metavar="MM",
        help="Run the art MM past each trim edge (its edges mirrored), for cutting; without "
        "--sheet, each page grows by the bleed and says where to cut (TrimBox).",
    ),
    click.option(
        "--start-at",
        type=click.IntRange(min=1),
        default=1,
        metavar="N",
        help="Begin on slot N of the first sheet (counted row by row), to use up a partly "
        "used sheet.",
    ),
    click.option(
        "--printer",
        metavar="NAME",
        help="Correct every page for a printer measured with certgen calibrate "
        "([printers.NAME] in certgen.toml).",
    ),
]


# The options that place certificates on paper, passed on as one ``sheets_given``.
sheet_options = grouped_options(_SHEET_OPTIONS, SheetOptions, "sheets_given")


@cli.group()
def sheets() -> None:
    """Printer sheets and stock certificates can be imposed on (--sheet)."""


@sheets.command("list")
def sheets_list() -> None:
    """List the named sheets and printer stock, with their paper and parts.

    \b
    certgen sheets list
    certgen issue customers.csv -d wallet -o cards.pdf --sheet business-cards-letter
    """
    from certgen import sheets as sheets_mod
    from certgen import stock

    click.echo("Grids chosen to fit the design, centred (--gutter sets the space between):")
    for name in sheets_mod.NAMES:
        paper, count = name.split("-")
        click.echo(f"  {name:<24} {sheets_mod.PAPERS[paper]}, {count.removesuffix('up')} a sheet")
    click.echo("Printer stock (each certificate centred on its part):")
    for s in stock.STOCK:
        (pw, ph), (columns, rows) = s.part, s.grid
        also = f" (also {', '.join(s.also)})" if s.also else ""
        size = f"{round(pw, 2):g} x {round(ph, 2):g} mm"
        click.echo(f"  {s.name:<24} {s.title}: {columns} x {rows}, parts {size}{also}")
    click.echo("Or a sheet file: width_mm, height_mm, columns, rows, gutter_mm, left_mm, top_mm.")


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default="calibrate.pdf",
    show_default=True,
    help="PDF to write.",
)
@design_option
@designs_dir_option
@sheet_options
@settings_options
def calibrate(
    output: Path,
    design_name: str | None,
    designs_dir: Path | None,
    sheets_given: SheetOptions,
    config_file: Path | None,
    ledger: str | None,
) -> None:
    """Print a test page that measures how far off a printer prints.

    The page has rulers along its edges and a cross 50 mm in from its top-left corner, and
    the outline of every certificate on the --sheet. Print it at 100% (no "fit to page"),
    measure where the cross landed, and write a [printers.NAME] table into certgen.toml;
    --printer NAME then corrects every page (print this page with it to check).

    \b
    certgen calibrate --sheet business-cards-letter -o test.pdf
    certgen calibrate --sheet letter-3up --printer office -o check.pdf
    """
    from certgen import calibration, stock

    config = config_mod.load(config_file=config_file, ledger=ledger, designs_dir=designs_dir)
    design = None
    if design_name or (sheets_given.sheet or "").lower() not in stock.BY_NAME:
        config, design = load_run_settings(
            config_file, ledger, None, designs_dir, design_name, emails=False
        )
    if output.suffix.lower() != ".pdf":
        raise click.UsageError(f"-o {output}: certgen writes PDF files; name the output .pdf")
    sheets_given.check()
    layout = sheets_given.layout(design, config, quiet=True)
    try:
        with output.open("wb") as stream:
            calibration.write(layout, stream)
    except OSError as exc:
        raise click.FileError(str(output), exc.strerror) from None
    fixed = f", corrected for {sheets_given.printer}" if sheets_given.printer else ""
    click.echo(f"Wrote {output}: {layout.sheet.name}{fixed}.")
    click.echo(
        'Print it at 100% ("actual size", not "fit to page"), measure where its two crosses '
        "landed as the page says, and add [printers.NAME] to certgen.toml; then --printer "
        "NAME corrects every page."
    )
