"""Rows of field values from a CSV file or the command line, converted and checked.

Every problem is collected with its file, row and column, so a user fixes them all in one
pass; nothing is printed or recorded while any remain. Row numbers are the line on which
the record starts, so the header is row 1, as in a spreadsheet.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import re
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import overload

from certgen.design import Design, FieldSpec
from certgen.errors import InputError, Problem

Value = str | Decimal | dt.date | int

# Header spellings people use for the standard referral fields (field -> aliases).
STANDARD_ALIASES = {
    "recipient": ("to", "recipient_name", "friend", "for"),
    "giver": ("from", "referrer", "referred_by", "giver_name", "customer"),
    "expires": ("expiry", "expires_on", "expiration", "valid_until"),
    "giver_email": ("from_email", "referrer_email", "giver_email_address", "customer_email"),
}
# Deliberately loose (the mail server decides); catches blanks, spaces and missing parts.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
DELIMITERS = ",;\t|"
# Characters that could make a printed name lie about itself (bidi overrides, invisible
# marks) or cannot be printed at all (controls other than line breaks).
_FORBIDDEN = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
_MONEY_NOISE = re.compile(r"[\s,$€£¥]")


@dataclass(frozen=True)
class Row:
    """One certificate's input: where it came from and its typed field values."""

    number: int | None  # line in the CSV; None for values given on the command line
    values: Mapping[str, Value]
    columns: Mapping[str, str] = field(default_factory=dict)  # field -> CSV header

    def column(self, name: str) -> str:
        """How the user named a field: its CSV header, else the field's name."""
        return self.columns.get(name, name)

    def text(self, name: str) -> str:
        value = self.values.get(name)
        return "" if value is None else str(value)


class Table(Sequence[Row]):
    """The valid rows of a CSV file, each parsed and resolved again when it is asked for:
    a run holds the file's text and where each row starts, never every row at once, so its
    memory does not grow with the rows' fields."""

    def __init__(
        self,
        text: str,
        delimiter: str,
        resolve_record: Callable[[list[str], int], Row],
        starts: array[int],
        lines: array[int],
    ):
        self.text, self.delimiter, self.resolve_record = text, delimiter, resolve_record
        self.starts, self.lines = starts, lines  # offset in text, line in the file

    def __len__(self) -> int:
        return len(self.starts)

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> list[Row]: ...

    def __getitem__(self, index: int | slice) -> Row | list[Row]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        reader = csv.reader(_Lines(self.text, self.starts[index]), delimiter=self.delimiter)
        return self.resolve_record(next(reader), self.lines[index])

    def __iter__(self) -> Iterator[Row]:
        return (self[i] for i in range(len(self)))

    def reordered(self, order: Iterable[int]) -> Table:
        """The same rows in the order of ``order`` (positions in this table)."""
        order = list(order)
        starts = array("q", (self.starts[i] for i in order))
        lines = array("q", (self.lines[i] for i in order))
        return Table(self.text, self.delimiter, self.resolve_record, starts, lines)


def clean(raw: str) -> str:
    """Stripped NFC text with Windows line breaks folded to ``\\n``."""
    return unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n").strip())


def convert(spec: FieldSpec, raw: str, issued_on: dt.date) -> Value:
    """A raw string to the field's type; ``ValueError`` with a message for users."""
    if spec.type == "date":
        if re.fullmatch(r"\+\d+", raw):
            return issued_on + dt.timedelta(days=int(raw))
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"'{raw}' is not a date (write it as YYYY-MM-DD)") from None
    if spec.type == "money":
        try:
            amount = Decimal(_MONEY_NOISE.sub("", raw))
        except InvalidOperation:
            raise ValueError(f"'{raw}' is not an amount (write it as 150 or 150.00)") from None
        if not amount.is_finite() or amount < 0:
            raise ValueError(f"'{raw}' is not an amount (write it as 150 or 150.00)")
        return amount
    if spec.type == "email":
        if not _EMAIL.fullmatch(raw):
            raise ValueError(f"'{raw}' is not an email address")
        return raw
    if spec.type == "int":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"'{raw}' is not a whole number") from None
    return raw


