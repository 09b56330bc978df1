"""Settings, each settled in one order: flag, then ``CERTGEN_*`` variable, then
``certgen.toml`` (``--config``, else the current folder, else the app folder), then default.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from certgen import brand as brand_mod
from certgen import tomlfile
from certgen.brand import Brand
from certgen.errors import ConfigError

DEFAULT_BASE_URL = "http://localhost:8000"
CONFIG_FILE = "certgen.toml"
_KEYS = {
    "ledger",
    "base_url",
    "designs_dir",
    "defaults",
    "smtp",
    "web",
    "notify",
    "date_format",
    "profile",
    "design",
    "timezone",
    "locale",
    "logo",
    "brand",
    "variants",
    "printers",
}
_SMTP_KEYS = {"host", "port", "security", "username", "password", "sender", "timeout"}
_WEB_KEYS = {
    "secret_key",
    "session_minutes",
    "lookups_per_minute",
    "proxies",
    "secure_cookies",
    "sign_ins_per_account",
    "sign_ins_per_address",
    "undo_minutes",
    "book_url",
    "book_label",
    "color",
}
# What each [web] key is written as.
WEB_TYPES: dict[str, type] = {
    "session_minutes": int,
    "lookups_per_minute": int,
    "proxies": int,
    "secure_cookies": bool,
    "sign_ins_per_account": int,
    "sign_ins_per_address": int,
    "undo_minutes": int,
    "book_url": str,
    "book_label": str,
    "color": str,
}
_NOTIFY_KEYS = {"include_friend_name", "new_gift"}


def home() -> Path:
    """The app folder: ``$CERTGEN_HOME``, else the platform's app-data folder."""
    return Path(os.environ.get("CERTGEN_HOME") or click.get_app_dir("certgen"))


def default_ledger() -> str:
    """The embedded SQLite ledger in the app folder."""
    return f"sqlite:///{home() / 'ledger.db'}"


@dataclass(frozen=True)
class Smtp:
    """Where referrers' thank-you emails go out."""

    host: str
    port: int = 587
    security: str = "starttls"  # starttls, ssl or none
    username: str | None = None
    password: str | None = None  # better from CERTGEN_SMTP_PASSWORD than from the file
    sender: str = "certgen@localhost"
    # Seconds to wait for each answer. A server may take minutes to accept a message after
    # its last line (RFC 5321 allows 10); giving up sooner would send it again.
    timeout: float = 120.0


@dataclass(frozen=True)
class Web:
    secret_key: str  # signs session cookies
    session_minutes: int = 480
    lookups_per_minute: int = 30  # failed code lookups per client address, for the public
    proxies: int = 0  # reverse proxies in front whose X-Forwarded-For names the client
    timezone: str | None = None  # the shop's, for "expired" (None: this machine's)
    locale: str = "en"  # the shop's, for dates and times on the pages
    logo: Path | None = None  # the business's, in the friend's page's header
    base_url: str = ""  # the site: https means Secure cookies and HSTS; its origin may POST
    secure_cookies: bool | None = None  # None: when base_url is https
    sign_ins_per_account: int = 10  # password checks per account in 15 minutes
    sign_ins_per_address: int = 30  # tries per client address in 15 minutes
    undo_minutes: int = 15  # how long after a redemption staff may undo it
    book_url: str = ""  # the friend's page's main action: the business's booking page
    book_label: str = ""  # its words ("Book your free check-up"); "": "Book your visit"
    color: str = ""  # the business's colour (#RRGGBB) for the pages' band and buttons
    business: str = ""  # its name, from [defaults] business, on the dashboard


def zone(name: str | None) -> dt.tzinfo | None:
    """The named IANA time zone, or None for this machine's."""
    if not name:
        return None
    import zoneinfo  # reads the tz database only when a zone is named

    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        near = difflib.get_close_matches(name, sorted(zoneinfo.available_timezones()), n=3)
        hint = f"; did you mean {' or '.join(near)}" if near else ""
        raise ConfigError(
            f"timezone '{name}' is not a time zone{hint} (names look like America/Chicago "
            "or Europe/Berlin)"
        ) from None


