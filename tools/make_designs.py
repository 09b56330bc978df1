"""Write the shipped designs drawn from shared layouts: python tools/make_designs.py

The wallet cards, postcards, DL, A5, half-letter and portrait designs are the same few
layouts at different sizes, so they are written from here rather than kept by hand in
step: each layout places its elements in proportion to the page and keeps type at sizes
that read at arm's length. Everything brand-coloured is a vector element filled by a colour's
name (no art), so a business's [brand] recolours every one. Edit a layout here and run
this again; classic, modern and compact are kept by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
INCH = 25.4


@dataclass(frozen=True)
class Sample:
    """A trade's sample copy, for a design's preview and its sample row."""

    pain: str
    offer: str
    business: str
    phone: str
    website: str
    address: str


SAMPLES = {
    "dental": Sample("Tired of a dull smile?", "A free teeth-whitening session",
                     "Bright Smile Dental", "(555) 013-4477", "brightsmile.example",
                     "88 Elm Avenue, Portland"),
    "auto": Sample("Tired of squeaky brakes?", "A free brake inspection and pad check",
                   "Riverside Auto Care", "(555) 010-2030", "riverside-auto.example",
                   "12 River Street, Springfield"),
    "salon": Sample("Tired of the same old look?", "A free cut and style consultation",
                    "Studio Nine Salon", "(555) 014-9090", "studionine.example",
                    "9 Market Square, Dayton"),
    "fitness": Sample("Tired of starting over every January?", "A free week of classes",
                      "Northside Strength", "020 7946 0111", "northside-strength.example",
                      "4 Mill Lane, Leeds"),
    "home": Sample("Tired of a leaky faucet?", "A free home plumbing check",
                   "Summit Home Services", "(555) 011-2200", "summit-home.example",
                   "300 Ridge Road, Boulder"),
    "realty": Sample("Tired of guessing what your home is worth?",
                     "A free market valuation of your home", "Keystone Realty",
                     "(555) 016-7788", "keystone-realty.example", "1 Harbor Plaza, Tampa"),
}  # fmt: skip


@dataclass
class Design:
    name: str
    title: str
    width: float
    height: float
    comment: str
    sample: Sample
    page: str | None = None  # a named size, else width_mm and height_mm
    elements: list[str] = field(default_factory=list)

    def add(self, kind: str, ident: str, comment: str = "", **keys: object) -> None:
        lines = [f"# {comment}"] if comment else []
        lines += ["[[elements]]", f'type = "{kind}"', f'id = "{ident}"']
        lines += [f"{key} = {_toml(value)}" for key, value in keys.items()]
        self.elements.append("\n".join(lines))


def _toml(value: object) -> str:
    if isinstance(value, str):
        if "\n" in value:
            return '"""' + value + '"""'
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return f"{round(value, 2):g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


LOOK = """[brand]  # the design's own kit: certgen.toml's [brand] (certgen init) takes its place
primary = "{primary}"
accent = "{accent}"
heading_font = "{heading}"
body_font = "{body}"

[colors]
ink = "#222222"
muted = "#6F6A64"
soft = "#444444"
paper = "#FFFFFF"

[styles.title]
font = "body"
face = "bold"
color = "on-primary"

[styles.heading]
font = "heading"
face = "italic"
color = "primary-text"

[styles.offer]
font = "body"
face = "bold"
color = "ink"

[styles.label]
font = "body"
color = "muted"

[styles.name]
font = "heading"
color = "ink"

[styles.strong]
font = "body"
face = "bold"
color = "ink"

[styles.body]
font = "body"
color = "soft"

[styles.highlight]
font = "body"
face = "bold"
color = "accent-text"

[styles.fine]
font = "body"
face = "italic"
color = "muted"
"""

FIELDS = """[fields.recipient]
label = "Recipient"
max_length = 60
sample = "Bob Ng"

[fields.giver]
label = "From (the referring customer)"
max_length = 60
sample = "Jane Doe"

[fields.giver_email]
type = "email"
label = "Referrer's email, for a thank-you when the gift is used (not printed)"
max_length = 254

[fields.locale]
type = "locale"
label = "The friend's language: the certificate's words and dates, the web page (es, ar ...)"
max_length = 35

