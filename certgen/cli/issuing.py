"""certgen issue."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import click

from certgen import codes, inputs, mailing, sheets
from certgen import config as config_mod
from certgen import design as design_mod
from certgen import issue as issue_mod
from certgen.cli.base import (
    actor_name,
    by_option,
    cli,
    designs_dir_option,
    open_configured,
    parse_pairs,
    progress_bar,
    settings_options,
)
from certgen.errors import DesignError, NotFoundError
from certgen.ledger import safe_url


@cli.command()
@click.argument("csv_file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("-d", "--design", "design_name", required=True, help="Design name or folder.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("certificates.pdf"),
    show_default=True,
    help="PDF to write.",
)
@click.option("--to", "recipient", metavar="NAME", help="Recipient (one certificate).")
@click.option("--from", "giver", metavar="NAME", help="Who gives it, the referring customer.")
@click.option("--pain", metavar="TEXT", help='The pain it solves, e.g. "Tired of squeaky brakes?".')
@click.option("--offer", metavar="TEXT", help="The free service offered.")
@click.option("--expires", metavar="YYYY-MM-DD", help="Expiry date, or +DAYS from today.")
@click.option(
    "--set", "sets", multiple=True, metavar="FIELD=VALUE", help="Any design field (repeatable)."
)
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="HEADER=FIELD",
    help="Map a CSV column to a field (repeatable).",
)
@click.option(
    "--ignore",
    "ignored",
    multiple=True,
    metavar="HEADER",
    help="Leave a CSV column out (repeatable).",
)
@click.option(
    "--encoding", default="utf-8", show_default=True, help="CSV encoding (a UTF-8 BOM is accepted)."
)
@click.option(
    "--delimiter", help="CSV delimiter (default: guessed from the header among , ; tab |)."
)
@click.option(
    "--base-url", metavar="URL", help="Redeem URL prefix for QR codes; env CERTGEN_BASE_URL."
)
@click.option(
    "--batch-id",
    "--run-id",
    "batch_id",
    metavar="ID",
    help="Name the run; running it again prints the same codes and issues none.",
)
@click.option(
    "--resume",
    metavar="ID",
    help="Finish an interrupted run (same input and options); with --split, kept parts stay.",
)
@click.option(
    "--sheet",
    metavar="NAME|FILE",
    help="Several to a printer sheet: letter-1up/2up/3up, a4-1up/2up/3up, or a sheet TOML file.",
)
@click.option("--gutter", type=float, metavar="MM", help="Space between certificates on a sheet.")
@click.option("--crop-marks", is_flag=True, help="Draw crop marks outside each trim on a sheet.")
@click.option(
    "--duplex",
    is_flag=True,
    help="Follow each page or sheet with the design's back side, for long-edge duplex.",
)
@click.option(
    "--mailing",
    "mailing_",
    is_flag=True,
    help="Print each on a mailer for a window envelope, its address in the window; the "
    "CSV needs street, city and postal_code columns.",
)
@click.option(
    "--envelope",
    type=click.Choice(sorted(mailing.ENVELOPES)),
    help="The window envelope for --mailing: us10 (US Letter) or dl (A4, DIN 5008); "
    "default: the design's, else us10.",
)
@click.option(
    "--sort-by",
    metavar="FIELD",
    help="Issue in the order of a field, e.g. postal_code for presorted mail.",
)
@click.option(
    "--split",
    type=click.IntRange(min=1),
    metavar="N",
    help="Files of at most N certificates (run-0001.pdf, ...) and a run-manifest.csv.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=lambda: os.cpu_count() or 1,
    show_default="the number of cores",
    help="Processes drawing the files of a --split run at once; the output is the same.",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="No progress bar and no notes; the summary stays."
)
@designs_dir_option
@by_option
@settings_options
def issue(
    csv_file: Path | None,
    design_name: str,
    output: Path,
    recipient: str | None,
    giver: str | None,
    pain: str | None,
    offer: str | None,
    expires: str | None,
    sets: tuple[str, ...],
    maps: tuple[str, ...],
    ignored: tuple[str, ...],
    encoding: str,
    delimiter: str | None,
    base_url: str | None,
    batch_id: str | None,
    resume: str | None,
    sheet: str | None,
    gutter: float | None,
    crop_marks: bool,
    duplex: bool,
    mailing_: bool,
    envelope: str | None,
    sort_by: str | None,
    split: int | None,
    jobs: int,
    quiet: bool,
    designs_dir: Path | None,
    by: str | None,
    config_file: Path | None,
    ledger: str | None,
) -> None:
    """Issue certificates: one from the options, or one per row of CSV_FILE, into one PDF.

    \b
    certgen issue --design classic --to "Bob Ng" --from "Jane Doe" -o bob.pdf
    certgen issue customers.csv --design classic -o run.pdf --map "Customer Name=from"

    Every code is recorded in the ledger before the PDF appears; if any row has a problem,
    all problems are listed and nothing is issued.
    """
    config = config_mod.load(
        config_file=config_file, ledger=ledger, base_url=base_url, designs_dir=designs_dir
    )
    design = design_mod.load(design_mod.locate(design_name, config.designs_dirs))
    given = parse_pairs(sets, "--set")
    named = {"pain": pain, "offer": offer, "expires": expires}
    given.update({k: v for k, v in named.items() if v is not None})
    if csv_file is not None and (recipient is not None or giver is not None):
        raise click.UsageError("--to and --from are for one certificate; a CSV gives them per row")
    if sheet is None and (gutter is not None or crop_marks):
        raise click.UsageError("--gutter and --crop-marks need --sheet")
    if mailing_ and sheet:
        raise click.UsageError("--mailing prints one mailer a sheet; leave out --sheet")
    if envelope and not mailing_:
        raise click.UsageError("--envelope is for --mailing")
    if duplex and mailing_:
        raise click.UsageError("--duplex does not print mailers yet; leave out one of them")
    if duplex and not design.has_back:
        raise DesignError(
            f"design {design.name} has no back side for --duplex",
            path=str(design.path / design_mod.MANIFEST),
            hint='give the elements to print on the back side = "back"',
        )
    window = None
    if mailing_:
        name = envelope or design.manifest.design.envelope or mailing.DEFAULT_ENVELOPE
        window = mailing.ENVELOPES[name]
    extra = mailing.fields(mailing_)
    trim = (design.width_mm, design.height_mm)
    imposed = sheets.load(sheet, trim, gutter, crop_marks) if sheet else None
    started = time.monotonic()
    if resume and batch_id and resume != batch_id:
        raise click.UsageError("--resume names the run; leave out --run-id/--batch-id")
    batch_id = resume or batch_id
    with open_configured(config) as opened:
        known = opened.get_batch(batch_id) if batch_id else None
        if resume and known is None:
            raise NotFoundError(
                f"no run {resume} in {safe_url(config.ledger)} (certgen runs lists the runs)"
            )
        # A rerun of a batch resolves its rows as of the batch's time (relative expiry dates).
        now = dt.datetime.fromisoformat(known.created_at) if known else dt.datetime.now(dt.UTC)
        if csv_file is not None:
            defaults = {**config.defaults, **given}  # campaign values for empty cells
            rows, problems = inputs.read_csv(
                csv_file,
                design,
                defaults,
                now.date(),
                encoding=encoding,
                delimiter=delimiter,
                mapping=parse_pairs(maps, "--map"),
                ignore=ignored,
                extra=extra,
            )
            source = str(csv_file)
        else:
            people = {"recipient": recipient, "giver": giver}
            given.update({k: v for k, v in people.items() if v is not None})
            rows = [inputs.resolve_one(design, given, config.defaults, now.date(), extra)]
            source, problems = "command line", []
        if sort_by:
            rows = inputs.sorted_rows(rows, sort_by, design, extra)
        with progress_bar(len(rows), quiet) as progress:
            result = issue_mod.issue(
                design,
                rows,
                output=output,
                ledger=opened,
                base_url=config.base_url,
                source=source,
                now=now,
                batch_id=batch_id,
                problems=problems,
                actor=actor_name(by),
                sheet=imposed,
                progress=progress,
                split=split,
                jobs=jobs,
                envelope=window,
                duplex=duplex,
            )
    count = len(result.codes)
    plural = "s" if count != 1 else ""
    seconds = time.monotonic() - started
    drawn = result.issued if 0 < result.issued < count else count  # a resumed run: the rest
    timing = f"{seconds:.1f} s" + (f", {drawn / seconds:.0f} certificates/s" if drawn > 1 else "")
    on_sheets = f" on {imposed.name} sheets" if imposed else ""
    on_sheets += f" on {window.name} mailers" if window else ""
    files = result.files
    where = (
        str(output) if len(files) == 1 else f"{files[0]} ... {files[-1].name} ({len(files)} files)"
    )
    where += on_sheets + (f", manifest {result.manifest}" if result.manifest else "")
    if result.issued and result.issued < count:
        click.echo(
            f"Resumed run {result.batch_id}: issued the other {result.issued} of {count} "
            f"certificates; {where} ({timing})"
        )
        return
    if result.reprinted:
        click.echo(
            f"Batch {result.batch_id} was already issued: printed its {count} certificate{plural} "
            f"again, with the same codes, to {where} ({timing})"
        )
        return
    click.echo(
        f"Issued {count} certificate{plural} to {where} in {timing} "
        f"(design {design.name}, batch {result.batch_id}, ledger {safe_url(config.ledger)})"
    )
    if count == 1:
        click.echo(f"Code: {codes.display(result.codes[0])}")
    if config.base_url_is_default and not quiet:
        click.echo(
            f"Note: QR codes point to {config.base_url}; set --base-url or base_url in "
            "certgen.toml to your redemption site before printing for real.",
            err=True,
        )


@cli.command()
@settings_options
def runs(config_file: Path | None, ledger: str | None) -> None:
    """List issue runs, newest first: id, when, design, certificates recorded, state, file.

    A run whose state is "interrupted" can be finished with certgen issue ... --resume ID.
    """
    config = config_mod.load(config_file=config_file, ledger=ledger)
    with open_configured(config) as opened:
        found = opened.runs()
    if not found:
        click.echo("No runs yet.")
        return
    lines = [("RUN", "CREATED", "DESIGN", "CERTIFICATES", "STATE", "FILE")]
    for batch, recorded in found:
        state = "done" if recorded >= batch.count else "interrupted"
        lines.append(
            (
                batch.id,
                batch.created_at,
                batch.design,
                f"{recorded}/{batch.count}",
                state,
                batch.file,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    for line in lines:
        padded = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        click.echo("  ".join([*padded, line[5]]))
