"""Tables as people keep them, read into one form: records of text with where each starts.

A CSV file comes in the encoding and separator its program wrote: UTF-8 with or without a
BOM, UTF-16 with a BOM (Excel's "Unicode Text", tab-separated), Windows-1252 (Excel on
Windows), comma, semicolon (Excel where the decimal mark is a comma), tab or bar. A workbook
(.xlsx, .xlsm, .xls, .ods) is read with python-calamine and its cells written out as CSV text,
each cell as a person reads it in the spreadsheet: a number without a trailing ``.0``, a date
as ``YYYY-MM-DD``. Either way the result is a ``Source``: the text, its delimiter, and its
records with the row number a person sees (the line of a CSV file, the sheet row of a
workbook), so every later step treats both alike.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from certgen.errors import InputError, Problem

DELIMITERS = ",;\t|"
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
AUTO = "auto"
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
Record = tuple[int, list[str], int]  # (row number, fields, offset in the text)


@dataclass(frozen=True)
class Source:
    """A table's text as CSV and how to read it back: ``records`` gives each non-blank
    record with its row number and where it starts in ``text``."""

    file: str
    text: str
    delimiter: str
    notes: tuple[str, ...] = ()  # what was guessed
    numbers: dict[int, int] | None = None  # a workbook's: line of ``text`` -> sheet row
    refused: list[Problem] = field(default_factory=list)  # cells that cannot be read

    def records(self) -> Iterator[Record]:
        """(row number, fields, offset) of each non-blank record; a broken file is an
        InputError."""
        lines = Lines(self.text)
        reader = csv.reader(lines, delimiter=self.delimiter, strict=True)
        line, offset = 1, 0
        try:
            for record in reader:
                if any(cell.strip() for cell in record):
                    yield self.row_number(line), record, offset
                line, offset = reader.line_num + 1, lines.pos
        except csv.Error as exc:
            raise InputError(
                [
                    Problem(
                        f"not valid CSV: {exc}",
                        self.file,
                        self.row_number(line),
                        hint="check the quotes on this row",
                    )
                ]
            ) from None

    def row_number(self, line: int) -> int:
        return self.numbers.get(line, line) if self.numbers is not None else line


@dataclass(frozen=True)
class NumberCells:
    """What a workbook's number cell means in a column that holds codes, not amounts (by
    the column's ``identifier``): ``pad`` it with leading zeros to a width (a US ZIP stored
    as 2134 is 02134), or refuse it (``text_only``: a phone number whose leading zero the
    spreadsheet dropped)."""

    pad: dict[str, int] = field(default_factory=dict)
    text_only: frozenset[str] = frozenset()


def identifier(header: str) -> str:
    """A header as a template names it: ``First Name`` is ``first_name``, ``E-mail 1 -
    Value`` is ``e_mail_1_value``."""
    name = re.sub(r"\W+", "_", header.strip().casefold()).strip("_")
    return f"_{name}" if name[:1].isdigit() else name


def read(
    path: Path,
    *,
    encoding: str = AUTO,
    delimiter: str | None = None,
    sheet: str | None = None,
    numbers: NumberCells | None = None,
) -> Source:
    """The table in ``path``: a workbook by its suffix, else CSV."""
    file = str(path)
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        return read_workbook(path, sheet, numbers or NumberCells())
    if sheet is not None:
        raise InputError([Problem("--sheet-name is for a workbook (.xlsx, .ods)", file)])
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError([Problem(f"cannot read the file: {exc.strerror}", file)]) from None
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        hint = "give it its .xlsx, .xls or .ods name, or save it as CSV"
        raise InputError([Problem("this is a workbook, not a CSV file", file, hint=hint)])
    text, notes = decode(data, file, encoding)
    if not text.strip():
        raise InputError([Problem("the file is empty; it needs a header row and rows", file)])
    first = next(Lines(text))
    hinted = re.fullmatch(r"sep=(.)\r?\n?", first)  # Excel's separator line
    if hinted:  # blanked, not cut, so that offsets and line numbers stay the file's
        width = len(first.rstrip("\r\n"))
        text = " " * width + text[width:]
        delimiter = delimiter or hinted.group(1)
    delimiter = delimiter or sniff_delimiter(first)
    return Source(file, text, delimiter, tuple(notes))


def decode(data: bytes, file: str, encoding: str) -> tuple[str, list[str]]:
    """The text, and a note when its encoding was a guess."""
    if encoding.lower() != AUTO:
        name = encoding.lower().replace("_", "-")
        if name in ("utf-8", "utf8"):
            name = "utf-8-sig"  # a BOM is never part of the first header
        shown = "UTF-8" if name == "utf-8-sig" else encoding
        return _decode(data, file, name, shown), []
    for bom, name in _BOMS:
        if data.startswith(bom):
            shown = "UTF-16" if name == "utf-16" else "UTF-8"
            return _decode(data, file, name, shown), []
    if b"\x00" in data[:4096]:
        hint = "save it as UTF-8, or give its encoding with --encoding utf-16-le"
        raise InputError([Problem("the file looks like UTF-16 without a BOM", file, hint=hint)])
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return _decode(data, file, "utf-8", "UTF-8"), []  # raises, located
    note = f"{file} is not UTF-8; read it as Windows-1252 (give --encoding to say otherwise)"
    return text, [note]


def _decode(data: bytes, file: str, encoding: str, shown: str) -> str:
    try:
        return data.decode(encoding)
    except LookupError:
        raise InputError([Problem(f"unknown encoding '{shown}'", file)]) from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        hint = f"read as {shown}; if the file came from Excel on Windows, try --encoding cp1252"
        message = f"byte 0x{data[exc.start]:02X} at offset {exc.start} is not valid {shown}"
        raise InputError([Problem(message, file, line, None, hint)]) from None


_DELIMITER_NAMES = {
    "tab": "\t",
    "\\t": "\t",
    "comma": ",",
    "semicolon": ";",
    "pipe": "|",
    "space": " ",
}


def delimiter_named(text: str) -> str:
    """A delimiter as a person gives it: one character, or tab, comma, semicolon, pipe,
    space (``\\t`` too); ValueError says what is wrong."""
    found = _DELIMITER_NAMES.get(text.lower(), text)
    if len(found) != 1:
        raise ValueError(
            f"'{text[:20]}' is not one character: give one (, ; |) or tab, comma, semicolon, "
            "pipe or space"
        )
    if found in '"\r\n' or found.isalnum():
        raise ValueError(f"{found!r} cannot separate columns (it is part of the values)")
    return found


def sniff_delimiter(header_line: str) -> str:
    """The delimiter the header line uses most, outside quotes; a comma if none."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_workbook(path: Path, sheet: str | None, rules: NumberCells) -> Source:
    """A workbook's sheet (the first, or ``sheet``) as CSV text, each cell as it reads;
    number cells in a column of ``rules`` padded or refused."""
    import python_calamine  # only a run that reads a workbook pays for it

    file = str(path)
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own types for every kind of damage
        message = f"cannot read the workbook: {exc}".strip()
        raise InputError([Problem(message, file, hint="open and save it again")]) from None
    names = list(book.sheet_names)
    name = sheet if sheet is not None else (names[0] if names else None)
    if name not in names:
        hint = f"its sheets: {', '.join(names)}" if names else "it has no sheets"
        raise InputError([Problem(f"no sheet named '{sheet}'", file, hint=hint)])
    # Row by row (a sheet of 100,000 rows is never all Python objects at once); rows are
    # counted from the sheet's first, so a row's number is the one the spreadsheet shows.
    cells = book.get_sheet_by_name(name).iter_rows()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    numbers: dict[int, int] = {}
    refused: list[Problem] = []
    headers: list[str] | None = None
    line = 1
    for number, row in enumerate(cells, start=1):
        values = [cell_text(cell) for cell in row]
        while values and not values[-1]:
            values.pop()
        if not values:
            continue
        if headers is None:
            headers = values
        else:
            refused += _number_cells(row, values, headers, rules, file, number)
        numbers[line] = number
        before = buffer.tell()
        writer.writerow(values)
        line += buffer.getvalue().count("\n", before)
    text = buffer.getvalue()
    if not text.strip():
        raise InputError([Problem(f"sheet '{name}' is empty; it needs a header row", file)])
    return Source(file, text, ",", numbers=numbers, refused=refused)