[fields.pain]
label = "The pain it solves"
default = "Tired of putting it off?"
max_length = 90
sample = "{pain}"

[fields.offer]
label = "The free service offered"
default = "Your first visit is on us"
max_length = 120
sample = "{offer}"

[fields.expires]
type = "date"
label = "Valid until"
default = "+90"

[fields.business]
label = "Business name"
required = true
max_length = 80
sample = "{business}"

[fields.phone]
max_length = 40
sample = "{phone}"

[fields.website]
max_length = 60
sample = "{website}"

[fields.address]
max_length = 100
sample = "{address}"

[fields.terms]
default = "One gift per new customer. No cash value. Present this certificate or its code."
max_length = 200
"""

CONTACT = "{{ [phone, website, address] | select | join('  ·  ') }}"
# The fixed words go through _(): certgen/wording/LANG.po has them in each language.
EXPIRES = "{% if expires %}{{ _('Valid until %(date)s', date=expires | date) }}{% endif %}"
EXPIRES_2 = "{% if expires %}{{ _('Valid until\\n%(date)s', date=expires | date) }}{% endif %}"


def _steps(thing: str) -> str:
    """How to use the gift, in three lines: booking (with the contact where there is one),
    bringing the ``thing``, enjoying the offer."""
    return (
        "{% set contact = [phone, website] | select | join(' · ') %}{% if contact %}"
        "{{ _('1. Book with %(business)s: %(contact)s.', business=business, contact=contact) }}"
        "{% else %}{{ _('1. Book with %(business)s.', business=business) }}{% endif %}\n"
        f"{{{{ _('2. Bring this {thing}, or quote its code.') }}}}\n"
        "{{ _('3. Enjoy: %(offer)s.', offer=offer) }}"
    )


def _words(words: str, upper: bool = False) -> str:
    return "{{ _('" + words + "')" + (" | upper" if upper else "") + " }}"


def _pt(size: float) -> float:
    """A type size scaled with the page, never under certgen's 5 pt floor."""
    return max(5.0, size)


def card(design: Design) -> None:
    """A wallet card: the gift and its QR code on the front, how to use it on the back."""
    w, h = design.width, design.height
    qr = min(h * 0.45, 24.0)
    right = w - 4 - qr
    text_w = right - 9 - 3
    design.add(
        "rect",
        "band",
        "The band down the left edge, in the brand's colour.",
        x=0,
        y=0,
        width=3.5,
        height=h,
        fill="primary",
    )
    design.add("rect", "accent-rule", x=3.5, y=0, width=0.8, height=h, fill="accent")
    design.add(
        "text",
        "title",
        style="highlight",
        x=7,
        y=3.2,
        width=text_w,
        height=4.3,
        text=_words("A gift for you", upper=True),
        size=6.5,
        min_size=5,
    )
    design.add(
        "text",
        "pain",
        style="heading",
        x=7,
        y=7.5,
        width=text_w,
        height=7,
        text="{{ pain }}",
        size=9,
        min_size=6,
        max_lines=2,
        line_height=1.05,
        valign="top",
    )
    design.add(
        "text",
        "offer",
        style="offer",
        x=7,
        y=15,
        width=text_w,
        height=8,
        text="{{ offer }}",
        size=9.5,
        min_size=6,
        max_lines=2,
        line_height=1.05,
        valign="top",
    )
    names_y = h * 0.46
    design.add(
        "text",
        "for-label",
        style="label",
        x=7,
        y=names_y,
        width=9,
        height=8.5,
        text=_words("For"),
        size=6.5,
        min_size=5,
        max_lines=2,
        line_height=1.0,
    )
    design.add(
        "text",
        "recipient",
        "A long real name wraps (four lines at 5 pt for 60 "
        "CJK characters) rather than stop a mailing.",
        style="name",
        x=16,
        y=names_y,
        width=text_w - 9,
        height=8.5,
        text="{{ recipient }}",
        size=10,
        min_size=5,
        max_lines=4,
        line_height=1.0,
        blank="line",
    )
    design.add(
        "text",
        "from-label",
        style="label",
        x=7,
        y=names_y + 9,
        width=9,
        height=8.5,
        text=_words("From"),
        size=6.5,
        min_size=5,
        max_lines=2,
        line_height=1.0,
    )
    design.add(
        "text",
        "giver",
        style="name",
        x=16,
        y=names_y + 9,
        width=text_w - 9,
        height=8.5,
        text="{{ giver }}",
        size=10,
        min_size=5,
        max_lines=4,
        line_height=1.0,
        blank="line",
    )
    design.add(
        "text",
        "business",
        style="strong",
        x=7,
        y=h - 7.5,
        width=text_w,
        height=4.5,
        text="{{ business }}",
        size=7.5,
        min_size=5,
    )
    design.add("rect", "qr-card", x=right - 1, y=3, width=qr + 2, height=qr + 2, fill="paper")
    design.add("qr", "qr", x=right, y=4, size=qr)
    design.add(
        "code",
        "code",
        style="strong",
        x=w - 3.5 - (qr + 4),
        y=qr + 6.5,
        width=qr + 4,
        height=4,
        size=5,
        align="center",
    )
    design.add(
        "text",
        "scan-hint",
        style="label",
        x=right - 1,
        y=qr + 10.5,
        width=qr + 2,
        height=4.3,
        text=_words("Scan or quote to redeem"),
        size=5,
        align="center",
    )
    design.add(
        "image",
        "logo",
        "The business's logo (certgen init --logo), left out where it has none.",
        file="@logo",
        x=right - 1,
        y=h - 9.5,
        width=qr + 2,
        height=6.5,
    )
    _card_back(design)


