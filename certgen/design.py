"""Load a design folder: ``design.toml`` validated by pydantic, files kept inside the folder.

Coordinates in the manifest are millimetres from the top-left corner of the page, which
is how designers measure; ``render`` converts them once.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import ErrorDetails

from certgen import lang, tomlfile, units
from certgen import styles as styles_mod
from certgen import text as text_mod
from certgen.brand import Brand
from certgen.errors import ConfigError, DesignError

T = TypeVar("T")
FORMAT_VERSION = 1
MANIFEST = "design.toml"
MAX_ASSET_BYTES = 20 * 1024 * 1024
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".svg", ".pdf"}
FONT_SUFFIXES = {".ttf"}
STYLES = ("regular", "bold", "italic", "bold_italic")
LOGO = "@logo"  # an image element's file: the business's logo, a setting, not the design's
DEFAULT_SUBJECT = (
    "{% if giver %}{{ giver }} sent you a gift{% else %}A gift for you{% endif %}"
    "{% if business %} from {{ business }}{% endif %}"
)
DEFAULT_GIVER_SUBJECT = (
    "{% if giver_first %}{{ giver_first }}, a{% else %}A{% endif %} gift for you to pass on"
    "{% if business %}, from {{ business }}{% endif %}"
)
DEFAULT_THANKS_SUBJECT = (
    "Your gift was used{% if business %} at {{ business }}{% endif %}"
    "{% if new_gift %}: here is another to pass on{% endif %}"
)
# What the referrer's thank-you reads beside the certificate's fields (certgen.mail).
THANKS_NAMES = (
    "giver", "giver_first", "friend", "business", "offer", "pain", "phone", "website",
    "address", "redeemed", "new_gift", "gift_code", "gift_url", "gift_expires",
)  # fmt: skip
# The cover letters every design has unless it writes its own ([letter] in design.toml),
# in the certificate's language (their words are in certgen/wording, as the designs' are).
DEFAULT_LETTER_TO_GIVER = """{{ _('Dear %(name)s,', name=giver_first or _('customer')) }}

{% if offer %}{{ _('Thank you for choosing %(business)s. Here is a gift for you to pass on to \
a friend who could use it: %(offer)s.', business=business or _('us'), offer=offer) }}\
{% else %}{{ _('Thank you for choosing %(business)s. Here is a gift for you to pass on to a \
friend who could use it.', business=business or _('us')) }}{% endif %}

{{ _('Write their name on the certificate and hand it on. When your friend uses it, we will \
let you know.') }}

{{ _('With thanks,') }}
{{ business }}"""
DEFAULT_LETTER_TO_RECIPIENT = """{{ _('Dear %(name)s,', name=recipient_first or _('friend')) }}

{% set from = giver or _('A customer of ours') %}{% if offer %}{{ _('%(giver)s thought of \
you and asked us to send you this gift: %(offer)s.', giver=from, offer=offer) }}{% else %}\
{{ _('%(giver)s thought of you and asked us to send you this gift.', giver=from) }}{% endif %}

{% if expires %}{{ _('It is yours until %(date)s.', date=expires | date) }} {% endif %}\
{% if phone %}{{ _('Bring the certificate when you come in, or call %(phone)s.', phone=phone) }}\
{% else %}{{ _('Bring the certificate when you come in.') }}{% endif %}

