"""Rows of field values from a customer list or the command line, converted and checked.

A list is read by ``tables`` (CSV in any common encoding and separator, or a workbook) and
mapped onto fields by ``mapping`` (names, aliases, a profile's templates, ``--map``). Every
problem is collected with its file, row and column, so a user fixes them all in one pass;
nothing is printed or recorded while any remain, unless the run was told to leave the
refused rows out (``screen``) and hand them back as a file to fix (``write_rejects``). Row
numbers are those a person sees: the line on which a CSV record starts (the header is row
1) or the row of the spreadsheet.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import difflib
import functools
import os
import re
import secrets
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, overload

from certgen import mapping, tables
from certgen.design import Design, FieldSpec
from certgen.errors import InputError, OutputError, Problem
from certgen.profiles import People, Profile

Value = str | Decimal | dt.date | int

# Deliberately loose (the mail server decides); catches blanks, spaces and missing parts.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Characters that could make a printed name lie about itself (bidi overrides, invisible
# marks) or cannot be printed at all (controls other than line breaks).
# Controls, zero-width and bidi-override characters, and blank-looking letters (Hangul
# fillers, the Arabic letter mark, tag characters): a printed name cannot hide behind them.
# ZWJ and ZWNJ (U+200C, U+200D), which Persian and Indic scripts need, are allowed.
_FORBIDDEN = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2060-\u2069\ufeff"
    "\u061c\u115f\u1160\u3164\uffa0\u180e\U000e0000-\U000e007f]"
)
MAX_MARKS = 4  # combining marks on one character; more is a flood that prints over lines
MAX_AMOUNT = 10**9
EXPIRES = "expires"
_CURRENCY = re.compile(r"[\s\u00a0\u202f$€£¥]|[A-Z]{3}")
# Digit groups: 1,234,567 (or with "." or a space); a decimal part of at most two digits.
_GROUPED = "-?\\d{1,3}(?:%s\\d{3})+"
MAX_DECIMALS = 2
# Day, month and year with one separator: 31.03.2027, 3/31/2027, 31-03-2027.
_NUMERIC_DATE = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4})")
_NAMED_DATES = ("%d %B %Y", "%B %d, %Y", "%B %d %Y", "%d %b %Y", "%b %d, %Y", "%b %d %Y")


@dataclass(frozen=True)
class Formats:
    """How a list writes its values: its dates (a strptime format; ISO is always read) and
    its amounts' decimal mark ("." or ","; None: only amounts that say it themselves)."""

    date_format: str | None = None
    decimal: str | None = None
    allow_expired: bool = True  # the CLI refuses an expiry before the issue date by default


@dataclass(frozen=True)
class Row:
    """One certificate's input: where it came from and its typed field values."""

    number: int | None  # row in the list; None for values given on the command line
    values: Mapping[str, Value]
    columns: Mapping[str, str] = field(default_factory=dict)  # field -> header(s)

    def column(self, name: str) -> str:
        """How the user named a field: its CSV header, else the field's name."""
        return self.columns.get(name, name)

    def text(self, name: str) -> str:
        value = self.values.get(name)
        return "" if value is None else str(value)