def _card_back(design: Design) -> None:
    w, h = design.width, design.height
    design.add(
        "rect",
        "back-band",
        "The back, printed with issue --duplex.",
        side="back",
        x=0,
        y=0,
        width=w,
        height=3,
        fill="primary",
    )
    design.add(
        "text",
        "back-title",
        side="back",
        style="highlight",
        x=5,
        y=6,
        width=w - 10,
        height=5,
        text=_words("How to use your gift"),
        size=8.5,
        min_size=6,
    )
    design.add(
        "text",
        "back-steps",
        side="back",
        style="body",
        x=5,
        y=12,
        width=w - 10,
        height=h * 0.42,
        text=_steps("card"),
        size=6.5,
        min_size=5,
        max_lines=6,
        line_height=1.2,
        valign="top",
    )
    design.add(
        "text",
        "back-expires",
        side="back",
        style="highlight",
        x=5,
        y=h - 17,
        width=w - 10,
        height=4,
        text=EXPIRES,
        size=6.5,
        min_size=5,
    )
    design.add(
        "text",
        "back-terms",
        side="back",
        style="fine",
        x=5,
        y=h - 12.5,
        width=w - 10,
        height=8,
        text="{{ terms }}",
        size=5.5,
        min_size=5,
        max_lines=3,
        line_height=1.1,
        valign="top",
    )


