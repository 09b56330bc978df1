"""Extract the friend's page's text into certgen/locales/messages.pot, and bring each
catalogue (certgen/locales/<lang>/LC_MESSAGES/messages.po) up to date with it:

    python tools/messages.py            # then translate the new, empty entries
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent / "certgen"
LOCALES = ROOT / "locales"
# Where the public's text is: the friend's page, its frame, and the words of the states.
SOURCES = {
    "web_templates/certificate.html": "jinja2",
    "web_templates/base.html": "jinja2",
    "web.py": "python",
}
METHODS = {"jinja2": "jinja2.ext:babel_extract", "python": "python"}


def template() -> Catalog:
    pot = Catalog(project="certgen", domain="messages")
    for name, kind in SOURCES.items():
        for line, message, comments, _context in extract_from_file(
            METHODS[kind], ROOT / name, options={"extensions": "jinja2.ext.i18n"}
        ):
            pot.add(message, locations=[(name, line)], auto_comments=comments)
    return pot


def main() -> None:
    pot = template()
    with (LOCALES / "messages.pot").open("wb") as handle:
        write_po(handle, pot, omit_header=False, width=100)
    for po in sorted(LOCALES.glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.parts[-3])
        catalog.update(pot, no_fuzzy_matching=True)
        with po.open("wb") as handle:
            write_po(handle, catalog, width=100, ignore_obsolete=True)
        print(f"{po}: {sum(1 for m in catalog if m.id and not m.string)} to translate")


if __name__ == "__main__":
    main()
