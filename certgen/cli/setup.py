"""certgen init and certgen config: the business's details and every setting, in one place."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import click
import tomli_w

from certgen import brand as brand_mod
from certgen import config as config_mod
from certgen import design as design_mod
from certgen import tomlfile
from certgen.cli.base import cli, settings_options
from certgen.errors import ConfigError

# The business's details, kept in [defaults]: (key, prompt).
BUSINESS = (
    ("business", "Business name"),
    ("phone", "Phone"),
    ("website", "Website"),
    ("address", "Address (one line)"),
)
SECURITY = ("starttls", "ssl", "none")


@cli.command()
@click.option("--business", help="The business's name, as printed.")
@click.option("--phone", help="Its phone number, as printed.")
@click.option("--website", help="Its website, as printed.")
@click.option("--address", help="Its address, on one line.")
@click.option(
    "--logo",
    metavar="FILE",
    help="Its logo (PNG, JPEG, SVG or PDF), copied into the app folder; designs with a logo "
    "place show it.",
)
@click.option(
    "--primary",
    metavar="#RRGGBB",
    help="The brand's main colour: designs draw their colour art, headings and bands in it.",
)
@click.option("--accent", metavar="#RRGGBB", help="The brand's second colour, for highlights.")
@click.option(
    "--heading-font",
    metavar="FAMILY|FILE",
    help='Headings\' font: a family certgen has ("Lato", "EB Garamond") or a .ttf file (its '
    "bold and italic files beside it are found by name and copied too).",
)
@click.option("--body-font", metavar="FAMILY|FILE", help="The font of the other text, as above.")
@click.option(
    "--timezone",
    metavar="ZONE",
    help="Where the shop is, e.g. America/Chicago: the day a certificate expires is its day.",
)
@click.option("--base-url", metavar="URL", help="The redemption site the QR codes open.")
@click.option("-d", "--design", "design_name", help="The design runs use without -d.")
@click.option("--smtp-host", metavar="HOST", help="Mail server for emails (none: leave out).")
@click.option("--smtp-port", type=int, help="Its port (default 587).")
@click.option("--smtp-security", type=click.Choice(SECURITY), help="Default starttls.")
@click.option("--smtp-username", metavar="NAME", help="Login (password: CERTGEN_SMTP_PASSWORD).")
@click.option("--smtp-sender", metavar="ADDRESS", help='From, e.g. "Shop <gifts@shop.example>".')
@click.option("--no-input", is_flag=True, help="Ask nothing: take the options and what is set.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The certgen.toml to write (default: the app folder's).",
)
def init(no_input: bool, config_file: Path | None, **given: Any) -> None:
    """Set up certgen for your business: its name, contact details and brand kit (logo,
    colours and fonts, which every shipped design takes), its time zone, the redemption
    site, the design to use and, for email, the mail server.

    \b
    certgen init                          (asks, showing what is set now)
    certgen init --business "Riverside Auto Care" --phone "(555) 010-2030" --no-input

    Writes certgen.toml in the app folder (or --config FILE), keeping every other setting
    in it; run it again to change a value.
    """
    path = config_file or config_mod.home() / config_mod.CONFIG_FILE
    data = _existing(path)
    ask = not no_input
    defaults = dict(data.get("defaults", {}))
    for key, prompt in BUSINESS:
        value = _value(given[key], defaults.get(key), prompt, ask, required=key == "business")
        if value:
            defaults[key] = value
        else:
            defaults.pop(key, None)
    data["defaults"] = defaults
    kit = dict(data.get("brand", {}))
    logo = _value(
        given["logo"],
        kit.get("logo") or data.get("logo"),
        "Logo file (PNG, JPEG, SVG or PDF; blank: none)",
        ask,
    )
    data.pop("logo", None)  # kept in [brand] now
    if logo:
        kit["logo"] = _kept_logo(Path(logo).expanduser(), path.parent)
    else:
        kit.pop("logo", None)
    for key in (*brand_mod.COLOURS, *brand_mod.FONTS):
        value = given[key]
        if value is None:
            continue
        if key in brand_mod.FONTS and value.lower().endswith(".ttf"):
            value = _kept_font(Path(value).expanduser(), path.parent)
        if value:
            kit[key] = value
        else:
            kit.pop(key, None)  # --primary "": the design's own again
    try:
        brand_mod.parse(kit, path.parent, str(path))  # refused before anything is written
    except brand_mod.BrandError as exc:
        raise ConfigError(str(exc).replace(f"{path}: [brand] ", "--").replace("_", "-")) from None
    if kit:
        data["brand"] = kit
    else:
        data.pop("brand", None)
    zone = _value(
        given["timezone"],
        data.get("timezone"),
        "Time zone (where the shop is)",
        ask,
        fallback=_machine_zone() if ask else "",  # unasked and unset: this machine's
    )
    config_mod.zone(zone)  # a name that is not a zone is refused before anything is written
    if zone:
        data["timezone"] = zone
    else:
        data.pop("timezone", None)
    base = _value(
        given["base_url"],
        data.get("base_url"),
        "Redemption site (the QR codes open it)",
        ask,
        fallback=config_mod.DEFAULT_BASE_URL,
    )
    if not base.startswith(("http://", "https://")):
        raise ConfigError(f"base URL '{base}' must start with http:// or https://")
    data["base_url"] = base.rstrip("/")
    design = _value(given["design_name"], data.get("design"), "Design", ask, fallback="classic")
    design_mod.locate(design, config_mod.load(config_file=None).designs_dirs)  # it exists
    data["design"] = design
    smtp = _smtp(given, dict(data.get("smtp", {})), ask)
    if smtp:
        data["smtp"] = smtp
    _write(path, data)
    click.echo(f"Wrote {path}")
    shadow = Path.cwd() / config_mod.CONFIG_FILE
    if config_file is None and shadow.is_file() and shadow.resolve() != path.resolve():
        click.echo(f"Note: {shadow} is read before it here (certgen config shows what is used)")
    click.echo(
        "Next:\n"
        '  certgen issue --to "Bob Ng" --from "Jane Doe" -o bob.pdf    one certificate\n'
        "  certgen issue customers.csv -o run.pdf                       one per row of a list\n"
        "  certgen config                                               every setting, and "
        "where it comes from"
    )


def _kept_logo(logo: Path, folder: Path) -> str:
    """The logo checked as a design's art is, and copied beside certgen.toml (so it does not
    depend on where it was downloaded); the name to write. Kept as is if it is there."""
    from certgen import art  # reportlab: only when a logo is given

    source = logo if logo.is_file() else folder / logo  # as typed, else the one kept before
    if source.suffix.lower() not in config_mod.LOGO_SUFFIXES or not source.is_file():
        raise ConfigError(f"logo {logo}: give a PNG, JPEG, SVG or PDF file")
    art.open_art(source)  # a file that cannot be drawn is refused here, not at the first run
    kept = folder / f"logo{source.suffix.lower()}"
    if source.resolve() != kept.resolve():
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, kept)
    return kept.name


def _kept_font(font: Path, folder: Path) -> str:
    """A brand font's faces checked and copied into ``fonts/`` beside certgen.toml; the
    name to write."""
    from certgen import fontcheck  # fontTools: only when a font file is given

    if not font.is_file():
        raise ConfigError(f"font {font} is not a file: give a TrueType (.ttf) file")
    found = brand_mod.faces(font.resolve())
    for source in found.values():
        try:
            fontcheck.check(source)
        except fontcheck.BadFont as exc:
            raise ConfigError(f"font {source} cannot be used: {exc}") from None
    kept = folder / "fonts"
    kept.mkdir(parents=True, exist_ok=True)
    for source in found.values():
        if source.resolve() != (kept / source.name).resolve():
            shutil.copyfile(source, kept / source.name)
    return f"fonts/{found['regular'].name}"


def _machine_zone() -> str:
    """This machine's IANA zone name, where it can be told ("" where not)."""
    named = os.environ.get("TZ", "").lstrip(":")
    if not named:
        try:
            named = Path("/etc/timezone").read_text(encoding="utf-8").strip()
        except OSError:
            link = Path("/etc/localtime")
            target = str(link.resolve()) if link.is_symlink() else ""
            named = target.partition("zoneinfo/")[2]
    try:
        config_mod.zone(named)
    except ConfigError:
        return ""
    return named