def _number_cells(
    cells: Sequence[object],
    text: list[str],
    headers: list[str],
    rules: NumberCells,
    file: str,
    number: int,
) -> list[Problem]:
    """Pads ``text`` where ``rules`` say; the cells they refuse."""
    refused = []
    for index, header in enumerate(headers[: len(text)]):
        cell = cells[index]
        if not isinstance(cell, int | float) or isinstance(cell, bool):
            continue
        key = identifier(header)
        if key in rules.text_only:
            hint = "format the column as Text in the spreadsheet and type the number again"
            message = f"is the number {text[index]}, which may have lost leading zeros"
            refused.append(Problem(message, file, number, header, hint))
        elif key in rules.pad and text[index].isdigit():
            text[index] = text[index].zfill(rules.pad[key])
    return refused


def cell_text(value: object) -> str:
    """A workbook cell as a person reads it: 2134 not 2134.0, 12.5, a date as YYYY-MM-DD
    (with its time when it has one), TRUE/FALSE."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes" if not value.second else "seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


class Lines:
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


# A cell a spreadsheet would run as a formula starts with one of these.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")


def safe_cell(text: str) -> str:
    """Text a spreadsheet shows as text: a leading formula character gets a quote mark.
    For every CSV certgen writes (reports, run manifests)."""
    return f"'{text}" if text.startswith(FORMULA_START) else text
