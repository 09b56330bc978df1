"""Looking at and acting on one certificate: show, redeem, unredeem, void, convert; and
report."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from certgen import codes, stopping
from certgen import report as report_mod
from certgen.cli.base import (
    INTERRUPTED,
    NOTIFY_MESSAGES,
    actor_name,
    by_option,
    cli,
    finish,
    mailer_for,
    opened_ledger,
    safety_options,
    settings_options,
    this_command,
)
from certgen.errors import NotFoundError

if TYPE_CHECKING:  # --help and completion import no ledger
    from certgen.ledger import CertificateRecord


def _canonical(text: str) -> str:
    from certgen import redeem as redeem_mod

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
    from certgen.ledger import safe_url

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
        ("Status", _status(record, config.today())),
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


def _status(record: CertificateRecord, today: dt.date) -> str:
    if record.redeemed_at:
        return f"redeemed {record.redeemed_at} by {record.redeemed_by} via {record.redeemed_via}"
    if record.voided_at:
        return f"void since {record.voided_at}: {record.void_reason}"
    if record.expires_on and record.expires_on < today.isoformat():
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
    from certgen import redeem as redeem_mod

    with opened_ledger(config_file, ledger) as (config, opened):
        result = redeem_mod.redeem(
            opened, code, actor=actor_name(by), note=note, today=config.today()
        )
        if result.outcome is redeem_mod.Outcome.REDEEMED and result.record:
            from certgen import mail  # the mail stack: only for a thank-you to send

            sent = mail.notify_redeemed(opened, mailer_for(config, None), result.record)
            if sent in NOTIFY_MESSAGES:
                click.echo(NOTIFY_MESSAGES[sent], err=True)
        finish(result)


@cli.command()
@click.argument("code")
@click.option(
    "--reason", required=True, metavar="TEXT", help="Why it is undone (kept in the history)."
)
@by_option
@settings_options
def unredeem(
    code: str, reason: str, by: str | None, config_file: Path | None, ledger: str | None
) -> None:
    """Undo the redemption of CODE, made by mistake within [web] undo_minutes (15).

    The certificate can be redeemed again; its history keeps both events, and reports count
    it as not redeemed. A converted certificate stays redeemed.

    \b
    certgen unredeem 7K3M-QX2P-9HWD-R4TB-8 --reason "scanned the wrong gift"

    \b
    Exit codes: 0 undone, 6 unknown, 7 mistyped, 11 not redeemed, 12 converted,
    18 redeemed longer ago than undo_minutes.
    """
    from certgen import redeem as redeem_mod

    with opened_ledger(config_file, ledger) as (config, opened):
        window = dt.timedelta(minutes=config.web().undo_minutes)
        finish(
            redeem_mod.unredeem(opened, code, reason=reason, actor=actor_name(by), window=window)
        )


@cli.command()
@click.argument("code", required=False)
@click.option(
    "--run",
    "run_id",
    metavar="ID",
    help="Void every unredeemed certificate of run ID (certgen runs lists them) instead.",
)
@click.option(
    "--reason", required=True, metavar="TEXT", help="Why it is voided (kept in the history)."
)
@safety_options(
    dry_run="With --run: count what would be voided; void nothing.",
    limit="With --run: void the first N now; the same command voids the rest.",
)
@by_option
@settings_options
def void(
    code: str | None,
    run_id: str | None,
    reason: str,
    dry_run: bool,
    limit: int | None,
    by: str | None,
    config_file: Path | None,
    ledger: str | None,
) -> None:
    """Void CODE so it can never be redeemed, or with --run every unredeemed certificate of
    a run (a mailing that went wrong). A redeemed certificate cannot be voided.

    \b
    certgen void 7K3M-QX2P-9HWD-R4TB-8 --reason "printed twice"
    certgen void --run 20261201-5c1e9a0b --reason "wrong expiry date" --dry-run

    \b
    Exit codes: 0 voided, 6 unknown, 7 mistyped, 8 already redeemed, 10 already voided;
    130 interrupted (--run: what was voided stays voided; run it again for the rest).
    """
    from certgen import redeem as redeem_mod

    if (code is None) == (run_id is None):
        raise click.UsageError("give a CODE, or --run ID for a whole run")
    if code is not None and (dry_run or limit is not None):
        raise click.UsageError("--dry-run and --limit are for --run")
    with opened_ledger(config_file, ledger) as (config, opened):
        if code is not None:
            finish(redeem_mod.void(opened, code, reason=reason, actor=actor_name(by)))
            return
        run = run_id or ""
        try:
            with stopping.at_safe_points():
                done = redeem_mod.void_run(
                    opened,
                    run,
                    reason=reason,
                    actor=actor_name(by),
                    limit=limit,
                    dry_run=dry_run,
                )
        except KeyboardInterrupt:
            voided = len([r for r in opened.batch(run) if r.voided_at is not None])
            click.secho(
                f"Interrupted: run {run_id} has {voided} certificates voided; each block of "
                f"{redeem_mod.VOID_BLOCK} is voided whole. The same command voids the rest:",
                err=True,
                fg="yellow",
            )
            click.echo(f"  {this_command(drop=frozenset({'--limit'}))}", err=True)
            raise click.exceptions.Exit(INTERRUPTED) from None
    kept = f"{done.redeemed} redeemed stay" + (
        f", {done.already} were void already" if done.already else ""
    )
    if done.dry_run:
        click.echo(
            f"Dry run: {done.left} of run {run_id}'s {done.total} certificates would be voided "
            f"({kept}); nothing was recorded"
        )
        return
    click.echo(f"Voided {done.voided} of run {run_id}'s {done.total} certificates ({kept})")
    if done.left:
        click.echo(f"{done.left} more can be voided, when you are ready:")
        click.echo(f"  {this_command(drop=frozenset({'--limit'}))}")


@cli.command()
@click.argument("code")
@click.option("--value", metavar="AMOUNT", help="What the new customer spent, e.g. 120.50.")
@click.option("--note", metavar="TEXT", help="A note kept with the conversion.")
@click.option(
    "--unredeemed",
    is_flag=True,
    help="The friend bought without presenting the gift: credit the referrer anyway, "
    "recorded as a conversion without redemption.",
)
@by_option
@settings_options
def convert(
    code: str,
    value: str | None,
    note: str | None,
    unredeemed: bool,
    by: str | None,
    config_file: Path | None,
    ledger: str | None,
) -> None:
    """Record that the friend who redeemed CODE became a customer.

    \b
    Exit codes: 0 converted, 6 unknown, 7 mistyped, 11 not redeemed (or, with
    --unredeemed, redeemed) or voided, 12 already converted.
    """
    from certgen import redeem as redeem_mod

    with opened_ledger(config_file, ledger) as (config, opened):
        actor = actor_name(by)
        result = redeem_mod.convert(
            opened, code, actor=actor, value=value, note=note, unredeemed=unredeemed
        )
        finish(result)


@cli.command()
@click.option(
    "--by",
    "group",
    type=click.Choice(report_mod.GROUPS),
    default="referrer",
    show_default=True,
    help="Group by referrer (the customers to thank), design, batch, variant, month or ISO "
    "week of issue, or the staff who redeemed and their location.",
)
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Only certificates issued on or after this day (YYYY-MM-DD).",
)
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Only certificates issued on or before this day (YYYY-MM-DD).",
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
    group: str,
    since: dt.datetime | None,
    until: dt.datetime | None,
    fmt: str,
    output: Path | None,
    config_file: Path | None,
    ledger: str | None,
) -> None:
    """Issued, viewed, redeemed, expired, voided and converted certificates, with rates,
    per group; the table and CSV end with the totals. --format html writes the owner's
    dashboard as one file that opens anywhere (charts and tables, every grouping).

        certgen report --by variant
        certgen report --since 2026-11-01 --format html -o report.html

    Redemption rate is redeemed / issued; conversion rate is converted / redeemed. Issue
    dates are as the ledger keeps them (UTC).
    """
    first, last = (since.date() if since else None), (until.date() if until else None)
    if first and last and first > last:
        raise click.BadParameter(
            f"--since {first} is after --until {last}: give the earlier day first",
            param_hint="--since",
        )
    with opened_ledger(config_file, ledger) as (config, opened):
        if fmt == "html":  # the dashboard, every grouping in one file; --by week or month
            from certgen import dashboard

            period = group if group in dashboard.PERIODS else "week"
            shown = dashboard.build(opened, config.today(), since=first, until=last, period=period)
            text = dashboard.standalone(shown, business=config.defaults.get("business", ""))
        else:
            lines = report_mod.build(opened, group, config.today(), since=first, until=last)
            text = report_mod.RENDERERS[fmt](lines, group)
    if output is None:
        click.echo(text.rstrip("\r\n"))
    else:
        output.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="")
        click.echo(f"Wrote {output}", err=True)