class Table(Sequence[Row]):
    """The valid rows of a list, each parsed and resolved again when it is asked for: a
    run holds the list's text and where each row starts, never every row at once, so its
    memory does not grow with the rows' fields. It also knows where each refused row is,
    to hand it back as it was written."""

    def __init__(
        self,
        source: tables.Source,
        resolve_record: Callable[[list[str], int], Row],
        starts: array[int],
        lines: array[int],
        headers: Sequence[str] = (),
        notes: Sequence[str] = (),
        refused: tuple[array[int], array[int]] | None = None,
    ):
        self.source, self.resolve_record = source, resolve_record
        self.starts, self.lines = starts, lines  # offset in the text, row in the list
        self.headers, self.notes = list(headers), list(notes)
        self.refused = refused or (array("q"), array("q"))  # rows with problems, likewise

    def __len__(self) -> int:
        return len(self.starts)

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> list[Row]: ...

    def __getitem__(self, index: int | slice) -> Row | list[Row]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self.resolve_record(self._record(self.starts[index]), self.lines[index])

    def __iter__(self) -> Iterator[Row]:
        return (self[i] for i in range(len(self)))

    def _record(self, start: int) -> list[str]:
        lines = tables.Lines(self.source.text, start)
        return next(csv.reader(lines, delimiter=self.source.delimiter))

    def reordered(self, order: Iterable[int]) -> Table:
        """The same rows in the order of ``order`` (positions in this table); rows left
        out of ``order`` are left out."""
        order = list(order)
        starts = array("q", (self.starts[i] for i in order))
        lines = array("q", (self.lines[i] for i in order))
        return Table(
            self.source,
            self.resolve_record,
            starts,
            lines,
            self.headers,
            self.notes,
            self.refused,
        )

    def records(self, numbers: Iterable[int]) -> Iterator[tuple[int, list[str]]]:
        """Rows of the list as written (valid or refused), by row number, in that order."""
        wanted = set(numbers)
        found = []
        for starts, lines in ((self.starts, self.lines), self.refused):
            found += [(n, s) for s, n in zip(starts, lines, strict=True) if n in wanted]
        for number, start in sorted(found):
            yield number, self._record(start)


@functools.lru_cache(maxsize=4096)  # campaign defaults and cities repeat on every row
def clean(raw: str) -> str:
    """Stripped NFC text with Windows line breaks folded to ``\\n``; a spreadsheet's text
    marker (a leading ``'`` before a digit or a formula character, as in ``'0213`` or
    certgen's own formula-safe ``'=``) dropped."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    if text[:1] == "'" and text[1:2] and (text[1].isdigit() or text[1] in tables.FORMULA_START):
        text = text[1:]
    return unicodedata.normalize("NFC", text)


def convert(spec: FieldSpec, raw: str, issued_on: dt.date, formats: Formats = Formats()) -> Value:
    """A raw string to the field's type; ``ValueError`` with a message for users."""
    if spec.type == "date":
        return parse_date(raw, issued_on, formats.date_format)
    if spec.type == "money":
        return parse_money(raw, formats.decimal)
    if spec.type == "email":
        if not _EMAIL.fullmatch(raw):
            raise ValueError(f"'{raw}' is not an email address")
        return raw
    if spec.type == "locale":
        return parse_locale(raw)
    if spec.type == "int":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"'{raw}' is not a whole number") from None
    return raw


@functools.lru_cache(maxsize=256)
def parse_locale(raw: str) -> str:
    """A language as a list writes it ("es", "fr-CA", "de_AT", "Spanish") as a CLDR locale
    name ("es", "fr_CA"); Babel is read only for a list that has such a column."""
    import babel

    try:
        return str(babel.Locale.parse(raw.strip().replace("-", "_")))
    except (ValueError, TypeError, babel.UnknownLocaleError):
        pass
    name = raw.strip().casefold()
    code = _language_names(False).get(name) or _language_names(True).get(name)
    if code is None:
        raise ValueError(
            f"'{raw}' is not a language: write a code like es, fr-CA or de, or a name like Spanish"
        )
    return code


@functools.cache
def _language_names(native: bool) -> dict[str, str]:
    """Language name -> code: in English ("Spanish"), or (``native``) in each language
    itself ("Español"), which means reading every language's data: only when needed."""
    import babel
    from babel.localedata import locale_identifiers

    if not native:
        english = babel.Locale("en").languages.items()
        return {name.casefold(): code for code, name in english if "_" not in code}
    names = {}
    for code in (c for c in locale_identifiers() if "_" not in c):
        name = babel.Locale.parse(code).languages.get(code)
        if name:
            names[name.casefold()] = code
    return names