{{ _('Warm regards,') }}
{{ business }}"""
# Fields that describe the business by default: the same on every certificate, never from
# a row (a customer's own phone column must not print as the shop's).
BUSINESS_FIELDS = frozenset({"business", "phone", "website", "address", "logo"})
# Names an email may read in any design; a design that does not declare one reads "".
EMAIL_NAMES = (
    "recipient",
    "giver",
    "business",
    "pain",
    "offer",
    "expires",
    "phone",
    "website",
    "address",
    "certificate_image",  # the cid: address of the certificate's picture, for <img src>
    "unsubscribe_url",  # the one-click link, where the redemption site is configured
)


# The smallest type certgen prints: 5 pt is the usual floor for legible fine print.
MIN_TYPE_SIZE = 5.0


class _Model(BaseModel):
    # TOML can write nan and inf; no size, position or colour means either.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class FieldSpec(_Model):
    """A declared input. ``default`` is the design's value when neither row nor config has one;
    for dates, ``+N`` means N days after the issue date."""

    type: Literal["text", "money", "date", "int", "email", "locale"] = "text"
    label: str | None = None
    required: bool = False
    default: str | None = None
    sample: str | None = None
    max_length: int = Field(default=200, ge=1, le=5000)
    aliases: tuple[str, ...] = ()
    source: Literal["row", "business", "campaign"] | None = Field(
        default=None,
        description='where its value comes from: "row" (the customer list may fill it), '
        '"business" or "campaign" (only options and certgen.toml; a column that would fill '
        "it is an error); default: business for business, phone, website, address and "
        "business_*, else row",
    )


class Page(_Model):
    name: str
    title: str
    page: str | None = Field(default=None, description='Named size, e.g. "A4-landscape"')
    width_mm: float | None = Field(default=None, gt=0, le=2000)
    height_mm: float | None = Field(default=None, gt=0, le=2000)
    background: str | None = Field(
        default=None, description="PNG, JPEG, SVG or PDF art, stretched to the page"
    )
    background_page: int = Field(default=1, ge=1, description="for a PDF background: its page")
    background_color: str | None = Field(default=None, description="#RRGGBB or a colour's name")
    background_tint: str | None = Field(
        default=None, description="draw the background art in shades of this colour (as tint)"
    )
    envelope: Literal["us10", "dl"] | None = Field(
        default=None,
        description="window envelope for issue --mailing: us10 (US Letter) or dl (A4, DIN 5008)",
    )
    address_to: Literal["recipient", "giver"] = Field(
        default="recipient",
        description="whom issue --mailing addresses: the recipient (deliver the gift) or the "
        "giver (the customer, who passes it on)",
    )
    art_dpi: int = Field(
        default=300, ge=72, le=1200, description="raster art is downsampled to this at print size"
    )
    mirror_rtl: bool = Field(
        default=True,
        description="for a right-to-left language (Arabic, Hebrew), mirror the layout: each "
        "element's place and alignment, and the background art",
    )
    fallback_fonts: tuple[str, ...] | None = Field(
        default=None,
        description="Font families tried in order for characters an element's font lacks; "
        "default: the shared list in fonts/fonts.toml (Arabic, Hebrew, Devanagari, CJK)",
    )


class FontFamily(_Model):
    family: str
    regular: str
    bold: str | None = None
    italic: str | None = None
    bold_italic: str | None = None


class _Element(_Model):
    side: Literal["front", "back"] = Field(
        default="front", description='"back": printed on the back with issue --duplex'
    )


class _Box(_Element):
    id: str
    x: float = Field(description="mm from the left edge")
    y: float = Field(description="mm from the top edge")
    width: float = Field(gt=0, description="mm")
    height: float = Field(gt=0, description="mm")


class TextElement(_Box):
    type: Literal["text"]
    text: str
    font: str
    style: Literal["regular", "bold", "italic", "bold_italic"] = "regular"
    size: float = Field(ge=MIN_TYPE_SIZE, le=500, description="pt")
    min_size: float | None = Field(
        default=None, ge=MIN_TYPE_SIZE, description="pt; shrink-to-fit floor, at least 5"
    )
    max_lines: int = Field(default=1, ge=1, le=50)
    line_height: float = Field(default=1.2, ge=0.8, le=3)
    align: Literal["left", "center", "right"] = "left"
    valign: Literal["top", "middle", "bottom"] = "middle"
    color: str = "#000000"
    max_chars: int = Field(default=400, ge=1, le=5000)
    blank: Literal["none", "line"] = Field(
        default="none", description='"line": when the text is empty, draw a line to write on'
    )


class CodeElement(_Box):
    """The human-readable code, as printed for typing at the counter."""

    type: Literal["code"]
    font: str
    style: Literal["regular", "bold", "italic", "bold_italic"] = "bold"
    size: float = Field(ge=MIN_TYPE_SIZE, le=200)
    align: Literal["left", "center", "right"] = "left"
    color: str = "#000000"


class QrElement(_Element):
    type: Literal["qr"]
    id: str
    x: float
    y: float
    size: float = Field(gt=0, description="mm, the side of the square including quiet zone")
    payload: Literal["url", "code"] = "url"
    ecc: Literal["L", "M", "Q", "H"] = "M"
    quiet_zone: int = Field(default=4, ge=4, le=10, description="modules of white around")
    color: str = "#000000"

    @property
    def width(self) -> float:
        return self.size

    @property
    def height(self) -> float:
        return self.size


class ImageElement(_Box):
    type: Literal["image"]
    file: str = Field(
        description='PNG, JPEG, SVG or PDF; SVG and PDF stay vector. "@logo": the business\'s '
        "logo (certgen init --logo), left out where it has none"
    )
    page: int = Field(default=1, ge=1, description="for PDF art: which page")
    fit: Literal["contain", "cover", "stretch"] = "contain"
    tint: str | None = Field(
        default=None,
        description='#RRGGBB or a colour\'s name ("primary"): the art drawn in shades of it, '
        "black the colour itself, white staying white (art that follows the brand's colours)",
    )


class RectElement(_Box):
    type: Literal["rect"]
    fill: str | None = None
    stroke: str | None = None
    stroke_width: float = Field(default=0.5, ge=0, description="pt")
    radius: float = Field(default=0, ge=0, description="mm")


class LineElement(_Element):
    type: Literal["line"]
    id: str
    x1: float
    y1: float
    x2: float
    y2: float
    color: str = "#000000"
    width: float = Field(default=0.75, gt=0, description="pt")
    dash: tuple[float, ...] = ()


Element = Annotated[
    TextElement | CodeElement | QrElement | ImageElement | RectElement | LineElement,
    Field(discriminator="type"),
]


class MessageSpec(_Model):
    """A message ``certgen send`` writes around the certificate: jinja2 templates that
    read the same values as the certificate's text."""

    subject: str = Field(default=DEFAULT_SUBJECT, description="template of the subject line")
    text: str = Field(default="email.txt", description="plain-text body, a file in the folder")
    html: str | None = Field(default=None, description="HTML body, a file in the folder")


