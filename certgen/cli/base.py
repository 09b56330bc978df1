"""The click group, the options commands share, and helpers that turn results into
messages and exit codes."""

from __future__ import annotations

import getpass
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from certgen import __version__, mail
from certgen import config as config_mod
from certgen import redeem as redeem_mod
from certgen.errors import CertgenError
from certgen.ledger import Ledger, open_ledger

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


def actor_name(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return "unknown"


def parse_pairs(values: Sequence[str], flag: str) -> dict[str, str]:
    result = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"'{value}' is not of the form NAME=VALUE", param_hint=flag)
        result[key.strip()] = rest
    return result


def open_configured(config: config_mod.Config) -> Ledger:
    if config.ledger == config_mod.default_ledger():  # only the default's folder is made
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


@contextmanager
def opened_ledger(
    config_file: Path | None, ledger: str | None
) -> Iterator[tuple[config_mod.Config, Ledger]]:
    """The settled config and its open, migrated ledger."""
    config = config_mod.load(config_file=config_file, ledger=ledger)
    with open_configured(config) as opened:
        yield config, opened


def finish(result: redeem_mod.Result) -> None:
    """Say what happened; exit with the outcome's own code."""
    if result.outcome.ok:
        click.echo(result.message)
    else:
        click.secho(f"Error: {result.message}", err=True, fg="red")
    sys.exit(result.outcome.exit_code)


NOTIFY_MESSAGES = {
    "sent": "Thank-you email sent to the referrer.",
    "failed": "The referrer's thank-you email failed; `certgen notify --retry` sends it again.",
    "queued": "The referrer's thank-you email is queued; configure [smtp] and run "
    "`certgen notify --retry`.",
}


def mailer_for(config: config_mod.Config, outbox: Path | None) -> mail.Mailer | None:
    if outbox is None and config.smtp is None:
        return None
    return mail.Mailer(config.smtp, outbox, config.include_friend_name)


outbox_option = click.option(
    "--outbox",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write thank-you emails as .eml files into this folder instead of sending them.",
)


designs_dir_option = click.option(
    "--designs-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of your own designs (default: $CERTGEN_HOME/designs).",
)


@contextmanager
def progress_bar(total: int, quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr (done, rate, time left) when stderr is a terminal; nothing
    when it is not (a log, a pipe, cron) or with --quiet."""
    if quiet or total < 2 or not sys.stderr.isatty():
        yield None
        return
    started = time.monotonic()
    with click.progressbar(
        length=total,
        label="Drawing",
        file=sys.stderr,
        show_pos=True,
        item_show_func=lambda rate: rate,
    ) as bar:

        def advance(done: int) -> None:
            rate = done / max(time.monotonic() - started, 1e-6)
            bar.update(done - bar.pos, f"{rate:.0f}/s")

        yield advance