def parse_date(raw: str, issued_on: dt.date, date_format: str | None) -> dt.date:
    """ISO (a date, or the date of a date and time), ``+N`` days after the issue date, or a
    date in ``date_format``; without one, also a day-first dotted date (31.03.2027), a
    slashed one whose day is over 12 (3/31/2027), and a written one (31 March 2027)."""
    if re.fullmatch(r"\+\d+", raw):
        try:
            return issued_on + dt.timedelta(days=int(raw))
        except OverflowError:
            raise ValueError(f"'{raw}' days is past the year 9999") from None
    iso = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?.*)?", raw)
    if iso:
        try:
            return dt.date.fromisoformat(iso.group(1))
        except ValueError:
            raise ValueError(f"'{raw}' is not a date: there is no such day") from None
    if date_format:
        try:
            return dt.datetime.strptime(raw, date_format).date()
        except ValueError:
            raise ValueError(
                f"'{raw}' is not a date in the format '{date_format}' (--date-format), nor "
                "YYYY-MM-DD"
            ) from None
    numeric = _NUMERIC_DATE.fullmatch(raw)
    if numeric:
        first, separator, second, year = numeric.groups()
        a, b, y = int(first), int(second), int(year)
        if separator == "." or (a > 12 >= b):
            day, month = a, b
        elif b > 12 >= a or a == b:
            day, month = b, a
        else:
            other = f"{dt.date(y, b, a):%-d %B}" if _valid(y, b, a) else "?"
            raise ValueError(
                f"'{raw}' could be {dt.date(y, a, b):%-d %B} or {other} {y}; say which with "
                "--date-format '%d/%m/%Y' or '%m/%d/%Y' (or date_format in certgen.toml)"
            )
        if _valid(y, month, day):
            return dt.date(y, month, day)
        raise ValueError(f"'{raw}' is not a date: there is no such day")
    for pattern in _NAMED_DATES:
        try:
            return dt.datetime.strptime(raw, pattern).date()
        except ValueError:
            continue
    raise ValueError(
        f"'{raw}' is not a date (write it as YYYY-MM-DD, or give the list's format with "
        "--date-format, e.g. '%d/%m/%Y')"
    )