def landscape(design: Design) -> None:
    """A half-letter, A5 or DL certificate: a band across the top, the gift on the left,
    the QR code on the right."""
    w, h = design.width, design.height
    k = h / 140  # type scales with the page's height
    band = max(12.0, h * 0.13)
    margin = max(8.0, w * 0.05)
    qr = min(h * 0.34, 44.0)
    column = w - margin - qr - 4
    text_w = column - margin - 6
    design.add(
        "rect",
        "band",
        "The band across the top, in the brand's colour.",
        x=0,
        y=0,
        width=w,
        height=band,
        fill="primary",
    )
    inset = max(3.5, band * 0.2)  # text stays 3 mm inside the trim
    design.add(
        "text",
        "title",
        style="title",
        x=margin,
        y=inset,
        width=w * 0.6,
        height=band - 2 * inset,
        text=_words("Gift Certificate", upper=True),
        size=max(10.0, 15 * k),
        min_size=7,
    )
    design.add("rect", "accent-rule", x=0, y=band, width=w, height=1.2, fill="accent")
    y = band + 6 * k + 2
    design.add(
        "text",
        "pain",
        style="heading",
        x=margin,
        y=y,
        width=text_w,
        height=14 * k,
        text="{{ pain }}",
        size=_pt(20 * k),
        min_size=9,
        max_lines=2,
        line_height=1.05,
    )
    y += 15 * k
    design.add(
        "text",
        "offer",
        style="offer",
        x=margin,
        y=y,
        width=text_w,
        height=18 * k,
        text="{{ offer }}",
        size=_pt(17 * k),
        min_size=8,
        max_lines=2,
        line_height=1.1,
    )
    y += 22 * k
    label = 40 * k if k >= 0.9 else 30 * k
    for ident, words, person in (
        ("for-label", "For", "recipient"),
        ("from-label", "This gift is for you from", "giver"),
    ):
        design.add(
            "text",
            ident,
            style="label",
            x=margin,
            y=y,
            width=label,
            height=9 * k,
            text=_words(words),
            size=_pt(9 * k) if k >= 0.9 else 7,
            min_size=5,
            max_lines=2,
            line_height=1.0,
            align="right",
        )
        design.add(
            "text",
            person,
            "A long real name wraps rather than stop a mailing." if person == "recipient" else "",
            style="name",
            x=margin + label + 3,
            y=y,
            width=text_w - label - 3,
            height=max(9 * k, 8.0),
            text="{{ " + person + " }}",
            size=_pt(16 * k),
            min_size=6,
            max_lines=3,
            line_height=1.0,
            blank="line",
        )
        y += 11 * k
    foot = h - 27 * k
    design.add(
        "text",
        "business",
        style="strong",
        x=margin,
        y=foot,
        width=text_w,
        height=6 * k,
        text="{{ business }}",
        size=_pt(12 * k),
        min_size=7,
    )
    design.add(
        "text",
        "contact",
        style="body",
        x=margin,
        y=foot + 7 * k,
        width=text_w,
        height=5 * k,
        text=CONTACT,
        size=_pt(8.5 * k),
        min_size=5.5,
    )
    design.add(
        "text",
        "terms",
        style="fine",
        x=margin,
        y=foot + 13 * k,
        width=text_w,
        height=8 * k,
        text="{{ terms }}",
        size=_pt(7 * k),
        min_size=5,
        max_lines=2,
        valign="top",
    )
    top = band + (h - band - qr - 30 * k) / 2
    design.add(
        "rect",
        "qr-card",
        x=column,
        y=top - 2,
        width=qr + 4,
        height=qr + 4,
        fill="paper",
        stroke="accent",
        stroke_width=0.75,
        radius=2,
    )
    design.add("qr", "qr", x=column + 2, y=top, size=qr)
    design.add(
        "code",
        "code",
        style="strong",
        x=column - 4,
        y=top + qr + 4,
        width=qr + 12,
        height=6 * k,
        size=_pt(9 * k),
        align="center",
    )
    design.add(
        "text",
        "scan-hint",
        style="label",
        x=column - 4,
        y=top + qr + 4 + 6 * k,
        width=qr + 12,
        height=max(4 * k, 4.3),
        text=_words("Scan or quote this code to redeem"),
        size=_pt(6.5 * k),
        min_size=5,
        align="center",
    )
    design.add(
        "text",
        "expires",
        style="highlight",
        x=column - 4,
        y=top + qr + 5 + 11 * k,
        width=qr + 12,
        height=max(9 * k, 8.5),
        text=EXPIRES_2,
        size=_pt(9 * k),
        min_size=5,
        max_lines=2,
        align="center",
    )
    design.add(
        "image",
        "logo",
        "The business's logo (certgen init --logo), left out where it has none.",
        file="@logo",
        x=w - margin - 40 * k,
        y=band * 0.15,
        width=40 * k,
        height=band * 0.7,
    )


