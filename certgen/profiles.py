"""Mapping profiles: how one tool's export becomes certificate fields, kept as data.

A profile is a TOML file: who the rows are (the business's customers, who give the gift,
or their friends, who get it), templates that build fields from the export's columns
(``giver = "{{ first_name }} {{ last_name }}"``), columns to leave out, and how to read the
export's dates and number cells. certgen ships one for each common export; a user's own go
in ``$CERTGEN_HOME/profiles/NAME.toml`` or are named by path.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from certgen import tomlfile
from certgen.design import FieldSpec
from certgen.errors import ConfigError

SHIPPED = Path(__file__).resolve().parent / "shipped_profiles"
FORMAT_VERSION = 1
People = Literal["customers", "friends"]
# A template, or templates tried in order: the first whose columns the file has is used,
# so one profile reads every version of a tool's export.
Templates = str | list[str]


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    format: int = Field(description="the profile format; 1")
    title: str
    people: People = Field(
        default="customers",
        description='who each row is: "customers" give the gift, "friends" get it',
    )
    headers: tuple[str, ...] = Field(
        default=(), description="the export's header row as the tool writes it"
    )
    person: dict[Literal["name", "email", "phone", "id"], Templates] = Field(
        default_factory=dict,
        description="the row's person; the giver's fields for customers, the recipient's for "
        "friends",
    )
    map: dict[str, Templates] = Field(default_factory=dict, description="field = template")
    ignore: tuple[str, ...] = Field(default=(), description="columns read as nothing")
    date_format: str | None = Field(default=None, description='strptime, e.g. "%m/%d/%Y"')
    decimal: Literal[".", ","] | None = Field(
        default=None, description='the amounts\' decimal mark: "." (1,200.50) or "," (1.200,50)'
    )
    pad: dict[str, int] = Field(
        default_factory=dict,
        description="workbook number cells padded with zeros, by column: { zip = 5 }",
    )
    text_only: tuple[str, ...] = Field(
        default=(), description="columns whose workbook number cells are refused"
    )


# The row's person, as fields beside the design's: recorded with the certificate, so the
# ledger knows who referred whom whatever name was printed.
PERSON_FIELDS = {
    f"{role}_{part}": FieldSpec(
        type="email" if part == "email" else "text",
        label=f"The {'giver' if role == 'giver' else 'recipient'}'s {label} (not printed)",
        max_length=254 if part == "email" else 100,
    )
    for role in ("giver", "recipient")
    for part, label in (("email", "email"), ("phone", "phone"), ("id", "id in your records"))
}
_ROLE = {"customers": "giver", "friends": "recipient"}


def person_fields(people: People) -> dict[str, str]:
    """Person part -> the field it fills for this list: a customer list's names are the
    givers'."""
    role = _ROLE[people]
    return {"name": role, "email": f"{role}_email", "phone": f"{role}_phone", "id": f"{role}_id"}


@dataclass(frozen=True)
class Found:
    name: str
    path: Path
    profile: Profile
    shipped: bool


def user_dir(home: Path) -> Path:
    return home / "profiles"


def available(home: Path) -> list[Found]:
    """The user's profiles and the shipped ones; a user's hides a shipped one of its name."""
    found: dict[str, Found] = {}
    for folder in (user_dir(home), SHIPPED):
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
            if path.stem not in found:
                found[path.stem] = Found(path.stem, path, read(path), folder == SHIPPED)
    return sorted(found.values(), key=lambda f: f.name)


def find(name_or_path: str, home: Path) -> Found:
    """A profile by name (the user's, then the shipped ones) or by the path of a TOML file."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.is_file():
        if not path.is_file():
            raise ConfigError(f"profile {path} does not exist")
        return Found(path.stem, path, read(path), False)
    for folder in (user_dir(home), SHIPPED):
        candidate = folder / f"{name_or_path}.toml"
        if candidate.is_file():
            return Found(name_or_path, candidate, read(candidate), folder == SHIPPED)
    known = sorted({p.stem for f in (user_dir(home), SHIPPED) for p in f.glob("*.toml")})
    close = difflib.get_close_matches(name_or_path, known, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"profiles: {', '.join(known)}"
    raise ConfigError(f"no profile named '{name_or_path}' ({hint}; certgen profiles list)")


def read(path: Path) -> Profile:
    try:
        data = tomlfile.read(path)
    except (OSError, tomlfile.Unreadable) as exc:
        raise ConfigError(f"{path}: cannot read the profile: {exc}") from None
    if data.get("format") != FORMAT_VERSION:
        raise ConfigError(f"{path}: format = {data.get('format')!r}; this certgen reads 1")
    try:
        return Profile.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"] if part != "[key]")
        message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise ConfigError(f"{path}: '{key}': {message}") from None