def check_text(spec: FieldSpec, value: str) -> str | None:
    """Why ``value`` cannot be printed for this field, or None."""
    bad = _FORBIDDEN.search(value)
    if bad:
        return f"contains the invisible or control character U+{ord(bad.group()):04X}; remove it"
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
) -> tuple[Row, list[Problem]]:
    """Typed values for every declared field: the row's, else config's, else the design's.

    ``columns`` names the CSV header each field came from, for error messages; ``extra``
    fields are read beside the design's (a mailing address).
    """
    values: dict[str, Value] = {}
    problems: list[Problem] = []
    for name, spec in _fields(design, extra).items():
        column = (columns or {}).get(name, name)
        raw = clean(given.get(name) or "")
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
                problems.append(Problem(f"'{name}' is required", file, row, column, hint))
            continue
        where = (file, row, column) if source == "row" else (None, None, f"default for {name}")
        reason = check_text(spec, raw)
        if reason is None:
            try:
                values[name] = convert(spec, raw, issued_on)
            except ValueError as exc:
                reason = str(exc)
        if reason:
            problems.append(Problem(reason, *where))
    return Row(row, values, columns or {}), problems


def resolve_one(
    design: Design,
    given: Mapping[str, str],
    defaults: Mapping[str, str],
    issued_on: dt.date,
    extra: Mapping[str, FieldSpec] | None = None,
) -> Row:
    """The single row a rep gives on the command line."""
    unknown = sorted(set(given) - set(design.fields) - set(extra or {}))
    problems = [_unknown(name, design, None, None, "--set") for name in unknown]
    row, more = resolve(design, given, defaults, issued_on, extra=extra)
    if problems or more:
        raise InputError(problems + more)
    return row


