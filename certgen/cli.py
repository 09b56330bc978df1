"""The command line: a thin shell that turns CertgenError and Outcome into a message and
an exit code. Each error class and each Outcome carries its code; `certgen -h` lists them."""

from __future__ import annotations

import datetime as dt
import getpass
import secrets
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from certgen import __version__, codes, inputs, mail
from certgen import config as config_mod
from certgen import design as design_mod
from certgen import issue as issue_mod
from certgen import redeem as redeem_mod
from certgen import report as report_mod
from certgen.errors import CertgenError, ConfigError, NotFoundError
from certgen.ledger import CertificateRecord, Ledger, open_ledger, safe_url

F = TypeVar("F", bound=Callable[..., Any])
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


by_option = click.option("--by", metavar="NAME", help="Who does this (default: your login name).")


def _actor(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return "unknown"


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
    5 ledger unavailable, 6 unknown code, 7 mistyped code, 8 already redeemed,
    9 expired, 10 voided, 11 not redeemed, 12 already converted.
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
    "--batch-id",
    metavar="ID",
    help="Name the batch; running it again prints the same codes and issues none.",
)
@click.option(
    "--designs-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of your own designs.",
)
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
    design = design_mod.load(
        design_mod.find(design_name, [*config.designs_dirs, design_mod.shipped_designs_dir()])
    )
    given = _pairs(sets, "--set")
    named = {"pain": pain, "offer": offer, "expires": expires}
    given.update({k: v for k, v in named.items() if v is not None})
    if csv_file is not None and (recipient is not None or giver is not None):
        raise click.UsageError("--to and --from are for one certificate; a CSV gives them per row")
    with _open(config) as opened:
        known = opened.get_batch(batch_id) if batch_id else None
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
                mapping=_pairs(maps, "--map"),
                ignore=ignored,
            )
            source = str(csv_file)
        else:
            people = {"recipient": recipient, "giver": giver}
            given.update({k: v for k, v in people.items() if v is not None})
            rows = [inputs.resolve_one(design, given, config.defaults, now.date())]
            source, problems = "command line", []
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
            actor=_actor(by),
        )
    count = len(result.codes)
    plural = "s" if count != 1 else ""
    if result.reprinted:
        click.echo(
            f"Batch {result.batch_id} was already issued: printed its {count} certificate{plural} "
            f"again, with the same codes, to {output}"
        )
        return
    click.echo(
        f"Issued {count} certificate{plural} to {output} "
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
        sys.exit(redeem_mod.Outcome.MISTYPED.exit_code)
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
        ("Status", _status(record)),
    ]
    if record.converted_at:
        value = f", value {record.conversion_value}" if record.conversion_value else ""
        lines.append(("Customer", f"converted {record.converted_at}{value}"))
    for label, value in lines:
        click.echo(f"{label + ':':<9}{value}")
    click.echo("Fields:")
    for name, value in record.data.items():
        click.echo(f"  {name}: {value}")
    click.echo("History:")
    for event in history:
        details = "; ".join(
            f"{k}: {v}" for k, v in event.detail.items() if v and k not in ("batch", "page")
        )
        suffix = f"  ({details})" if details else ""
        click.echo(f"  {event.at}  {event.kind:<13} by {event.actor} via {event.channel}{suffix}")


def _status(record: CertificateRecord) -> str:
    if record.redeemed_at:
        return f"redeemed {record.redeemed_at} by {record.redeemed_by} via {record.redeemed_via}"
    if record.voided_at:
        return f"void since {record.voided_at}: {record.void_reason}"
    if record.expires_on and record.expires_on < dt.date.today().isoformat():
        return f"expired on {record.expires_on}"
    return f"valid{f' until {record.expires_on}' if record.expires_on else ''}, not yet redeemed"


def _finish(result: redeem_mod.Result) -> None:
    """Say what happened; exit with the outcome's own code."""
    if result.outcome.ok:
        click.echo(result.message)
    else:
        click.secho(f"Error: {result.message}", err=True, fg="red")
    sys.exit(result.outcome.exit_code)


