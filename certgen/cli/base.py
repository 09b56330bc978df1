"""The options commands share, and helpers that turn results into messages and exit
codes; the group itself is ``root.cli``, re-exported here for the command modules."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import getpass
import os
import re
import shlex
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

# Light modules only: a command imports what it uses (SQLAlchemy, pydantic, jinja2, the
# mail stack) when it runs, so that show and redeem start in a fraction of a second.
from certgen import config as config_mod
from certgen import locks, stopping, tables
from certgen.cli.root import cli as cli  # the command modules register on it
from certgen.errors import (
    BusyError,
    InputError,
    NotFoundError,
    Problem,
    RepeatedRunError,
)

if TYPE_CHECKING:
    from certgen import inputs, mail
    from certgen import redeem as redeem_mod
    from certgen.design import Design, FieldSpec
    from certgen.ledger import Ledger

F = TypeVar("F", bound=Callable[..., Any])


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


def open_configured(config: config_mod.Config, wait: float = 30.0) -> Ledger:
    from certgen.ledger import open_ledger

    if config.ledger == config_mod.default_ledger():  # only the default's folder is made
        config_mod.home().mkdir(parents=True, exist_ok=True)
    return open_ledger(config.ledger, wait)


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
    "unknown": "The mail server took the referrer's thank-you but its answer was lost: it may "
    "have arrived, so it is not sent again (`certgen notify` lists it).",
}


def mailer_for(config: config_mod.Config, outbox: Path | None) -> mail.Mailer | None:
    from certgen import mail

    if outbox is None and config.smtp is None:
        return None
    gifts = None
    if config.new_gift:
        from certgen.gifts import GiftMaker

        folder = config_mod.home() / "gifts"
        gifts = GiftMaker(
            config.designs_dirs, config.base_url, config.defaults, folder, config.logo, config.brand
        )
    return mail.Mailer(
        config.smtp,
        outbox,
        config.include_friend_name,
        timezone=config.timezone,
        designs_dirs=tuple(config.designs_dirs),
        locale=config.locale,
        gifts=gifts,
    )


def eml_outbox_option(what: str) -> Callable[[F], F]:
    """--outbox: ``what`` written as .eml files into a folder instead of sent."""
    return click.option(
        "--outbox",
        type=click.Path(path_type=Path, file_okay=False),
        help=f"Write {what} into this folder instead of sending by email.",
    )


outbox_option = eml_outbox_option("thank-you emails as .eml files")


design_option = click.option(
    "-d",
    "--design",
    "design_name",
    help="Design name or folder (default: design in certgen.toml, set by certgen init).",
)
quiet_option = click.option(
    "-q", "--quiet", is_flag=True, help="No progress bar and no notes; the summary stays."
)


def load_run_settings(
    config_file: Path | None,
    ledger: str | None,
    base_url: str | None,
    designs_dir: Path | None,
    design_name: str | None,
    emails: bool = True,
) -> tuple[config_mod.Config, Design]:
    """The settled config and the run's design (-d, else the config's); ``emails``: its
    email templates compiled (and checked) now, for a send."""
    config = config_mod.load(
        config_file=config_file,
        ledger=ledger,
        base_url=base_url,
        designs_dir=designs_dir,
        design=design_name,
    )
    if not config.design:
        raise click.UsageError(
            'no design: give -d NAME (certgen designs list), or set design = "classic" in '
            "certgen.toml (certgen init does)"
        )
    from certgen import design as design_mod

    # A print run's design compiles no email templates (a tenth of its start-up).
    found = design_mod.locate(config.design, config.designs_dirs)
    design = design_mod.load(found, emails=emails)
    return config, design.branded(config.brand, config.logo)


def jobs_option(help: str) -> Callable[[F], F]:
    """-j/--jobs: how many processes work at once, the machine's cores by default."""
    return click.option(
        "-j",
        "--jobs",
        type=click.IntRange(min=1),
        default=lambda: os.cpu_count() or 1,
        show_default="the number of cores",
        help=help,
    )


base_url_option = click.option(
    "--base-url", metavar="URL", help="Redeem URL prefix for QR codes; env CERTGEN_BASE_URL."
)