def portrait(design: Design) -> None:
    """A Letter or A4 portrait certificate: a tall header band, the gift centred, the QR
    code above the business's details."""
    w, h = design.width, design.height
    margin = 20.0
    inner = w - 2 * margin
    design.add(
        "rect",
        "band",
        "The header band, in the brand's colour.",
        x=0,
        y=0,
        width=w,
        height=62,
        fill="primary",
    )
    design.add("rect", "accent-rule", x=0, y=62, width=w, height=2, fill="accent")
    design.add(
        "text",
        "title",
        style="title",
        x=margin,
        y=16,
        width=inner,
        height=16,
        text=_words("Gift Certificate"),
        size=34,
        min_size=18,
        align="center",
    )
    design.add(
        "text",
        "subtitle",
        style="title",
        x=margin,
        y=34,
        width=inner,
        height=8,
        text=_words("A gift for you, from someone who knows us"),
        size=12,
        min_size=8,
        align="center",
    )
    design.add(
        "image",
        "logo",
        "The business's logo (certgen init --logo), left out where it has none.",
        file="@logo",
        x=w / 2 - 25,
        y=44,
        width=50,
        height=14,
    )
    spare = (h - 279.4) / 3  # an A4 page's extra height, shared between the blocks
    design.add(
        "text",
        "pain",
        style="heading",
        x=margin,
        y=72 + spare,
        width=inner,
        height=22,
        text="{{ pain }}",
        size=26,
        min_size=12,
        max_lines=2,
        line_height=1.05,
        align="center",
    )
    design.add(
        "text",
        "offer",
        style="offer",
        x=margin,
        y=96 + spare,
        width=inner,
        height=24,
        text="{{ offer }}",
        size=22,
        min_size=11,
        max_lines=2,
        line_height=1.1,
        align="center",
    )
    design.add(
        "line",
        "divider",
        x1=w / 2 - 30,
        y1=126 + spare,
        x2=w / 2 + 30,
        y2=126 + spare,
        color="accent",
        width=1.5,
    )
    for n, (ident, words, person) in enumerate(
        (("for-label", "For", "recipient"), ("from-label", "This gift is for you from", "giver"))
    ):
        y = 132 + spare + n * 24
        design.add(
            "text",
            ident,
            style="label",
            x=margin,
            y=y,
            width=inner,
            height=6,
            text=_words(words),
            size=10,
            min_size=7,
            align="center",
        )
        design.add(
            "text",
            person,
            "A long real name wraps rather than stop a mailing." if n == 0 else "",
            style="name",
            x=margin,
            y=y + 6,
            width=inner,
            height=14,
            text="{{ " + person + " }}",
            size=22,
            min_size=10,
            max_lines=2,
            line_height=1.0,
            align="center",
            blank="line",
        )
    qr = 40.0
    top = 184 + 2 * spare
    design.add(
        "rect",
        "qr-card",
        x=w / 2 - qr / 2 - 2,
        y=top - 2,
        width=qr + 4,
        height=qr + 4,
        fill="paper",
        stroke="accent",
        stroke_width=0.75,
        radius=2,
    )
    design.add("qr", "qr", x=w / 2 - qr / 2, y=top, size=qr)
    design.add(
        "code",
        "code",
        style="strong",
        x=margin,
        y=top + qr + 4,
        width=inner,
        height=6,
        size=11,
        align="center",
    )
    design.add(
        "text",
        "scan-hint",
        style="label",
        x=margin,
        y=top + qr + 10,
        width=inner,
        height=5.5,
        text=_words("Scan or quote this code to redeem"),
        size=8,
        min_size=5,
        align="center",
    )
    design.add(
        "text",
        "expires",
        style="highlight",
        x=margin,
        y=top + qr + 16,
        width=inner,
        height=7,
        text=EXPIRES,
        size=10,
        min_size=5,
        align="center",
    )
    design.add(
        "text",
        "business",
        style="strong",
        x=margin,
        y=h - 30,
        width=inner,
        height=8,
        text="{{ business }}",
        size=14,
        min_size=8,
        align="center",
    )
    design.add(
        "text",
        "contact",
        style="body",
        x=margin,
        y=h - 22,
        width=inner,
        height=6,
        text=CONTACT,
        size=9.5,
        min_size=6,
        align="center",
    )
    design.add(
        "text",
        "terms",
        style="fine",
        x=margin,
        y=h - 15,
        width=inner,
        height=9,
        text="{{ terms }}",
        size=7.5,
        min_size=5.5,
        max_lines=2,
        align="center",
        valign="top",
    )


