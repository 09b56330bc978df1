"""Real customer lists in, the right certificate out: each shipped profile's export, with its
real header row, in every encoding and separator spreadsheets write and as workbooks, read
through the CLI and checked on the printed page."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableCell, TableRow
from odf.text import P

from certgen import profiles
from tests.helpers import Word, inside, load, words
from tests.test_cli import invoke

CONFIG = """\
[defaults]
business = "Riverside Auto Care"
phone = "(555) 010-2030"
website = "riverside-auto.example"
address = "12 River Street, Springfield"
"""
CONTACT = "(555) 010-2030 · riverside-auto.example · 12 River Street, Springfield"
CLASSIC = load("classic")


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    email: str
    phone: str
    street: str
    street2: str
    city: str
    region: str
    zip: str
    country: str
    note: str = ""

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first, self.last) if part)


PEOPLE = [
    Person(
        "Jane",
        "Doe",
        "jane@example.com",
        "0161 496 0000",
        "12 Oak St",
        "",
        "Boston",
        "MA",
        "02134",
        "US",
        'Likes "brakes", and tyres',
    ),
    Person(
        "Seán",
        "O'Brien",
        "sean@example.ie",
        "",
        "4 Main St, Apt 2",
        "Unit 5",
        "Dublin",
        "",
        "D02 X285",
        "IE",
    ),
    Person(
        "Renée",
        "Müller",
        "renee@example.de",
        "+49 30 1234567",
        "Hauptstraße 1",
        "",
        "Berlin",
        "BE",
        "01067",
        "DE",
        "Zahlt; bar",
    ),
    Person(
        "Prince",
        "",
        "prince@example.com",
        "",
        "1 Paisley Park",
        "",
        "Chanhassen",
        "MN",
        "05501",
        "US",
    ),
    Person("Νίκος", "Γεωργίου", "nikos@example.gr", "", "Odos 5", "", "Athens", "", "10558", "GR"),
    Person(
        "Анна", "Смирнова", "anna@example.ru", "", "ul. Lenina 9", "", "Moscow", "", "101000", "RU"
    ),
    Person("太郎", "山田", "taro@example.jp", "", "1-2-3 Ginza", "", "Tokyo", "", "0010001", "JP"),
]
LATIN = PEOPLE[:4]  # what Windows-1252 can hold

# The semantic value each real export column holds, per profile (from the tools' own
# exports, independent of how the profiles map them).
COLUMNS: dict[str, dict[str, Callable[[Person], str]]] = {
    "shopify": {
        "Customer ID": lambda p: str(7000 + len(p.email)),
        "First Name": lambda p: p.first,
        "Last Name": lambda p: p.last,
        "Email": lambda p: p.email,
        "Default Address Address1": lambda p: p.street,
        "Default Address Address2": lambda p: p.street2,
        "Default Address City": lambda p: p.city,
        "Default Address Province Code": lambda p: p.region,
        "Default Address Country Code": lambda p: p.country,
        # Shopify's text marker, which keeps a spreadsheet from dropping leading zeros
        "Default Address Zip": lambda p: f"'{p.zip}" if p.zip[0].isdigit() else p.zip,
        "Default Address Phone": lambda p: p.phone,
        "Phone": lambda p: p.phone,
        "Note": lambda p: p.note,
        "Total Spent": lambda p: "120.50",
    },
    "mailchimp": {
        "Email Address": lambda p: p.email,
        "First Name": lambda p: p.first,
        "Last Name": lambda p: p.last,
        "Address": lambda p: f"{p.street}  {p.city}  {p.region}  {p.zip}  {p.country}",
        "Phone Number": lambda p: p.phone,
        "NOTES": lambda p: p.note,
    },
    "hubspot": {
        "Record ID": lambda p: str(51000 + len(p.first)),
        "First Name": lambda p: p.first,
        "Last Name": lambda p: p.last,
        "Email": lambda p: p.email,
        "Phone Number": lambda p: p.phone,
        "Street Address": lambda p: p.street,
        "City": lambda p: p.city,
        "State/Region": lambda p: p.region,
        "Postal Code": lambda p: p.zip,
        "Country/Region": lambda p: p.country,
        "Create Date": lambda p: "2026-03-05 10:22",
    },
    "square": {
        "First Name": lambda p: p.first,
        "Surname": lambda p: p.last,
        "Email Address": lambda p: p.email,
        "Phone Number": lambda p: p.phone,
        "Street Address 1": lambda p: p.street,
        "Street Address 2": lambda p: p.street2,
        "City": lambda p: p.city,
        "State": lambda p: p.region,
        "Postal Code": lambda p: p.zip,
        "Memo": lambda p: p.note,
        "Square Customer ID": lambda p: f"SQ{len(p.email)}",
    },
    "google-contacts": {
        "First Name": lambda p: p.first,
        "Middle Name": lambda p: "",
        "Last Name": lambda p: p.last,
        "Notes": lambda p: p.note,
        "E-mail 1 - Label": lambda p: "* Home",
        "E-mail 1 - Value": lambda p: f"{p.email} ::: {p.first.lower()}@work.example",
        "Phone 1 - Value": lambda p: p.phone,
        "Address 1 - Street": lambda p: p.street,
        "Address 1 - City": lambda p: p.city,
        "Address 1 - Region": lambda p: p.region,
        "Address 1 - Postal Code": lambda p: p.zip,
        "Address 1 - Country": lambda p: p.country,
        "Address 1 - Extended Address": lambda p: p.street2,
    },
}


def export(profile: str, people: Sequence[Person]) -> tuple[list[str], list[list[str]]]:
    """The profile's real header row, each cell filled where we know its meaning."""
    headers = list(profiles.find(profile, Path("/nonexistent")).profile.headers)
    known = COLUMNS[profile]
    assert set(known) <= set(headers), set(known) - set(headers)
    rows = [[known[h](p) if h in known else "" for h in headers] for p in people]
    return headers, rows


