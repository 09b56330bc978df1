"""Running the redemption page, its staff, thank-you emails, and the ledger itself."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import click

from certgen import config as config_mod
from certgen import mail
from certgen.cli.base import (
    cli,
    mailer_for,
    open_configured,
    opened_ledger,
    outbox_option,
    settings_options,
)
from certgen.errors import ConfigError, LedgerError, NotFoundError, OutputError
from certgen.ledger import DAMAGED, open_ledger, safe_url
from certgen.ledger.schema import ROLES

MIN_PIN = 6
MIN_PASSWORD = 8


@cli.group()
def ledger() -> None:
    """Where the ledger is and what it holds."""


@ledger.command("path")
@settings_options
def ledger_path(config_file: Path | None, ledger: str | None) -> None:
    """Print the ledger URL in use (without its password)."""
    config = config_mod.load(config_file=config_file, ledger=ledger)
    click.echo(safe_url(config.ledger))


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

    from certgen import web, webhooks

    config = config_mod.load(config_file=config_file, ledger=ledger)
    with open_configured(config, wait=web.LEDGER_WAIT) as opened:
        app = web.create_app(opened, config.web(), mailer_for(config, outbox))
        click.echo(f"certgen: serving {safe_url(config.ledger)} on http://{host}:{port}/", err=True)
        # Webhooks go out beside the page, a few seconds after their event at most.
        stop = threading.Event()
        sender = webhooks.Sender(opened)
        threading.Thread(target=sender.run, args=(stop,), name="webhooks", daemon=True).start()
        # A service manager's stop (SIGTERM) ends it like Ctrl-C: the views still queued are
        # written before the ledger closes.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            waitress.serve(app, host=host, port=port, threads=threads, ident="certgen")
        finally:
            stop.set()
            app.extensions["certgen.views"].flush()


@cli.group()
def staff() -> None:
    """Staff who may sign in to the redemption page and use the API."""


ROLE_HELP = "staff: the redemption page; owner: the dashboard (/dashboard) as well."
LOCATION_HELP = (
    "The shop or branch NAME works at: each redemption records it (report --by location)."
)


@staff.command("add")
@click.argument("name")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password or PIN from standard input."
)
@click.option(
    "--role", type=click.Choice(ROLES), default="staff", show_default=True, help=ROLE_HELP
)
@click.option("--location", help=LOCATION_HELP)
@settings_options
def staff_add(
    name: str,
    password_stdin: bool,
    role: str,
    location: str | None,
    config_file: Path | None,
    ledger: str | None,
) -> None:
    """Add NAME with a password or PIN (asked for, or read with --password-stdin).

    certgen staff add Sam --location Downtown
    certgen staff add Olivia --role owner
    """
    from certgen import web

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password or PIN", hide_input=True, confirmation_prompt=True)
    weak = password_problem(password)
    if weak:
        raise click.BadParameter(weak, param_hint="password")
    with opened_ledger(config_file, ledger) as (config, opened):
        opened.add_staff(name, web.hash_password(password), role=role, location=location)
    click.echo(f"Added {name} ({role}{f', {location}' if location else ''})")


@staff.command("set")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), help=ROLE_HELP)
@click.option("--location", help=LOCATION_HELP + ' "" clears it.')
@settings_options
def staff_set(
    name: str, role: str | None, location: str | None, config_file: Path | None, ledger: str | None
) -> None:
    """Change NAME's role or location. Redemptions already made keep the location they
    were made at."""
    if role is None and location is None:
        raise click.UsageError("give --role, --location or both")
    where: str | None | bool = False if location is None else (location.strip() or None)
    with opened_ledger(config_file, ledger) as (config, opened):
        if not opened.set_staff(name, role=role, location=where):
            raise NotFoundError(f"no staff member named '{name}'")
    click.echo(f"Changed {name}")


TOKEN_DAYS = 90  # a till's token: renewed each quarter
MAX_TOKEN_DAYS = 3650


def password_problem(password: str) -> str | None:
    """Why a password or PIN is too easy to guess: a PIN (digits only) needs 6 digits, a
    password 8 characters (with the sign-in limits, that is years of guessing)."""
    if password.isdigit() and len(password) < MIN_PIN:
        return f"a PIN needs at least {MIN_PIN} digits"
    if not password.isdigit() and len(password) < MIN_PASSWORD:
        return f"a password needs {MIN_PASSWORD} characters at least (or a PIN, {MIN_PIN} digits)"
    return None


@staff.command("remove")
@click.argument("name")
@settings_options
def staff_remove(name: str, config_file: Path | None, ledger: str | None) -> None:
    """Remove NAME: they can no longer sign in, their open sessions end at once, and their
    API tokens stop working."""
    with opened_ledger(config_file, ledger) as (config, opened):
        sessions = opened.sessions().get(name, 0)
        if not opened.remove_staff(name):
            raise NotFoundError(f"no staff member named '{name}'")
    ended = f"; ended {sessions} open session{'s' if sessions != 1 else ''}" if sessions else ""
    click.echo(f"Removed {name}{ended}")


@staff.command("signout")
@click.argument("name")
@settings_options
def staff_signout(name: str, config_file: Path | None, ledger: str | None) -> None:
    """Sign NAME out everywhere: every browser they are signed in on (a lost phone, a shared
    counter PC) must sign in again."""
    with opened_ledger(config_file, ledger) as (config, opened):
        if opened.password_hash(name) is None:
            raise NotFoundError(f"no staff member named '{name}'")
        ended = opened.end_sessions(name)
    click.echo(f"Signed {name} out of {ended} session{'s' if ended != 1 else ''}")


@staff.command("list")
@settings_options
def staff_list(config_file: Path | None, ledger: str | None) -> None:
    """List staff, when each was added, their open sessions, and their valid API tokens."""
    with opened_ledger(config_file, ledger) as (config, opened):
        sessions = opened.sessions()
        for member in opened.staff_members(time.time()):
            tokens = member.tokens
            token = f"\t{tokens} API token{'s' if tokens != 1 else ''}" if tokens else ""
            open_ = sessions.get(member.name, 0)
            signed_in = f"\t{open_} session{'s' if open_ != 1 else ''}" if open_ else ""
            where = f"\t{member.location}" if member.location else ""
            click.echo(
                f"{member.name}\t{member.role}{where}\tadded {member.created_at}{signed_in}{token}"
            )


@staff.command("token")
@click.argument("name")
@click.option(
    "--label",
    default="default",
    show_default=True,
    metavar="LABEL",
    help="What the token is for (a till, a POS system); a new token of a label replaces the old.",
)
@click.option(
    "--days",
    type=click.IntRange(min=1, max=MAX_TOKEN_DAYS),
    default=TOKEN_DAYS,
    show_default=True,
    help="How long the token works.",
)
@settings_options
def staff_token(
    name: str, label: str, days: int, config_file: Path | None, ledger: str | None
) -> None:
    """Make an API token for NAME (for a point-of-sale system), printed once on standard
    output; a person may hold several, one per --label.

    \b
    certgen staff token Sam --label till-2 --days 365
    """
    from certgen import web_api

    if not 1 <= len(label) <= 100 or not label.isprintable():
        raise click.BadParameter(
            "give a label of 1 to 100 printable characters", param_hint="--label"
        )
    token = secrets.token_urlsafe(32)
    expires = time.time() + days * 86400
    with opened_ledger(config_file, ledger) as (config, opened):
        if not opened.add_token(name, label, web_api.hash_token(token), expires):
            raise NotFoundError(f"no staff member named '{name}'")
    click.echo(token)
    until = dt.datetime.fromtimestamp(expires, dt.UTC).date().isoformat()
    click.echo(f"Token '{label}' for {name}, valid until {until}; it is shown only now.", err=True)


@staff.command("tokens")
@click.argument("name", required=False)
@settings_options
def staff_tokens(name: str | None, config_file: Path | None, ledger: str | None) -> None:
    """List API tokens (of NAME, or everyone's): person, label, made, expires, last used. The
    tokens themselves are never stored, so never shown again."""
    now = time.time()
    with opened_ledger(config_file, ledger) as (config, opened):
        found = opened.tokens(name)
    if not found:
        click.echo("No API tokens." if name is None else f"{name} has no API tokens.")
        return

    def day(at: float | None) -> str:
        return dt.datetime.fromtimestamp(at, dt.UTC).date().isoformat() if at else "never"

    lines = [("STAFF", "LABEL", "MADE", "EXPIRES", "LAST USED")]
    for token in found:
        expires = day(token.expires_at) + (" (expired)" if token.expires_at <= now else "")
        lines.append(
            (token.staff, token.label, day(token.created_at), expires, day(token.last_used))
        )
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    for line in lines:
        click.echo("  ".join([*(c.ljust(w) for c, w in zip(line, widths, strict=False)), line[4]]))


@staff.command("revoke")
@click.argument("name")
@click.argument("label", required=False)
@click.option("--all", "every", is_flag=True, help="Revoke every token of NAME.")
@settings_options
def staff_revoke(
    name: str, label: str | None, every: bool, config_file: Path | None, ledger: str | None
) -> None:
    """Revoke NAME's API token LABEL (or --all of them): it stops working at once, in every
    process that shares the ledger."""
    if (label is None) == (not every):
        raise click.UsageError("name the token's LABEL (certgen staff tokens lists them), or --all")
    with opened_ledger(config_file, ledger) as (config, opened):
        revoked = opened.revoke_tokens(name, None if every else label)
    if not revoked:
        what = "any API token" if every else f"a token '{label}'"
        raise NotFoundError(f"{name} has no {what} (certgen staff tokens lists them)")
    click.echo(f"Revoked {revoked} API token{'s' if revoked != 1 else ''} of {name}")


@cli.command()
@click.option("--retry", is_flag=True, help="Send every queued or failed thank-you email again.")
@outbox_option
@settings_options
def notify(retry: bool, outbox: Path | None, config_file: Path | None, ledger: str | None) -> None:
    """Referrers' thank-you emails: list them, or with --retry send the unsent ones."""
    with opened_ledger(config_file, ledger) as (config, opened):
        if retry:
            mailer = mailer_for(config, outbox)
            if mailer is None:
                raise ConfigError("configure [smtp] in certgen.toml, or give --outbox")
            counts = mail.retry(opened, mailer)
            maybe = f", {counts['unknown']} may have arrived" if counts["unknown"] else ""
            click.echo(f"sent {counts['sent']}, failed {counts['failed']}{maybe}")
            if counts["failed"]:
                sys.exit(1)
            return
        for row in opened.notifications():
            error = row["last_error"] or ""
            click.echo(f"{row['code']}\t{row['status']}\t{row['attempts']} attempts\t{error}")


@ledger.command("check")
@settings_options
def ledger_check(config_file: Path | None, ledger: str | None) -> None:
    """Check the ledger: SQLite's integrity and foreign-key checks, and certgen's own rules
    (every certificate issued, every event of a certificate, no redemption after a void,
    runs no larger than they say). Exit code 5 if anything is wrong."""
    with opened_ledger(config_file, ledger) as (config, opened):
        problems = opened.check()
        counts = opened.counts() if not problems else {}
    if problems:
        for problem in problems:
            click.echo(f"  {problem}", err=True)
        plural = "s" if len(problems) != 1 else ""
        raise LedgerError(
            f"{safe_url(config.ledger)}: {len(problems)} problem{plural}; restore your last "
            "backup (certgen ledger restore BACKUP)"
        )
    click.echo(
        f"{safe_url(config.ledger)}: sound ({counts['runs']} runs, {counts['certificates']} "
        f"certificates, {counts['events']} events)"
    )


@ledger.command("backup")
@click.argument("target", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Write over TARGET if it exists.")
@settings_options
def ledger_backup(target: Path, force: bool, config_file: Path | None, ledger: str | None) -> None:
    """Copy the ledger to TARGET while it is in use (SQLite's online backup: one consistent
    moment, redemptions going on meanwhile), then check the copy. For PostgreSQL, says the
    pg_dump command."""
    if target.exists() and not force:
        raise OutputError(f"{target} already exists: give another name, or --force")
    with opened_ledger(config_file, ledger) as (config, opened):
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        try:
            opened.backup(temp)
            with open_ledger(f"sqlite:///{temp.resolve()}") as copy:
                problems, counts = copy.check(), copy.counts()
            if problems:
                raise LedgerError(f"the copy is not sound: {problems[0]}; {DAMAGED}")
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)
    click.echo(
        f"Backed up {safe_url(config.ledger)} to {target} ({counts['certificates']} "
        f"certificates, {counts['events']} events; checked)"
    )


@ledger.command("restore")
@click.argument("backup", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--yes", is_flag=True, help="Replace the ledger without asking.")
@settings_options
def ledger_restore(backup: Path, yes: bool, config_file: Path | None, ledger: str | None) -> None:
    """Replace the SQLite ledger with BACKUP (made by certgen ledger backup), after checking
    it; the ledger it replaces is kept beside it. Stop certgen serve and runs first."""
    config = config_mod.load(config_file=config_file, ledger=ledger)
    if not config.ledger.startswith("sqlite:///"):
        raise ConfigError("restore is for SQLite ledgers; restore PostgreSQL with pg_restore")
    with open_ledger(f"sqlite:///{backup.resolve()}") as copy:
        problems, counts = copy.check(), copy.counts()
    if problems:
        raise LedgerError(f"{backup} is not sound: {problems[0]}")
    current = Path(config.ledger.removeprefix("sqlite:///"))
    if not yes:
        click.confirm(
            f"Replace {current} with {backup} ({counts['certificates']} certificates)?",
            abort=True,
        )
    kept = None
    if current.exists():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        kept = current.with_name(f"{current.name}.before-restore-{stamp}")
        os.replace(current, kept)
        for suffix in ("-wal", "-shm"):  # the replaced ledger's journal is not the backup's
            side = current.with_name(current.name + suffix)
            if side.exists():
                os.replace(side, kept.with_name(kept.name + suffix))
    temp = current.with_name(f".{current.name}.{secrets.token_hex(4)}.part")
    shutil.copyfile(backup, temp)
    os.replace(temp, current)
    click.echo(
        f"Restored {current} from {backup} ({counts['certificates']} certificates)"
        + (f"; the ledger it replaced is {kept}" if kept else "")
    )


@ledger.command("export")
@click.argument("target", type=click.Path(path_type=Path, dir_okay=False), required=False)
@settings_options
def ledger_export(target: Path | None, config_file: Path | None, ledger: str | None) -> None:
    """Write every event (issued, redeemed, voided, emailed, ...) as JSON Lines, in the order
    recorded, to TARGET or standard output: the audit log."""
    with opened_ledger(config_file, ledger) as (config, opened):
        stream = target.open("w", encoding="utf-8") if target else sys.stdout
        try:
            count = 0
            for event in opened.export_events():
                stream.write(json.dumps(event, ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
        finally:
            if target:
                stream.close()
    if target:
        click.echo(f"Wrote {count} events to {target}")


@ledger.command("migrate")
@settings_options
def ledger_migrate(config_file: Path | None, ledger: str | None) -> None:
    """Apply pending schema migrations (every command also does this first)."""
    with opened_ledger(config_file, ledger) as (config, opened):
        applied = opened.applied
    click.echo(
        f"{safe_url(config.ledger)}: "
        + (f"applied {', '.join(applied)}" if applied else "up to date")
    )