@cli.command()
@click.argument("code")
@by_option
@click.option("--note", metavar="TEXT", help="A note kept with the redemption.")
@settings_options
def redeem(
    code: str, by: str | None, note: str | None, config_file: Path | None, ledger: str | None
) -> None:
    """Redeem CODE once (any case; dashes and spaces are ignored).

    \b
    Exit codes: 0 redeemed, 6 unknown, 7 mistyped (no lookup made),
    8 already redeemed, 9 expired, 10 voided.
    """
    config = config_mod.load(config_file=config_file, ledger=ledger)
    with _open(config) as opened:
        result = redeem_mod.redeem(opened, code, actor=_actor(by), note=note)
        if result.outcome is redeem_mod.Outcome.REDEEMED and result.record:
            sent = mail.notify_redeemed(opened, _mailer(config, None), result.record)
            if sent in NOTIFY_MESSAGES:
                click.echo(NOTIFY_MESSAGES[sent], err=True)
        _finish(result)


@cli.command()
@click.argument("code")
@click.option(
    "--reason", required=True, metavar="TEXT", help="Why it is voided (kept in the history)."
)
@by_option
@settings_options
def void(
    code: str, reason: str, by: str | None, config_file: Path | None, ledger: str | None
) -> None:
    """Void CODE so it can never be redeemed. A redeemed certificate cannot be voided.

    \b
    Exit codes: 0 voided, 6 unknown, 7 mistyped, 8 already redeemed, 10 already voided.
    """
    config = config_mod.load(config_file=config_file, ledger=ledger)
    with _open(config) as opened:
        _finish(redeem_mod.void(opened, code, reason=reason, actor=_actor(by)))


@cli.command()
@click.argument("code")
@click.option("--value", metavar="AMOUNT", help="What the new customer spent, e.g. 120.50.")
@click.option("--note", metavar="TEXT", help="A note kept with the conversion.")
@by_option
@settings_options
def convert(
    code: str,
    value: str | None,
    note: str | None,
    by: str | None,
    config_file: Path | None,
    ledger: str | None,
) -> None:
    """Record that the friend who redeemed CODE became a customer.

    \b
    Exit codes: 0 converted, 6 unknown, 7 mistyped, 11 not redeemed, 12 already converted.
    """
    config = config_mod.load(config_file=config_file, ledger=ledger)
    with _open(config) as opened:
        _finish(redeem_mod.convert(opened, code, actor=_actor(by), value=value, note=note))


@cli.command()
@click.option(
    "--by",
    "group",
    type=click.Choice(report_mod.GROUPS),
    default="referrer",
    show_default=True,
    help="Group by referrer (the customers to thank), design, batch or month of issue.",
)
@click.option(
    "--format", "fmt", type=click.Choice(report_mod.FORMATS), default="table", show_default=True
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to a file (CSV files get a UTF-8 BOM so spreadsheets read every script).",
)
@settings_options
def report(
    group: str, fmt: str, output: Path | None, config_file: Path | None, ledger: str | None
) -> None:
    """Issued, redeemed, expired, voided and converted certificates, with rates, per group.

    Redemption rate is redeemed / issued; conversion rate is converted / redeemed.
    """
    config = config_mod.load(config_file=config_file, ledger=ledger)
    with _open(config) as opened:
        text = report_mod.RENDERERS[fmt](report_mod.build(opened, group), group)
    if output is None:
        click.echo(text.rstrip("\r\n"))
    else:
        output.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="")
        click.echo(f"Wrote {output}", err=True)


@cli.group()
def ledger() -> None:
    """Where the ledger is and what it holds."""


@ledger.command("path")
@settings_options
def ledger_path(config_file: Path | None, ledger: str | None) -> None:
    """Print the ledger URL in use (without its password)."""
    config = config_mod.load(config_file=config_file, ledger=ledger)
    click.echo(safe_url(config.ledger))


NOTIFY_MESSAGES = {
    "sent": "Thank-you email sent to the referrer.",
    "failed": "The referrer's thank-you email failed; `certgen notify --retry` sends it again.",
    "queued": "The referrer's thank-you email is queued; configure [smtp] and run "
    "`certgen notify --retry`.",
}


def _mailer(config: config_mod.Config, outbox: Path | None) -> mail.Mailer | None:
    if outbox is None and config.smtp is None:
        return None
    return mail.Mailer(config.smtp, outbox, config.include_friend_name)