def write_csv(path: Path, headers: list[str], rows: list[list[str]], kind: str) -> Path:
    delimiter = {"semicolon": ";", "utf-16-le": "\t", "utf-16-be": "\t"}.get(kind, ",")
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows([headers, *rows])
    text = buffer.getvalue()
    data = {
        "utf-8": lambda: text.encode("utf-8"),
        "utf-8-bom": lambda: codecs.BOM_UTF8 + text.encode("utf-8"),
        "cp1252": lambda: text.encode("cp1252"),
        "utf-16-le": lambda: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        "utf-16-be": lambda: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
        "semicolon": lambda: codecs.BOM_UTF8 + text.encode("utf-8"),
    }[kind]()
    path.write_bytes(data)
    return path


def write_xlsx(path: Path, headers: list[str], rows: list[list[str]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Customers"
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def write_ods(path: Path, headers: list[str], rows: list[list[object]]) -> Path:
    doc = OpenDocumentSpreadsheet()
    table = Table(name="Export")
    for values in [headers, *rows]:
        row = TableRow()
        for value in values:
            if isinstance(value, int | float):
                cell = TableCell(valuetype="float", value=value)
            else:
                cell = TableCell(valuetype="string")
            cell.addElement(P(text=str(value)))
            row.addElement(cell)
        table.addElement(row)
    doc.spreadsheet.addElement(table)
    doc.save(str(path))
    return path


def element_text(pdf: Path | list[Word], page: int, element_id: str) -> str:
    """The words inside an element's box on a page (``pdf``'s, or those already read)."""
    element = next(e for e in CLASSIC.manifest.elements if getattr(e, "id", "") == element_id)
    box = (element.x, element.y, element.width, element.height)  # type: ignore[union-attr]
    found = words(pdf, page) if isinstance(pdf, Path) else pdf
    return " ".join(w.text for w in found if inside(w, box))


def records(env: Path, name: str = "ledger.db") -> list[dict[str, object]]:
    engine = sa.create_engine(f"sqlite:///{env / name}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT data_json, giver FROM certificates ORDER BY page"))
        found = [{**json.loads(data), "_giver": giver} for data, giver in rows]
    engine.dispose()
    return found


def issue(*args: str) -> tuple[int, str, str]:
    Path("certgen.toml").write_text(CONFIG)
    return invoke("issue", *args, "-d", "classic", "-j", "1")


KINDS = ["utf-8", "utf-8-bom", "cp1252", "utf-16-le", "utf-16-be", "semicolon", "xlsx"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("profile", sorted(COLUMNS))
def test_every_profile_in_every_encoding_prints_the_customer_and_the_business(
    env: Path, profile: str, kind: str
) -> None:
    people = LATIN if kind == "cp1252" else PEOPLE
    headers, rows = export(profile, people)
    source = Path(f"export.{'xlsx' if kind == 'xlsx' else 'csv'}")
    if kind == "xlsx":
        write_xlsx(source, headers, rows)
    else:
        write_csv(source, headers, rows, kind)
    code, out, err = issue(str(source), "--profile", profile, "-o", "out.pdf")
    assert code == 0, err
    assert f"Issued {len(people)} certificates" in out
    pdf = Path("out.pdf")
    for page, person in enumerate(people):
        # A customer list: the customer gives the gift; the friend's line is left blank.
        shown = words(pdf, page)  # read once: classic's vector art takes a while to parse
        assert element_text(shown, page, "giver") == person.name
        assert element_text(shown, page, "recipient") == ""
        assert element_text(shown, page, "contact") == CONTACT
    recorded = records(env)
    assert [r["giver_email"] for r in recorded] == [p.email for p in people]
    assert [r["_giver"] for r in recorded] == [p.name for p in people]
    assert [r.get("postal_code", "") for r in recorded] == [
        "" if profile == "mailchimp" else p.zip for p in people
    ]


@pytest.mark.parametrize("profile", sorted(COLUMNS))
def test_a_friends_list_prints_the_recipient_and_the_giver_from_the_options(
    env: Path, profile: str
) -> None:
    headers, rows = export(profile, PEOPLE)
    write_csv(Path("friends.csv"), headers, rows, "utf-8")
    code, _, err = issue(
        "friends.csv", "--profile", profile, "--list-of", "friends", "--set", "giver=Sam Lee"
    )
    assert code == 0, err
    for page, person in enumerate(PEOPLE):
        assert element_text(Path("certificates.pdf"), page, "recipient") == person.name
        assert element_text(Path("certificates.pdf"), page, "giver") == "Sam Lee"
        assert element_text(Path("certificates.pdf"), page, "contact") == CONTACT
    assert [r["recipient_email"] for r in records(env)] == [p.email for p in PEOPLE]


def test_an_ods_workbook_with_number_cells(env: Path) -> None:
    headers = ["First Name", "Last Name", "Zip", "Spent", "Expires"]
    rows: list[list[object]] = [
        ["Zoë", "Ng", 2134, 12.5, "2027-03-31"],
        ["Al", "Bo", "02134", 0, ""],
    ]
    write_ods(Path("list.ods"), headers, rows)
    code, _, err = issue(
        "list.ods", "--map", "giver={{ first_name }} {{ last_name }}", "--map", "Zip=postal_code"
    )
    assert code == 0, err
    recorded = records(env)
    # A number cell reads as a person sees it: 2134, not 2134.0; the text cell keeps its zero.
    assert [r["postal_code"] for r in recorded] == ["2134", "02134"]
    assert recorded[0]["expires"] == "2027-03-31"
    assert "'Spent'" in err  # left out, and said so


def test_a_profile_pads_or_refuses_number_cells(env: Path, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "Zip", "Phone"])
    sheet.append(["Zoë Ng", 2134, "0161 496 0000"])
    sheet.append(["Al Bo", "02135", 1614960000])
    book.save("list.xlsx")
    own = tmp_path / "mine.toml"
    own.write_text(
        'format = 1\ntitle = "Mine"\npad = { zip = 5 }\ntext_only = ["phone"]\n'
        '[person]\nname = "{{ name }}"\nphone = "{{ phone }}"\n[map]\npostal_code = "{{ zip }}"\n'
    )
    code, _, err = issue("list.xlsx", "--profile", str(own))
    assert code == 3
    assert "list.xlsx, row 3, column 'Phone': is the number 1614960000, which may have lost" in err
    code, _, err = issue("list.xlsx", "--profile", str(own), "--skip-invalid")
    assert code == 14, err
    assert [r["postal_code"] for r in records(env)] == ["02134"]  # padded where the profile says


def test_a_sheet_by_name_and_a_missing_one(env: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active.append(["nothing here"])
    other = book.create_sheet("Customers")
    other.append(["From", "To"])
    other.append(["Jane Doe", "Bob Ng"])
    book.save("book.xlsx")
    code, _, err = issue("book.xlsx", "--sheet-name", "Customers")
    assert code == 0, err
    assert element_text(Path("certificates.pdf"), 0, "recipient") == "Bob Ng"
    code, _, err = issue("book.xlsx", "--sheet-name", "Clients")
    assert code == 3 and "no sheet named 'Clients' (its sheets: Notes, Customers)" in err


CONTACT_LIST = (
    "Name,Email,Phone,Address,Website\n"
    "Bob Ng,bob@example.com,(617) 555-0199,9 Home Road,bobs-blog.example\n"
    'Zoë Ng,zoe@example.com,(617) 555-0123,"7 Other St, Apt 1",\n'
)


def test_a_customer_phone_address_or_website_column_never_replaces_the_business(
    env: Path,
) -> None:
    Path("contacts.csv").write_text(CONTACT_LIST)
    code, _, err = issue("contacts.csv", "--map", "Name=giver")
    assert code == 3
    for column, field in (("Phone", "phone"), ("Address", "address"), ("Website", "website")):
        assert (
            f"contacts.csv, row 1, column '{column}': would fill '{field}', the business's own, "
            "which prints the same on every certificate and never comes from a row" in err
        )
        assert f"--ignore '{column}'" in err
    assert "--map 'Phone=giver_phone'" in err and "--map 'Address=street'" in err
    assert not Path("certificates.pdf").exists() and records(env) == []
    code, _, err = issue(
        "contacts.csv",
        "--map",
        "Name=giver",
        "--map",
        "Phone=giver_phone",
        "--map",
        "Address=street",
        "--ignore",
        "Website",
    )
    assert code == 0, err
    for page in (0, 1):
        assert element_text(Path("certificates.pdf"), page, "contact") == CONTACT
    recorded = records(env)
    assert [r["giver_phone"] for r in recorded] == ["(617) 555-0199", "(617) 555-0123"]
    assert [r["phone"] for r in recorded] == ["(555) 010-2030"] * 2


def test_a_template_that_would_fill_a_business_field_is_refused(env: Path) -> None:
    Path("contacts.csv").write_text(CONTACT_LIST)
    code, _, err = issue(
        "contacts.csv", "--map", "phone={{ phone }}", "--ignore", "Address", "--ignore", "Website"
    )
    assert code == 3 and "--map fills 'phone', the business's own" in err


def test_the_email_footer_keeps_the_business_contact(env: Path) -> None:
    Path("contacts.csv").write_text(CONTACT_LIST)
    Path("certgen.toml").write_text(CONFIG)
    code, _, err = invoke(
        "send",
        "contacts.csv",
        "-d",
        "modern",
        "--outbox",
        "out",
        "--map",
        "recipient={{ name }}",
        "--map",
        "Phone=recipient_phone",
        "--map",
        "Address=street",
        "--ignore",
        "Website",
        "--set",
        "giver=Sam Lee",
    )
    assert code == 0, err
    mails = sorted(Path("out").glob("*.eml"))
    assert len(mails) == 2
    for mail in mails:
        body = mail.read_text()
        assert "(555) 010-2030" in body and "555-01" not in body.replace("(555) 010-2030", "")
        assert "9 Home Road" not in body and "bobs-blog" not in body


def test_a_design_may_take_a_business_field_per_row(env: Path, tmp_path: Path) -> None:
    import shutil

    from tests.helpers import TEST_DESIGNS

    design = tmp_path / "branches"
    shutil.copytree(TEST_DESIGNS / "tiny", design)
    manifest = design / "design.toml"
    manifest.write_text(
        manifest.read_text()
        .replace('name = "tiny"', 'name = "branches"')
        .replace(
            "[fields.business]\nrequired = true",
            '[fields.business]\nrequired = true\nsource = "row"',
        )
    )
    Path("branches.csv").write_text("to,business\nBob,North Branch\nAnn,South Branch\n")
    code, _, err = invoke("issue", "branches.csv", "-d", str(design))
    assert code == 0, err
    assert [r["business"] for r in records(env)] == ["North Branch", "South Branch"]


def test_map_templates_join_columns_and_are_checked(env: Path) -> None:
    Path("people.csv").write_text(
        "First Name,Middle,Last Name,E-mail 1 - Value,Country Code\n"
        "Ana,,Lima,ana@example.com,BR\nJo,Q,Park,,KR\n"
    )
    code, _, err = issue(
        "people.csv",
        "--map",
        "recipient={{ first_name }} {{ middle }} {{ last_name }}",
        "--map",
        'giver={{ column["Country Code"] | lower }} team',
    )
    assert code == 0, err
    assert element_text(Path("certificates.pdf"), 0, "recipient") == "Ana Lima"  # no double space
    assert element_text(Path("certificates.pdf"), 1, "recipient") == "Jo Q Park"
    assert element_text(Path("certificates.pdf"), 1, "giver") == "kr team"
    # The left-out columns are named once; Country Code is no typo of country.
    assert "'E-mail 1 - Value'" in err and "did you mean" not in err
    code, _, err = issue("people.csv", "--map", "recipient={{ frist_name }}")
    assert (
        code == 3
        and "--map: 'frist_name' is not a column of this file (did you mean 'first_name'?)" in err
    )
    code, _, err = issue("people.csv", "--map", "recipient={{ first_name }", "--map", "to=x")
    assert code == 3 and "--map: the template for 'recipient' cannot be read" in err
    code, _, err = issue(
        "people.csv", "--map", "recipient={{ first_name }}", "--map", "to={{ last_name }}"
    )
    assert code == 3 and "--map: 'recipient' is mapped twice" in err


@pytest.mark.parametrize(
    ("written", "options", "read"),
    [
        ("3/31/2027", ["--date-format", "%m/%d/%Y"], "2027-03-31"),
        ("31/03/2027", ["--date-format", "%d/%m/%Y"], "2027-03-31"),
        ("31.03.2027", [], "2027-03-31"),
        ("3/31/2027", [], "2027-03-31"),  # a day over 12 says which part is the day
        ("31 March 2027", [], "2027-03-31"),
        ("2027-03-31 14:30", ["--date-format", "%m/%d/%Y"], "2027-03-31"),  # ISO always
    ],
)
def test_dates_as_people_type_them(env: Path, written: str, options: list[str], read: str) -> None:
    Path("dates.csv").write_text(f"to,expires\nBob,{written}\n")
    code, _, err = issue("dates.csv", *options)
    assert code == 0, err
    assert records(env)[0]["expires"] == read


def test_an_ambiguous_or_unreadable_date_is_a_located_error(env: Path) -> None:
    Path("dates.csv").write_text("to,expires\nBob,03/04/2027\nAnn,2027-03-31\nCy,4/31/2027\n")
    code, _, err = issue("dates.csv")
    assert code == 3
    assert (
        "dates.csv, row 2, column 'expires': '03/04/2027' could be 4 March or 3 April 2027; say "
        "which with --date-format '%d/%m/%Y' or '%m/%d/%Y'" in err
    )
    code, _, err = issue("dates.csv", "--date-format", "%m/%d/%Y")
    assert code == 3 and "row 4, column 'expires': '4/31/2027' is not a date in the format" in err
    Path("certgen.toml").write_text('date_format = "%d/%m/%Y"\n' + CONFIG)
    code, _, err = invoke("issue", "dates.csv", "-d", "classic", "--skip-invalid")
    assert code == 14 and [r["expires"] for r in records(env)] == ["2027-04-03", "2027-03-31"]


def test_a_semicolon_list_with_decimal_commas_and_excels_separator_line(env: Path) -> None:
    Path("eu.csv").write_bytes(
        codecs.BOM_UTF8 + "sep=;\nAn;Von;Betrag\nRenée;Jörg;1.200,50\nLi;Wu;12,5\n".encode()
    )
    code, _, err = invoke(
        "issue",
        "eu.csv",
        "-d",
        str(Path(__file__).parent / "designs" / "tiny"),
        "--map",
        "An=to",
        "--map",
        "Von=from",
        "--map",
        "Betrag=amount",
        "--set",
        "business=A",
    )
    assert code == 0, err
    assert [r["amount"] for r in records(env)] == ["1200.50", "12.5"]


def test_files_that_are_not_what_they_seem(env: Path) -> None:
    Path("u16.csv").write_bytes("to\nBob\n".encode("utf-16-le"))
    code, _, err = issue("u16.csv")
    assert code == 3 and "looks like UTF-16 without a BOM" in err
    write_xlsx(Path("book.csv"), ["to"], [["Bob"]])
    code, _, err = issue("book.csv")
    assert code == 3 and "this is a workbook, not a CSV file" in err
    Path("broken.xlsx").write_bytes(b"PK\x03\x04 not really")
    code, _, err = issue("broken.xlsx")
    assert code == 3 and "cannot read the workbook" in err and "Traceback" not in err


def _mailing_rows(count: int) -> list[list[str]]:
    rows = []
    for i in range(count):
        rows.append(
            [
                f"Friend {i:04d}",
                f"Customer {i % 97}",
                f"{100 + i} Maple Avenue",
                "Springfield",
                "IL",
                f"{62700 + i % 90:05d}",
                "2027-03-31",
                f"+1617555{i:04d}",
            ]
        )
    return rows


BAD = {  # row index -> how it is broken, and how the test fixes it in the rejects file
    3: ("street", ""),
    140: ("street", "   "),
    377: ("expires", "31/31/2027"),
    600: ("to", "x" * 61),
    801: ("to", "Bob\u202eNg"),
    1002: ("expires", "someday"),
    1203: ("to", '=HYPERLINK("http://evil.example/' + "x" * 30 + '","Bob")'),  # and too long
    1404: ("zip", ""),
    1605: ("city", ""),
    1999: ("extra", "a stray cell"),
}
MAILING_HEADERS = ["to", "from", "street", "city", "state", "zip", "expires", "giver_phone"]


def test_skip_invalid_issues_every_good_row_and_hands_back_exactly_the_bad_ones(
    env: Path,
) -> None:
    from tests.test_cli import certgen

    rows = _mailing_rows(2000)
    for index, (column, value) in BAD.items():
        if column == "extra":
            rows[index].append(value)
        else:
            rows[index][MAILING_HEADERS.index(column)] = value
    with Path("mailing.csv").open("w", newline="") as stream:
        csv.writer(stream).writerows([MAILING_HEADERS, *rows])
    base = ["-d", "compact", "--set", "business=Bright Smile", "--mailing", "-q"]
    whole = certgen("issue", "mailing.csv", *base, "-o", "all.pdf")
    assert whole.returncode == 3 and "10 problems in the input; nothing was issued" in whole.stderr
    assert records(env) == [] and not Path("all.pdf").exists()

    done = certgen("issue", "mailing.csv", *base, "--skip-invalid", "-o", "mailers.pdf")
    assert done.returncode == 14, done.stderr
    assert "Issued 1990 certificates to" in done.stdout
    assert (
        "Left out 10 of 2000 rows with problems; they are in mailers-rejects.csv with the "
        "reasons: fix them there and run the same command on mailers-rejects.csv with another "
        "-o" in done.stderr
    )
    recorded = records(env)
    assert len(recorded) == 1990
    engine = sa.create_engine(f"sqlite:///{env / 'ledger.db'}")
    with engine.connect() as conn:
        source_rows = {r for (r,) in conn.execute(sa.text("SELECT source_row FROM certificates"))}
    engine.dispose()
    assert source_rows == {i + 2 for i in range(2000)} - {i + 2 for i in BAD}
    from tests.helpers import page_count

    assert page_count(Path("mailers.pdf")) == 1990

    with Path("mailers-rejects.csv").open(encoding="utf-8-sig", newline="") as stream:
        rejected = list(csv.reader(stream))
    assert rejected[0] == ["certgen_row", "certgen_problem", *MAILING_HEADERS]
    assert [int(r[0]) for r in rejected[1:]] == sorted(i + 2 for i in BAD)
    by_row = {int(r[0]): r for r in rejected[1:]}
    assert "has 9 fields; the header has 8" in by_row[2001][1]
    assert by_row[2001][2:] == rows[1999][:7] + ["'" + rows[1999][7], "a stray cell"]
    assert by_row[1205][2] == "'" + rows[1203][0]  # formula-safe
    assert by_row[1205][9] == "'+16175551203"
    assert "street" in by_row[5][1] and "is 61 characters long" in by_row[602][1]

    fixed = [rejected[0]]
    for row in rejected[1:]:
        cells = row[:10]  # the stray cell dropped: that was its problem
        index = int(row[0]) - 2
        column, _ = BAD[index]
        if column in MAILING_HEADERS:  # the broken cell mended; the rest as written
            cells[2 + MAILING_HEADERS.index(column)] = _mailing_rows(2000)[index][
                MAILING_HEADERS.index(column)
            ]
        if index == 1203:
            cells[2] = "Dr Bob"
        fixed.append(cells)
    with Path("mailers-rejects.csv").open("w", newline="", encoding="utf-8-sig") as stream:
        csv.writer(stream).writerows(fixed)
    again = certgen("issue", "mailers-rejects.csv", *base, "-o", "rest.pdf")
    assert again.returncode == 0, again.stderr
    assert "Issued 10 certificates" in again.stdout
    recorded = records(env)
    assert len(recorded) == 2000
    names = {r["recipient"] for r in recorded}
    assert "Dr Bob" in names and len(names) == 2000
    # The formula-safe quote mark is not part of the phone number when fed back.
    assert {r["giver_phone"] for r in recorded} == {f"+1617555{i:04d}" for i in range(2000)}


def test_the_referrer_is_known_by_email_whatever_name_was_printed(env: Path) -> None:
    headers, rows = export("shopify", [])
    first = headers.index("First Name")
    last, email = headers.index("Last Name"), headers.index("Email")

    def customer(given: str, family: str, address: str) -> list[str]:
        row = [""] * len(headers)
        row[first], row[last], row[email] = given, family, address
        return row

    people = [
        customer("Jane", "Doe", "jane@example.com"),
        customer("Jane M.", "Doe", "JANE@example.com"),  # the same customer, printed otherwise
        customer("Sam", "Lee", "sam.lee@example.com"),
        customer("Sam", "Lee", "sam@other.example"),  # another customer of the same name
    ]
    write_csv(Path("shop.csv"), headers, people, "utf-8")
    code, _, err = issue("shop.csv", "--profile", "shopify")
    assert code == 0, err
    engine = sa.create_engine(f"sqlite:///{env / 'ledger.db'}")
    with engine.connect() as conn:
        first_code = conn.execute(sa.text("SELECT code FROM certificates ORDER BY page")).first()
    engine.dispose()
    assert first_code is not None
    assert invoke("redeem", first_code[0], "--by", "Sam")[0] == 0
    code, out, _ = invoke("report", "--by", "referrer", "--format", "json")
    lines = {line["referrer"]: line for line in json.loads(out)}
    assert lines["Jane M. Doe <jane@example.com>"]["issued"] == 2
    assert lines["Jane M. Doe <jane@example.com>"]["redeemed"] == 1
    assert lines["Sam Lee <sam.lee@example.com>"]["issued"] == 1
    assert lines["Sam Lee <sam@other.example>"]["issued"] == 1
    # The thank-you for the redeemed gift went to the customer's own address.
    code, out, err = invoke("notify", "--retry", "--outbox", "thanks")
    assert code == 0, err
    [thanks] = Path("thanks").glob("*.eml")
    assert "To: jane@example.com" in thanks.read_text()


def test_profiles_are_listed_shown_and_a_users_own_is_found_by_name(env: Path) -> None:
    code, out, _ = invoke("profiles", "list")
    assert code == 0
    names = [line.split("\t")[0] for line in out.splitlines()]
    assert names == ["google-contacts", "hubspot", "mailchimp", "shopify", "square"]
    code, out, _ = invoke("profiles", "show", "shopify")
    assert "giver       = {{ first_name }} {{ last_name }}" in out
    assert "header row: Customer ID, First Name, Last Name, Email" in out
    code, _, err = invoke("profiles", "show", "shopfy")
    assert code == 1 and "no profile named 'shopfy' (did you mean 'shopify'?" in err
    # The README's example profile, as a user's own, by name.
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    example = readme.split("# $CERTGEN_HOME/profiles/salon.toml\n", 1)[1].split("```", 1)[0]
    (env / "profiles").mkdir(parents=True)
    (env / "profiles" / "salon.toml").write_text(example)
    code, out, _ = invoke("profiles", "list")
    assert "salon\tSalon booking system export\tcustomers\tyours" in out
    book = openpyxl.Workbook()
    book.active.append(
        [
            "Given",
            "Family",
            "Email",
            "Mobile",
            "Landline",
            "Street",
            "Zip",
            "Voucher End",
            "Stylist",
        ]
    )
    book.active.append(
        [
            "Ana",
            "Lima",
            "ana@example.com",
            None,
            "020 7946 0000",
            "1 High St",
            2134,
            "31/03/2027",
            "Kim",
        ]
    )
    book.save("salon.xlsx")
    code, _, err = issue("salon.xlsx", "--profile", "salon")
    assert code == 0, err
    [recorded] = records(env)
    assert (recorded["giver"], recorded["giver_phone"], recorded["postal_code"]) == (
        "Ana Lima",
        "020 7946 0000",
        "02134",
    )
    assert recorded["expires"] == "2027-03-31" and "Stylist" not in err


def test_a_broken_profile_is_a_clear_error(env: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('format = 1\ntitle = "x"\n[person]\nnmae = "{{ a }}"\n')
    Path("l.csv").write_text("a\nb\n")
    code, _, err = issue("l.csv", "--profile", str(bad))
    assert code == 1 and f"{bad}: 'person.nmae'" in err and "Traceback" not in err
    bad.write_text('format = 1\ntitle = "x"\n[map]\ngiver = "{{ a "\n')
    code, _, err = issue("l.csv", "--profile", str(bad))
    assert code == 3 and "the profile: the template for 'giver' cannot be read" in err


def test_the_shipped_shopify_sample_prints_each_customer_as_the_giver(tmp_path: Path) -> None:
    import shutil

    samples = shutil.copytree(Path(__file__).parent.parent / "samples", tmp_path / "samples")
    code, out, err = invoke(
        "issue",
        str(samples / "shopify_customers.csv"),
        "-d",
        "classic",
        "--profile",
        "shopify",
        "--config",
        str(samples / "certgen.toml"),
        "-o",
        "referral.pdf",
    )
    assert code == 0, err
    assert "Issued 6 certificates" in out
    givers = [element_text(Path("referral.pdf"), page, "giver") for page in range(6)]
    assert givers[:3] == ["Jane Doe", "Luis Ortega", "Chris O'Neill-Whitaker"]
    assert givers[3] == "Νίκος Γεωργίου"
    assert [r["postal_code"] for r in records(samples, "sample-ledger.db")][0] == "62704"


def test_send_to_a_customer_export_and_leave_bad_addresses_out(env: Path) -> None:
    headers, rows = export("shopify", PEOPLE[:4])
    rows[1][headers.index("Email")] = "sean at example.ie"
    rows[3][headers.index("Email")] = ""
    write_csv(Path("shop.csv"), headers, rows, "utf-8")
    Path("certgen.toml").write_text(CONFIG)
    code, _, err = invoke(
        "send", "shop.csv", "-d", "modern", "--profile", "shopify", "--outbox", "out"
    )
    assert code == 3 and "shop.csv, row 3, column 'Email'" in err and not Path("out").exists()
    code, out, err = invoke(
        "send",
        "shop.csv",
        "-d",
        "modern",
        "--profile",
        "shopify",
        "--outbox",
        "out",
        "--skip-invalid",
    )
    assert code == 14, err
    assert "Wrote 2 emails" in out
    assert "Left out 2 of 4 rows with problems; they are in shop-rejects.csv" in err
    sent = sorted(m.read_text() for m in Path("out").glob("*.eml"))
    assert any("To: Jane Doe <jane@example.com>" in m for m in sent)  # the customer
    with Path("shop-rejects.csv").open(encoding="utf-8-sig") as stream:
        rejected = list(csv.reader(stream))
    assert [r[0] for r in rejected[1:]] == ["3", "5"]
    assert rejected[0][2:] == headers


def test_map_wins_over_the_profile_and_ignore_hides_a_column_from_it(env: Path) -> None:
    headers, rows = export("shopify", PEOPLE[:2])
    write_csv(Path("shop.csv"), headers, rows, "utf-8")
    code, _, err = issue(
        "shop.csv",
        "--profile",
        "shopify",
        "--map",
        "giver={{ first_name }}",
        "--ignore",
        "Phone",
        "--ignore",
        "Default Address Phone",
    )
    assert code == 0, err
    assert element_text(Path("certificates.pdf"), 0, "giver") == "Jane"
    assert [r.get("giver_phone") for r in records(env)] == [None, None]


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("{{ first_name.__class__.__mro__ }}", "access to attribute '__class__'"),
        ("{{ first_name | int / 0 }}", "the template divides by zero"),
        ("{{ column['Nope'] }}", "has no attribute 'Nope'"),
        ("{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}", "limit"),
    ],
)
def test_a_map_template_that_fails_on_a_row_is_that_rows_problem(
    env: Path, template: str, why: str
) -> None:
    Path("a.csv").write_text("First Name,Last\nBob,Ng\n")
    code, _, err = issue("a.csv", "--map", f"recipient={template}")
    assert code == 3 and "Traceback" not in err
    assert (
        "a.csv, row 2, column " in err and "the template for 'recipient' cannot be rendered" in err
    )
    assert why in err


def test_a_workbooks_rows_are_numbered_as_the_spreadsheet_shows_them(env: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["C3"], sheet["D3"] = "To", "Expires"  # the table starts at C3, under a gap
    sheet["C4"], sheet["D4"] = "Bob", "2027-03-31"
    sheet["C6"], sheet["D6"] = "Ann", "someday"
    book.save("offset.xlsx")
    code, _, err = issue("offset.xlsx")
    assert code == 3 and "offset.xlsx, row 6, column 'Expires': 'someday' is not a date" in err


def test_a_rejects_file_is_never_written_over_the_list_it_came_from(env: Path) -> None:
    Path("run-rejects.csv").write_text("to,expires\nBob,2027-03-31\nAnn,someday\n")
    code, _, err = issue("run-rejects.csv", "--skip-invalid", "-o", "run.pdf")
    assert code == 14, err
    assert Path("run-rejects.csv").read_text() == "to,expires\nBob,2027-03-31\nAnn,someday\n"
    assert "they are in run-rejects-rejects.csv" in err
    assert Path("run-rejects-rejects.csv").is_file()
    code, _, err = issue("run-rejects.csv", "--skip-invalid", "--rejects", "run-rejects.csv")
    assert code == 2 and "--rejects names the list being read" in err
