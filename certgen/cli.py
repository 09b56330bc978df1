"""The command line: a thin shell that turns CertgenError into a message and an exit code.

Exit codes: 0 success; 1 error; 2 usage; 3 bad input data; 4 bad design; 5 ledger
unavailable; 6 code not found; 7 mistyped code (check symbol does not match).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from certgen import __version__, codes, inputs
from certgen import config as config_mod
from certgen import design as design_mod
from certgen import issue as issue_mod
from certgen.errors import CertgenError, NotFoundError
from certgen.ledger import Ledger, open_ledger, safe_url

F = TypeVar("F", bound=Callable[..., Any])
EXIT_MISTYPED = 7
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class CertgenGroup(click.Group):
    """Reports a CertgenError as one clear message on stderr with its own exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CertgenError as exc:
            click.secho(f"Error: {exc}", err=True, fg="red")
            ctx.exit(exc.exit_code)


def settings_options(func: F) -> F:
    """Options that say where the ledger, config and designs are."""
    options = [
        click.option(
            "--config",
            "config_file",
            type=click.Path(path_type=Path, dir_okay=False),
            help="certgen.toml to read (default: ./certgen.toml, then the app folder).",
        ),
        click.option(
            "--ledger",
            metavar="URL",
            help="Ledger: sqlite:///PATH or postgresql://…; env CERTGEN_LEDGER.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _pairs(values: Sequence[str], flag: str) -> dict[str, str]:
    result = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"'{value}' is not of the form NAME=VALUE", param_hint=flag)
        result[key.strip()] = rest
    return result


def _open(config: config_mod.Config) -> Ledger:
    if (
        config.ledger.startswith("sqlite:///")
        and config.ledger == f"sqlite:///{config_mod.home() / 'ledger.db'}"
    ):
        config_mod.home().mkdir(parents=True, exist_ok=True)
    return open_ledger(config.ledger)


@click.group(cls=CertgenGroup, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="certgen")
def cli() -> None:
    """Print referral gift certificates, each with a unique code and QR code recorded in a ledger.

    \b
    Exit codes: 0 success, 1 error, 2 usage, 3 bad input data, 4 bad design,
    5 ledger unavailable, 6 code not found, 7 mistyped code.
    """


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
    "--designs-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of your own designs.",
)
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
    designs_dir: Path | None,
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
    design = design_mod.load(
        design_mod.find(design_name, [*config.designs_dirs, design_mod.shipped_designs_dir()])
    )
    given = _pairs(sets, "--set")
    named = {"pain": pain, "offer": offer, "expires": expires}
    given.update({k: v for k, v in named.items() if v is not None})
    now = dt.datetime.now(dt.UTC)
    if csv_file is not None:
        if recipient is not None or giver is not None:
            raise click.UsageError(
                "--to and --from are for one certificate; a CSV gives them per row"
            )
        defaults = {**config.defaults, **given}  # campaign values for rows that leave them empty
        rows, problems = inputs.read_csv(
            csv_file,
            design,
            defaults,
            now.date(),
            encoding=encoding,
            delimiter=delimiter,
            mapping=_pairs(maps, "--map"),
            ignore=ignored,
        )
        source = str(csv_file)
    else:
        given.update(
            {k: v for k, v in {"recipient": recipient, "giver": giver}.items() if v is not None}
        )
        rows = [inputs.resolve_one(design, given, config.defaults, now.date())]
        source, problems = "command line", []
    with _open(config) as opened:
        result = issue_mod.issue(
            design,
            rows,
            output=output,
            ledger=opened,
            base_url=config.base_url,
            source=source,
            now=now,
            problems=problems,
        )
    count = len(result.codes)
    click.echo(
        f"Issued {count} certificate{'s' if count != 1 else ''} to {output} "
        f"(design {design.name}, batch {result.batch_id}, ledger {safe_url(config.ledger)})"
    )
    if count == 1:
        click.echo(f"Code: {codes.display(result.codes[0])}")
    if config.base_url_is_default:
        click.echo(
            f"Note: QR codes point to {config.base_url}; set --base-url or base_url in "
            "certgen.toml to your redemption site before printing for real.",
            err=True,
        )


def _canonical(text: str) -> str:
    code = codes.normalize(text)
    if not codes.is_valid(code):
        click.secho(
            f"Error: '{text}' is not a valid certificate code: check it for a typo "
            f"(codes look like {codes.display('0' * codes.CODE_LENGTH)[:-1]}X)",
            err=True,
            fg="red",
        )
        sys.exit(EXIT_MISTYPED)
    return code


@cli.command()
@click.argument("code")
@settings_options
def show(code: str, config_file: Path | None, ledger: str | None) -> None:
    """Show the ledger record of CODE (any case; dashes and spaces are ignored)."""
    canonical = _canonical(code)
    config = config_mod.load(config_file=config_file, ledger=ledger)
    with _open(config) as opened:
        record = opened.get(canonical)
        history = opened.events(canonical) if record else []
    if record is None:
        raise NotFoundError(
            f"{codes.display(canonical)} is not in the ledger {safe_url(config.ledger)}"
        )
    lines = [
        ("Code", codes.display(record.code)),
        ("Design", f"{record.design} ({record.design_hash})"),
        ("To", record.recipient or "(blank)"),
        ("From", record.giver or "(blank)"),
        ("Issued", record.issued_at),
        ("Expires", record.expires_on or "never"),
        ("Batch", record.batch_id),
        ("File", f"{record.file}, page {record.page}"),
    ]
    for label, value in lines:
        click.echo(f"{label + ':':<9}{value}")
    click.echo("Fields:")
    for name, value in record.data.items():
        click.echo(f"  {name}: {value}")
    click.echo("History:")
    for event in history:
        click.echo(f"  {event.at}  {event.kind:<10} by {event.actor} via {event.channel}")


@cli.group()
def ledger() -> None:
    """Where the ledger is and what it holds."""


@ledger.command("path")
@settings_options
def ledger_path(config_file: Path | None, ledger: str | None) -> None:
    """Print the ledger URL in use (without its password)."""
    config = config_mod.load(config_file=config_file, ledger=ledger)
    click.echo(safe_url(config.ledger))


def main() -> None:
    cli(prog_name="certgen")