def postcard(design: Design) -> None:
    """A postcard: the gift on the front; the back is the address side, for mailing it
    with a stamp (or a permit imprint) to the friend."""
    landscape(design)
    w, h = design.width, design.height
    half = w * 0.52
    design.add(
        "text",
        "back-title",
        "The address side, printed with issue --duplex: the "
        "message on the left, the address on the right.",
        side="back",
        style="highlight",
        x=6,
        y=7,
        width=half - 12,
        height=6,
        text=_words("How to use your gift"),
        size=10,
        min_size=7,
    )
    design.add(
        "text",
        "back-steps",
        side="back",
        style="body",
        x=6,
        y=15,
        width=half - 12,
        height=h * 0.4,
        text=_steps("postcard"),
        size=8,
        min_size=6,
        max_lines=7,
        line_height=1.25,
        valign="top",
    )
    design.add(
        "code",
        "back-code",
        side="back",
        style="strong",
        x=6,
        y=h * 0.4 + 17,
        width=half - 12,
        height=5,
        size=8.5,
    )
    design.add(
        "text",
        "back-terms",
        side="back",
        style="fine",
        x=6,
        y=h - 22,
        width=half - 12,
        height=16,
        text="{{ terms }}{% if expires %} "
        "{{ _('Valid until %(date)s', date=expires | date) }}.{% endif %}",
        size=6.5,
        min_size=5,
        max_lines=4,
        valign="top",
    )
    design.add(
        "line",
        "back-divider",
        side="back",
        x1=half,
        y1=8,
        x2=half,
        y2=h - 8,
        color="muted",
        width=0.5,
    )
    design.add(
        "rect",
        "postage",
        side="back",
        x=w - 26,
        y=6,
        width=20,
        height=24,
        stroke="muted",
        stroke_width=0.5,
    )
    design.add(
        "text",
        "postage-note",
        side="back",
        style="label",
        x=w - 25,
        y=12,
        width=18,
        height=12,
        text=_words("Place stamp here"),
        size=6.5,
        min_size=5,
        max_lines=3,
        align="center",
    )
    design.add(
        "text",
        "back-recipient",
        "The friend's name and address (the list's street, city, region and postal_code columns).",
        side="back",
        style="name",
        x=half + 6,
        y=h * 0.45,
        width=w - half - 12,
        height=8,
        text="{{ recipient }}",
        size=10,
        min_size=6,
        max_lines=3,
        line_height=1.0,
        blank="line",
    )
    design.add(
        "text",
        "back-address",
        side="back",
        style="body",
        x=half + 6,
        y=h * 0.45 + 9,
        width=w - half - 12,
        height=20,
        text=ADDRESS,
        size=9,
        min_size=6,
        max_lines=4,
        line_height=1.15,
        valign="top",
    )


ADDRESS = (
    "{{ street }}{% if street2 %}\n{{ street2 }}{% endif %}\n{{ [city, region] | select | "
    "join(', ') }} {{ postal_code }}{% if country %}\n{{ country }}{% endif %}"
)
ADDRESS_FIELDS = """
[fields.street]
label = "Street address (the postcard's address side)"
max_length = 100
aliases = ["address1", "address_1", "address_line_1", "street_address", "street1"]
sample = "17 Oak Street"

[fields.street2]
label = "Second address line"
max_length = 100
aliases = ["address2", "address_2", "address_line_2", "apartment", "suite"]

[fields.city]
max_length = 60
aliases = ["town", "locality"]
sample = "Springfield"

[fields.region]
label = "State, province or region"
max_length = 40
aliases = ["state", "province", "county"]
sample = "IL"

[fields.postal_code]
max_length = 20
aliases = ["zip", "zip_code", "zipcode", "postcode", "postal", "plz"]
sample = "62704"

[fields.country]
max_length = 60
"""

