"""The ``certgen`` group: light to import, so ``--help``, ``--version`` and tab completion
answer at once. Each command's module (and what it imports: SQLAlchemy, reportlab, Flask)
is imported only when that command runs; the listing comes from ``COMMANDS``, which
``tests/test_cli.py`` keeps equal to the commands' own help."""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem

from certgen import __version__
from certgen import config as config_mod
from certgen.errors import CertgenError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
# Every command: the module that defines it, and its line in the listing.
COMMANDS: dict[str, tuple[str, str]] = {
    "calibrate": ("placing", "Print a test page that measures how far off a printer prints."),
    "config": ("setup", "Every setting, its value and where it comes from."),
    "convert": ("records", "Record that the friend who redeemed CODE became a customer."),
    "designs": ("designs", "Designs: the shipped ones and your own."),
    "init": ("setup", "Set up certgen for your business."),
    "issue": ("issuing", "Issue certificates from the options or a customer list."),
    "ledger": ("admin", "Where the ledger is and what it holds."),
    "notify": ("admin", "Referrers' thank-you emails: list them or send them again."),
    "preview": ("designs", "Render a design with its sample data as a PNG."),
    "preflight": ("printshop", "Check a PDF as a print shop's preflight does."),
    "presets": ("lists", "Campaign copy by trade to start from (--preset)."),
    "profiles": ("lists", "Mapping profiles for exports (Shopify, Mailchimp, ...)."),
    "redeem": ("records", "Redeem CODE once."),
    "remind": ("sending", "Email each friend whose gift expires soon, once."),
    "report": ("records", "What was issued, redeemed and converted, by referrer."),
    "runs": ("issuing", "List runs, newest first, and how each went."),
    "send": ("sending", "Email certificates, one per row of a customer list."),
    "serve": ("admin", "Serve the redemption page every QR code opens."),
    "sheets": ("placing", "Printer sheets and stock certificates can be imposed on (--sheet)."),
    "show": ("records", "Show the ledger record of CODE."),
    "staff": ("admin", "Staff who may sign in and use the API."),
    "unredeem": ("records", "Undo a redemption made by mistake."),
    "unsubscribe": ("sending", "Remember that ADDRESS asked for no more email."),
    "verify": ("issuing", "Prove a run's PDFs hold exactly its certificates."),
    "void": ("records", "Void CODE, or every unredeemed certificate of a run."),
    "webhooks": ("hooks", "Post each referral's events to your CRM, Zapier, ..."),
}


class CertgenGroup(click.Group):
    """Reports a CertgenError as one clear message on stderr with its own exit code, and
    keeps the command line as typed, to say the exact command that goes on from here."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            importlib.import_module(f"certgen.cli.{COMMANDS[name][0]}")  # registers it
        return self.commands.get(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The listing from COMMANDS, importing no command's module."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in sorted(COMMANDS)])

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        names = [n for n in sorted(COMMANDS) if n.startswith(incomplete)]
        return [CompletionItem(name, help=COMMANDS[name][1]) for name in names]

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["certgen.argv"] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CertgenError as exc:
            click.secho(f"Error: {exc}", err=True, fg="red")
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except OSError as exc:  # the disk is full, a folder cannot be written: the machine's
            where = f"{exc.filename}: " if exc.filename else ""
            click.secho(f"Error: {where}{exc.strerror or exc}", err=True, fg="red")
            ctx.exit(1)
        except Exception as exc:  # a bug: one message and a report to send, not a traceback
            report = _crash_report(exc)
            click.secho(
                f"Error: certgen failed unexpectedly ({type(exc).__name__}: {str(exc)[:200]}). "
                f"This is a bug in certgen; please report it with {report}",
                err=True,
                fg="red",
            )
            ctx.exit(INTERNAL_ERROR)


INTERNAL_ERROR = 70  # EX_SOFTWARE (sysexits.h)


def _crash_report(exc: BaseException) -> str:
    """The traceback, written to a file in the app folder (or a temporary one)."""
    import tempfile
    import traceback

    text = f"certgen {__version__}\n{' '.join(sys.argv)}\n\n" + "".join(
        traceback.format_exception(exc)
    )
    for folder in (config_mod.home() / "crashes", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"certgen-crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
            path.write_text(text, encoding="utf-8")
            return str(path)
        except OSError:
            continue
    return "the command you ran"


@click.group(cls=CertgenGroup, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="certgen")
def cli() -> None:
    """Print referral gift certificates, each with a unique code and QR code recorded in a ledger.

    \b
    Exit codes: 0 success, 1 error, 2 usage, 3 bad input data, 4 bad design,
    5 ledger unavailable, 6 unknown code, 7 mistyped code, 8 already redeemed,
    9 expired, 10 voided, 11 not redeemed, 12 already converted,
    13 emails not delivered, 14 rows left out (--skip-invalid),
    15 the same list was issued or sent before, 16 another run holds the output or id,
    17 a run's files differ from the ledger (verify), 18 too late to unredeem,
    19 a PDF fails a print shop's preflight, 70 a bug in certgen (a report is written),
    130 interrupted (Ctrl-C).
    """
