"""certgen webhooks: register receivers of the ledger's events, test them, deliver what is
owed, retry what was given up."""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from certgen.cli.base import cli, opened_ledger, settings_options
from certgen.errors import NotFoundError

if TYPE_CHECKING:  # --help imports no ledger
    from certgen.ledger.webhooks import Webhook

EVENT_KINDS = "issued,emailed,viewed,redeemed,unredeemed,voided,converted,notified"


@cli.group()
def webhooks() -> None:
    """Tell a CRM, Zapier or a spreadsheet of each referral: every event (issued, viewed,
    redeemed, converted, ...) posted as signed JSON to the receivers you add.

    Events are delivered by `certgen serve` as they happen, or by `certgen webhooks deliver`
    (from cron, or with --watch as a service). See the README for the body and how a
    receiver checks the Certgen-Signature header.
    """


@webhooks.command("add")
@click.argument("url")
@click.option(
    "--events",
    "kinds",
    metavar="LIST",
    help=f"Comma-separated events to send (default: all): {EVENT_KINDS}.",
)
@click.option(
    "--secret-stdin",
    is_flag=True,
    help="Read the signing secret from standard input (else one is made and printed).",
)
@settings_options
def webhooks_add(
    url: str, kinds: str | None, secret_stdin: bool, config_file: Path | None, ledger: str | None
) -> None:
    """Post each event to URL from now on, signed with a secret printed once here.

    certgen webhooks add https://hooks.zapier.com/hooks/catch/123/abc --events redeemed,converted
    """
    from certgen import webhooks as hooks

    try:
        hooks.check_url(url)
        chosen = hooks.check_events(kinds)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    secret = sys.stdin.readline().strip() if secret_stdin else hooks.new_secret()
    if len(secret) < 16:
        raise click.BadParameter("the secret needs 16 characters at least", param_hint="secret")
    with opened_ledger(config_file, ledger) as (config, opened):
        from certgen.ledger import utc_now

        hook_id = opened.add_webhook(url, chosen, secret, utc_now())
    click.echo(f"Added webhook {hook_id}: {url} ({','.join(chosen)})")
    if not secret_stdin:
        click.echo(f"Signing secret (keep it with the receiver): {secret}")
    if url.startswith("http://") and not _loopback(url):
        click.echo(
            "Note: this URL is plain http; events name your customers, so use https",
            err=True,
        )
    click.echo(f"Check it with: certgen webhooks test {hook_id}")


def _loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname in ("localhost", "127.0.0.1", "::1")


@webhooks.command("list")
@click.option("--show-secrets", is_flag=True, help="Print each signing secret in full.")
@settings_options
def webhooks_list(show_secrets: bool, config_file: Path | None, ledger: str | None) -> None:
    """List receivers, what each is sent, and how its deliveries stand."""
    with opened_ledger(config_file, ledger) as (config, opened):
        found = opened.webhooks()
    if not found:
        click.echo("No webhooks. Add one: certgen webhooks add URL")
        return
    now = time.time()
    for hook in found:
        secret = hook.secret if show_secrets else hook.secret[:10] + "…"
        click.echo(f"{hook.id}\t{hook.url}\t{','.join(hook.events)}\tsecret {secret}")
        state = f"  {hook.delivered} delivered, {hook.pending} owed, {hook.failed} given up"
        if hook.paused_until and hook.paused_until > now:
            state += f"; resting {hook.paused_until - now:.0f} s after {hook.failures} failures"
        click.echo(state)
        if hook.last_error:
            click.echo(f"  last error: {hook.last_error}")
    if any(hook.failed for hook in found):
        click.echo("Queue what was given up again: certgen webhooks retry")