outbox_option = click.option(
    "--outbox",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write thank-you emails as .eml files into this folder instead of sending them.",
)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=int, help="Worker threads.")
@outbox_option
@settings_options
def serve(
    host: str,
    port: int,
    threads: int,
    outbox: Path | None,
    config_file: Path | None,
    ledger: str | None,
) -> None:
    """Serve the redemption page that every QR code opens, with waitress.

    Customers see whether a certificate is valid; signed-in staff redeem it. Put it behind
    a TLS-terminating proxy (nginx, Caddy) for real use; see the README.
    """
    import waitress

    from certgen import web

    config = config_mod.load(config_file=config_file, ledger=ledger)
    with _open(config) as opened:
        app = web.create_app(opened, config.web(), _mailer(config, outbox))
        click.echo(f"certgen: serving {safe_url(config.ledger)} on http://{host}:{port}/", err=True)
        waitress.serve(app, host=host, port=port, threads=threads, ident="certgen")


@cli.group()
def staff() -> None:
    """Staff who may sign in to the redemption page and use the API."""


@staff.command("add")
@click.argument("name")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password or PIN from standard input."
)
@settings_options
def staff_add(
    name: str, password_stdin: bool, config_file: Path | None, ledger: str | None
) -> None:
    """Add NAME with a password or PIN (asked for, or read with --password-stdin)."""
    from certgen import web

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password or PIN", hide_input=True, confirmation_prompt=True)
    if len(password) < 4:
        raise click.BadParameter("use at least 4 characters", param_hint="password")
    config = config_mod.load(config_file=config_file, ledger=ledger)
    with _open(config) as opened:
        opened.add_staff(name, web.hash_password(password))
    click.echo(f"Added {name}")


@staff.command("remove")
@click.argument("name")
@settings_options
def staff_remove(name: str, config_file: Path | None, ledger: str | None) -> None:
    """Remove NAME: they can no longer sign in, and their API token stops working."""
    config = config_mod.load(config_file=config_file, ledger=ledger)
    with _open(config) as opened:
        if not opened.remove_staff(name):
            raise NotFoundError(f"no staff member named '{name}'")
    click.echo(f"Removed {name}")


@staff.command("list")
@settings_options
def staff_list(config_file: Path | None, ledger: str | None) -> None:
    """List staff, when each was added, and who has an API token."""
    config = config_mod.load(config_file=config_file, ledger=ledger)
    with _open(config) as opened:
        for name, added, has_token in opened.staff_members():
            token = "\tAPI token" if has_token else ""
            click.echo(f"{name}\tadded {added}{token}")


@staff.command("token")
@click.argument("name")
@settings_options
def staff_token(name: str, config_file: Path | None, ledger: str | None) -> None:
    """Make a new API token for NAME (for a point-of-sale system); shown once, replaces the old."""
    from certgen import web

    token = secrets.token_urlsafe(32)
    config = config_mod.load(config_file=config_file, ledger=ledger)
    with _open(config) as opened:
        if not opened.set_token_hash(name, web.hash_token(token)):
            raise NotFoundError(f"no staff member named '{name}'")
    click.echo(token)


@cli.command()
@click.option("--retry", is_flag=True, help="Send every queued or failed thank-you email again.")
@outbox_option
@settings_options
def notify(retry: bool, outbox: Path | None, config_file: Path | None, ledger: str | None) -> None:
    """Referrers' thank-you emails: list them, or with --retry send the unsent ones."""
    config = config_mod.load(config_file=config_file, ledger=ledger)
    with _open(config) as opened:
        if retry:
            mailer = _mailer(config, outbox)
            if mailer is None:
                raise ConfigError("configure [smtp] in certgen.toml, or give --outbox")
            counts = mail.retry(opened, mailer)
            click.echo(f"sent {counts['sent']}, failed {counts['failed']}")
            if counts["failed"]:
                sys.exit(1)
            return
        for row in opened.notifications():
            error = row["last_error"] or ""
            click.echo(f"{row['code']}\t{row['status']}\t{row['attempts']} attempts\t{error}")


@ledger.command("migrate")
@settings_options
def ledger_migrate(config_file: Path | None, ledger: str | None) -> None:
    """Apply pending schema migrations (every command also does this first)."""
    config = config_mod.load(config_file=config_file, ledger=ledger)
    with _open(config) as opened:
        applied = opened.applied
    click.echo(
        f"{safe_url(config.ledger)}: "
        + (f"applied {', '.join(applied)}" if applied else "up to date")
    )


def main() -> None:
    cli(prog_name="certgen")