def today_in(name: str | None) -> dt.date:
    """Today's date where the shop is: a certificate valid until 31 March redeems through
    the shop's 31 March, wherever the server runs."""
    return dt.datetime.now(zone(name)).date() if name else dt.date.today()


@dataclass(frozen=True)
class Config:
    ledger: str
    base_url: str
    designs_dirs: list[Path]
    defaults: Mapping[str, str] = field(default_factory=dict)
    source: Path | None = None  # the certgen.toml that was read, if any
    smtp: Smtp | None = None
    include_friend_name: bool = False  # in thank-you emails; off: no personal data of the friend
    new_gift: bool = False  # each thank-you carries a fresh certificate to pass on
    # [[variants]]: the campaign's wordings to compare, each its fields' text (certgen.variants)
    variants: tuple[Mapping[str, str], ...] = ()
    # [printers.NAME]: a printer's error, measured with certgen calibrate (placement.Printer)
    printers: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)
    web_settings: Mapping[str, object] = field(default_factory=dict)
    date_format: str | None = None  # how customer lists write dates (strptime)
    profile: str | None = None  # the mapping profile customer lists are read with
    design: str | None = None  # the design a run uses when -d is not given
    timezone: str | None = None  # the shop's IANA time zone; None: this machine's
    locale: str = "en"  # the shop's language and region (CLDR), for its web pages' dates
    logo: Path | None = None  # the business's logo, which a design's "@logo" image shows
    brand: Brand = field(default_factory=Brand)  # [brand]: its colours and fonts on designs
    sources: Mapping[str, str] = field(default_factory=dict)  # setting -> where it came from

    def web(self) -> Web:
        """Web settings; makes and keeps a secret key in the app folder if none is set."""
        secret = os.environ.get("CERTGEN_SECRET_KEY") or self.web_settings.get("secret_key")
        if not secret:
            secret = _stored_secret(home() / "secret_key")
        values: dict[str, Any] = {k: v for k, v in self.web_settings.items() if k != "secret_key"}
        for key, value in values.items():
            kind = WEB_TYPES.get(key)
            if kind and (not isinstance(value, kind) or isinstance(value, bool) != (kind is bool)):
                written = {int: "a number", bool: "true or false", str: "text"}[kind]
                raise ConfigError(f"{self.source}: [web] {key} must be {written}, not {value!r}")
        if values.get("undo_minutes", 0) < 0:
            raise ConfigError(f"{self.source}: [web] undo_minutes is 0 (no undo) or more")
        book = str(values.get("book_url", ""))
        if book and not book.startswith(("https://", "http://")):
            raise ConfigError(
                f"{self.source}: [web] book_url must start with https:// (the booking page)"
            )
        color = str(values.get("color", ""))
        if color and not re.fullmatch(r"#[0-9a-fA-F]{6}", color):
            raise ConfigError(
                f'{self.source}: [web] color must be written #RRGGBB (like "#1f4e3d"), '
                f"not {color!r}"
            )
        values |= {"timezone": self.timezone, "base_url": self.base_url, "logo": self.logo}
        values.setdefault("color", self.brand.primary or "")  # the brand's, unless [web] says
        values["business"] = self.defaults.get("business", "")
        values["locale"] = _locale(self.locale, self.sources.get("locale", "default"))
        return Web(secret_key=str(secret), **values)

    def today(self) -> dt.date:
        """Today where the shop is (``timezone``), for expiry and issue dates."""
        return today_in(self.timezone)

    def local(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` in the shop's time zone, so its date is the shop's."""
        return moment.astimezone(zone(self.timezone))

    @property
    def base_url_is_default(self) -> bool:
        return self.base_url == DEFAULT_BASE_URL


def _stored_secret(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _table(
    data: Mapping[str, object], name: str, keys: set[str], path: Path | None
) -> dict[str, object]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{name}] must be a table")
    for key in sorted(set(table) - keys):
        close = difflib.get_close_matches(key, sorted(keys), n=1)
        hint = (
            f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(sorted(keys))}"
        )
        raise ConfigError(f"{path}: unknown key '{key}' in [{name}]{hint}")
    return dict(table)


def _variants(data: Mapping[str, object], path: Path | None) -> tuple[dict[str, str], ...]:
    """``[[variants]]`` tables: each a variant's field values as text (checked against the
    design by the run)."""
    found = data.get("variants", [])
    shape = (
        f'{path}: write each variant as a [[variants]] table, e.g. [[variants]] pain = "..." '
        'offer = "..."'
    )
    if not isinstance(found, list) or not all(isinstance(t, dict) for t in found):
        raise ConfigError(shape)
    tables = []
    for number, table in enumerate(found, start=1):
        for key, value in table.items():
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise ConfigError(f"{path}: [[variants]] {number}: {key} must be text")
        tables.append({key: str(value) for key, value in table.items()})
    return tuple(tables)


PRINTER_KEYS = {"offset_x_mm": (-50.0, 50.0), "offset_y_mm": (-50.0, 50.0), "scale": (0.5, 2.0)}


def _printers(
    data: Mapping[str, object], path: Path | None
) -> dict[str, tuple[float, float, float]]:
    """``[printers.NAME]`` tables: how far off (mm) and how scaled NAME prints."""
    found = data.get("printers", {})
    if not isinstance(found, dict):
        raise ConfigError(f"{path}: [printers] must hold [printers.NAME] tables")
    printers = {}
    for name, table in found.items():
        if not isinstance(table, dict):
            raise ConfigError(
                f"{path}: write each printer as a table: [printers.{name}] offset_x_mm = 1.5"
            )
        settled = _table({name: table}, name, set(PRINTER_KEYS), path)
        values = []
        for key, (low, high) in PRINTER_KEYS.items():
            value = settled.get(key, 1.0 if key == "scale" else 0.0)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or not low <= float(value) <= high:  # type: ignore[arg-type]
                raise ConfigError(
                    f"{path}: [printers.{name}] {key} must be a number from {low:g} to {high:g}, "
                    f"not {value!r}"
                )
            values.append(float(value))  # type: ignore[arg-type]
        printers[name] = (values[0], values[1], values[2])
    return printers


def _smtp(data: Mapping[str, object], path: Path | None) -> Smtp | None:
    table = _table(data, "smtp", _SMTP_KEYS, path)
    if not table:
        return None
    if "host" not in table:
        raise ConfigError(f'{path}: [smtp] needs host = "smtp.example.com"')
    if table.get("security", "starttls") not in ("starttls", "ssl", "none"):
        raise ConfigError(f"{path}: [smtp] security is starttls, ssl or none")
    password = os.environ.get("CERTGEN_SMTP_PASSWORD") or table.pop("password", None)
    table.pop("password", None)
    try:
        return Smtp(password=password, **table)  # type: ignore[arg-type]
    except TypeError as exc:
        raise ConfigError(f"{path}: [smtp]: {exc}") from exc


def _config_file(explicit: Path | None) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return explicit
    for candidate in (Path.cwd() / CONFIG_FILE, home() / CONFIG_FILE):
        if candidate.is_file():
            return candidate
    return None


def _read(path: Path | None) -> tuple[dict[str, object], dict[str, str]]:
    """The file's settings, and its [defaults] table of field values."""
    if path is None:
        return {}, {}
    try:
        data = tomlfile.read(path)
    except (tomlfile.Unreadable, FileNotFoundError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    for key in sorted(set(data) - _KEYS):
        close = difflib.get_close_matches(key, sorted(_KEYS), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(_KEYS)}"
        raise ConfigError(f"{path}: unknown key '{key}'{hint}")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict) or not all(isinstance(v, str) for v in defaults.values()):
        raise ConfigError(f'{path}: [defaults] holds text values, like business = "Acme"')
    return data, defaults


class _Settled:
    """Each setting from the first of: option, environment variable, the file, default;
    and where each came from, for ``certgen config``."""

    def __init__(self, data: Mapping[str, object], path: Path | None):
        self.data, self.path = data, path
        self.sources: dict[str, str] = {}

    def __call__(
        self, key: str, flag: str | None, env: str | None, default: str | None = None
    ) -> str | None:
        found = [
            (flag, "option"),
            (os.environ.get(env) if env else None, f"environment {env}"),
            (self.data.get(key), str(self.path)),
        ]
        for value, source in found:
            if value is not None and value != "":
                if not isinstance(value, str):
                    raise ConfigError(f"{self.path}: {key} must be text, not {value!r}")
                self.sources[key] = source
                return value
        self.sources[key] = "default"
        return default


def load(
    *,
    config_file: Path | None = None,
    ledger: str | None = None,
    base_url: str | None = None,
    designs_dir: Path | None = None,
    design: str | None = None,
) -> Config:
    path = _config_file(config_file)
    data, defaults = _read(path)
    kit = _table(data, "brand", set(brand_mod.KEYS), path)
    if "logo" in kit:  # [brand] logo; a top-level logo is what older files have
        data = {**data, "logo": kit["logo"]}
    relative_to = path.parent if path else Path.cwd()
    setting = _Settled(data, path)
    url = setting("ledger", ledger, "CERTGEN_LEDGER") or default_ledger()
    if setting.sources["ledger"] == str(path):
        url = _beside(url, relative_to)
    base = setting("base_url", base_url, "CERTGEN_BASE_URL") or DEFAULT_BASE_URL
    if not base.startswith(("http://", "https://")):
        raise ConfigError(f"base URL '{base}' must start with http:// or https://")
    flag = str(designs_dir) if designs_dir else None
    user_dir = setting("designs_dir", flag, "CERTGEN_DESIGNS")
    dirs = [relative_to / user_dir] if user_dir else []
    notify = _table(data, "notify", _NOTIFY_KEYS, path)
    try:
        brand = brand_mod.parse(kit, relative_to, str(path))
    except brand_mod.BrandError as exc:
        raise ConfigError(str(exc)) from None
    return Config(
        url,
        base.rstrip("/"),
        [*dirs, home() / "designs"],
        defaults,
        path,
        smtp=_smtp(data, path),
        include_friend_name=bool(notify.get("include_friend_name", False)),
        new_gift=bool(notify.get("new_gift", False)),
        variants=_variants(data, path),
        printers=_printers(data, path),
        web_settings=_table(data, "web", _WEB_KEYS, path),
        date_format=setting("date_format", None, "CERTGEN_DATE_FORMAT"),
        profile=setting("profile", None, "CERTGEN_PROFILE"),
        design=setting("design", design, "CERTGEN_DESIGN"),
        timezone=_timezone(setting("timezone", None, "CERTGEN_TIMEZONE")),
        locale=setting("locale", None, "CERTGEN_LOCALE") or "en",
        logo=_logo(setting("logo", None, "CERTGEN_LOGO"), relative_to, setting.sources),
        brand=brand,
        sources=setting.sources,
    )


LOGO_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg", ".pdf")


def _logo(name: str | None, folder: Path, sources: Mapping[str, str]) -> Path | None:
    """The logo file: a relative path in a certgen.toml is read beside it."""
    if not name:
        return None
    path = Path(name).expanduser()
    from_file = not sources.get("logo", "").startswith("environment")
    if from_file and not path.is_absolute():
        path = folder / path
    if path.suffix.lower() not in LOGO_SUFFIXES or not path.is_file():
        what = "is not a file" if not path.is_file() else "is not a PNG, JPEG, SVG or PDF"
        raise ConfigError(
            f"logo {path} {what} (from {sources.get('logo')}); give the logo's file, or run "
            "certgen init --logo FILE"
        )
    return path.resolve()


def _timezone(name: str | None) -> str | None:
    zone(name)  # a name that is not a zone is refused where it is set
    return name


def checked_locale(name: str, source: str) -> str:
    """A locale name as given (``--locale es_MX``), refused unless Babel knows it."""
    return _locale(name, source)


def _locale(name: str, source: str) -> str:
    """A CLDR locale name ("en", "es_MX", "de-AT"), checked; Babel is read only here, by
    the web pages, never by a command that does not show one."""
    import babel

    try:
        return str(babel.Locale.parse(name.replace("-", "_")))
    except (ValueError, babel.UnknownLocaleError):
        raise ConfigError(
            f"{source}: locale '{name}' is not a language and region certgen knows "
            "(names look like en, en_GB, es_MX, fr or de)"
        ) from None


def _beside(url: str, folder: Path) -> str:
    """A SQLite ledger named by a relative path in a certgen.toml lives beside that file
    (as a designs_dir does), wherever certgen runs."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix:
        name = url[len(prefix) :]
        if not name.startswith(":memory:"):
            return f"{prefix}{(folder / name).resolve()}"
    return url


def explain(config: Config) -> list[tuple[str, str, str]]:
    """(setting, value, where it came from) for every setting, secrets hidden."""
    lines = [
        ("ledger", config.ledger, config.sources.get("ledger", "default")),
        ("base_url", config.base_url, config.sources.get("base_url", "default")),
        ("design", config.design or "(none: give -d)", config.sources.get("design", "default")),
        (
            "designs_dir",
            ", ".join(str(d) for d in config.designs_dirs),
            config.sources.get("designs_dir", "default"),
        ),
        ("profile", config.profile or "(none)", config.sources.get("profile", "default")),
        (
            "date_format",
            config.date_format or "(ISO and unambiguous dates)",
            config.sources.get("date_format", "default"),
        ),
        (
            "timezone",
            config.timezone or "(this machine's)",
            config.sources.get("timezone", "default"),
        ),
        ("locale", config.locale, config.sources.get("locale", "default")),
        ("brand.logo", str(config.logo or "(none)"), config.sources.get("logo", "default")),
    ]
    kit = config.brand
    file = str(config.source) if config.source else "default"
    for key in (*brand_mod.COLOURS, *brand_mod.FONTS):
        value = getattr(kit, key)
        shown = getattr(value, "family", value) if value else "(the design's)"
        if value is not None and getattr(value, "files", None):
            shown = str(value.files["regular"])
        lines.append((f"brand.{key}", str(shown), file if value else "default"))
    lines += [(f"defaults.{k}", v, file) for k, v in sorted(config.defaults.items())]
    if config.smtp:
        smtp = vars(config.smtp)
        for key in ("host", "port", "security", "username", "sender"):
            if smtp.get(key) is not None:
                lines.append((f"smtp.{key}", str(smtp[key]), file))
        if config.smtp.password:
            source = (
                "environment CERTGEN_SMTP_PASSWORD"
                if os.environ.get("CERTGEN_SMTP_PASSWORD")
                else file
            )
            lines.append(("smtp.password", "(set)", source))
    for key, value in sorted(config.web_settings.items()):
        shown = "(set)" if key == "secret_key" else str(value)
        lines.append((f"web.{key}", shown, file))
    if config.include_friend_name:
        lines.append(("notify.include_friend_name", "true", file))
    if config.new_gift:
        lines.append(("notify.new_gift", "true", file))
    for name, (x, y, scale) in sorted(config.printers.items()):
        shown = f"offset_x_mm={x:g}; offset_y_mm={y:g}; scale={scale:g}"
        lines.append((f"printers.{name}", shown, file))
    for number, variant in enumerate(config.variants, start=1):
        shown = "; ".join(f"{key}={value}" for key, value in variant.items())
        lines.append((f"variants.{number}", shown, file))
    return lines
