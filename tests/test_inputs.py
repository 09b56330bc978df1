"""CSV and command-line values: every bad input is located by file, row and column."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from certgen import inputs, tables
from certgen.design import FieldSpec
from certgen.errors import InputError, Problem
from tests.helpers import NOW, load

DESIGN = load("tiny")
TODAY = NOW.date()


def read(
    path: Path,
    mapping: dict[str, str] | None = None,
    extra: dict[str, FieldSpec] | None = None,
    **options: Any,
) -> tuple[inputs.Table, list[Problem]]:
    if mapping:
        options["maps"] = tuple(mapping.items())
    settings = inputs.ReadOptions(**options)
    return inputs.read_csv(path, DESIGN, {"business": "Acme"}, TODAY, settings, extra=extra)


def write(tmp_path: Path, content: str | bytes, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def messages(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems]


def test_headers_match_case_insensitively_through_aliases(tmp_path: Path) -> None:
    path = write(tmp_path, 'TO,From,Expiry,Amount\nBob Ng,Jane Doe,2027-03-31,"$1,200.50"\n')
    rows, problems = read(path)
    assert problems == []
    assert rows[0].values == {
        "recipient": "Bob Ng",
        "giver": "Jane Doe",
        "expires": dt.date(2027, 3, 31),
        "amount": Decimal("1200.50"),
        "business": "Acme",
    }
    assert rows[0].number == 2


def test_referrer_is_an_alias_for_giver_and_map_maps_anything(tmp_path: Path) -> None:
    path = write(tmp_path, "Customer Name,referrer\nBob,Jane\n")
    rows, problems = read(path, mapping={"customer name": "to"})
    assert problems == [] and rows[0].values["recipient"] == "Bob"
    assert rows[0].values["giver"] == "Jane"


def test_unknown_column_suggests_the_field_and_how_to_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "recipent,email\nBob,bob@example.com\n")
    rows, problems = read(path)
    text = messages(problems)
    # A near miss of a field's name is an error; a column that fills nothing is left out.
    assert text == [
        f"{path}, row 1, column 'recipent': unknown column (did you mean 'recipient'? map it "
        "with --map 'recipent=recipient' or leave it out with --ignore 'recipent')"
    ]
    assert rows.notes == [
        f"{path}: 1 column fills no field and was left out: 'email' (--strict-columns makes "
        "that an error; --map 'FIELD={{ column }}' uses one)"
    ]
    rows, problems = read(path, mapping={"recipent": "recipient"}, ignore=["Email"])
    assert problems == [] and rows[0].values["recipient"] == "Bob" and rows.notes == []


def test_strict_columns_makes_every_column_that_fills_nothing_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "recipient,Total Spent,\nBob,12,\n")
    rows, problems = read(path)
    assert problems == [] and rows[0].values["recipient"] == "Bob"
    [note] = rows.notes
    assert "2 columns fill no field and were left out: 'Total Spent', '#3 (no header)'" in note
    _, problems = read(path, strict_columns=True)
    text = messages(problems)
    assert "column 'Total Spent': unknown column" in text[0] and "--ignore 'Total Spent'" in text[0]
    assert text[1].endswith("column '#3': a column has no header")


def test_two_columns_for_one_field(tmp_path: Path) -> None:
    _, problems = read(write(tmp_path, "to,recipient\nBob,Bob\n"))
    assert "maps to 'recipient', as column 'to' does" in str(problems[0])


def test_utf8_bom_is_accepted_and_never_part_of_a_header(tmp_path: Path) -> None:
    rows, problems = read(write(tmp_path, "\ufeffrecipient\nZoë\n".encode("utf-8")))
    assert problems == [] and rows[0].values["recipient"] == "Zoë"


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_encoding_option(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path, "recipient\nRenée Müller\n".encode(encoding))
    rows, problems = read(path, encoding=encoding)
    assert problems == [] and rows[0].values["recipient"] == "Renée Müller"


def test_undecodable_bytes_say_where_and_what_to_try(tmp_path: Path) -> None:
    path = write(tmp_path, "recipient\nBob\nRen\xe9e\n".encode("cp1252"))
    with pytest.raises(InputError) as caught:
        read(path, encoding="utf-8")
    message = str(caught.value)
    assert f"{path}, row 3: byte 0xE9 at offset 17 is not valid UTF-8" in message
    assert "--encoding cp1252" in message
    rows, problems = read(path)  # auto: not UTF-8, so Windows-1252, and it says so
    assert problems == [] and rows[1].values["recipient"] == "Renée"
    assert rows.notes == [
        f"{path} is not UTF-8; read it as Windows-1252 (give --encoding to say otherwise)"
    ]


def test_unknown_encoding(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown encoding 'klingon'"):
        read(write(tmp_path, "recipient\nBob\n"), encoding="klingon")


@pytest.mark.parametrize("content", ["", "\n\n", "   "])
def test_empty_file(tmp_path: Path, content: str) -> None:
    with pytest.raises(InputError, match="the file is empty"):
        read(write(tmp_path, content))


def test_header_without_rows(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="has a header but no rows"):
        read(write(tmp_path, "recipient,giver\n"))


def test_ragged_rows_are_reported_not_dropped(tmp_path: Path) -> None:
    rows, problems = read(write(tmp_path, "recipient,giver\nA,B\nC\nD,E,F\nG,H\n"))
    assert [r.values["recipient"] for r in rows] == ["A", "G"]
    assert messages(problems) == [
        f"{tmp_path / 'people.csv'}, row 3: has 1 fields; the header has 2 "
        "(check for a missing or extra delimiter, or an unquoted comma)",
        f"{tmp_path / 'people.csv'}, row 4: has 3 fields; the header has 2 "
        "(check for a missing or extra delimiter, or an unquoted comma)",
    ]


def test_too_long_invalid_date_amount_and_missing_required(tmp_path: Path) -> None:
    path = write(tmp_path, "recipient,expires,amount\n" + "x" * 81 + ",2027-02-30,ten\n")
    rows, problems = read(path)
    assert list(rows) == []
    text = "\n".join(messages(problems))
    assert "row 2, column 'recipient': is 81 characters long; the limit is 80" in text
    assert "row 2, column 'expires': '2027-02-30' is not a date: there is no such day" in text
    assert "row 2, column 'amount': 'ten' is not an amount" in text
    # The business's own name is said missing once, not on every row.
    with pytest.raises(InputError) as caught:
        inputs.read_csv(path, DESIGN, {}, TODAY)
    assert str(caught.value).splitlines()[1:] == [
        "  'business' is required: the business's own, the same on every certificate (run "
        'certgen init, set it in certgen.toml ([defaults] business = "..."), or give --set '
        "business=...)"
    ]


def test_row_numbers_are_lines_even_with_quoted_newlines(tmp_path: Path) -> None:
    path = write(tmp_path, 'recipient,expires\n"Bob\nNg",2027-01-01\nAnn,never\n')
    rows, problems = read(path)
    assert rows[0].values["recipient"] == "Bob\nNg"
    assert "row 4, column 'expires'" in str(problems[0])


def test_broken_quoting(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="row 2: not valid CSV"):
        read(write(tmp_path, 'recipient,giver\n"Bob" x,Jane\n'))


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiter_is_guessed_from_the_header(tmp_path: Path, delimiter: str) -> None:
    path = write(tmp_path, f"recipient{delimiter}giver\r\nBob{delimiter}Jane\r\n")
    rows, problems = read(path)
    assert problems == [] and rows[0].values["giver"] == "Jane"


def test_text_is_nfc_and_invisible_characters_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "recipient,giver\nRene\u0301e,Bob\u202eevil\n")
    rows, problems = read(path)
    assert list(rows) == []
    assert "U+202E" in str(problems[0]) and "column 'giver'" in str(problems[0])
    rows, problems = read(write(tmp_path, "recipient\nRene\u0301e\n"))
    assert rows[0].values["recipient"] == "Ren\u00e9e"


def test_defaults_come_from_row_then_config_then_design(tmp_path: Path) -> None:
    design = load("classic")
    path = write(tmp_path, "recipient,pain\nBob,\nAnn,Tired of rust?\n")
    rows, problems = inputs.read_csv(
        path, design, {"business": "Acme", "pain": "Tired of noise?"}, TODAY
    )
    assert problems == []
    assert [r.values["pain"] for r in rows] == ["Tired of noise?", "Tired of rust?"]
    assert rows[0].values["offer"] == "Your first visit is on us"  # the design's default
    assert rows[0].values["expires"] == TODAY + dt.timedelta(days=90)  # "+90"


def test_command_line_values(tmp_path: Path) -> None:
    row = inputs.resolve_one(
        DESIGN, {"recipient": " Bob ", "expires": "+30"}, {"business": "A"}, TODAY
    )
    assert row.number is None
    assert row.values["recipient"] == "Bob" and row.values["expires"] == TODAY + dt.timedelta(30)
    with pytest.raises(InputError) as caught:
        inputs.resolve_one(DESIGN, {"recipeint": "Bob"}, {}, TODAY)
    text = str(caught.value)
    assert "unknown field 'recipeint' (did you mean 'recipient'?" in text
    assert "field 'business': 'business' is required (give --set business=VALUE" in text


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_row_read_again_at_any_position_is_the_row_read_in_order(
    tmp_path: Path, newline: str
) -> None:
    lines = [
        "to,from,expires",
        "Ann,Jane,+30",
        "",  # a blank line is no row
        '"Bob' + newline + 'Ng",Jane,2027-01-31',  # a name over two lines, quoted
        "Cy,,not a date",  # left out: its problem is listed
        "Dee,Jane,",
    ]
    rows, problems = read(write(tmp_path, newline.join(lines) + newline))
    assert [p.row for p in problems] == [6]
    in_order = list(rows)
    assert [r.number for r in in_order] == [2, 4, 7]
    assert in_order[1].values["recipient"] == "Bob\nNg"
    assert [rows[i] for i in (2, 0, 1)] == [in_order[2], in_order[0], in_order[1]]
    assert rows[-1] == in_order[-1] and rows[1:] == in_order[1:]
    reordered = inputs.sorted_rows(rows, "to", DESIGN, None)
    assert isinstance(reordered, inputs.Table)  # still read from the text, row by row
    assert [r.text("recipient") for r in reordered] == ["Ann", "Bob\nNg", "Dee"][::1]
    by_giver = inputs.sorted_rows(rows, "expires", DESIGN, None)
    assert [r.number for r in by_giver] == [2, 4, 7]


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("First Name", "first_name"),
        ("E-mail 1 - Value", "e_mail_1_value"),
        ("State/Region", "state_region"),
        (" Zip ", "zip"),
        ("1st Line", "_1st_line"),
        ("Prénom", "prénom"),
    ],
)
def test_a_header_as_a_template_names_it(header: str, name: str) -> None:
    assert tables.identifier(header) == name


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        (2134.0, "2134"),
        (12.5, "12.5"),
        (0.1 + 0.2, "0.3"),
        (True, "TRUE"),
        (dt.date(2027, 3, 31), "2027-03-31"),
        (dt.datetime(2027, 3, 31), "2027-03-31"),
        (dt.datetime(2027, 3, 31, 14, 30), "2027-03-31 14:30"),
        (None, ""),
        ("02134", "02134"),
    ],
)
def test_a_workbook_cell_reads_as_a_person_reads_it(cell: object, text: str) -> None:
    assert tables.cell_text(cell) == text


@pytest.mark.parametrize(
    ("written", "decimal", "amount"),
    [
        ("$1,200.50", None, "1200.50"),
        ("1.200,50 €", None, "1200.50"),
        ("1 200,50", None, "1200.50"),
        ("1'200.50", None, "1200.50"),
        ("12,50", None, "12.50"),
        ("1,234,567", None, "1234567"),
        ("1,200", ".", "1200"),
        ("1.200", ",", "1200"),
        ("1,5", ",", "1.5"),
        ("EUR 99", None, "99"),
    ],
)
def test_amounts_as_people_write_them(written: str, decimal: str | None, amount: str) -> None:
    assert inputs.parse_money(written, decimal) == Decimal(amount)


@pytest.mark.parametrize(
    ("written", "decimal", "why"),
    [
        ("1,234", None, "could be 1234 or 1.234: give --decimal . or --decimal ,"),
        ("12.345", None, "could be 12345 or 12.345"),
        ("1,200", ",", "has 3 decimal places; an amount has at most 2"),
        ("12,345.678", None, "has 3 decimal places"),
        ("12.5", ",", "digit groups in the wrong places; its decimal mark is ','"),
        ("1,2,3", None, "digit groups in the wrong places"),
    ],
)
def test_an_amount_that_could_mean_two_things_is_refused_not_guessed(
    written: str, decimal: str | None, why: str
) -> None:
    """1.234,56 once printed as $1.23 and 12,34 as $1234; 12.345 was rounded to $12.34."""
    with pytest.raises(ValueError, match=re.escape(why)):
        inputs.parse_money(written, decimal)


def test_decimal_is_given_on_the_command_line_or_by_the_profile(env: Path) -> None:
    from tests.test_cli import invoke
    from tests.test_lists import records

    tiny = str(Path(__file__).parent / "designs" / "tiny")
    Path("list.csv").write_text('to,amount\nAnn,"1,250"\nBob,"12,50"\n')
    run = ("issue", "list.csv", "-d", tiny, "--set", "business=B", "-o", "a.pdf")
    code, _, err = invoke(*run)
    assert code == 3 and "list.csv, row 2, column 'amount': '1,250' could be 1250 or 1.250" in err
    code, _, err = invoke(*run, "--decimal", ",")
    assert code == 3 and "row 2" in err and "has 3 decimal places" in err
    Path("list.csv").write_text('to,amount\nAnn,"1,250"\nBob,"12.50"\n')
    code, _, err = invoke(*run, "--decimal", ".")
    assert code == 0, err
    assert sorted(str(r["amount"]) for r in records(env)) == ["12.50", "1250"]
    profile = Path("eu.toml")
    profile.write_text('format = 1\ntitle = "EU"\ndecimal = ","\n')
    Path("eu.csv").write_text('to,amount\nCid,"1.250"\n')
    code, _, err = invoke("issue", "eu.csv", "-d", tiny, "--set", "business=B", "-o", "b.pdf",
                          "--profile", str(profile))  # fmt: skip
    assert code == 0, err
    assert [r["amount"] for r in records(env) if r["recipient"] == "Cid"] == ["1250"]


def test_sniffing_ignores_delimiters_inside_quotes() -> None:
    assert tables.sniff_delimiter('"Name, full";Email;City\n') == ";"
    assert tables.sniff_delimiter("just one column\n") == ","


def test_an_expiry_before_the_issue_date_is_refused_unless_allowed(env: Path) -> None:
    from tests.test_cli import invoke

    one = ("issue", "-d", "compact", "--set", "business=B", "--to", "Bob", "-o")
    code, _, err = invoke(*one, "old.pdf", "--expires", "2020-01-01")
    assert code == 3 and "2020-01-01 is before the issue date" in err and "--allow-expired" in err
    assert not Path("old.pdf").exists()
    code, _, err = invoke(*one, "old.pdf", "--expires", "2020-01-01", "--allow-expired")
    assert code == 0, err
    Path("list.csv").write_text("to,from,expires\nAnn,Jo,2099-01-01\nBen,Jo,2020-05-01\n")
    code, _, err = invoke(
        "issue", "list.csv", "-d", "compact", "--set", "business=B", "-o", "l.pdf"
    )
    assert code == 3 and "list.csv, row 3, column 'expires': 2020-05-01 is before" in err


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("1E+400", "is not an amount"),
        ("NaN", "is not an amount"),
        ("12e3", "is not an amount"),
        ("99999999999", "is not an amount a gift can have"),
    ],
)
def test_amounts_are_digits_as_written_and_of_a_size_a_gift_can_have(
    raw: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        inputs.parse_money(raw, None)


def test_a_day_count_past_the_calendar_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="past the year 9999"):
        inputs.parse_date("+2932896", dt.date(2026, 12, 1), None)


@pytest.mark.parametrize(
    "value",
    ["Bob\u3164", "\u3164", "Bo\U000e0041b", "Bob\u061c", "Bo\u200bb", "e" + "\u0301" * 5],
)
def test_blank_looking_and_flooding_characters_are_refused(value: str) -> None:
    spec = FieldSpec()
    assert inputs.check_text(spec, value) is not None


@pytest.mark.parametrize("value", ["می\u200cخواهم", "क्\u200dष", "e\u0301", "ế"])
def test_the_joiners_and_marks_scripts_need_are_allowed(value: str) -> None:
    assert inputs.check_text(FieldSpec(), value) is None