class ThanksSpec(MessageSpec):
    """The referrer's thank-you: its templates read the certificate's fields and
    ``redeemed`` (when, in the shop's time zone), ``friend`` (where allowed) and, with
    ``[notify] new_gift``, ``new_gift``, ``gift_code``, ``gift_url``, ``gift_expires``."""

    subject: str = Field(default=DEFAULT_THANKS_SUBJECT, description="template of the subject")
    text: str = Field(default="thanks.txt", description="plain-text body, a file in the folder")


class EmailSpec(MessageSpec):
    """The message to the recipient (the business delivers the gift), and ``pass_on``, the
    one to the giver (the customer, who passes it on: ``send --address-to giver``)."""

    pass_on: MessageSpec | None = Field(
        default=None, description="the message to the giver, who passes it on; default: certgen's"
    )
    thanks: ThanksSpec | None = Field(
        default=None,
        description="the referrer's thank-you when their gift is redeemed; default: certgen's",
    )


class LetterSpec(_Model):
    """The cover letter on a mailer's top panel, beside the window: jinja2 text over the
    certificate's values, one for each addressee; "" prints none."""

    giver: str = Field(
        default=DEFAULT_LETTER_TO_GIVER, description="to the customer, who passes the gift on"
    )
    recipient: str = Field(
        default=DEFAULT_LETTER_TO_RECIPIENT, description="to the friend the gift is for"
    )


class Manifest(_Model):
    format: int
    design: Page
    brand: styles_mod.Kit = Field(
        default_factory=lambda: styles_mod.Kit(),
        description="the design's own brand kit; certgen.toml's [brand] takes its place",
    )
    colors: dict[str, str] = Field(default={}, description="more colours by name: #RRGGBB")
    styles: dict[str, styles_mod.Style] = Field(
        default={}, description='named text styles: an element with style = "NAME" takes them'
    )
    fields: dict[str, FieldSpec] = {}
    fonts: list[FontFamily] = []
    elements: list[Element]
    email: EmailSpec | None = Field(
        default=None, description="the email for certgen send; default: certgen's own"
    )
    letter: LetterSpec = Field(
        default_factory=lambda: LetterSpec(), description="the cover letter of issue --mailing"
    )


DEFAULT_EMAIL = EmailSpec(html="email.html")
DEFAULT_PASS_ON = MessageSpec(
    subject=DEFAULT_GIVER_SUBJECT, text="pass-on.txt", html="pass-on.html"
)
DEFAULT_THANKS = ThanksSpec(html="thanks.html")


@dataclass(frozen=True)
class EmailTemplates:
    subject: text_mod.TextTemplate
    text: text_mod.TextTemplate
    html: text_mod.TextTemplate | None