# (name, title, layout, page or (width, height), trade, colours, fonts, comment)
DESIGNS = [
    ("wallet", "Wallet card, 3.5 x 2 in", card, (3.5 * INCH, 2 * INCH), "salon",
     ("#7C3A8C", "#C2185B"), ("Lato", "Lato"),
     "A wallet card to hand over at the counter, 3.5 x 2 in: 10 to a business-card sheet "
     "(issue --sheet business-cards-letter), a back with how to use it (--duplex)."),
    ("wallet-eu", "Wallet card, 85 x 55 mm", card, (85.0, 55.0), "fitness",
     ("#0F5B78", "#E07A1F"), ("Lato", "Lato"),
     "A wallet card, 85 x 55 mm: 10 to an A4 business-card sheet "
     "(issue --sheet business-cards-a4-85x55), a back with how to use it (--duplex)."),
    ("postcard", "Postcard, 6 x 4 in", postcard, (6 * INCH, 4 * INCH), "home",
     ("#1F5F8B", "#E0A100"), ("Noto Serif", "Noto Sans"),
     "A postcard, 6 x 4 in: the gift on the front, the address side on the back (--duplex), "
     "2 to a Letter sheet (--sheet postcards-letter-2up)."),
    ("postcard-a6", "Postcard, A6", postcard, "A6-landscape", "dental",
     ("#00796B", "#F4A300"), ("Noto Serif", "Noto Sans"),
     "A postcard, A6 (148 x 105 mm): the gift on the front, the address side on the back "
     "(--duplex)."),
    ("dl", "DL certificate, 210 x 99 mm", landscape, (210.0, 99.0), "auto",
     ("#B3261E", "#37474F"), ("Noto Sans", "Noto Sans"),
     "A DL certificate, 210 x 99 mm: fits a DL envelope, 3 to an A4 sheet "
     "(--sheet a4-third)."),
    ("a5", "A5 certificate", landscape, "A5-landscape", "realty",
     ("#1B4332", "#B08D3C"), ("EB Garamond", "Noto Serif"),
     "An A5 certificate (210 x 148 mm), landscape: 2 to a perforated A4 sheet "
     "(--sheet a4-half)."),
    ("half-letter", "Half-letter certificate", landscape, (8.5 * INCH, 5.5 * INCH), "fitness",
     ("#283593", "#FF7043"), ("Lato", "Lato"),
     "A half-letter certificate (8.5 x 5.5 in), landscape: 2 to a perforated Letter sheet "
     "(--sheet letter-half)."),
    ("letter-portrait", "Letter certificate, portrait", portrait, "Letter", "realty",
     ("#0D3B66", "#C9A227"), ("EB Garamond", "Noto Sans"),
     "A full-page certificate, US Letter portrait."),
    ("a4-portrait", "A4 certificate, portrait", portrait, "A4", "dental",
     ("#2E5E4E", "#D98E04"), ("Noto Serif", "Noto Sans"),
     "A full-page certificate, A4 portrait."),
]  # fmt: skip


def write(entry: tuple) -> None:  # type: ignore[type-arg]
    name, title, layout, size, trade, (primary, accent), (heading, body), comment = entry
    sample = SAMPLES[trade]
    from certgen import units  # the named sizes, as the design will read them

    width, height = units.page_size_mm(size) if isinstance(size, str) else size
    design = Design(name, title, width, height, comment, sample,
                    page=size if isinstance(size, str) else None)  # fmt: skip
    layout(design)
    page = f'page = "{size}"' if isinstance(size, str) else (
        f"width_mm = {round(width, 2):g}\nheight_mm = {round(height, 2):g}"
    )  # fmt: skip
    fields = FIELDS.format(**vars(sample)) + (ADDRESS_FIELDS if layout is postcard else "")
    text = "\n".join([
        f"# {comment}",
        "# Written by tools/make_designs.py from its shared layouts; run it again after editing.",
        "# Coordinates are millimetres from the top-left corner of the page.",
        "format = 1",
        "",
        "[design]",
        f'name = "{name}"',
        f'title = "{title}"',
        page,
        "",
        LOOK.format(primary=primary, accent=accent, heading=heading, body=body),
        fields,
        "\n\n".join(design.elements),
        "",
    ])  # fmt: skip
    folder = TEMPLATES / name
    folder.mkdir(exist_ok=True)
    (folder / "design.toml").write_text(text, encoding="utf-8")
    header = "recipient,giver,pain,offer,business,phone,website,address"
    row = ",".join(
        f'"{v}"' if "," in v else v
        for v in ("Bob Ng", "Jane Doe", sample.pain, sample.offer, sample.business,
                  sample.phone, sample.website, sample.address)
    )  # fmt: skip
    (folder / "preview.csv").write_text(f"{header}\n{row}\n", encoding="utf-8")


if __name__ == "__main__":
    for entry in DESIGNS:
        write(entry)