@webhooks.command("test")
@click.argument("webhook_id", type=int, metavar="ID")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for an answer.")
@settings_options
def webhooks_test(
    webhook_id: int, timeout: float, config_file: Path | None, ledger: str | None
) -> None:
    """Post a signed `ping` event to webhook ID now and say how it answered (exit 13 if it
    did not answer 2xx)."""
    from certgen import webhooks as hooks

    with opened_ledger(config_file, ledger) as (config, opened):
        hook = _find(opened.webhooks(), webhook_id)
    error, took = hooks.send_test(hook, timeout)
    if error:
        click.secho(f"Error: {hook.url}: {error}", err=True, fg="red")
        sys.exit(13)
    click.echo(f"{hook.url} answered 2xx in {took * 1000:.0f} ms")


def _find(found: list[Webhook], webhook_id: int) -> Webhook:
    for hook in found:
        if hook.id == webhook_id:
            return hook
    raise NotFoundError(f"no webhook {webhook_id}: `certgen webhooks list` shows them")


@webhooks.command("retry")
@click.argument("webhook_id", type=int, metavar="[ID]", required=False)
@settings_options
def webhooks_retry(webhook_id: int | None, config_file: Path | None, ledger: str | None) -> None:
    """Queue the deliveries that were given up again (of webhook ID, or of all), due now."""
    with opened_ledger(config_file, ledger) as (config, opened):
        if webhook_id is not None:
            _find(opened.webhooks(), webhook_id)
        queued = opened.retry_webhook_deliveries(webhook_id, time.time())
    click.echo(f"Queued {queued} deliver{'ies' if queued != 1 else 'y'} again")
    if queued:
        click.echo("They go out with `certgen serve` running, or: certgen webhooks deliver")


@webhooks.command("remove")
@click.argument("webhook_id", type=int, metavar="ID")
@settings_options
def webhooks_remove(webhook_id: int, config_file: Path | None, ledger: str | None) -> None:
    """Stop sending to webhook ID; what was still owed to it is dropped."""
    with opened_ledger(config_file, ledger) as (config, opened):
        dropped = opened.remove_webhook(webhook_id)
    if dropped is None:
        raise NotFoundError(f"no webhook {webhook_id}: `certgen webhooks list` shows them")
    click.echo(f"Removed webhook {webhook_id}; dropped {dropped} undelivered event(s)")


@webhooks.command("deliver")
@click.option("--watch", is_flag=True, help="Keep going: deliver new events as they happen.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Make at most N attempts.")
@click.option("--dry-run", is_flag=True, help="Say how many are due now; post nothing.")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds a receiver has.")
@settings_options
def webhooks_deliver(
    watch: bool,
    limit: int | None,
    dry_run: bool,
    timeout: float,
    config_file: Path | None,
    ledger: str | None,
) -> None:
    """Deliver the events owed to receivers now (what `certgen serve` does as it runs).

    Exit 0 when every attempt was answered 2xx, 13 when some failed: they are tried again
    later (10 s, 20 s, 40 s, ... up to 6 h apart) and given up after 15 attempts.
    """
    from certgen import webhooks as hooks

    with opened_ledger(config_file, ledger) as (config, opened):
        if dry_run:
            due = opened.webhook_deliveries_due(time.time())
            click.echo(f"{due} due now; nothing was posted (certgen webhooks list: each receiver)")
            return
        sender = hooks.Sender(opened, timeout=timeout)
        if watch:
            stop = threading.Event()
            click.echo("certgen: delivering webhooks; Ctrl-C stops", err=True)
            signal.signal(signal.SIGTERM, lambda *_: stop.set())  # a service manager's stop
            try:
                sender.run(stop)
            except KeyboardInterrupt:
                stop.set()
            return
        tally = sender.drain(limit)
        sender.poster.close()
        waiting = opened.next_webhook_attempt()
    click.echo(f"Delivered {tally.delivered}; {tally.failed} failed")
    if tally.given_up:
        click.echo(f"{tally.given_up} given up after 15 attempts: certgen webhooks retry")
    if waiting is not None:
        when = dt.datetime.fromtimestamp(waiting, dt.UTC).isoformat(timespec="seconds")
        click.echo(f"Still owed; the next is due at {when}: run this again then")
    if tally.failed:
        sys.exit(13)