@dataclass(frozen=True)
class Design:
    """A validated design: manifest, resolved files and compiled text templates."""

    path: Path
    manifest: Manifest
    width_mm: float
    height_mm: float
    fonts: dict[str, dict[str, Path]]  # family -> style -> TTF file
    fallback: tuple[str, ...]  # families for characters an element's own font lacks
    assets: dict[str, Path]  # manifest-relative name -> resolved file
    templates: dict[str, text_mod.TextTemplate]  # element id -> compiled text
    hash: str  # of what prints; the email is not part of it
    letters: dict[str, text_mod.TextTemplate]  # a mailer's cover letter, by addressee
    # The messages to the "recipient" and to the "giver"; None until ``emails`` asks.
    messages: dict[str, EmailTemplates] | None = None
    screen: bool = False  # art for a screen (``for_screen``), not for print
    source: dict[str, Any] = dataclasses.field(default_factory=dict)  # design.toml as read
    locale: str = "en"  # the run's language (``for_locale``): the fixed words' and dates'
    mixed_locales: bool = False  # rows in other languages too: their words drawn per row
    mirrored: bool = False  # laid out right to left

    @property
    def emails(self) -> dict[str, EmailTemplates]:
        """The messages to the "recipient", to the "giver" (pass it on) and the referrer's
        "thanks", compiled when
        first asked for unless ``load`` compiled them: a print run never asks, and
        compiling them is a tenth of a second of its start-up."""
        if self.messages is None:
            known = set(self.fields) | set(text_mod.BUILTINS)
            messages = _emails(self.path, self.manifest.email, known, str(self.path / MANIFEST))
            object.__setattr__(self, "messages", messages)  # a cache: the design is the same
            return messages
        return self.messages

    @property
    def name(self) -> str:
        return self.manifest.design.name

    @property
    def fields(self) -> dict[str, FieldSpec]:
        return self.manifest.fields

    def field_sources(self) -> dict[str, str]:
        """Field -> where its value comes from: ``row``, ``business`` or ``campaign``."""
        return {
            name: spec.source
            or ("business" if name in BUSINESS_FIELDS or name.startswith("business_") else "row")
            for name, spec in self.fields.items()
        }

    @cached_property
    def text_elements(self) -> list[TextElement]:
        return [e for e in self.manifest.elements if isinstance(e, TextElement)]

    def font_chain(self, family: str, style: str) -> tuple[Path, ...]:
        """The element's font, then the fallbacks in the same style where they have it."""
        key = (family, style)
        if key not in self._chains:
            rest = (self.fonts[f].get(style, self.fonts[f]["regular"]) for f in self.fallback)
            self._chains[key] = tuple(dict.fromkeys((self.fonts[family][style], *rest)))
        return self._chains[key]

    @cached_property
    def _chains(self) -> dict[tuple[str, str], tuple[Path, ...]]:
        return {}

    def branded(self, brand: Brand | None, logo: Path | None = None) -> Design:
        """The design as the business prints it: its brand kit's colours and fonts in place
        of the design's own (except what the design keeps fixed), and its logo."""
        design = self
        if brand and styles_mod.uses_kit(self.source):
            design = self._with_brand(brand)
        return design.with_logo(logo)

    def _with_brand(self, brand: Brand) -> Design:
        where = str(self.path / MANIFEST)
        look = styles_mod.Look.model_validate(self.source)  # it did when the design loaded
        data, problems = styles_mod.resolve(self.source, look, brand, where)
        if problems:
            raise problems[0]
        fonts = dict(self.fonts)
        for font in (brand.heading_font, brand.body_font):
            if font and font.files:
                fonts[font.family] = {
                    face: _checked_font(p, where) for face, p in font.files.items()
                }
            elif font and font.family not in fonts:
                close = difflib.get_close_matches(font.family, list(fonts), n=1)
                raise ConfigError(
                    f"[brand] font '{font.family}' is not a font certgen has"
                    + (f"; did you mean '{close[0]}'?" if close else "")
                    + f" (it has {', '.join(sorted(fonts))}; or give a .ttf file)"
                )
        manifest = _nearest_faces(Manifest.model_validate(data), fonts)
        digest = hashlib.sha256(f"{self.hash}\0".encode() + brand.token()).hexdigest()[:16]
        return dataclasses.replace(self, manifest=manifest, fonts=fonts, hash=digest)

    def with_logo(self, logo: Path | None) -> Design:
        """The design as a run prints it: its ``@logo`` images show the business's logo,
        and the hash covers it. Without a logo they are left out (render skips them)."""
        if logo is None or not any(_is_logo(e) for e in self.manifest.elements):
            return self
        digest = hashlib.sha256(f"{self.hash}\0".encode() + logo.read_bytes()).hexdigest()[:16]
        return dataclasses.replace(self, assets={**self.assets, LOGO: logo}, hash=digest)

    def for_screen(self, dpi: int) -> Design:
        """The design with its raster art at most ``dpi`` and encoded for size (an emailed
        certificate is seen on a screen or printed at home: print resolution and lossless
        art would only make the message heavy). What prints is the same, so the hash is."""
        page = self.manifest.design
        manifest = self.manifest.model_copy(
            update={"design": page.model_copy(update={"art_dpi": min(dpi, page.art_dpi)})}
        )
        return dataclasses.replace(self, manifest=manifest, screen=True)

    @property
    def has_back(self) -> bool:
        return any(e.side == "back" for e in self.manifest.elements)

    def printed_boxes(self) -> dict[str, tuple[float, float, float, float]]:
        """Where ink goes, in mm of the trim (left, top, right, bottom): each element by
        id, and the page's background (art, or a colour other than white) as ``background``."""
        boxes = {e.id: _bounds(e) for e in self.manifest.elements}
        page = self.manifest.design
        colour = (page.background_color or "#FFFFFF").upper()
        if page.background or colour not in ("#FFFFFF", "#FFF"):
            boxes["background"] = (0.0, 0.0, self.width_mm, self.height_mm)
        return boxes

    def is_static(self, element: object) -> bool:
        """Whether an element looks the same on every certificate (drawn once per PDF): a
        text in the design's words is, unless the run's rows are in several languages."""
        if isinstance(element, TextElement):
            template = self.templates[element.id]
            worded = bool(template.variables & text_mod.LOCALE_NAMES)
            return template.is_static and not (worded and self.mixed_locales)
        return isinstance(element, ImageElement | RectElement | LineElement)

    def static_context(self) -> dict[str, str]:
        """What a text drawn once for the whole run reads."""
        return {"lang": self.locale}

    def for_locale(self, locale: str | None) -> Design:
        """The design as a run in ``locale`` prints it: its fixed words and dates in that
        language, and for a right-to-left one the layout mirrored where the design allows."""
        name = (locale or "en").strip().replace("-", "_") or "en"
        if name == self.locale:
            return self
        mirror = lang.right_to_left(name) and self.manifest.design.mirror_rtl
        manifest = _mirrored(self.manifest, self.width_mm) if mirror != self.mirrored else None
        digest = hashlib.sha256(f"{self.hash}\0{name}".encode()).hexdigest()[:16]
        return dataclasses.replace(
            self,
            manifest=manifest or self.manifest,
            locale=name,
            mirrored=mirror,
            hash=digest,
        )

    def for_rows(self, locales: Iterable[str]) -> Design:
        """The design for a run whose rows name these locales (their ``locale`` cells): a
        row in another language than the run's has its fixed words drawn for it."""
        run = lang.language(self.locale)
        mixed = any(name and lang.language(name) != run for name in locales)
        return dataclasses.replace(self, mixed_locales=mixed) if mixed else self


