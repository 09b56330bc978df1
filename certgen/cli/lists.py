"""certgen profiles and presets: the mapping profiles customer lists are read with, and
the campaign copy runs can start from."""

from __future__ import annotations

import click

from certgen import config as config_mod
from certgen import presets as presets_mod
from certgen import profiles as profiles_mod
from certgen.cli.base import cli


@cli.group()
def profiles() -> None:
    """Mapping profiles: how an export (Shopify, Mailchimp, ...) becomes certificate fields.

    \b
    certgen issue customers.csv --design classic --profile shopify
    Your own: $CERTGEN_HOME/profiles/NAME.toml, or --profile FILE.toml.
    """


@profiles.command("list")
def profiles_list() -> None:
    """Name, title, who the rows are, and file of every profile, shipped and yours."""
    for found in profiles_mod.available(config_mod.home()):
        origin = "shipped" if found.shipped else "yours"
        profile = found.profile
        click.echo(f"{found.name}\t{profile.title}\t{profile.people}\t{origin}\t{found.path}")


@profiles.command("show")
@click.argument("name")
def profiles_show(name: str) -> None:
    """What profile NAME (or a TOML file) reads: who the rows are, each field's template,
    the columns it leaves out, and the export's header row."""
    found = profiles_mod.find(name, config_mod.home())
    profile = found.profile
    click.echo(f"{found.name}: {profile.title} ({found.path})")
    click.echo(f"rows are: {profile.people} (--list-of changes it)")
    fills = profiles_mod.person_fields(profile.people)
    entries = [(fills[part], templates) for part, templates in profile.person.items()]
    entries += list(profile.map.items())
    width = max((len(name) for name, _ in entries), default=0)
    for field, templates in entries:
        choices = [templates] if isinstance(templates, str) else templates
        click.echo(f"  {field.ljust(width)} = {'  or  '.join(choices)}")
    if profile.ignore:
        click.echo(f"left out: {', '.join(profile.ignore)}")
    if profile.date_format:
        click.echo(f"dates: {profile.date_format}")
    if profile.headers:
        click.echo(f"header row: {', '.join(profile.headers)}")


@cli.group()
def presets() -> None:
    """Campaign presets: a trade's pain, offer and terms to start from.

    \b
    certgen issue customers.csv -d wallet --preset dental
    certgen preview postcard --preset home-services
    Your own: $CERTGEN_HOME/presets/NAME.toml (title, pain, offer, terms).
    """


@presets.command("list")
def presets_list() -> None:
    """Name, title, origin and file of every preset, shipped and yours."""
    for found in presets_mod.available(config_mod.home()):
        origin = "shipped" if found.shipped else "yours"
        click.echo(f"{found.name}\t{found.title}\t{origin}\t{found.path}")


@presets.command("show")
@click.argument("name")
def presets_show(name: str) -> None:
    """The pain, offer and terms preset NAME gives a run."""
    found = presets_mod.find(name, config_mod.home())
    click.echo(f"{found.name}: {found.title} ({found.path})")
    for key, value in found.values.items():
        click.echo(f"  {key.ljust(5)} = {value}")