def run_options(again: str, resume: str) -> Callable[[F], F]:
    """--run-id, --resume and --new-run, with what running a run again does for this
    command."""

    def add(func: F) -> F:
        func = click.option(
            "--new-run",
            is_flag=True,
            help="A fresh set of codes for a list that was issued (or sent) before; "
            "without it, the same list again is refused.",
        )(func)
        func = click.option(
            "--resume",
            metavar="ID",
            callback=_run_id,
            help=f"Finish an interrupted run (same input and options); {resume}.",
        )(func)
        return click.option(
            "--batch-id",
            "--run-id",
            "batch_id",
            metavar="ID",
            callback=_run_id,
            help=f"Name the run; {again}.",
        )(func)

    return add


def _delimiter(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    try:
        return tables.delimiter_named(value) if value is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


def _run_id(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A run id is a name for commands and file names: up to 40 letters, digits, '.', '_'
    and '-', starting with a letter or digit."""
    if value is not None and not RUN_ID.fullmatch(value):
        raise click.BadParameter(
            f"'{value[:60]}' is not a run id: use up to 40 letters, digits, '.', '_' and '-', "
            "starting with a letter or digit (e.g. spring-2027)"
        )
    return value


def known_run(
    ledger: Ledger, config: config_mod.Config, batch_id: str | None, resume: str | None
) -> tuple[str | None, dt.datetime]:
    """The run's id, and the time it runs as: a rerun of a recorded run resolves its rows
    as of the run's time (relative expiry dates); --resume must name a recorded one."""
    from certgen.ledger import safe_url

    if resume and batch_id and resume != batch_id:
        raise click.UsageError("--resume names the run; leave out --run-id/--batch-id")
    batch_id = resume or batch_id
    known = ledger.get_batch(batch_id) if batch_id else None
    if resume and known is None:
        raise NotFoundError(
            f"no run {resume} in {safe_url(config.ledger)} (certgen runs lists the runs)"
        )
    now = dt.datetime.fromisoformat(known.created_at) if known else dt.datetime.now(dt.UTC)
    return batch_id, config.local(now)  # its date is the shop's: issue dates, "+90" expiry


def address_to_option(whom: str) -> Callable[[F], F]:
    """--address-to, for a mailing or an email run: ``whom`` says what it addresses."""
    return click.option(
        "--address-to",
        type=click.Choice(("recipient", "giver")),  # mailing.ADDRESSEES
        help=f"Whom {whom}: the recipient (deliver the gift) or the giver (the customer, who "
        "passes it on); default: the givers of a list of customers (its profile or "
        "--list-of), else the design's, else recipient.",
    )


def safety_options(dry_run: str, limit: str) -> Callable[[F], F]:
    """--dry-run and --limit, with what each does for this command."""

    def add(func: F) -> F:
        func = click.option("--limit", type=click.IntRange(min=1), metavar="N", help=limit)(func)
        return click.option("--dry-run", is_flag=True, help=dry_run)(func)

    return add


_RUN_FLAGS = {"--run-id", "--batch-id", "--resume"}


def this_command(*extra: str, drop: frozenset[str] = frozenset()) -> str:
    """The command as it was typed, without the options that name a run (and those in
    ``drop``, with their values), and with ``extra``: the exact line to run next."""
    argv = click.get_current_context().find_root().meta.get("certgen.argv", [])
    dropped = _RUN_FLAGS | drop
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in dropped:
            skip = True
        elif arg != "--new-run" and arg.partition("=")[0] not in dropped:
            kept.append(arg)
    return shlex.join(["certgen", *kept, *extra])


def refuse_repeat(ledger: Ledger, fingerprint: str, sent: bool) -> None:
    """Stop a run of a list that was run before (without --run-id, --resume or
    --new-run), saying what happened then and the ways on."""
    from certgen import runs as runs_mod

    found = runs_mod.earlier(ledger, fingerprint)
    if found is None:
        return
    batch, recorded = found
    finished = recorded >= batch.count
    state = "done" if finished else f"interrupted, {recorded} of {batch.count} recorded"
    what = "sent" if sent else "issued"
    lines = [
        f"this list was {what} before with design {batch.design}: run {batch.id} of "
        f"{batch.created_at} ({state}); nothing was {what} now. To go on:"
    ]
    same = () if sent else ("-o", batch.file)  # a run prints again where it printed
    output = frozenset() if sent else frozenset({"-o", "--output"})
    if not finished or sent:
        again = this_command("--resume", batch.id, *same, drop=output)
        lines.append(f"  finish that run:       {again}")
    if not sent:
        again = this_command("--run-id", batch.id, *same, drop=output)
        lines.append(f"  print that run again:  {again}")
    lines.append(f"  a new set of codes:    {this_command('--new-run')}")
    raise RepeatedRunError("\n".join(lines))


INTERRUPTED = 130  # the exit code of a run stopped by Ctrl-C, as a shell reports SIGINT


@contextmanager
def stopped_safely(ledger: Ledger, batch_id: str, total: int, sending: bool) -> Iterator[None]:
    """A run stopped by Ctrl-C: it stops where it is safe (nothing half-recorded, no part
    file left), says how far it got and the exact command that finishes it, and exits 130."""
    try:
        with stopping.at_safe_points():
            yield
    except KeyboardInterrupt:
        recorded = ledger.recorded(batch_id)
        if sending:
            sent = ledger.delivery_counts().get(batch_id, {}).get("sent", 0)
            done = f"{sent} of {total} emails sent, {recorded} certificates recorded"
        else:
            done = f"{recorded} of {total} certificates recorded"
        if not recorded:
            click.secho(
                "Interrupted before anything was recorded; run the same command again.",
                err=True,
                fg="yellow",
            )
        else:
            message = f"Interrupted: run {batch_id} stopped with {done}. Finish it with:"
            click.secho(message, err=True, fg="yellow")
            click.echo(f"  {this_command('--resume', batch_id)}", err=True)  # plain, to copy
        raise click.exceptions.Exit(INTERRUPTED) from None


@contextlib.contextmanager
def run_held(ledger: Ledger, run_id: str, output: Path | None) -> Iterator[None]:
    """Hold the run's lease in the ledger (on any machine that shares it) and its output's
    lock while the run works; refused at once, saying who holds them."""
    host, pid = socket.gethostname(), os.getpid()
    held = ledger.take_lease(run_id, host, pid, time.time(), locks.process_alive)
    if held:
        raise BusyError(
            f"run {run_id} is running now (process {held['pid']} on {held['host']}, since "
            f"{held['started_at']}): wait for it to finish, or stop it first"
        )
    try:
        since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        holder = f"run {run_id} (process {pid} on {host}, since {since})"
        with locks.holding(output.resolve(), holder) if output else contextlib.nullcontext():
            yield
    finally:
        ledger.drop_lease(run_id, pid)


def note_default_base_url(config: config_mod.Config, quiet: bool, before: str) -> None:
    """Say, unless quiet, that QR codes point to the default base URL."""
    if config.base_url_is_default and not quiet:
        click.echo(
            f"Note: QR codes point to {config.base_url}; set --base-url or base_url in "
            f"certgen.toml to your redemption site before {before} for real.",
            err=True,
        )


designs_dir_option = click.option(
    "--designs-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of your own designs (default: $CERTGEN_HOME/designs).",
)


@dataclass(frozen=True)
class RowInput:
    """How a command was told its certificates' values: how to read and map a customer
    list, or one certificate's values, and field values for every row."""

    recipient: str | None
    giver: str | None
    pain: str | None
    offer: str | None
    expires: str | None
    sets: tuple[str, ...]
    maps: tuple[str, ...]
    ignored: tuple[str, ...]
    profile: str | None
    list_of: str | None
    strict_columns: bool
    date_format: str | None
    encoding: str
    delimiter: str | None
    sheet_name: str | None
    skip_invalid: bool
    rejects: Path | None
    allow_expired: bool
    decimal: str | None
    preset: str | None
    locale: str | None

    def localized(self, design: Design, config: config_mod.Config) -> Design:
        """The run's design in its language: --locale, else the shop's (``locale`` in
        certgen.toml); a row's own ``locale`` cell is its certificate's."""
        wanted = self.locale or config.locale
        if self.locale:
            config_mod.checked_locale(self.locale, "--locale")
        return design.for_locale(wanted)

    def with_value(self, name: str, value: str) -> RowInput:
        return dataclasses.replace(self, sets=(*self.sets, f"{name}={value}"))

    def check(self, csv_file: Path | None) -> None:
        if csv_file is not None and (self.recipient is not None or self.giver is not None):
            raise click.UsageError(
                "--to and --from are for one certificate; a CSV gives them per row"
            )
        listed = {
            "--profile": self.profile,
            "--list-of": self.list_of,
            "--sheet-name": self.sheet_name,
            "--skip-invalid": self.skip_invalid or None,
            "--rejects": self.rejects,
            "--strict-columns": self.strict_columns or None,
        }
        given = [flag for flag, value in listed.items() if value is not None]
        if csv_file is None and given:
            raise click.UsageError(f"{given[0]} is for a customer list (a CSV or workbook)")
        if self.rejects is not None and not self.skip_invalid:
            raise click.UsageError("--rejects names the file of rows --skip-invalid leaves out")

    def read(
        self,
        csv_file: Path | None,
        design: Design,
        config: config_mod.Config,
        today: dt.date,
        extra: Mapping[str, FieldSpec],
        quiet: bool = False,
    ) -> tuple[Sequence[inputs.Row], list[Problem], str]:
        """The rows, the problems found reading them, and where they came from; notes on
        what was guessed or left out go to stderr unless ``quiet``."""
        from certgen import inputs, profiles

        given = parse_pairs(self.sets, "--set")
        named = {"pain": self.pain, "offer": self.offer, "expires": self.expires}
        given.update({k: v for k, v in named.items() if v is not None})
        given = {**preset_values(self.preset, design), **given}
        if not quiet:
            note_missing_contact(design, {**config.defaults, **given})
        if csv_file is None:
            people = {"recipient": self.recipient, "giver": self.giver}
            given.update({k: v for k, v in people.items() if v is not None})
            row = inputs.resolve_one(
                design,
                given,
                config.defaults,
                today,
                extra,
                decimal=self.decimal,
                allow_expired=self.allow_expired,
            )
            return [row], [], "command line"
        name = self.profile or config.profile
        if self.list_of is not None and not name:
            raise click.UsageError("--list-of says who a profile's rows are; give --profile")
        profile = profiles.find(name, config_mod.home()).profile if name else None
        options = inputs.ReadOptions(
            encoding=self.encoding,
            delimiter=self.delimiter,
            sheet=self.sheet_name,
            maps=tuple(pair_list(self.maps, "--map")),
            ignore=self.ignored,
            profile=profile,
            people=cast(profiles.People | None, self.list_of),  # a click.Choice of them
            strict_columns=self.strict_columns,
            date_format=self.date_format or config.date_format,
            decimal=self.decimal,
            allow_expired=self.allow_expired,
        )
        rows, problems = inputs.read_csv(
            csv_file,
            design,
            {**config.defaults, **given},  # campaign values for empty cells
            today,
            options,
            extra={**profiles.PERSON_FIELDS, **extra},
        )
        if not quiet:
            for note in rows.notes:
                click.echo(f"Note: {note}", err=True)
        return rows, problems, str(csv_file)

    def business(self, config: config_mod.Config, design: Design) -> dict[str, str]:
        """The business's details as the run sets them: --set, certgen.toml, the design."""
        given = {**config.defaults, **parse_pairs(self.sets, "--set")}
        found = {}
        for name in ("business", "address", "phone", "website"):
            spec = design.fields.get(name)
            found[name] = (given.get(name) or (spec.default if spec else None) or "").strip()
        return found

    def people(self, config: config_mod.Config) -> str | None:
        """Who the list's rows are, where --list-of or a profile says."""
        if self.list_of:
            return self.list_of
        from certgen import profiles

        name = self.profile or config.profile
        return profiles.find(name, config_mod.home()).profile.people if name else None

    def rejects_file(self, csv_file: Path, beside: Path) -> Path:
        """Where --skip-invalid writes the rows it leaves out: --rejects, else
        ``<beside>-rejects.csv``; never over the list being read (a rejects file fed back
        under the same -o gets ``-rejects-rejects.csv``)."""
        reading = csv_file.resolve()
        if self.rejects is not None:
            if self.rejects.resolve() == reading:
                raise click.UsageError("--rejects names the list being read; name another file")
            return self.rejects
        for base in (beside, csv_file):
            path = base.with_name(f"{base.stem}-rejects.csv")
            if path.resolve() != reading:
                return path
        raise AssertionError("unreachable: <list>-rejects.csv is never the list")


def addressee(
    chosen: str | None,
    row_input: RowInput,
    config: config_mod.Config,
    design: Design,
    csv_file: Path | None,
) -> str:
    """Whom a mailing or an email run addresses: --address-to; else the givers of a list
    of customers and the recipients of a list of friends (as its profile or --list-of
    says); else the design's address_to."""
    if chosen:
        return chosen
    people = row_input.people(config) if csv_file is not None else None
    if people:
        return "giver" if people == "customers" else "recipient"
    return design.manifest.design.address_to


def note_missing_contact(design: Design, values: Mapping[str, str]) -> None:
    """Say which of the business's printed details nothing sets (a certificate drops an
    empty one without a trace), and how to set them."""
    printed = set().union(*(t.variables for t in design.templates.values()))
    missing = [
        name
        for name, source in design.field_sources().items()
        if source == "business"
        and name in printed
        and not (values.get(name) or "").strip()
        and not design.fields[name].default
        and not design.fields[name].required  # a required one is an error, said elsewhere
    ]
    if missing:
        names = ", ".join(missing)
        click.echo(
            f"Note: nothing sets the business's {names}, so the certificates print without "
            f"{'it' if len(missing) == 1 else 'them'}: run certgen init, or set [defaults] "
            f'{missing[0]} = "..." in certgen.toml, or give --set {missing[0]}=...',
            err=True,
        )


def pair_list(values: Sequence[str], flag: str) -> list[tuple[str, str]]:
    """NAME=VALUE options in order, repeats kept (each is checked where it is used)."""
    pairs = []
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"'{value}' is not of the form NAME=VALUE", param_hint=flag)
        pairs.append((key.strip(), rest))
    return pairs


def parse_pairs(values: Sequence[str], flag: str) -> dict[str, str]:
    return dict(pair_list(values, flag))


ROWS_LEFT_OUT = 14  # the exit code of a run that left rows out (--skip-invalid)


def left_out(
    rows: Sequence[inputs.Row],
    refused: Sequence[Problem],
    fatal: Sequence[Problem],
    rejects: Path,
    write: bool = True,
) -> None:
    """After screening: the rejects file written (when any row was left out, and unless a
    dry run says not to); stop if a problem no row can be left out for remains, or if no
    row is left."""
    from certgen import inputs

    if refused and write and isinstance(rows, inputs.Table):
        inputs.write_rejects(rejects, rows, refused)
    if fatal:
        raise InputError([*fatal, *refused])
    if not rows:
        raise InputError([Problem(f"every row has a problem; they are in {rejects}"), *refused])


def report_left_out(
    rows: Sequence[inputs.Row], refused: Sequence[Problem], rejects: Path, then: str
) -> None:
    """Say how many rows --skip-invalid left out, where they are and what to do; the
    command exits 14 after."""
    count = len({p.row for p in refused})
    total = len(rows) + count
    click.secho(
        f"Left out {count} of {total} rows with problems; they are in {rejects} with the "
        f"reasons: fix them there and run the same command on {rejects}{then}",
        err=True,
        fg="yellow",
    )


PRESET_HELP = (
    "A trade's campaign copy to start from: dental, auto-repair, salon, fitness, "
    "home-services, real-estate, or yours (certgen presets list); --pain, --offer and --set win."
)


LOCALE_HELP = (
    "The certificates' language and date and money formats: es, fr, de, pt, ar, he, ja, zh, "
    "ko, es_MX, ... (default: locale in certgen.toml, else en); a row's locale column wins "
    "for its certificate; right-to-left languages mirror the layout."
)


def preset_values(name: str | None, design: Design) -> dict[str, str]:
    """The preset's pain, offer and terms, for the fields the design has."""
    if not name:
        return {}
    from certgen import presets

    found = presets.find(name, config_mod.home())
    return {k: v for k, v in found.values.items() if k in design.fields}


_ROW_OPTIONS = [
    click.option("--to", "recipient", metavar="NAME", help="Recipient (one certificate)."),
    click.option("--from", "giver", metavar="NAME", help="Who gives it, the referring customer."),
    click.option(
        "--pain", metavar="TEXT", help='The pain it solves, e.g. "Tired of squeaky brakes?".'
    ),
    click.option("--offer", metavar="TEXT", help="The free service offered."),
    click.option("--expires", metavar="YYYY-MM-DD", help="Expiry date, or +DAYS from today."),
    click.option(
        "--set", "sets", multiple=True, metavar="FIELD=VALUE", help="Any field (repeatable)."
    ),
    click.option(
        "--map",
        "maps",
        multiple=True,
        metavar="HEADER=FIELD|FIELD=TEMPLATE",
        help="Map a column to a field, or build a field from columns: "
        "--map 'recipient={{ first_name }} {{ last_name }}' (repeatable).",
    ),
    click.option(
        "--ignore",
        "ignored",
        multiple=True,
        metavar="HEADER",
        help="Leave a column out (repeatable).",
    ),
    click.option(
        "--profile",
        metavar="NAME|FILE",
        help="A mapping profile for an export: shopify, mailchimp, hubspot, square, "
        "google-contacts, yours, or a TOML file (certgen profiles list).",
    ),
    click.option(
        "--list-of",
        type=click.Choice(["customers", "friends"]),
        help="Who the rows are: customers (they give the gift) or friends (they get it); "
        "default: the profile's.",
    ),
    click.option(
        "--strict-columns",
        is_flag=True,
        help="A column that fills no field is an error (default: left out, with a note).",
    ),
    click.option(
        "--date-format",
        metavar="FORMAT",
        help="How the list writes dates, e.g. '%m/%d/%Y' or '%d.%m.%Y' (YYYY-MM-DD is always "
        "read).",
    ),
    click.option(
        "--encoding",
        default=tables.AUTO,
        show_default=True,
        help="CSV encoding; auto reads a BOM (UTF-8, UTF-16), else UTF-8, else Windows-1252.",
    ),
    click.option(
        "--delimiter",
        callback=_delimiter,
        help="CSV delimiter: one character, or tab, comma, semicolon, pipe, space (default: "
        "guessed from the header among , ; tab |).",
    ),
    click.option("--sheet-name", metavar="NAME", help="The sheet of a workbook (default: first)."),
    click.option(
        "--skip-invalid",
        is_flag=True,
        help="Leave out rows with problems (exit 14) and write them, with the reasons, to "
        "a rejects CSV to fix and feed back; without it, any problem stops the run.",
    ),
    click.option(
        "--rejects",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Where --skip-invalid writes the rows it leaves out.",
    ),
    click.option(
        "--decimal",
        type=click.Choice([".", ","]),
        help="The amounts' decimal mark: . (1,200.50) or , (1.200,50); default: the profile's, "
        "else an amount like 1,234 that could be either is refused.",
    ),
    click.option(
        "--allow-expired",
        is_flag=True,
        help="Print certificates whose expiry date has passed (default: refused, a row each).",
    ),
    click.option("--preset", metavar="NAME", help=PRESET_HELP),
    click.option("--locale", metavar="LOCALE", help=LOCALE_HELP),
]


def grouped_options(
    options: Sequence[Callable[[Any], Any]], into: type, name: str
) -> Callable[[F], F]:
    """A decorator adding ``options``, whose values reach the command as one ``into``
    (a dataclass with a field for each) named ``name``."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            fields = into.__dataclass_fields__  # type: ignore[attr-defined]
            kwargs[name] = into(**{field: kwargs.pop(field) for field in fields})
            return func(*args, **kwargs)

        for option in reversed(options):
            command = option(command)
        return command  # type: ignore[return-value]

    return decorate


# The options that give certificates their values, passed on as one ``row_input``.
row_options = grouped_options(_ROW_OPTIONS, RowInput, "row_input")


@contextmanager
def progress_bar(
    total: int, quiet: bool, label: str = "Drawing"
) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr (done, rate, time left) when stderr is a terminal; nothing
    when it is not (a log, a pipe, cron) or with --quiet."""
    if quiet or total < 2 or not sys.stderr.isatty():
        yield None
        return
    started = time.monotonic()
    with click.progressbar(
        length=total,
        label=label,
        file=sys.stderr,
        show_pos=True,
        item_show_func=lambda rate: rate,
    ) as bar:

        def advance(done: int) -> None:
            rate = done / max(time.monotonic() - started, 1e-6)
            bar.update(done - bar.pos, f"{rate:.0f}/s")

        yield advance