def _existing(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return tomlfile.read(path)
    except (OSError, tomlfile.Unreadable) as exc:
        raise ConfigError(f"{path}: cannot read it to update it: {exc}") from None


def _value(
    given: str | None,
    current: object,
    prompt: str,
    ask: bool,
    *,
    required: bool = False,
    fallback: str = "",
) -> str:
    """The option, else (asking) what the user types, else what is set, else ``fallback``."""
    if given is not None:
        value = given.strip()
    elif ask:
        shown = str(current) if current else fallback
        value = str(click.prompt(prompt, default=shown, show_default=bool(shown))).strip()
    else:
        value = str(current or fallback).strip()
    if required and not value:
        raise ConfigError(f"{prompt.lower()} is required: give --{prompt.split()[0].lower()}")
    return value


def _smtp(given: dict[str, Any], current: dict[str, Any], ask: bool) -> dict[str, Any]:
    host = _value(given["smtp_host"], current.get("host"), "Mail server (blank: no email)", ask)
    if not host:
        return {}
    port = given["smtp_port"] or current.get("port") or 587
    security = given["smtp_security"] or current.get("security") or "starttls"
    username = given["smtp_username"] or current.get("username") or ""
    sender = given["smtp_sender"] or current.get("sender") or ""
    if ask:
        port = click.prompt("Port", default=port, type=int)
        security = click.prompt("Security", default=security, type=click.Choice(SECURITY))
        username = click.prompt("Login (blank: none)", default=username, show_default=False)
        sender = click.prompt("Sender", default=sender or f"gifts@{host}")
    found = {**current, "host": host, "port": int(port), "security": security}
    found |= {"username": username} if username else {}
    found |= {"sender": sender} if sender else {}
    return found


def _write(path: Path, data: dict[str, Any]) -> None:
    """The file replaced whole, or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        temp.write_text(tomli_w.dumps(data), encoding="utf-8")
        os.replace(temp, path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        temp.unlink(missing_ok=True)


@cli.command("config")
@settings_options
def config_command(config_file: Path | None, ledger: str | None) -> None:
    """Every setting, its value and where it comes from: an option, an environment
    variable, a certgen.toml (which one), or the default."""
    config = config_mod.load(config_file=config_file, ledger=ledger)
    rows = [("SETTING", "VALUE", "FROM"), *config_mod.explain(config)]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for name, value, source in rows:
        click.echo(f"{name.ljust(widths[0])}  {value.ljust(widths[1])}  {source}")