def data_dir(name: str) -> Path:
    """A shipped folder: inside an installed wheel, else at the top of the checkout."""
    package = Path(__file__).resolve().parent
    installed = package / f"_{name}"
    return installed if installed.is_dir() else package.parent / name


def shipped_designs_dir() -> Path:
    return data_dir("templates")


def shared_fonts_dir() -> Path:
    return data_dir("fonts")


def find(name_or_path: str, search: list[Path]) -> Path:
    """A design folder by name (searched in ``search`` in order) or by path."""
    candidate = Path(name_or_path)
    if (candidate / MANIFEST).is_file():
        return candidate
    for folder in search:
        if (folder / name_or_path / MANIFEST).is_file():
            return folder / name_or_path
    known = sorted(name for folder in search for name in _names(folder))
    close = difflib.get_close_matches(name_or_path, known, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known designs: {', '.join(known)}"
    raise DesignError(f"no design named '{name_or_path}'", path=name_or_path, hint=hint)


def locate(name_or_path: str, user_dirs: list[Path]) -> Path:
    """``find`` in the user's design folders, then among the shipped designs."""
    return find(name_or_path, [*user_dirs, shipped_designs_dir()])


@dataclass(frozen=True)
class Available:
    name: str
    path: Path
    shipped: bool


def available(search: list[Path]) -> list[Available]:
    """Every design in ``search`` (user folders first) and the shipped ones; a user design
    hides a shipped one of the same name, as ``find`` does."""
    found: dict[str, Available] = {}
    shipped = shipped_designs_dir()
    for folder in [*search, shipped]:
        for name in sorted(_names(folder)):
            found.setdefault(name, Available(name, folder / name, folder == shipped))
    return sorted(found.values(), key=lambda a: a.name)


def copy(source: Path, target: Path) -> Path:
    """A working copy of a design under a new name, ready to edit."""
    if target.exists():
        raise DesignError(f"{target} already exists", path=str(target), hint="pick another name")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", target.name):
        raise DesignError(
            f"'{target.name}' is not a design name",
            path=str(target),
            hint="use lowercase letters, digits, - and _",
        )
    shutil.copytree(source, target, symlinks=False)
    manifest = target / MANIFEST
    text = manifest.read_text(encoding="utf-8")
    renamed = re.sub(r'(?m)^name = ".*"$', f'name = "{target.name}"', text, count=1)
    manifest.write_text(renamed, encoding="utf-8")
    return target


def schema() -> dict[str, object]:
    """The JSON Schema of design.toml, for editors (taplo and others read it): as written,
    so a text's ``style`` may name a style of ``[styles]`` as well as a face, and its font
    and size may come from that style."""
    found = Manifest.model_json_schema()
    definitions: dict[str, Any] = found["$defs"]
    for name in ("TextElement", "CodeElement"):
        required = definitions[name]["required"]
        definitions[name]["required"] = [k for k in required if k not in styles_mod.STYLE_KEYS]
        face = definitions[name]["properties"]["style"]
        definitions[name]["properties"]["style"] = {
            "anyOf": [face, {"type": "string", "description": "a style of [styles]"}],
            "default": face.get("default"),
        }
    return found


def _names(folder: Path) -> Iterator[str]:
    if folder.is_dir():
        yield from (p.name for p in folder.iterdir() if (p / MANIFEST).is_file())


def load(folder: Path, *, emails: bool = True) -> Design:
    """Read, validate and compile a design folder; a problem is a located DesignError
    (the first found; ``inspect`` lists them all). Without ``emails`` the email templates
    wait until they are used (``Design.emails``)."""
    design, problems = inspect(folder, emails=emails)
    if design is None:
        raise problems[0]
    return design


def inspect(folder: Path, *, emails: bool = True) -> tuple[Design | None, list[DesignError]]:
    """The design, or every problem found in it: all schema problems if the manifest does
    not validate, else every file, font, element, colour and template problem."""
    folder = folder.resolve()
    manifest_path = folder / MANIFEST
    where = str(manifest_path)
    try:
        source = _read(manifest_path)
        look = styles_mod.Look.model_validate(source)
    except DesignError as exc:
        return None, [exc]
    except pydantic.ValidationError as exc:
        return None, [_located(error, source, where) for error in exc.errors()]
    # A name that resolves to nothing is a problem, and a stand-in so the checks go on.
    data, problems = styles_mod.resolve(source, look, None, where)
    try:
        manifest = Manifest.model_validate(data)
    except pydantic.ValidationError as exc:
        return None, problems + [_located(error, data, where) for error in exc.errors()]

    def attempt(action: Callable[..., T], *args: object) -> T | None:
        try:
            return action(*args)
        except DesignError as exc:
            problems.append(exc)
            return None

    problems += _duplicate_ids(manifest, where)
    for key in styles_mod.PAGE_COLOUR_KEYS:
        attempt(_check_color, getattr(manifest.design, key), where, None, f"design.{key}")
    size = attempt(_page_size, manifest.design, where)
    assets = _assets(folder, manifest, where, attempt)
    fonts = _fonts(folder, manifest, where, attempt)
    fallback = attempt(_fallback, manifest.design, fonts, where) or ()
    known = set(manifest.fields) | set(text_mod.BUILTINS)
    templates = {}
    for element in manifest.elements:
        if size:
            attempt(_check_element, element, fonts, *size, where)
        attempt(_check_colors, element, where)
        if isinstance(element, TextElement):
            compiled = attempt(_compile, element, known, where)
            if compiled:
                templates[element.id] = compiled
    messages = attempt(_emails, folder, manifest.email, known, where) if emails else {}
    letters = {
        addressee: attempt(_letter, text, known, where, addressee)
        for addressee, text in manifest.letter.model_dump().items()
    }
    if problems or size is None or messages is None:
        return None, problems
    used = {e.font for e in manifest.elements if isinstance(e, TextElement | CodeElement)}
    hash_inputs = (
        manifest_path,
        *sorted(set(assets.values())),
        *sorted({p for f in used | set(fallback) for p in fonts[f].values()}),
    )
    digest = _digest(hash_inputs)
    cover_letters = {k: v for k, v in letters.items() if v is not None}
    ready = messages if emails else None
    design = Design(
        folder,
        manifest,
        *size,
        fonts,
        fallback,
        assets,
        templates,
        digest,
        cover_letters,
        ready,
        source=source,
    )
    return design, []


def _mirrored(manifest: Manifest, width: float) -> Manifest:
    """Each element at its mirror place across the page's middle, text aligned from the
    other side: a right-to-left reader's layout."""
    flip = {"left": "right", "right": "left"}
    elements: list[Any] = []
    for element in manifest.elements:
        moved: dict[str, Any]
        if isinstance(element, LineElement):
            moved = {"x1": width - element.x1, "x2": width - element.x2}
        else:
            moved = {"x": width - element.x - element.width}
        if isinstance(element, TextElement | CodeElement):
            moved["align"] = flip.get(element.align, element.align)
        elements.append(element.model_copy(update=moved))
    return manifest.model_copy(update={"elements": elements})


def _nearest_faces(manifest: Manifest, fonts: dict[str, dict[str, Path]]) -> Manifest:
    """Each text in a face its font has: a brand font without a bold draws bold text in
    its regular face rather than refuse the run."""
    elements: list[Any] = []
    for element in manifest.elements:
        if isinstance(element, TextElement | CodeElement) and element.font in fonts:
            face = styles_mod.nearest_face(fonts[element.font], element.style)
            if face and face != element.style:
                element = element.model_copy(update={"style": face})
        elements.append(element)
    return manifest.model_copy(update={"elements": elements})


def _compile(element: TextElement, known: set[str], where: str) -> text_mod.TextTemplate:
    return text_mod.compile_text(element.text, known=known, path=where, element=element.id)


def _letter(text: str, known: set[str], where: str, addressee: str) -> text_mod.TextTemplate:
    field = f"letter.{addressee}"
    return text_mod.compile_text(
        text, known=known | set(EMAIL_NAMES), path=where, element=None, field=field
    )


def _emails(
    folder: Path, spec: EmailSpec | None, known: set[str], where: str
) -> dict[str, EmailTemplates]:
    """The messages to the recipient and to the giver: the design's, or certgen's own for
    one it does not have."""
    ours = Path(__file__).resolve().parent / "email_templates"
    pass_on = spec.pass_on if spec else None
    thanks = spec.thanks if spec else None
    thanked = known | set(THANKS_NAMES)
    return {
        "recipient": _email(folder, spec, known, where)
        if spec
        else _email(ours, DEFAULT_EMAIL, known, where),
        "giver": _email(folder, pass_on, known, where)
        if pass_on
        else _email(ours, DEFAULT_PASS_ON, known, where),
        "thanks": _email(folder, thanks, thanked, where)
        if thanks
        else _email(ours, DEFAULT_THANKS, thanked, where),
    }


def _email(folder: Path, spec: MessageSpec, known: set[str], where: str) -> EmailTemplates:
    """One message's templates, its files in ``folder``."""
    known = known | set(EMAIL_NAMES)

    def body(name: str, key: str) -> text_mod.TextTemplate:
        path = resolve_inside(folder, name, {".txt", ".html", ".htm"}, where, f"email.{key}")
        source = path.read_text(encoding="utf-8")
        html = key == "html"
        return text_mod.compile_text(
            source, known=known, path=str(path), element=None, field=None, html=html
        )

    subject = text_mod.compile_text(
        spec.subject, known=known, path=where, element=None, field="email.subject"
    )
    html = body(spec.html, "html") if spec.html else None
    return EmailTemplates(subject, body(spec.text, "text"), html)


def _read(path: Path) -> dict[str, object]:
    try:
        data = tomlfile.read(path)
    except FileNotFoundError as exc:
        raise DesignError("the design folder has no design.toml", path=str(path)) from exc
    except tomlfile.Unreadable as exc:
        raise DesignError(str(exc), path=str(path)) from None
    version = data.get("format")
    if version != FORMAT_VERSION:
        raise DesignError(
            f"format = {version!r} is not supported",
            path=str(path),
            field="format",
            hint=f"this certgen reads format = {FORMAT_VERSION}; upgrade certgen or the design",
        )
    return data


_ELEMENT_MODELS: dict[str, type[_Model]] = {
    "text": TextElement,
    "code": CodeElement,
    "qr": QrElement,
    "image": ImageElement,
    "rect": RectElement,
    "line": LineElement,
}
_SECTION_MODELS: dict[str, type[BaseModel]] = {
    "design": Page,
    "fields": FieldSpec,
    "fonts": FontFamily,
    "brand": styles_mod.Kit,
    "styles": styles_mod.Style,
}


def _duplicate_ids(manifest: Manifest, where: str) -> list[DesignError]:
    """Each element id used twice, with both places: every later check and fit error is
    named by id, so one id must name one element."""
    first: dict[str, int] = {}
    found = []
    for number, element in enumerate(manifest.elements, start=1):
        if element.id in first:
            found.append(
                DesignError(
                    f"the id '{element.id}' is given to [[elements]] {first[element.id]} and "
                    f"[[elements]] {number} (counted from the top of the file)",
                    path=where,
                    element=element.id,
                    hint="give each element an id of its own",
                )
            )
        else:
            first[element.id] = number
    return found


def _located(error: ErrorDetails, data: dict[str, object], path: str) -> DesignError:
    """One validation error, named by element id and key, with a did-you-mean."""
    loc = error["loc"]
    element = None
    model: type[BaseModel] = _SECTION_MODELS.get(str(loc[0]), Manifest)
    if len(loc) >= 2 and loc[0] == "elements" and isinstance(loc[1], int):
        raw = data.get("elements")
        if isinstance(raw, list) and loc[1] < len(raw) and isinstance(raw[loc[1]], dict):
            element = str(raw[loc[1]].get("id", f"#{loc[1] + 1}"))
        # pydantic names the element's type after its index: ("elements", 3, "text", "size")
        tagged = len(loc) > 2 and loc[2] in _ELEMENT_MODELS
        if tagged:
            model = _ELEMENT_MODELS[str(loc[2])]
        loc = loc[3:] if tagged else loc[2:]
    key = ".".join(str(part) for part in loc)
    hint = None
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
        last = str(loc[-1]) if loc else ""
        close = difflib.get_close_matches(last, list(model.model_fields), n=1)
        hint = f"did you mean '{close[0]}'?" if close else "remove it"
    return DesignError(message, path=path, element=element, field=key or None, hint=hint)


def _page_size(page: Page, where: str) -> tuple[float, float]:
    if page.page:
        try:
            return units.page_size_mm(page.page)
        except ValueError as exc:
            raise DesignError(str(exc), path=where, field="design.page") from exc
    if page.width_mm and page.height_mm:
        return page.width_mm, page.height_mm
    raise DesignError(
        "no page size", path=where, field="design.page", hint='set page = "A4-landscape"'
    )


def resolve_inside(folder: Path, name: str, suffixes: set[str], where: str, what: str) -> Path:
    """A file named in the manifest, refused unless it stays inside the design folder."""
    path = (folder / name).resolve()
    if not path.is_relative_to(folder):
        raise DesignError(
            f"{what} '{name}' is outside the design folder",
            path=where,
            hint="keep every file inside the design folder",
        )
    if path.suffix.lower() not in suffixes:
        raise DesignError(
            f"{what} '{name}' has an unsupported type",
            path=where,
            hint=f"use one of {', '.join(sorted(suffixes))}",
        )
    if not path.is_file():
        raise DesignError(f"{what} '{name}' does not exist", path=where)
    if path.stat().st_size > MAX_ASSET_BYTES:
        raise DesignError(f"{what} '{name}' is larger than 20 MiB", path=where)
    return path


Attempt = Callable[..., Any]


def _is_logo(element: object) -> bool:
    return isinstance(element, ImageElement) and element.file == LOGO


def _assets(folder: Path, manifest: Manifest, where: str, attempt: Attempt) -> dict[str, Path]:
    names = [manifest.design.background] if manifest.design.background else []
    names += [e.file for e in manifest.elements if isinstance(e, ImageElement) and not _is_logo(e)]
    found = {n: attempt(resolve_inside, folder, n, IMAGE_SUFFIXES, where, "image") for n in names}
    return {name: path for name, path in found.items() if path}


def _shared_fonts_toml() -> dict[str, Any]:
    return tomlfile.read(shared_fonts_dir() / "fonts.toml")


def _fallback(page: Page, fonts: dict[str, dict[str, Path]], where: str) -> tuple[str, ...]:
    families = page.fallback_fonts
    if families is None:
        return tuple(_shared_fonts_toml()["fallback"])
    for family in families:
        if family not in fonts:
            close = difflib.get_close_matches(family, list(fonts), n=1)
            raise DesignError(
                f"unknown fallback font '{family}'",
                path=where,
                field="design.fallback_fonts",
                hint=f"did you mean '{close[0]}'?" if close else f"known: {', '.join(fonts)}",
            )
    return families


def _shared_fonts() -> dict[str, dict[str, Path]]:
    folder = shared_fonts_dir()
    data = _shared_fonts_toml()
    families = [FontFamily.model_validate(f) for f in data["fonts"]]
    return {f.family: _styles(folder, f, str(folder / "fonts.toml"), _raise) for f in families}


def _styles(folder: Path, family: FontFamily, where: str, attempt: Attempt) -> dict[str, Path]:
    files = {style: getattr(family, style) for style in STYLES}
    found = {
        style: attempt(resolve_inside, folder, name, FONT_SUFFIXES, where, "font")
        for style, name in files.items()
        if name
    }
    return {style: path for style, path in found.items() if path}


def _raise(action: Callable[..., Any], *args: object) -> Any:
    return action(*args)


def _fonts(
    folder: Path, manifest: Manifest, where: str, attempt: Attempt
) -> dict[str, dict[str, Path]]:
    fonts = _shared_fonts()
    for family in manifest.fonts:
        fonts[family.family] = _styles(folder, family, where, attempt)
        # The design's own files are checked before anything reads them; certgen's are known.
        for path in fonts[family.family].values():
            attempt(_checked_font, path, where)
    return fonts


def _checked_font(path: Path, where: str) -> Path:
    from certgen import fontcheck  # fontTools: only a design that brings fonts pays for it

    try:
        fontcheck.check(path)
    except fontcheck.BadFont as exc:
        raise DesignError(
            f"font '{path.name}' cannot be used: {exc}",
            path=where,
            hint="export the font again, or use another TrueType (.ttf) file",
        ) from None
    return path


def _check_element(
    element: Element, fonts: dict[str, dict[str, Path]], width: float, height: float, where: str
) -> None:
    if isinstance(element, TextElement | CodeElement):
        if element.font not in fonts:
            close = difflib.get_close_matches(element.font, list(fonts), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(fonts)}"
            raise DesignError(
                f"unknown font '{element.font}'",
                path=where,
                element=element.id,
                field="font",
                hint=hint,
            )
        if element.style not in fonts[element.font]:
            raise DesignError(
                f"font '{element.font}' has no {element.style} style",
                path=where,
                element=element.id,
                field="style",
                hint=f"available: {', '.join(fonts[element.font])}",
            )
    if isinstance(element, TextElement) and element.min_size and element.min_size > element.size:
        raise DesignError(
            "min_size is larger than size", path=where, element=element.id, field="min_size"
        )
    left, top, right, bottom = _bounds(element)
    if left < 0 or top < 0 or right > width + 1e-6 or bottom > height + 1e-6:
        raise DesignError(
            f"lies outside the {width:g} x {height:g} mm page",
            path=where,
            element=element.id,
            hint="move or shrink it",
        )


def _bounds(element: Element) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) in mm."""
    if isinstance(element, LineElement):
        xs, ys = (element.x1, element.x2), (element.y1, element.y2)
        return min(xs), min(ys), max(xs), max(ys)
    return element.x, element.y, element.x + element.width, element.y + element.height


def _check_colors(element: Element, where: str) -> None:
    for key in styles_mod.COLOUR_KEYS:
        _check_color(getattr(element, key, None), where, element.id, key)


def _check_color(value: str | None, where: str, element: str | None, key: str) -> None:
    if value is None:
        return
    try:
        units.parse_color(value)
    except ValueError as exc:
        raise DesignError(str(exc), path=where, element=element, field=key) from exc


def _digest(paths: tuple[Path, ...]) -> str:
    sha = hashlib.sha256()
    for path in paths:
        sha.update(path.name.encode() + b"\0" + path.read_bytes())
    return sha.hexdigest()[:16]
