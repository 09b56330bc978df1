"""Campaign presets: the pain, offer and terms a business in a trade can start from
(``--preset dental``). certgen ships one for each of six trades in ``shipped_presets/``;
a business's own are ``$CERTGEN_HOME/presets/NAME.toml`` and take a shipped one's place.

A preset's values are the run's campaign values: above certgen.toml's ``[defaults]``, below
``--pain``, ``--offer`` and ``--set``, and a list's own cells win over all of them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from certgen import tomlfile
from certgen.errors import ConfigError

FIELDS = ("pain", "offer", "terms")
SHIPPED = Path(__file__).resolve().parent / "shipped_presets"


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    values: dict[str, str]  # field -> text
    path: Path
    shipped: bool


def user_dir(home: Path) -> Path:
    return home / "presets"


def available(home: Path) -> list[Preset]:
    """Every preset, the business's first where a name is both."""
    found: dict[str, Preset] = {}
    for folder, shipped in ((user_dir(home), False), (SHIPPED, True)):
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
            found.setdefault(path.stem, read(path, shipped))
    return sorted(found.values(), key=lambda p: p.name)


def find(name: str, home: Path) -> Preset:
    for folder, shipped in ((user_dir(home), False), (SHIPPED, True)):
        path = folder / f"{name}.toml"
        if path.is_file():
            return read(path, shipped)
    known = sorted(
        {p.stem for d in (user_dir(home), SHIPPED) if d.is_dir() for p in d.glob("*.toml")}
    )
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"presets: {', '.join(known)}."
    raise ConfigError(f"no preset named '{name}' ({hint} certgen presets list shows them)")


def read(path: Path, shipped: bool = False) -> Preset:
    try:
        data = tomlfile.read(path)
    except (OSError, tomlfile.Unreadable) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    for key, value in data.items():
        if key not in (*FIELDS, "title"):
            close = difflib.get_close_matches(key, [*FIELDS, "title"], n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"a preset sets {', '.join(FIELDS)}"
            raise ConfigError(f"{path}: unknown key '{key}' ({hint})")
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f'{path}: {key} is text, like {key} = "..."')
    values = {key: data[key].strip() for key in FIELDS if key in data}
    return Preset(path.stem, str(data.get("title", path.stem)), values, path, shipped)
