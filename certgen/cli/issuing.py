"""certgen issue."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import click

from certgen import codes
from certgen import config as config_mod
from certgen.cli.base import (
    ROWS_LEFT_OUT,
    RowInput,
    actor_name,
    address_to_option,
    addressee,
    base_url_option,
    by_option,
    cli,
    design_option,
    designs_dir_option,
    jobs_option,
    known_run,
    left_out,
    load_run_settings,
    note_default_base_url,
    open_configured,
    progress_bar,
    quiet_option,
    refuse_repeat,
    report_left_out,
    row_options,
    run_held,
    run_options,
    safety_options,
    settings_options,
    stopped_safely,
    this_command,
)
from certgen.cli.placing import SheetOptions, sheet_options
from certgen.errors import DesignError, InputError, Problem

# mailing.ENVELOPES's names (a test keeps them equal): --help and completion of these
# options import no design, pydantic or ledger.
ENVELOPE_NAMES = ("dl", "us10")


@cli.command()
@click.argument(
    "csv_file", metavar="[LIST]", required=False, type=click.Path(path_type=Path, dir_okay=False)
)
@design_option
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("certificates.pdf"),
    show_default=True,
    help="PDF to write.",
)
@row_options
@base_url_option
@run_options(
    again="running it again prints the same codes and issues none",
    resume="with --split, kept parts stay",
)
@sheet_options
@click.option(
    "--order",
    "placing",
    type=click.Choice(("rows", "cut-stack")),  # sheets.ORDERS, without importing pydantic
    default="rows",
    show_default=True,
    help="rows: each sheet filled in the list's order; cut-stack: placed so that the stack, "
    "cut and its piles put on each other, is in the list's order (presorted mail).",
)
@click.option(
    "--pdfx",
    type=click.Choice(("x4", "x1a")),  # inks.VERSIONS, without importing Pillow
    help="PDF/X for a print shop: every colour in CMYK for --icc's press, an output "
    "intent, trim and bleed boxes on every page (x4: PDF/X-4; x1a: PDF/X-1a:2003, no "
    "transparency).",
)
@click.option(
    "--icc",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    metavar="FILE",
    help="The print shop's CMYK ICC profile for --pdfx (default: Ghostscript's free SWOP "
    "profile, from Debian's libgs-common).",
)
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
    type=click.Choice(ENVELOPE_NAMES),
    help="The window envelope for --mailing: us10 (US Letter) or dl (A4, DIN 5008); "
    "default: the design's, else us10.",
)
@address_to_option("--mailing addresses")
@click.option(
    "--current-resident",
    is_flag=True,
    help='Add an "Or Current Resident" line under each --mailing addressee\'s name.',
)
@click.option(
    "--imb-mailer-id",
    metavar="MID",
    help="Print a USPS Intelligent Mail barcode on each us10 mailer, with your 6- or 9-digit "
    "mailer ID and a serial the ledger gives each piece.",
)
@click.option(
    "--imb-service-type",
    metavar="STID",
    help="The barcode's 3-digit Service Type ID from USPS's table (e.g. 270); with "
    "--imb-mailer-id.",
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
@jobs_option("Processes drawing at once (in chunks of 1,000 certificates); the output is the same.")
@click.option(
    "--force", is_flag=True, help="Write over output files another run made (default: refuse)."
)
@safety_options(
    dry_run="Check every row, file and setting as the run would; draw, write and record nothing.",
    limit="Do the first N of the run now (a test print); --resume does the rest.",
)
@click.option(
    "--count",
    "copies",
    type=click.IntRange(min=1, max=100_000),
    metavar="N",
    help="N certificates from the options, each with its own code: a pad of blank ones "
    "to write on (no --to/--from), for the counter.",
)
@click.option(
    "--variant",
    "variant_specs",
    multiple=True,
    metavar="FIELD=VALUE;...",
    help="A variant of the campaign to compare, e.g. --variant 'pain=Sore back?;offer=A free "
    "check' (repeat for each; name=B names one): rows are dealt to them in turn and each "
    "certificate records its variant (certgen report --by variant).",
)
@quiet_option
@designs_dir_option
@by_option
@settings_options
def issue(
    csv_file: Path | None,
    design_name: str | None,
    output: Path,
    row_input: RowInput,
    base_url: str | None,
    batch_id: str | None,
    resume: str | None,
    new_run: bool,
    sheets_given: SheetOptions,
    placing: str,
    pdfx: str | None,
    icc: Path | None,
    duplex: bool,
    mailing_: bool,
    envelope: str | None,
    address_to: str | None,
    current_resident: bool,
    imb_mailer_id: str | None,
    imb_service_type: str | None,
    sort_by: str | None,
    split: int | None,
    jobs: int,
    force: bool,
    dry_run: bool,
    limit: int | None,
    copies: int | None,
    variant_specs: tuple[str, ...],
    quiet: bool,
    designs_dir: Path | None,
    by: str | None,
    config_file: Path | None,
    ledger: str | None,
) -> None:
    """Issue certificates: one from the options, or one per row of LIST (a CSV file or an
    .xlsx/.ods workbook), into one PDF.

    \b
    certgen issue --design classic --to "Bob Ng" --from "Jane Doe" -o bob.pdf
    certgen issue customers.csv --design classic -o run.pdf --map "Customer Name=from"
    certgen issue customers_export.csv --design classic --profile shopify -o run.pdf

    Every code is recorded in the ledger before the PDF appears; if any row has a problem,
    all problems are listed and nothing is issued (with --skip-invalid, the other rows are,
    and the bad ones go to a rejects file; exit code 14).
    """
    from certgen import design as design_mod
    from certgen import inputs, mailing
    from certgen import issue as issue_mod
    from certgen import runs as runs_mod
    from certgen.ledger import safe_url

    config, design = load_run_settings(
        config_file, ledger, base_url, designs_dir, design_name, emails=False
    )
    row_input.check(csv_file)
    design = row_input.localized(design, config)
    if copies is not None and csv_file is not None:
        raise click.UsageError("--count is for certificates from the options; a list has its rows")
    sheets_given.check(mailing=mailing_)
    if placing == "cut-stack" and limit is not None:
        raise click.UsageError(
            "--limit would print the first N sheets of a cut-and-stack run, whose certificates "
            "are not the first N rows: issue it whole, or give --split N for stacks of N"
        )
    if output.suffix.lower() != ".pdf":
        raise click.UsageError(f"-o {output}: certgen writes PDF files; name the output .pdf")
    mailer_only = {
        "--envelope": envelope,
        "--address-to": address_to,
        "--current-resident": current_resident,
        "--imb-mailer-id": imb_mailer_id,
    }
    for flag, value in mailer_only.items():
        if value and not mailing_:
            raise click.UsageError(f"{flag} is for --mailing")
    if bool(imb_mailer_id) != bool(imb_service_type):
        raise click.UsageError("--imb-mailer-id and --imb-service-type go together")
    if duplex and not design.has_back:
        raise DesignError(
            f"design {design.name} has no back side for --duplex",
            path=str(design.path / design_mod.MANIFEST),
            hint='give the elements to print on the back side = "back"',
        )
    window = None
    if mailing_:
        name = envelope or design.manifest.design.envelope or mailing.DEFAULT_ENVELOPE
        to = addressee(address_to, row_input, config, design, csv_file)
        window = dataclasses.replace(mailing.ENVELOPES[name], addressee=to)
        business = row_input.business(config, design)
        sender = window.return_address(business["business"], business["address"])
        window = dataclasses.replace(window, sender=sender, current_resident=current_resident)
        if imb_mailer_id:
            if window.style != "us":
                raise click.UsageError(
                    f"--imb-mailer-id: the Intelligent Mail barcode is for US mail; the "
                    f"{window.name} envelope is not (use --envelope us10)"
                )
            from certgen import imb

            window = window.with_imb(imb.plan(imb_mailer_id, imb_service_type or ""))
        if not sender and not quiet:
            click.echo(
                "Note: the mailers carry no return address, since nothing sets the business's "
                "address: run certgen init, or give --set address=...",
                err=True,
            )
    extra = mailing.fields(mailing_)
    layout = sheets_given.layout(design, config, duplex=duplex, envelope=window, quiet=quiet)
    if icc and not pdfx:
        raise click.UsageError("--icc is the press profile for --pdfx; give --pdfx x4 too")
    print_shop = None
    if pdfx:
        from certgen import inks

        print_shop = inks.Pdfx(pdfx, inks.press(icc))  # type: ignore[arg-type]
    if placing == "cut-stack" and layout.per_sheet < 2:
        raise click.UsageError(
            "--order cut-stack is for several certificates a sheet: give --sheet letter-3up, "
            "say, or a sheet file"
        )
    if sheets_given.start_at > 1 and (placing == "cut-stack" or split):
        raise click.UsageError(
            "--start-at fills a partly used first sheet of one file in the list's order; "
            "leave out --order cut-stack and --split"
        )
    started = time.monotonic()
    with open_configured(config) as opened:
        batch_id, now = known_run(opened, config, batch_id, resume)
        rows, problems, source = row_input.read(csv_file, design, config, now.date(), extra, quiet)
        if copies is not None:  # the same values, each certificate its own code
            rows = [rows[0]] * copies
        refused: list[Problem] = []
        if row_input.skip_invalid and csv_file is not None:
            rows, refused, problems = issue_mod.screen(
                design,
                rows,
                problems,
                base_url=config.base_url,
                issued_on=now.date(),
                file=source,
                layout=layout,
                jobs=jobs,
            )
            rejects = row_input.rejects_file(csv_file, output)
            left_out(rows, refused, problems, rejects, write=not dry_run)
        if variant_specs or config.variants:  # after screening: rows issued are dealt in turn
            from certgen import variants as variants_mod

            if variant_specs:  # the options, else the campaign file's [[variants]]
                given, label = variants_mod.from_options(variant_specs), "--variant"
            else:
                given = variants_mod.from_config(config.variants, str(config.source))
                label = f"{config.source}: [[variants]]"
            dealt = variants_mod.parse(given, design, now.date(), label)
            clash = variants_mod.conflicts(rows, dealt, source)
            if clash:
                raise InputError(clash)
            rows = variants_mod.Dealt(rows, dealt)
        fingerprint = runs_mod.fingerprint(design, rows, "issue") if csv_file else None
        if sort_by:  # after the fingerprint, which is of the list as it is written
            rows = inputs.sorted_rows(rows, sort_by, design, extra)
        if fingerprint and batch_id is None and not new_run:
            refuse_repeat(opened, fingerprint, sent=False)
        batch_id = batch_id or runs_mod.new_id(now)
        stopped = stopped_safely(opened, batch_id, len(rows), sending=False)
        held = run_held(opened, batch_id, None if dry_run else output)
        with held, stopped, progress_bar(len(rows), quiet) as progress:
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
                layout=layout,
                progress=progress,
                split=split,
                jobs=jobs,
                force=force,
                fingerprint=fingerprint,
                dry_run=dry_run,
                limit=limit,
                order=placing,
                pdfx=print_shop,
            )
    count = len(result.codes)
    plural = "s" if count != 1 else ""
    seconds = time.monotonic() - started
    drawn = result.issued if 0 < result.issued < count else count  # a resumed run: the rest
    timing = f"{seconds:.1f} s" + (f", {drawn / seconds:.0f} certificates/s" if drawn > 1 else "")
    on_sheets = f" on {layout.sheet.name} sheets" if sheets_given.sheet else ""
    on_sheets += f" with {layout.bleed:g} mm bleed" if layout.bleed else ""
    on_sheets += f" on {window.name} mailers" if window else ""
    files = result.files
    where = (
        str(output) if len(files) == 1 else f"{files[0]} ... {files[-1].name} ({len(files)} files)"
    )
    where += on_sheets + (f", manifest {result.manifest}" if result.manifest else "")
    if result.dry_run:
        skipped = len({p.row for p in refused})
        left = f"; {skipped} row{'s' if skipped != 1 else ''} would be left out" if skipped else ""
        click.echo(
            f"Dry run: {count} certificate{plural} would be issued to {where} (design "
            f"{design.name}, {result.issued} new codes{left}); nothing was drawn, written or "
            f"recorded ({seconds:.1f} s)"
        )
        return
    if limit is not None and limit < count and result.issued:
        click.echo(
            f"Issued {result.issued} of the run's {count} certificates (--limit {limit}) to "
            f"{where} ({timing}); the others, when you are ready:"
        )
        click.echo(f"  {this_command('--resume', result.batch_id, drop=frozenset({'--limit'}))}")
        return
    if result.issued and result.issued < count:
        click.echo(
            f"Resumed run {result.batch_id}: issued the other {result.issued} of {count} "
            f"certificates; {where} ({timing})"
        )
    elif result.reprinted:
        click.echo(
            f"Batch {result.batch_id} was already issued: printed its {count} certificate{plural} "
            f"again, with the same codes, to {where} ({timing})"
        )
    else:
        click.echo(
            f"Issued {count} certificate{plural} to {where} in {timing} "
            f"(design {design.name}, batch {result.batch_id}, ledger {safe_url(config.ledger)})"
        )
        if count == 1:
            click.echo(f"Code: {codes.display(result.codes[0])}")
        note_default_base_url(config, quiet, "printing")
    if refused and csv_file is not None:
        rejects = row_input.rejects_file(csv_file, output)
        report_left_out(rows, refused, rejects, " with another -o")
        raise click.exceptions.Exit(ROWS_LEFT_OUT)


@cli.command()
@settings_options
def runs(config_file: Path | None, ledger: str | None) -> None:
    """List runs, newest first: id, when, design, certificates recorded, state, and where
    they went (a file, or email).

    A run whose state is "interrupted" can be finished with certgen issue ... --resume ID;
    a send run that is "unfinished" with certgen send ... --resume ID.
    """
    config = config_mod.load(config_file=config_file, ledger=ledger)
    with open_configured(config) as opened:
        found = opened.runs()
        emailed = opened.delivery_counts()
    if not found:
        click.echo("No runs yet.")
        return
    lines = [("RUN", "CREATED", "DESIGN", "CERTIFICATES", "STATE", "FILE")]
    for batch, recorded in found:
        state = "done" if recorded >= batch.count else "interrupted"
        if batch.id in emailed and recorded >= batch.count:
            state = _delivery_state(emailed[batch.id], batch.count)
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


@cli.command()
@click.argument("run_id", metavar="RUN")
@click.option(
    "--in",
    "folder",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Read the run's files from FOLDER, by name (a copy for the print shop); default: "
    "where the run wrote them.",
)
@jobs_option("Processes reading pages at once.")
@quiet_option
@settings_options
def verify(
    run_id: str,
    folder: Path | None,
    jobs: int,
    quiet: bool,
    config_file: Path | None,
    ledger: str | None,
) -> None:
    """Prove run RUN's PDFs complete: every page is rasterized and its QR codes decoded,
    and each must be a certificate of the run, on the page and in the file the ledger
    records, pointing to the run's site, printed once; every recorded certificate must be
    found. Exit code 17 lists what is not so.

    \b
    certgen verify spring-2027
    certgen verify spring-2027 --in ~/to-the-print-shop
    """
    from certgen import verify as verify_mod  # pypdfium2 and zxing: only this command

    config = config_mod.load(config_file=config_file, ledger=ledger)
    started = time.monotonic()
    with open_configured(config) as opened:
        total = len(opened.batch(run_id))
        with progress_bar(total, quiet, "Reading") as progress:
            result = verify_mod.verify(opened, run_id, folder=folder, jobs=jobs, progress=progress)
    seconds = time.monotonic() - started
    files = len(result.files)
    summary = (
        f"{result.found} of {result.certificates} certificates found on {result.pages} pages "
        f"in {files} file{'s' if files != 1 else ''} ({seconds:.1f} s)"
    )
    if result.problems:
        shown = result.problems[: verify_mod.SHOWN]
        more = len(result.problems) - len(shown)
        lines = [f"run {run_id} is not as recorded: {summary}; {len(result.problems)} problems:"]
        lines += [f"  {p}" for p in shown] + ([f"  ... and {more} more"] if more else [])
        raise verify_mod.VerifyError("\n".join(lines))
    click.echo(
        f"Run {run_id} verified: all {result.certificates} certificates found, each once, on "
        f"its recorded page and pointing to the run's site ({result.pages} pages in {files} "
        f"file{'s' if files != 1 else ''}, {seconds:.1f} s)"
    )


def _delivery_state(counts: dict[str, int], total: int) -> str:
    """A send run's state: how many were sent, refused, and whether any are left."""
    sent, refused = counts.get("sent", 0), counts.get("rejected", 0)
    state = f"sent {sent}/{total}" + (f", {refused} refused" if refused else "")
    return state + (", unfinished" if sent + refused < total else "")
