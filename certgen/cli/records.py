"""Looking at and acting on one certificate: show, redeem, void, convert; and report."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from certgen import codes, mail
from certgen import redeem as redeem_mod
from certgen import report as report_mod
from certgen.cli.base import (
    NOTIFY_MESSAGES,
    actor_name,
    by_option,
    cli,
    finish,
    mailer_for,
    opened_ledger,
    settings_options,
)
from certgen.errors import NotFoundError
from certgen.ledger import CertificateRecord, safe_url


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
    with opened_ledger(config_file, ledger) as (config, opened):
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
    with opened_ledger(config_file, ledger) as (config, opened):
        result = redeem_mod.redeem(opened, code, actor=actor_name(by), note=note)
        if result.outcome is redeem_mod.Outcome.REDEEMED and result.record:
            sent = mail.notify_redeemed(opened, mailer_for(config, None), result.record)
            if sent in NOTIFY_MESSAGES:
                click.echo(NOTIFY_MESSAGES[sent], err=True)
        finish(result)


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
    with opened_ledger(config_file, ledger) as (config, opened):
        finish(redeem_mod.void(opened, code, reason=reason, actor=actor_name(by)))


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
    with opened_ledger(config_file, ledger) as (config, opened):
        finish(redeem_mod.convert(opened, code, actor=actor_name(by), value=value, note=note))


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
    with opened_ledger(config_file, ledger) as (config, opened):
        text = report_mod.RENDERERS[fmt](report_mod.build(opened, group), group)
    if output is None:
        click.echo(text.rstrip("\r\n"))
    else:
        output.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="")
        click.echo(f"Wrote {output}", err=True)