def sorted_rows(
    rows: Sequence[Row], field: str, design: Design, extra: Mapping[str, FieldSpec] | None
) -> Sequence[Row]:
    """The rows in the order of one field's text (a stable sort; empty values last). The
    field may be named as its columns are (``zip`` for ``postal_code``)."""
    known = _fields(design, extra)
    name = _lookup(known).get(_key(field))
    if name is None:
        close = difflib.get_close_matches(_key(field), list(known), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"fields: {', '.join(known)}"
        raise InputError([Problem(f"--sort-by: unknown field '{field}'", hint=hint)])
    keys = [(not row.text(name), row.text(name).casefold()) for row in rows]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return rows.reordered(order) if isinstance(rows, Table) else [rows[i] for i in order]


def _unknown(name: str, design: Design, file: str | None, row: int | None, how: str) -> Problem:
    close = difflib.get_close_matches(_key(name), list(design.fields), n=1, cutoff=0.6)
    fields = f"fields: {', '.join(design.fields)}"
    if how == "--set":
        hint = f"did you mean '{close[0]}'?" if close else fields
        return Problem(f"unknown field '{name}'", hint=hint)
    target = close[0] if close else "FIELD"
    hint = f"map it with --map '{name}={target}' or leave it out with --ignore '{name}'"
    hint = f"did you mean '{close[0]}'? {hint}" if close else f"{hint}; {fields}"
    return Problem("unknown column", file, row, name, hint)


def _key(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().casefold())


def _fields(design: Design, extra: Mapping[str, FieldSpec] | None) -> dict[str, FieldSpec]:
    """The design's fields and the ``extra`` ones read beside them (the design's win)."""
    return {**(extra or {}), **design.fields}


def _lookup(fields: Mapping[str, FieldSpec]) -> dict[str, str]:
    """Header spelling (``_key``) -> field: each field's name, then its aliases."""
    lookup = {_key(name): name for name in fields}
    for name, spec in fields.items():
        for alias in (*STANDARD_ALIASES.get(name, ()), *spec.aliases):
            lookup.setdefault(_key(alias), name)
    return lookup


def map_headers(
    design: Design,
    headers: list[str],
    file: str,
    explicit: Mapping[str, str],
    ignore: Iterable[str],
    extra: Mapping[str, FieldSpec] | None = None,
) -> tuple[dict[int, str], list[Problem]]:
    """Column index -> field name, matching case-insensitively through aliases."""
    lookup = _lookup(_fields(design, extra))
    mapped = {_key(header): _key(target) for header, target in explicit.items()}
    ignored = {_key(name) for name in ignore}
    columns: dict[int, str] = {}
    seen: dict[str, str] = {}
    problems = []
    for index, header in enumerate(headers):
        key = _key(header)
        if key in ignored:
            continue
        target = lookup.get(mapped.get(key, key))
        if not header.strip():
            problems.append(Problem("a column has no header", file, 1, f"#{index + 1}"))
        elif target is None:
            problems.append(_unknown(header, design, file, 1, "column"))
        elif target in seen:
            problems.append(
                Problem(
                    f"maps to '{target}', as column '{seen[target]}' does",
                    file,
                    1,
                    header,
                    "remove one of them, or leave one out with --ignore",
                )
            )
        else:
            columns[index], seen[target] = target, header
    for target in explicit.values():
        if _key(target) not in lookup:
            problems.append(_unknown(target, design, file, None, "--set"))
    return columns, problems


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


def decode(data: bytes, file: str, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except LookupError:
        raise InputError([Problem(f"unknown encoding '{encoding}'", file)]) from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        shown = "UTF-8" if encoding == "utf-8-sig" else encoding
        hint = f"read as {shown}; if the file came from Excel on Windows, try --encoding cp1252"
        message = f"byte 0x{data[exc.start]:02X} at offset {exc.start} is not valid {shown}"
        raise InputError([Problem(message, file, line, None, hint)]) from None


def sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(
    path: Path,
    design: Design,
    defaults: Mapping[str, str],
    issued_on: dt.date,
    *,
    encoding: str = "utf-8-sig",
    delimiter: str | None = None,
    mapping: Mapping[str, str] | None = None,
    ignore: Iterable[str] = (),
    extra: Mapping[str, FieldSpec] | None = None,
) -> tuple[Table, list[Problem]]:
    """The rows that are valid so far, and every problem found in the file; ``extra``
    fields are read beside the design's.

    A file that cannot be read at all (undecodable, empty, broken quoting) raises InputError.
    Rows with problems are left out of the rows, so later checks do not report them twice.
    """
    file = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError([Problem(f"cannot read the file: {exc.strerror}", file)]) from None
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"  # a BOM is never part of the first header
    text = decode(data, file, encoding)
    if not text.strip():
        raise InputError([Problem("the file is empty; it needs a header row and rows", file)])
    delimiter = delimiter or sniff_delimiter(next(_Lines(text)))
    records = _records(text, delimiter, file)
    number, headers, _ = next(records)
    columns, problems = map_headers(design, headers, file, mapping or {}, ignore, extra)
    missing = _missing_columns(extra or {}, columns.values(), file)
    if missing:
        raise InputError(problems + missing)
    names = {name: headers[index] for index, name in columns.items()}

    def resolve_record(record: list[str], number: int) -> tuple[Row, list[Problem]]:
        given = {name: record[index] for index, name in columns.items()}
        return resolve(
            design, given, defaults, issued_on, file=file, row=number, columns=names, extra=extra
        )

    starts, lines = array("q"), array("q")
    for number, record, start in records:
        if len(record) != len(headers):
            problems.append(
                Problem(
                    f"has {len(record)} fields; the header has {len(headers)}",
                    file,
                    number,
                    hint="check for a missing or extra delimiter, or an unquoted comma",
                )
            )
            continue
        found = resolve_record(record, number)[1]
        if found:
            problems += found
        else:
            starts.append(start)
            lines.append(number)
    if not starts and not problems:
        raise InputError([Problem("the file has a header but no rows", file)])
    table = Table(text, delimiter, lambda record, n: resolve_record(record, n)[0], starts, lines)
    return table, problems


class _Lines:
    """The lines of ``text`` from ``pos`` on, each with its line break, as csv.reader reads
    a file opened with newline=""; ``pos`` is where the next line starts."""

    BREAK = re.compile(r"\r\n?|\n")

    def __init__(self, text: str, pos: int = 0):
        self.text, self.pos = text, pos

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.text):
            raise StopIteration
        found = self.BREAK.search(self.text, self.pos)
        end = found.end() if found else len(self.text)
        line, self.pos = self.text[self.pos : end], end
        return line


def _records(text: str, delimiter: str, file: str) -> Iterator[tuple[int, list[str], int]]:
    """(starting line, fields, offset in ``text``) for each non-blank record; a broken file
    is an InputError."""
    lines = _Lines(text)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    start, offset = 1, 0
    try:
        for record in reader:
            if any(field.strip() for field in record):
                yield start, record, offset
            start, offset = reader.line_num + 1, lines.pos
    except csv.Error as exc:
        raise InputError(
            [Problem(f"not valid CSV: {exc}", file, start, hint="check the quotes on this row")]
        ) from None


# A spreadsheet treats a cell starting with one of these as a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")


def safe_cell(text: str) -> str:
    """Text a spreadsheet shows as text: a leading formula character gets a quote mark.
    For every CSV certgen writes (reports, run manifests)."""
    return f"'{text}" if text.startswith(FORMULA_START) else text