def _valid(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def parse_money(raw: str, decimal: str | None) -> Decimal:
    """An amount as people write it: $1,200.50, 1.200,50 €, 1 200,50, 12,50. ``decimal``
    is the list's decimal mark; without it only an amount that shows its own is read (both
    marks, a mark followed by one or two digits, or repeated groups), and "1,234" or
    "12.345", which could be either, is refused rather than guessed. Never rounded."""
    text = _CURRENCY.sub("", raw).replace("'", "")  # 1'200.50, as the Swiss write it
    if decimal is None:
        decimal = _decimal_mark(text, raw)
    group = "," if decimal == "." else "."
    whole, _, cents = text.partition(decimal) if decimal else (text, "", "")
    if group in whole:
        if not re.fullmatch(_GROUPED % re.escape(group), whole):
            mark = f"; its decimal mark is '{decimal}'" if decimal else ""
            raise ValueError(f"'{raw}' has its digit groups in the wrong places{mark}")
        whole = whole.replace(group, "")
    if len(cents) > MAX_DECIMALS and cents.isdigit():
        raise ValueError(
            f"'{raw}' has {len(cents)} decimal places; an amount has at most {MAX_DECIMALS} "
            f"(if '{decimal}' groups thousands in this list, give --decimal {group})"
        )
    text = f"{whole}.{cents}" if cents else whole
    if not re.fullmatch(r"-?\d+(\.\d+)?", text):  # no 1E+400, no NaN: digits as written
        raise ValueError(f"'{raw}' is not an amount (write it as 150 or 150.00)")
    amount = Decimal(text)
    if amount < 0 or amount >= MAX_AMOUNT:
        raise ValueError(f"'{raw}' is not an amount a gift can have (0 to {MAX_AMOUNT - 1:,})")
    return amount


def _decimal_mark(text: str, raw: str) -> str | None:
    """The decimal mark an amount shows by itself; ValueError where it could be either."""
    marks = [mark for mark in ".," if mark in text]
    if len(marks) == 2:
        return "." if text.rfind(".") > text.rfind(",") else ","  # the later one
    if not marks:
        return None
    mark = marks[0]
    if text.count(mark) > 1:
        return "," if mark == "." else "."  # only groups repeat
    if len(text) - text.rfind(mark) - 1 == 3:
        raise ValueError(
            f"'{raw}' could be {text.replace(mark, '')} or {text.replace(mark, '.')}: give "
            "--decimal . or --decimal , (or decimal in the list's profile)"
        )
    return mark


def check_text(spec: FieldSpec, value: str) -> str | None:
    """Why ``value`` cannot be printed for this field, or None."""
    bad = _FORBIDDEN.search(value)
    if bad:
        return f"contains the invisible or control character U+{ord(bad.group()):04X}; remove it"
    marks = 0
    for char in value:
        marks = marks + 1 if unicodedata.combining(char) else 0
        if marks > MAX_MARKS:
            return f"has more than {MAX_MARKS} combining marks on one letter; remove them"
    if len(value) > spec.max_length:
        return f"is {len(value)} characters long; the limit is {spec.max_length}"
    return None


def resolve(
    design: Design,
    given: Mapping[str, str],
    defaults: Mapping[str, str],
    issued_on: dt.date,
    *,
    file: str | None = None,
    row: int | None = None,
    columns: Mapping[str, str] | None = None,
    extra: Mapping[str, FieldSpec] | None = None,
    formats: Formats = Formats(),
) -> tuple[Row, list[Problem]]:
    """Typed values for every declared field: the row's, else config's, else the design's.

    ``columns`` names the CSV header each field came from, for error messages; ``extra``
    fields are read beside the design's (a mailing address); ``formats`` says how the
    list writes dates and amounts.
    """
    values: dict[str, Value] = {}
    problems: list[Problem] = []
    for name, spec in _fields(design, extra).items():
        column = (columns or {}).get(name, name)
        value = given.get(name)
        raw = clean(value) if value else ""
        source = "row"
        if not raw:
            raw, source = clean(defaults.get(name) or spec.default or ""), "default"
        if not raw:
            if spec.required and name not in design.fields:
                hint = f"fill the '{column}' column, or leave the row out"
                problems.append(Problem(f"'{name}' is required", file, row, column, hint))
            elif spec.required:
                hint = (
                    f"fill the '{column}' column, or set a default: [defaults] {name} = ... "
                    "in certgen.toml"
                    if file
                    else f"give --set {name}=VALUE, or set [defaults] {name} in certgen.toml"
                )
                if not file and design.field_sources().get(name) == "business":
                    hint += " (certgen init keeps the business's details there)"
                problems.append(Problem(f"'{name}' is required", file, row, column, hint))
            continue
        where = (file, row, column) if source == "row" else (None, None, f"default for {name}")
        reason = check_text(spec, raw)
        if reason is None:
            try:
                values[name] = convert(spec, raw, issued_on, formats)
            except ValueError as exc:
                reason = str(exc)
        expiry = values.get(name) if name == EXPIRES else None
        if isinstance(expiry, dt.date) and expiry < issued_on and not formats.allow_expired:
            reason = (
                f"{expiry.isoformat()} is before the issue date ({issued_on.isoformat()}): the "
                "gift would be expired when it arrives; correct it, or give --allow-expired"
            )
        if reason:
            problems.append(Problem(reason, *where))
    return Row(row, values, columns or {}), problems


def resolve_one(
    design: Design,
    given: Mapping[str, str],
    defaults: Mapping[str, str],
    issued_on: dt.date,
    extra: Mapping[str, FieldSpec] | None = None,
    *,
    decimal: str | None = None,
    allow_expired: bool = True,
) -> Row:
    """The single row a rep gives on the command line."""
    unknown = sorted(set(given) - set(design.fields) - set(extra or {}))
    problems = []
    for name in unknown:
        close = difflib.get_close_matches(name, list(design.fields), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"fields: {', '.join(design.fields)}"
        problems.append(Problem(f"unknown field '{name}'", hint=hint))
    formats = Formats(decimal=decimal, allow_expired=allow_expired)
    row, more = resolve(design, given, defaults, issued_on, extra=extra, formats=formats)
    if problems or more:
        raise InputError(problems + more)
    return row


def sorted_rows(
    rows: Sequence[Row], field: str, design: Design, extra: Mapping[str, FieldSpec] | None
) -> Sequence[Row]:
    """The rows in the order of one field's text (a stable sort; empty values last). The
    field may be named as its columns are (``zip`` for ``postal_code``)."""
    known = _fields(design, extra)
    name = mapping.field_named(field, known)
    if name is None:
        close = difflib.get_close_matches(field.casefold(), list(known), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"fields: {', '.join(known)}"
        raise InputError([Problem(f"--sort-by: unknown field '{field}'", hint=hint)])
    keys = [(not row.text(name), row.text(name).casefold()) for row in rows]
    return reordered(rows, sorted(range(len(keys)), key=keys.__getitem__))


def reordered(rows: Sequence[Row], order: Sequence[int]) -> Sequence[Row]:
    """``rows`` in the order of ``order`` (positions in ``rows``), a table still a table."""
    return rows.reordered(order) if isinstance(rows, Table) else [rows[i] for i in order]


def _fields(design: Design, extra: Mapping[str, FieldSpec] | None) -> dict[str, FieldSpec]:
    """The design's fields and the ``extra`` ones read beside them. The design's win, but
    what a run needs of one it declares too stays: a send to the givers needs their email
    column (``giver_email``, which a design declares for the thank-you) and finds it under
    the run's aliases as well."""
    fields = {**(extra or {}), **design.fields}
    for name, spec in (extra or {}).items():
        own = design.fields.get(name)
        if own is not None and (spec.required or spec.aliases):
            aliases = tuple(dict.fromkeys((*own.aliases, *spec.aliases)))
            required = own.required or spec.required
            fields[name] = own.model_copy(update={"required": required, "aliases": aliases})
    return fields


@dataclass(frozen=True)
class ReadOptions:
    """How to read a list: its encoding, separator and sheet, how its columns map onto
    fields, and how it writes dates."""

    encoding: str = tables.AUTO
    delimiter: str | None = None
    sheet: str | None = None
    maps: tuple[tuple[str, str], ...] = ()  # --map: (HEADER, FIELD) or (FIELD, TEMPLATE)
    ignore: tuple[str, ...] = ()
    profile: Profile | None = None
    people: People | None = None  # who the rows are; default: the profile's
    strict_columns: bool = False
    date_format: str | None = None
    decimal: str | None = None  # the amounts' decimal mark; default: the profile's
    protect: bool = True  # the business's fields never come from a row (off for samples)
    allow_expired: bool = True  # an expiry date before the issue date is a row's problem


def read_csv(
    path: Path,
    design: Design,
    defaults: Mapping[str, str],
    issued_on: dt.date,
    options: ReadOptions = ReadOptions(),
    *,
    extra: Mapping[str, FieldSpec] | None = None,
) -> tuple[Table, list[Problem]]:
    """The rows of a list (CSV or workbook) that are valid so far, and every problem found
    in it; ``extra`` fields are read beside the design's. The table's ``notes`` say what
    was guessed or left out.

    A file that cannot be read at all (undecodable, empty, broken quoting) raises InputError.
    Rows with problems are left out of the rows, so later checks do not report them twice.
    """
    profile = options.profile
    numbers = (
        tables.NumberCells(dict(profile.pad), frozenset(profile.text_only)) if profile else None
    )
    source = tables.read(
        path,
        encoding=options.encoding,
        delimiter=options.delimiter,
        sheet=options.sheet,
        numbers=numbers,
    )
    file = source.file
    records = source.records()
    try:
        _, headers, _ = next(records)
    except StopIteration:
        raise InputError([Problem("the file has no header row", file)]) from None
    fields = _fields(design, extra)
    protected = protected_fields(design) if options.protect else {}
    unset = [
        name
        for name in protected
        if fields[name].required and not _default(name, fields[name], defaults)
    ]
    columns, problems = mapping.build(
        headers,
        fields,
        file=file,
        protected=protected,
        maps=options.maps,
        ignore=options.ignore,
        profile=profile,
        people=options.people,
        strict=options.strict_columns,
    )
    missing = _missing_columns(extra or {}, columns.entries, file)
    missing += [_unset(name, protected[name]) for name in unset]
    if missing:  # said once, with the header's problems, rather than on every row
        raise InputError(problems + missing)
    formats = Formats(
        options.date_format or (profile.date_format if profile else None),
        options.decimal or (profile.decimal if profile else None),
        options.allow_expired,
    )
    names = columns.columns()

    workbook = source.numbers is not None

    def resolve_record(record: list[str], number: int) -> tuple[Row, list[Problem]]:
        given, failed = columns.given(record)
        row, found = resolve(
            design,
            given,
            defaults,
            issued_on,
            file=file,
            row=number,
            columns=names,
            extra=extra,
            formats=formats,
        )
        for name, why in failed:
            message = f"the template for '{name}' cannot be rendered: {why}"
            found.append(
                Problem(message, file, number, names[name], "correct the --map or profile")
            )
        return row, found

    valid, refused, found = _check_records(records, len(headers), resolve_record, source)
    problems += found
    if not valid[0] and not problems:
        raise InputError([Problem("the file has a header but no rows", file)])
    table = Table(
        source,
        lambda record, n: resolve_record(_fit(record, len(headers), workbook), n)[0],
        *valid,
        headers,
        [*source.notes, *columns.notes],
        refused,
    )
    return table, problems


# Where records start in the text, and their row numbers (a string: array is not
# subscriptable at run time before Python 3.12).
Positions = tuple["array[int]", "array[int]"]


def _check_records(
    records: Iterator[tables.Record],
    width: int,
    resolve_record: Callable[[list[str], int], tuple[Row, list[Problem]]],
    source: tables.Source,
) -> tuple[Positions, Positions, list[Problem]]:
    """Every record resolved once: where the valid ones are, where the refused ones are, and
    the refused ones' problems (with the cells ``source`` refused)."""
    refused_cells: dict[int, list[Problem]] = {}
    for problem in source.refused:
        refused_cells.setdefault(problem.row or 0, []).append(problem)
    valid: Positions = (array("q"), array("q"))
    refused: Positions = (array("q"), array("q"))
    problems: list[Problem] = []
    for number, record, start in records:
        record = _fit(record, width, source.numbers is not None)
        if len(record) != width:
            found = [
                Problem(
                    f"has {len(record)} fields; the header has {width}",
                    source.file,
                    number,
                    hint="check for a missing or extra delimiter, or an unquoted comma",
                )
            ]
        else:
            found = refused_cells.get(number, []) + resolve_record(record, number)[1]
        starts, lines = refused if found else valid
        starts.append(start)
        lines.append(number)
        problems += found
    return valid, refused, problems


def _fit(record: list[str], width: int, workbook: bool) -> list[str]:
    """The record without the empty cells a spreadsheet leaves past the last column, and a
    workbook's row, whose empty cells at the end are not written, filled out."""
    if len(record) > width and not any(record[width:]):
        return record[:width]
    if len(record) < width and workbook:
        return record + [""] * (width - len(record))
    return record


def _default(name: str, spec: FieldSpec, defaults: Mapping[str, str]) -> str:
    return clean(defaults.get(name) or spec.default or "")


def _unset(name: str, whose: str) -> Problem:
    """A required field of the business's that nothing sets: said once, not per row."""
    hint = (
        f'run certgen init, set it in certgen.toml ([defaults] {name} = "..."), or give '
        f"--set {name}=..."
    )
    return Problem(f"'{name}' is required: {whose}, the same on every certificate", hint=hint)


def protected_fields(design: Design) -> dict[str, str]:
    """The design's fields no row may fill, and whose they are."""
    whose = {"business": "the business's own", "campaign": "the campaign's"}
    return {name: whose[kind] for name, kind in design.field_sources().items() if kind in whose}


def _missing_columns(
    extra: Mapping[str, FieldSpec], mapped: Iterable[str], file: str
) -> list[Problem]:
    """A required ``extra`` field without a column: a problem of the header, said once
    rather than for every row."""
    found, mapped = [], set(mapped)
    for name, spec in extra.items():
        if spec.required and name not in mapped:
            also = f" (or {', '.join(spec.aliases)})" if spec.aliases else ""
            hint = f"add a '{name}' column{also}, or map yours with --map 'HEADER={name}'"
            found.append(Problem(f"no column for '{name}', which is required", file, 1, None, hint))
    return found


def screen(
    rows: Sequence[Row], problems: Sequence[Problem], file: str | None
) -> tuple[Sequence[Row], list[Problem], list[Problem]]:
    """For a run that leaves bad rows out: the rows without a problem, the problems of the
    rows left out, and the problems no row can be left out for (the header's, the
    design's, a setting's), which still stop the run."""
    of_rows: list[Problem] = []
    fatal: list[Problem] = []
    for problem in problems:
        of_row = file and problem.file == file and problem.row and problem.row > 1
        (of_rows if of_row else fatal).append(problem)
    bad = {p.row for p in of_rows}
    keep = [i for i, row in enumerate(rows) if row.number not in bad]
    if isinstance(rows, Table):
        kept: Sequence[Row] = rows.reordered(keep)
    else:
        kept = [rows[i] for i in keep]
    return kept, of_rows, fatal


def write_rejects(path: Path, table: Table, problems: Sequence[Problem]) -> int:
    """The rows left out, as written (formula-safe), in the list's own columns after two
    of certgen's (the row, every reason), for the user to fix and feed back (reading
    skips certgen's columns); the count. A row with more cells than the header keeps
    them all: that is what there is to fix."""
    reasons: dict[int, list[str]] = {}
    for problem in problems:
        text = f"{problem.column}: {problem.message}" if problem.column else problem.message
        text += f" ({problem.hint})" if problem.hint else ""
        reasons.setdefault(problem.row or 0, []).append(text)
    with csv_written(path, encoding="utf-8-sig") as writer:  # a BOM: Excel reads it as UTF-8
        keep = [i for i, h in enumerate(table.headers) if not mapping.is_reject_column(h)]
        writer.writerow([*mapping.REJECT_COLUMNS, *(table.headers[i] for i in keep)])
        count = 0
        for number, record in table.records(reasons):
            own = [record[i] for i in keep if i < len(record)]
            own += record[len(table.headers) :]
            reason = "; ".join(reasons[number])
            writer.writerow([number, *(tables.safe_cell(c) for c in (reason, *own))])
            count += 1
    return count


@contextlib.contextmanager
def csv_written(path: Path, encoding: str) -> Iterator[Any]:
    """A csv.writer into a temporary file beside ``path``, moved into place when the block
    ends without an error: a reader never sees half a file."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        with temp.open("w", newline="", encoding=encoding) as stream:
            yield csv.writer(stream)
        os.replace(temp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from exc
    finally:
        temp.unlink(missing_ok=True)


# A spreadsheet treats a cell starting with one of these as a formula (OWASP CSV injection).
