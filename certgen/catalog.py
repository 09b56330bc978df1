"""The friend's page in the certificate's language: message catalogues (gettext .po files in
``certgen/locales``, read with Babel) and dates in that locale's words.

English is the source text. A certificate's locale is its ``locale`` field when the design
has one and the row (or ``--set locale=...``) filled it, else the shop's ``locale`` setting;
a language with no catalogue here is shown in English, its dates still in its own words.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from pathlib import Path

import babel
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from certgen import text as text_mod

LOCALES = Path(__file__).with_name("locales")
DOMAIN = "messages"


def languages() -> tuple[str, ...]:
    """The languages with a catalogue, besides English."""
    return tuple(sorted(p.name for p in LOCALES.iterdir() if (p / "LC_MESSAGES").is_dir()))


def page_locale(wanted: str | None, shop: str) -> babel.Locale:
    """The certificate's locale if it names one Babel knows ("es", "fr-CA", "de_AT"), else
    the shop's."""
    for name in (wanted, shop):
        if name and name.strip():
            try:
                return babel.Locale.parse(name.strip().replace("-", "_"))
            except (ValueError, babel.UnknownLocaleError):
                continue
    return babel.Locale("en")


@functools.cache
def translations(language: str) -> NullTranslations:
    """The catalogue for ``language`` ("es"), compiled once per process from its .po file;
    English, or a language with no catalogue, gets the source text."""
    po = LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == "en" or not po.is_file():
        return NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def long_date(day: dt.date | str, locale: babel.Locale) -> str:
    """A date in words as the page's language writes it: English as the certificates print
    it ("3 March 2027"), others in their CLDR long form ("3 de marzo de 2027")."""
    if locale.language == "en":
        return text_mod.date(day)
    value = day if isinstance(day, dt.date) else dt.date.fromisoformat(day)
    return format_date(value, "long", locale=locale)
