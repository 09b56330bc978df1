"""certgen send, remind and unsubscribe: the emails of a run."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from certgen import codes, stopping
from certgen import config as config_mod
from certgen.cli.base import (
    INTERRUPTED,
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
    eml_outbox_option,
    jobs_option,
    known_run,
    left_out,
    load_run_settings,
    note_default_base_url,
    open_configured,
    opened_ledger,
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
from certgen.errors import ConfigError, DeliveryError, InputError, Problem

if TYPE_CHECKING:  # --help and completion import no mail stack, design or ledger
    from certgen import inputs, mail
    from certgen import send as send_mod
    from certgen.design import Design


@cli.command()
@click.argument(
    "csv_file", metavar="[LIST]", required=False, type=click.Path(path_type=Path, dir_okay=False)
)
@design_option
@click.option("--email", metavar="ADDRESS", help="The addressee's email (one certificate).")
@address_to_option("each email goes to (the email column, or giver_email for the giver)")
@row_options
@base_url_option
@run_options(
    again="running it again sends only what it has not sent",
    resume="what was sent is not sent again",
)
@eml_outbox_option("each email as CODE.eml")
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    metavar="N",
    help="Send at most N emails a second (default: as fast as the server takes them).",
)
@safety_options(
    dry_run="Check every row, address and email as the run would; record and send nothing.",
    limit="Send the first N of the run now; --resume sends the rest.",
)
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="With --resume: send again the emails the server may have taken (its answer was "
    "lost); check the mailbox first, or they may arrive twice.",
)
@click.option(
    "--test-to",
    metavar="ADDRESS",
    help="Send the first emails (--limit, default 3) to ADDRESS only, with a sample code; "
    "record nothing.",
)
@jobs_option(
    "Processes composing emails at once; each is still claimed, sent and recorded in turn."
)
@quiet_option
@designs_dir_option
@by_option
@settings_options
def send(
    csv_file: Path | None,
    design_name: str | None,
    email: str | None,
    address_to: str | None,
    row_input: RowInput,
    base_url: str | None,
    batch_id: str | None,
    resume: str | None,
    new_run: bool,
    outbox: Path | None,
    rate: float | None,
    dry_run: bool,
    limit: int | None,
    test_to: str | None,
    resend_unknown: bool,
    jobs: int,
    quiet: bool,
    designs_dir: Path | None,
    by: str | None,
    config_file: Path | None,
    ledger: str | None,
) -> None:
    """Email certificates: each row of LIST's (a CSV file or a workbook) as a PDF attachment,
    and a picture of it, to the address in its email column (with --address-to giver, to
    the customer in giver_email, to pass on), with a short message from the design's email
    templates.

    \b
    certgen send customers.csv --design modern
    certgen send customers.csv --design modern --outbox outbox/ --run-id spring
    certgen send --design modern --to "Bob Ng" --from "Jane Doe" --email bob@example.com

    Mail goes through [smtp] in certgen.toml. Every row is checked and every code recorded
    before the first email goes out. A run that stops (Ctrl-C, a lost server) is finished
    with --resume ID; an address the server refuses is listed with its row. Exit code 13:
    some emails were not delivered.
    """
    from certgen import mailing
    from certgen import runs as runs_mod
    from certgen import send as send_mod
    from certgen.ledger import safe_url

    config, design = load_run_settings(config_file, ledger, base_url, designs_dir, design_name)
    row_input.check(csv_file)
    design = row_input.localized(design, config)
    to = addressee(address_to, row_input, config, design, csv_file)
    field = next(iter(send_mod.FIELDS[to]))
    if email is not None:
        if csv_file is not None:
            raise click.UsageError("--email is for one certificate; a CSV gives it per row")
        row_input = row_input.with_value(field, email)
    postbox, sender, via = _postbox(config, outbox)
    outgoing = send_mod.Outgoing(sender, config.base_url, to, _unsubscribe_key(config))
    extra = {**mailing.fields(False), **send_mod.FIELDS[to]}
    started = time.monotonic()
    with open_configured(config) as opened:
        batch_id, now = known_run(opened, config, batch_id, resume)
        rows, problems, source = row_input.read(csv_file, design, config, now.date(), extra, quiet)
        if test_to is not None:
            _test_send(design, rows, postbox, outgoing, test_to, source, now, limit or 3)
            if problems:
                click.echo(
                    f"Note: {len(problems)} problems in the list would stop the real run; "
                    "--dry-run lists them",
                    err=True,
                )
            return
        refused: list[Problem] = []
        if row_input.skip_invalid and csv_file is not None:
            rows, refused, problems = send_mod.screen(
                design, rows, problems, outgoing=outgoing, issued_on=now.date(), file=source
            )
            rejects = row_input.rejects_file(csv_file, csv_file)
            left_out(rows, refused, problems, rejects, write=not dry_run)
        rows, gone = send_mod.without_unsubscribed(opened, rows, outgoing)
        if gone:
            names = ", ".join(outgoing.email(row) for row in gone[:5])
            more = f" and {len(gone) - 5} more" if len(gone) > 5 else ""
            click.echo(
                f"Note: {len(gone)} address{'es' if len(gone) != 1 else ''} asked for no "
                f"more email and {'were' if len(gone) != 1 else 'was'} left out: {names}{more} "
                "(certgen unsubscribe --undo ADDRESS takes one back)",
                err=True,
            )
            if not rows:
                raise InputError([Problem("every address of the list asked for no more email")])
        fingerprint = runs_mod.fingerprint(design, rows, "send") if csv_file else None
        if fingerprint and batch_id is None and not new_run:
            refuse_repeat(opened, fingerprint, sent=True)
        batch_id = batch_id or runs_mod.new_id(now)
        stopped = stopped_safely(opened, batch_id, len(rows), sending=True)
        try:
            held = run_held(opened, batch_id, None)
            with held, stopped, progress_bar(len(rows), quiet, "Sending") as progress:
                result = send_mod.send(
                    design,
                    rows,
                    ledger=opened,
                    postbox=postbox,
                    outgoing=outgoing,
                    source=source,
                    file_label=via,
                    now=now,
                    batch_id=batch_id,
                    problems=problems,
                    actor=actor_name(by),
                    rate=rate,
                    progress=progress,
                    fingerprint=fingerprint,
                    dry_run=dry_run,
                    limit=limit,
                    resend_unknown=resend_unknown,
                    jobs=jobs,
                )
        finally:
            postbox.close()
    seconds = time.monotonic() - started
    if result.dry_run:
        skipped = len({p.row for p in refused})
        left = f"; {skipped} row{'s' if skipped != 1 else ''} would be left out" if skipped else ""
        plural = "s" if result.count != 1 else ""
        click.echo(
            f"Dry run: {result.count} email{plural} checked, ready to send ({via}, design "
            f"{design.name}{left}); nothing was recorded or sent ({seconds:.1f} s)"
        )
        return
    verb = "Wrote" if outbox else "Sent"
    plural = "s" if result.sent != 1 else ""
    timing = f"{seconds:.1f} s" + (
        f", {result.sent / seconds:.1f} emails/s" if result.sent > 1 else ""
    )
    where = f" to {outbox}" if outbox else ""
    earlier = f"; {result.already} sent before" if result.already else ""
    click.echo(
        f"{verb} {result.sent} email{plural}{where} in {timing}{earlier} (design {design.name}, "
        f"run {result.batch_id}, ledger {safe_url(config.ledger)})"
    )
    if refused and csv_file is not None:
        report_left_out(rows, refused, row_input.rejects_file(csv_file, csv_file), "")
    if result.held and result.complete:
        click.echo(f"The other {result.held} (--limit {limit}), when you are ready:")
        click.echo(f"  {this_command('--resume', result.batch_id, drop=frozenset({'--limit'}))}")
    if not result.complete:
        raise DeliveryError(
            result.count,
            result.rejected,
            result.deferred,
            result.stopped,
            resume=f"certgen send ... --resume {result.batch_id}",
        )
    note_default_base_url(config, quiet, "sending")
    if refused:
        raise click.exceptions.Exit(ROWS_LEFT_OUT)


def _test_send(
    design: Design,
    rows: Sequence[inputs.Row],
    postbox: mail.Outbox | mail.Session,
    outgoing: send_mod.Outgoing,
    to: str,
    source: str,
    now: dt.datetime,
    count: int,
) -> None:
    """--test-to: the first emails of the run to one address; nothing recorded."""
    from email.errors import HeaderParseError
    from email.headerregistry import Address

    from certgen import inputs
    from certgen import send as send_mod

    try:
        Address(addr_spec=to)
    except (ValueError, HeaderParseError, IndexError) as exc:
        message = f"'{to}' is not an email address ({exc})"
        raise click.BadParameter(message, param_hint="--test-to") from None
    first = (
        rows.reordered(range(min(count, len(rows))))
        if isinstance(rows, inputs.Table)
        else rows[:count]
    )
    try:
        sent = send_mod.send_test(
            design,
            first,
            postbox=postbox,
            outgoing=outgoing,
            to=to,
            source=source,
            issued_on=now.date(),
        )
    finally:
        postbox.close()
    plural = "s" if sent != 1 else ""
    click.echo(
        f"Sent {sent} test email{plural} to {to}: the first {sent} row{plural}, with the "
        f"sample code {codes.display(codes.SAMPLE)}; nothing was recorded"
    )


def _postbox(
    config: config_mod.Config, outbox: Path | None
) -> tuple[mail.Outbox | mail.Session, str, str]:
    """Where a run's emails go (the --outbox folder, else the [smtp] server, one connection
    kept open), the sender, and a few words saying which."""
    from certgen import mail

    if outbox is not None:
        sender = config.smtp.sender if config.smtp else mail.DEFAULT_SENDER
        return mail.Outbox(outbox), sender, f"outbox {outbox.resolve()}"
    if config.smtp is not None:
        return mail.Session(config.smtp), config.smtp.sender, f"email via {config.smtp.host}"
    raise ConfigError(
        "no [smtp] in certgen.toml and no --outbox: nowhere to send the emails "
        '(add [smtp] with host = "smtp.example.com", or give --outbox DIR)'
    )


def _unsubscribe_key(config: config_mod.Config) -> str | None:
    """The one-click unsubscribe link needs the redemption site, which records it."""
    return None if config.base_url_is_default else config.web().secret_key


def _days(text: str) -> int:
    """``14d``, ``2w`` or ``14`` as days."""
    number, unit = (text[:-1], text[-1].lower()) if text[-1:].isalpha() else (text, "d")
    if not number.isdigit() or unit not in "dw" or int(number) > 3660:
        raise click.BadParameter(f"'{text}': give days or weeks, e.g. 14d or 2w")
    return int(number) * (7 if unit == "w" else 1)


@cli.command()
@click.option(
    "--before",
    "window",
    default="14d",
    show_default=True,
    metavar="DAYS",
    help="Remind gifts that expire within this many days (14d, 2w).",
)
@click.option(
    "--test-to",
    metavar="ADDRESS",
    help="Send the first reminder to ADDRESS instead, to see it; nothing is recorded.",
)
@eml_outbox_option("the reminders as .eml files")
@safety_options(
    dry_run="List whom it would remind, and who is left out and why; send nothing.",
    limit="Remind the first N (soonest to expire); the same command sends the rest later.",
)
@base_url_option
@settings_options
def remind(
    window: str,
    test_to: str | None,
    outbox: Path | None,
    dry_run: bool,
    limit: int | None,
    base_url: str | None,
    config_file: Path | None,
    ledger: str | None,
) -> None:
    """Email each friend whose gift expires soon and is not used yet, once per gift.

    The friend's address is the list's recipient_email, or where certgen send delivered
    the gift (--address-to recipient); gifts given to customers to pass on have no one to
    remind. Run it daily (cron): each gift is reminded at most once, an unsubscribed
    address never, and a failed one again on the next run.
    """
    from certgen import remind as remind_mod

    days = _days(window)
    config = config_mod.load(config_file=config_file, ledger=ledger, base_url=base_url)
    today = config.today()
    with open_configured(config) as opened:
        plan = remind_mod.plan(opened, today, days)
        last = today + dt.timedelta(days=days)
        left_out = [
            (plan.already, "reminded before"),
            (plan.no_address, "no address for the friend (given to the customer to pass on)"),
            (plan.unsubscribed, "unsubscribed"),
            (plan.converted, "the friend is a customer already"),
        ]
        notes = "; ".join(f"{n} {why}" for n, why in left_out if n)
        click.echo(
            f"{len(plan.due)} to remind of gifts expiring {today} to {last}"
            + (f"; left out: {notes}" if notes else "")
        )
        if dry_run:
            for due in plan.due[: limit or 20]:
                record = due.record
                click.echo(f"  {codes.display(record.code)}  {record.expires_on}  {due.address}")
            if len(plan.due) > (limit or 20):
                click.echo(f"  ... and {len(plan.due) - (limit or 20)} more")
            click.echo("Dry run: nothing was sent or recorded")
            return
        if not plan.due:
            return
        postbox, sender, via = _postbox(config, outbox)
        key = _unsubscribe_key(config)
        try:
            if test_to is not None:
                first = remind_mod.Due(plan.due[0].record, test_to)
                message = remind_mod.compose(
                    first,
                    remind_mod.templates(),
                    sender=sender,
                    base_url=config.base_url,
                    today=today,
                    unsubscribe_key=key,
                )
                postbox.send(message, "reminder-test")
                click.echo(f"Sent the first reminder to {test_to} ({via}); nothing was recorded")
                return
            with stopping.at_safe_points():
                result = remind_mod.remind(
                    opened,
                    plan.due,
                    postbox,
                    sender=sender,
                    base_url=config.base_url,
                    today=today,
                    unsubscribe_key=key,
                    limit=limit,
                )
        finally:
            postbox.close()
    click.echo(f"Reminded {result.sent} friend{'s' if result.sent != 1 else ''} ({via})")
    for due, reason in result.failed:
        click.secho(f"  {codes.display(due.record.code)} to {due.address}: {reason}", err=True)
    if result.unknown:
        click.echo(
            f"{result.unknown} may have arrived (the server's answer was lost): not sent again"
        )
    again = this_command(drop=frozenset({"--limit"}))
    if result.stopped:
        click.echo(f"Stopped; the rest are sent by: {again}", err=True)
        raise click.exceptions.Exit(INTERRUPTED)
    if result.held:
        click.echo(f"{result.held} more wait (--limit): {again}")
    if result.failed:
        click.secho(
            f"{len(result.failed)} failed; the same command tries them again: {again}",
            err=True,
            fg="red",
        )
        raise click.exceptions.Exit(DeliveryError.exit_code)


@cli.command()
@click.argument("addresses", nargs=-1, metavar="[ADDRESS]...")
@click.option("--undo", is_flag=True, help="Take the addresses back: they may be sent again.")
@by_option
@settings_options
def unsubscribe(
    addresses: tuple[str, ...],
    undo: bool,
    by: str | None,
    config_file: Path | None,
    ledger: str | None,
) -> None:
    """Remember that ADDRESS asked for no more email (a reply to the List-Unsubscribe every
    certgen email carries): certgen send leaves it out, with a note. Without an address,
    list them."""
    with opened_ledger(config_file, ledger) as (_, opened):
        if not addresses:
            for address in sorted(opened.unsubscribed()):
                click.echo(address)
            return
        for address in addresses:
            if undo:
                done = opened.resubscribe(address)
                click.echo(f"{address}: {'taken back' if done else 'was not unsubscribed'}")
            else:
                at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
                done = opened.unsubscribe(address, at=at, actor=actor_name(by))
                click.echo(f"{address}: {'unsubscribed' if done else 'already unsubscribed'}")
