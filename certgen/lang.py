"""A certificate in the customer's language: the fixed words of a design's texts through
message catalogues (``certgen/wording/LANG.po``, gettext files read with Babel), and dates
and money in the locale's own way (Babel, from CLDR).

A design writes its fixed words as ``{{ _("For") }}`` or, with values,
``{{ _("Valid until %(date)s", date=expires | date) }}``; English is the source text. The
language is the row's ``locale`` field where the design has one and the row filled it,
else the run's (``--locale``), else English. A language with no catalogue prints English
words, its dates and money still in its own way. Babel is imported only for a language
other than English, so an English run never pays for it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

WORDING = Path(__file__).with_name("wording")
ENGLISH = "en"
RTL = frozenset({"ar", "he", "fa", "ur", "yi"})  # written right to left


def language(locale: str | None) -> str:
    """The language of a locale name as people write it ("es_MX", "pt-BR", "de"): "es"."""
    name = (locale or "").strip().replace("-", "_")
    return name.split("_", 1)[0].lower() or ENGLISH


def languages() -> tuple[str, ...]:
    """The languages with a catalogue, English first (its source)."""
    return (ENGLISH, *sorted(p.stem for p in WORDING.glob("*.po")))


def right_to_left(locale: str | None) -> bool:
    return language(locale) in RTL


def translate(locale: str | None, message: str, values: Mapping[str, Any]) -> str:
    """``message`` in the locale's language, its ``%(name)s`` places filled from ``values``."""
    found = _catalogue(language(locale)).get(message) or message
    try:
        return found % dict(values) if values or "%(" in found else found
    except (KeyError, ValueError, TypeError):
        raise ValueError(f"_('{message[:40]}') needs its values: {', '.join(values)}") from None


@functools.cache
def _catalogue(name: str) -> dict[str, str]:
    """Message -> translation for a language, read once a process; empty for English or a
    language without a catalogue (and for an entry not yet translated)."""
    po = WORDING / f"{name}.po"
    if name == ENGLISH or not po.is_file():
        return {}
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalogue = read_po(handle, locale=name)
    return {
        str(m.id): str(m.string)
        for m in catalogue
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


def long_date(day: dt.date, locale: str | None) -> str:
    """English as certgen has always written it (31 March 2027); other locales in CLDR's
    long form (31 de marzo de 2027, 31. März 2027, 2027年3月31日)."""
    if language(locale) == ENGLISH:
        return f"{day.day} {day:%B %Y}"
    from babel.dates import format_date

    return str(format_date(day, format="long", locale=_babel_name(locale)))


def money(amount: Decimal, currency: str, locale: str | None) -> str:
    """An amount as the locale writes it: an ISO code (EUR, JPY) through CLDR's currency
    formats; a symbol ("$") before the locale's own digits and marks."""
    if language(locale) == ENGLISH and not _is_code(currency):
        text = f"{amount:,.2f}".removesuffix(".00")
        return f"{currency}{text}"
    from babel.numbers import format_currency, format_decimal

    name = _babel_name(locale)
    if _is_code(currency):
        return str(format_currency(amount, currency.upper(), locale=name))
    whole = amount == amount.to_integral_value()
    digits = format_decimal(amount, format="#,##0" if whole else "#,##0.00", locale=name)
    return f"{currency}{digits}"


def _is_code(currency: str) -> bool:
    return len(currency) == 3 and currency.isalpha()


def _babel_name(locale: str | None) -> str:
    """The locale as Babel names it, or its language where Babel does not know it."""
    import babel

    name = (locale or ENGLISH).strip().replace("-", "_")
    try:
        return str(babel.Locale.parse(name))
    except (ValueError, babel.UnknownLocaleError):
        return language(locale)
