"""Designers' commands: list designs, copy one to edit, preview it, print the schema."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click

from certgen import checks
from certgen import config as config_mod
from certgen import design as design_mod
from certgen import preview as preview_mod
from certgen.cli.base import (
    LOCALE_HELP,
    PRESET_HELP,
    cli,
    designs_dir_option,
    parse_pairs,
    preset_values,
)


def _search(designs_dir: Path | None) -> list[Path]:
    return config_mod.load(designs_dir=designs_dir).designs_dirs


@cli.group()
def designs() -> None:
    """Designs: the shipped ones and your own."""


@designs.command("list")
@designs_dir_option
def designs_list(designs_dir: Path | None) -> None:
    """Name, title, page size, fields and folder of every design."""
    for found in design_mod.available(_search(designs_dir)):
        loaded = design_mod.load(found.path)
        origin = "shipped" if found.shipped else "yours"
        size = f"{loaded.width_mm:.1f} x {loaded.height_mm:.1f} mm"
        click.echo(f"{found.name}\t{loaded.manifest.design.title}\t{size}\t{origin}\t{found.path}")
        click.echo(f"\tfields: {', '.join(loaded.fields)}")


@designs.command("new")
@click.argument("name")
@click.option("--from", "source", default="classic", show_default=True, help="Design to copy.")
@designs_dir_option
def designs_new(name: str, source: str, designs_dir: Path | None) -> None:
    """Copy a design to NAME in your designs folder, to edit."""
    search = _search(designs_dir)
    origin = design_mod.locate(source, search)
    target = design_mod.copy(origin, search[0] / name)
    design_mod.load(target)  # the copy works before anyone edits it
    click.echo(f"Created {target} from {source}; edit {target / design_mod.MANIFEST}")


@designs.command("check")
@click.argument("name")
@click.option(
    "--sheet",
    metavar="NAME|FILE",
    help="Also say what comes within a desktop printer's unprinted margin on this sheet "
    "(default: the design printed one a page).",
)
@designs_dir_option
def designs_check(name: str, sheet: str | None, designs_dir: Path | None) -> None:
    """Every problem design NAME (or a design folder) has, each with its file, element and
    a fix; exit code 4 if there are any. Then, as a note, the elements a desktop printer
    would cut off at the paper's edge.

    \b
    certgen designs check my-design
    certgen designs check compact --sheet letter-3up
    """
    config = config_mod.load(designs_dir=designs_dir)
    folder = design_mod.locate(name, config.designs_dirs)
    problems = checks.check(folder, config.base_url)
    if not problems:
        click.echo(f"{folder}: no problems")
        _note_printer_margin(design_mod.load(folder), sheet)
        return
    click.secho(
        f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {folder}:",
        err=True,
        fg="red",
    )
    for problem in problems:
        click.echo(f"  {problem}", err=True)
    raise SystemExit(4)


def _note_printer_margin(design: design_mod.Design, sheet: str | None) -> None:
    """What a desktop printer, which prints nothing within about 5 mm of the paper's edge,
    would cut off: on ``sheet``, or on the design's own page."""
    from certgen import sheets

    trim = (design.width_mm, design.height_mm)
    imposed = sheets.load(sheet, trim) if sheet else None
    near = sheets.in_printer_margin(imposed, trim, design.printed_boxes())
    where = f"on {imposed.name} sheets" if imposed else "printed one a page"
    if not near:
        click.echo(
            f"Nothing comes within {sheets.DESKTOP_MARGIN:g} mm of the paper's edge {where}."
        )
        return
    click.echo(sheets.margin_note(where, near), err=True)


@designs.command("schema")
def designs_schema() -> None:
    """The JSON Schema of design.toml, for editors that validate TOML against one."""
    click.echo(json.dumps(design_mod.schema(), indent=2))


@cli.command()
@click.argument("name")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Preview a row of this CSV instead of the design's sample values.",
)
@click.option(
    "--row",
    default=2,
    show_default=True,
    type=int,
    help="Which row of --csv, numbered as messages and spreadsheets number them (the header "
    "is row 1).",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="FIELD=VALUE",
    help="A field's value instead of its sample (with --csv: for rows that leave it empty).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("preview.png"),
    show_default=True,
)
@click.option("--dpi", default=150, show_default=True, type=click.IntRange(20, 600))
@click.option(
    "--bounds", is_flag=True, help="Draw every element's box and id, and the safe area dashed."
)
@click.option(
    "--watch",
    is_flag=True,
    help="Render again whenever a file of the design (or --csv) changes; Ctrl-C stops.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="certgen.toml to read (the business's details, brand kit, base URL).",
)
@click.option("--preset", metavar="NAME", help=PRESET_HELP)
@click.option("--locale", metavar="LOCALE", help=LOCALE_HELP)
@designs_dir_option
def preview(
    name: str,
    csv_file: Path | None,
    row: int,
    sets: tuple[str, ...],
    output: Path,
    dpi: int,
    bounds: bool,
    watch: bool,
    config_file: Path | None,
    preset: str | None,
    locale: str | None,
    designs_dir: Path | None,
) -> None:
    """Render design NAME (or a design folder) with sample data to a PNG; nothing is issued.

    \b
    certgen preview compact -o compact.png
    certgen preview ./my-design --bounds --watch -o my.png
    certgen preview classic --csv customers.csv --row 3 --set "offer=A free wash"
    certgen preview wallet --preset salon --config shop/certgen.toml
    certgen preview postcard --locale ar -o ar.png
    """
    config = config_mod.load(config_file=config_file, designs_dir=designs_dir)
    folder = design_mod.locate(name, config.designs_dirs)
    given = parse_pairs(sets, "--set")
    if locale:
        config_mod.checked_locale(locale, "--locale")
    from certgen import issue  # the ledger's modules: only a preview needs them

    def render_once() -> None:
        design = design_mod.load(folder).branded(config.brand, config.logo)
        today = config.today()
        chosen = {**preset_values(preset, design), **given}
        defaults = {**config.defaults, **chosen}
        sample = preview_mod.sample_row(design, csv_file, row, defaults, today, overrides=chosen)
        design = issue.for_rows(design.for_locale(locale or config.locale), [sample])
        png = preview_mod.render_png(design, sample, config.base_url, dpi, today)
        if bounds:
            png = preview_mod.with_bounds(png, design, dpi)
        temp = output.with_name(f".{output.name}.part")
        temp.write_bytes(png)
        temp.replace(output)  # a viewer watching the file never sees half of it
        click.echo(f"Wrote {output} ({design.name}, {dpi} dpi)")

    if not watch:
        render_once()
        return
    _watch(render_once, [folder, *([csv_file] if csv_file else [])])


def _watch(render_once: Callable[[], None], paths: list[Path]) -> None:
    """Render, then again on every change, until Ctrl-C; a broken design is reported and
    the next change is waited for, as a designer saves half-done edits."""
    import time

    from certgen.errors import CertgenError

    seen = None
    click.echo(f"Watching {', '.join(map(str, paths))}; Ctrl-C stops.", err=True)
    try:
        while True:
            now = preview_mod.fingerprint(paths)
            if now != seen:
                seen = now
                try:
                    render_once()
                except CertgenError as exc:
                    click.echo(f"Not rendered: {exc}", err=True)
            time.sleep(0.3)
    except KeyboardInterrupt:
        click.echo("Stopped watching.", err=True)
