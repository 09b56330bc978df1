"""Issuing: check every row, build each certificate as data, draw, record, then publish.

Every row is checked before anything is recorded. Each PDF is written to a temporary file
beside it and moved into place only after the ledger has committed its codes, so a failure
leaves no record without its PDF and no partial PDF. A run is one file, recorded whole, or
with ``split`` several, recorded one after the other: an interrupted split run is finished by
running it again under its batch id, which keeps the files in place and the recorded codes.

Rows are laid out and drawn in chunks of CHUNK certificates, in ``jobs`` processes, each
chunk reading its own rows: the run holds its codes and where each row is, not its rows or
certificates, so its memory does not grow with its length. A one-file run checks each chunk
as it draws it and records nothing if any has a problem; a split run, which records its
files as they are done, checks every chunk first.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import glob
import os
import secrets
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from certgen import codes, pdfjoin, qr, render, runs, stopping, workers
from certgen import imb as imb_mod
from certgen.design import EMAIL_NAMES, Design, QrElement, TextElement
from certgen.errors import InputError, OutputError, Problem, RunMismatchError
from certgen.inks import Pdfx
from certgen.inputs import Row, csv_written, reordered
from certgen.inputs import screen as screen_rows
from certgen.ledger import BatchRecord, CertificateRecord, Ledger
from certgen.mailing import FIELDS as ADDRESS_FIELDS
from certgen.mailing import Envelope
from certgen.placement import Layout
from certgen.tables import safe_cell
from certgen.text import RenderError

CHUNK = 1000  # certificates drawn into one PDF at a time, then joined into the file


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    file: Path  # the output asked for; with ``split``, the pattern the parts are named after
    codes: Sequence[str]
    reprinted: bool = False  # the batch was already recorded: same codes, nothing new issued
    files: tuple[Path, ...] = ()  # every PDF of the run
    issued: int = 0  # certificates recorded by this run (a resumed run: the rest)
    manifest: Path | None = None  # with ``split``: code, recipient, file and page per row
    dry_run: bool = False  # checked only: nothing drawn, written or recorded


def context(
    design: Design, row: Row, code: str, issued_on: dt.date, base_url: str
) -> dict[str, Any]:
    """What a design's text may read: declared fields (empty when not given) and built-ins."""
    values: dict[str, Any] = {name: row.values.get(name, "") for name in design.fields}
    values.update(
        code=code,
        code_display=codes.display(code),
        issued_on=issued_on,
        redeem_url=qr.redeem_url(base_url, code),
    )
    for person in ("giver", "recipient"):  # a design's own field of that name wins
        values.setdefault(f"{person}_first", first_name(row.text(person)))
    values["lang"] = row_locale(design, row) or design.locale
    return values


def row_locale(design: Design, row: Row) -> str:
    """The row's own language, where the design has a ``locale`` field and it is filled."""
    return row.text("locale") if "locale" in design.fields else ""


def for_rows(design: Design, rows: Sequence[Row]) -> Design:
    """The design for these rows: their fixed words drawn per row if some are in another
    language than the run's."""
    if "locale" not in design.fields:
        return design
    return design.for_rows(row_locale(design, row) for row in rows)


def first_name(name: str) -> str:
    """The first word of a name as written ("Jane" of "Jane Doe"), for a greeting."""
    return name.split(maxsplit=1)[0] if name.strip() else ""


def _layout(
    design: Design,
    element: TextElement,
    values: dict[str, Any],
    where: tuple[str | None, int | None],
    row: Row | None = None,
) -> tuple[render.Fitted | None, Problem | None]:
    fields = sorted(design.templates[element.id].variables & set(design.fields))
    column = ", ".join(row.column(f) if row else f for f in fields) or None
    try:
        text = design.templates[element.id].render(values)
    except RenderError as exc:
        message = f"element '{element.id}' cannot be rendered: {exc.message}"
        return None, Problem(message, *where, column)
    text = unicodedata.normalize("NFC", text.strip())
    if len(text) > element.max_chars:
        limit = element.max_chars
        message = f"element '{element.id}' would print {len(text)} characters; the limit is {limit}"
        return None, Problem(message, *where, column)
    missing = render.missing_glyphs(design, element, text)
    if missing:
        chars = ", ".join(f"'{c}' (U+{ord(c):04X})" for c in missing)
        fonts = ", ".join(dict.fromkeys((element.font, *design.fallback)))
        message = f"element '{element.id}': no font has a glyph for {chars} (tried {fonts})"
        hint = "remove or replace those characters, or add a font that has them to the design"
        return None, Problem(message, *where, column, hint)
    fitted = render.fit(design, element, text)
    if fitted is None:
        smallest = element.min_size or element.size
        message = (
            f"'{text}' does not fit element '{element.id}' ({element.width:g} x "
            f"{element.height:g} mm) even at {smallest:g} pt on {element.max_lines} line(s)"
        )
        hint = f"shorten the {column or 'text'}" if column else "shorten the design's text"
        return None, Problem(message, *where, column, hint)
    return fitted, None


def prepare(
    design: Design,
    rows: Sequence[Row],
    *,
    base_url: str,
    issued_on: dt.date,
    file: str | None,
    row_codes: Sequence[str],
    problems: Sequence[Problem] = (),
    envelope: Envelope | None = None,
    duplex: bool = False,
) -> list[render.Certificate]:
    """A certificate per row (its code from ``row_codes``, its QR code still to be built by
    ``with_qr``; with ``envelope``, its address block), or an InputError listing every row
    that cannot print together with the ``problems`` the input already had."""
    problems = [*problems, *static_problems(design, duplex, envelope)]
    certificates, found = lay_out(
        design,
        rows,
        row_codes,
        base_url=base_url,
        issued_on=issued_on,
        file=file,
        envelope=envelope,
        duplex=duplex,
    )
    if problems or found:
        raise InputError([*problems, *found])
    return certificates


def static_problems(
    design: Design, duplex: bool, envelope: Envelope | None = None
) -> list[Problem]:
    """Why the design's fixed texts, or a mailer's return address, cannot print."""
    render.register_fonts(design)
    where = (str(design.path / "design.toml"), None)
    printed = [e for e in design.text_elements if duplex or e.side == "front"]
    fixed = design.static_context()
    laid = [_layout(design, e, fixed, where) for e in printed if design.is_static(e)]
    problems = [problem for _, problem in laid if problem]
    if envelope and envelope.sender:
        box = render.sender_box(envelope)
        if render.fit(design, box, envelope.sender) is None:
            lines = f"{box.max_lines} line{'s' if box.max_lines > 1 else ''}"
            message = (
                f"the return address '{envelope.sender}' does not fit the {envelope.name} "
                f"window's {lines} even at {box.min_size:g} pt"
            )
            hint = "shorten the business's address ([defaults] address, or --set address=...)"
            problems.append(Problem(message, None, None, None, hint))
    return problems


def lay_out(
    design: Design,
    rows: Sequence[Row],
    row_codes: Sequence[str],
    *,
    base_url: str,
    issued_on: dt.date,
    file: str | None,
    envelope: Envelope | None = None,
    duplex: bool = False,
    serial: int = 0,
) -> tuple[list[render.Certificate], list[Problem]]:
    """A certificate per row, and why rows cannot print (theirs lack those texts); with an
    IMb on the envelope, the rows' serials count from ``serial``."""
    render.register_fonts(design)
    problems: list[Problem] = []
    certificates = []
    printed = [e for e in design.text_elements if duplex or e.side == "front"]
    dynamic = [e for e in printed if not design.is_static(e)]
    layouts = _Layouts(design)
    for i, (row, code) in enumerate(zip(rows, row_codes, strict=True)):
        values = context(design, row, code, issued_on, base_url)
        texts = {}
        for element in dynamic:
            fitted, problem = layouts.get(element, values, (file, row.number), row)
            if problem:
                problems.append(problem)
            elif fitted:
                texts[element.id] = fitted
        panel = None
        if envelope:
            panel, found = _mailer(layouts, envelope, row, values, file)
            problems += found
            if envelope.imb and panel:
                piece, problem = mail_piece(envelope, row, serial + i, file)
                if problem:
                    problems.append(problem)
                else:
                    bars = imb_mod.bars(piece[:20], piece[20:])
                    panel = dataclasses.replace(panel, barcode=bars)
        certificates.append(render.Certificate(code, texts, codes.display(code), {}, panel))
    return certificates, problems


def layout_problems(
    design: Design,
    rows: Sequence[Row],
    row_codes: Sequence[str],
    *,
    base_url: str,
    issued_on: dt.date,
    file: str | None,
) -> list[Problem]:
    """Why rows cannot print, laid out a chunk at a time and kept no longer (as a split run
    checks its rows, in this process)."""
    layout = Layout((design.width_mm, design.height_mm))
    drawing = _Drawing(design, rows, row_codes, base_url, issued_on, file, layout)
    return _check(drawing, _split(range(len(rows)), CHUNK), jobs=1)


def screen(
    design: Design,
    rows: Sequence[Row],
    problems: Sequence[Problem],
    *,
    base_url: str,
    issued_on: dt.date,
    file: str | None,
    layout: Layout | None = None,
    jobs: int = 1,
) -> tuple[Sequence[Row], list[Problem], list[Problem]]:
    """For a run that leaves bad rows out (``--skip-invalid``): every row laid out as it
    would print (with the sample code, whose width every code shares), then
    ``inputs.screen``: the rows to issue, the problems of those left out, and the problems
    that still stop the run."""
    layout = layout or Layout((design.width_mm, design.height_mm))
    found = [*problems, *static_problems(design, layout.duplex, layout.envelope)]
    sample = codes.Packed([codes.SAMPLE] * len(rows))
    drawing = _Drawing(design, rows, sample, base_url, issued_on, file, layout)
    found += _check(drawing, _split(range(len(rows)), drawing.chunk_size()), jobs)
    return screen_rows(rows, found, file)


class _Layouts:
    """Dynamic elements laid out by the values their templates read: a campaign's offer,
    pain and business repeat on every row, so each is rendered, checked and fitted once."""

    SIZE = 1024  # the most recently used layouts kept; unique names pass through

    def __init__(self, design: Design):
        self.design = design
        self.known: collections.OrderedDict[tuple[Any, ...], render.Fitted] = (
            collections.OrderedDict()
        )
        self.reads = {name: sorted(t.variables) for name, t in design.templates.items()}

    def get(
        self,
        element: TextElement,
        values: dict[str, Any],
        where: tuple[str | None, int | None],
        row: Row,
    ) -> tuple[render.Fitted | None, Problem | None]:
        # By type and text: Decimal("150") == Decimal("150.00"), but they print differently.
        read = (values.get(name) for name in self.reads[element.id])
        key = (element.id, *((type(value), str(value)) for value in read))
        fitted = self.known.get(key)
        if fitted is not None:
            self.known.move_to_end(key)
            return fitted, None
        fitted, problem = _layout(self.design, element, values, where, row)
        if fitted is not None:  # a problem names its row: never reused
            self._keep(key, fitted)
        return fitted, problem

    def plain(self, box: TextElement, text: str) -> render.Fitted | None:
        """``text`` fitted into ``box`` as it is (a mailer's return address and letter):
        None for no text, or text that does not fit."""
        if not text:
            return None
        key = (box.id, box.x, box.y, text)
        fitted = self.known.get(key) or render.fit(self.design, box, text)
        if fitted is not None:
            self._keep(key, fitted)
        return fitted

    def _keep(self, key: tuple[Any, ...], fitted: render.Fitted) -> None:
        self.known[key] = fitted
        self.known.move_to_end(key)
        if len(self.known) > self.SIZE:
            self.known.popitem(last=False)


def _mailer(
    layouts: _Layouts, envelope: Envelope, row: Row, values: dict[str, Any], file: str | None
) -> tuple[render.MailerText | None, list[Problem]]:
    """The row's mailer panel: its address block, the business's return address (checked
    for the run by ``static_problems``) and the cover letter to the addressee."""
    design = layouts.design
    address, problem = _address(design, envelope, row, file)
    if address is None:
        return None, [problem] if problem else []
    sender = layouts.plain(render.sender_box(envelope), envelope.sender)
    try:
        letter_text = _letter(design, envelope.addressee, values)
    except RenderError as exc:
        message = f"the cover letter to the {envelope.addressee} cannot be written: {exc.message}"
        return None, [Problem(message, file, row.number, None, f"fix [letter] in {exc.path}")]
    letter = layouts.plain(render.letter_box(envelope), letter_text)
    if letter_text and letter is None:
        box = render.letter_box(envelope)
        message = (
            f"the cover letter to the {envelope.addressee} does not fit beside the window "
            f"({box.width:g} x {box.height:g} mm) even at {box.min_size:g} pt"
        )
        columns = row.column(envelope.addressee)
        hint = f"shorten [letter] {envelope.addressee} in {design.path / 'design.toml'}"
        return None, [Problem(message, file, row.number, columns, hint)]
    return render.MailerText(address, sender, letter), []


def mail_piece(
    envelope: Envelope, row: Row, serial: int, file: str | None
) -> tuple[str, Problem | None]:
    """The row's IMb digits (tracking code, then the ZIP code it routes to), or why the
    row cannot have one."""
    plan = envelope.imb
    if plan is None:
        return "", None
    route = imb_mod.routing(row.text("postal_code"))
    if route is None:
        message = (
            f"postal code '{row.text('postal_code')}' is not a US ZIP code (5 digits, or 9 "
            "with the +4), which the Intelligent Mail barcode routes to"
        )
        hint = "correct the ZIP code, or leave out --imb-mailer-id for mail outside the US"
        return "", Problem(message, file, row.number, row.column("postal_code"), hint)
    return plan.tracking(serial) + route, None


def _letter(design: Design, addressee: str, values: dict[str, Any]) -> str:
    """The cover letter as it prints: paragraphs kept, no run of blank lines."""
    text = design.letters[addressee].render({**dict.fromkeys(EMAIL_NAMES, ""), **values})
    lines = [" ".join(line.split()) for line in text.strip().split("\n")]
    kept = [line for i, line in enumerate(lines) if line or (i and lines[i - 1])]
    return unicodedata.normalize("NFC", "\n".join(kept))


def _address(
    design: Design, envelope: Envelope, row: Row, file: str | None
) -> tuple[render.Fitted | None, Problem | None]:
    """The row's address block, fitted into the envelope's window: each part of the address
    on its own line, never wrapped."""
    name = row.text(envelope.addressee)
    if not name:
        whose = "recipient" if envelope.addressee == "recipient" else "giver (the customer)"
        message = f"the mailer is addressed to the {whose}, and this row has no name for them"
        hint = f"fill the '{row.column(envelope.addressee)}' column, or leave the row out"
        other = "giver" if envelope.addressee == "recipient" else "recipient"
        hint += f", or address the mailers to the {other} with --address-to {other}"
        return None, Problem(message, file, row.number, row.column(envelope.addressee), hint)
    lines = envelope.lines(name, {k: row.text(k) for k in ADDRESS_FIELDS})
    box = render.address_box(envelope, len(lines))
    fitted = render.fit(design, box, "\n".join(lines))
    if fitted is None:
        message = (
            f"the address does not fit the {envelope.name} window ({box.width:g} x "
            f"{box.height:g} mm) even at {box.min_size:g} pt"
        )
        named = (envelope.addressee, *ADDRESS_FIELDS)
        columns = ", ".join(row.column(k) for k in named if row.text(k))
        return None, Problem(message, file, row.number, columns, "shorten the longest line")
    return fitted, None


def with_qr(design: Design, cert: render.Certificate, base_url: str) -> render.Certificate:
    """The certificate with its QR matrices, built just before its page is drawn so that
    a long run holds one matrix at a time."""
    matrices = {
        e.id: qr.matrix(
            qr.redeem_url(base_url, cert.code) if e.payload == "url" else cert.code, e.ecc
        )
        for e in design.manifest.elements
        if isinstance(e, QrElement)
    }
    return dataclasses.replace(cert, qr=matrices)


def issue(
    design: Design,
    rows: Sequence[Row],
    *,
    output: Path,
    ledger: Ledger,
    base_url: str,
    source: str,
    now: dt.datetime | None = None,
    randbelow: runs.Randbelow = secrets.randbelow,
    batch_id: str | None = None,
    problems: Sequence[Problem] = (),
    actor: str = "certgen",
    layout: Layout | None = None,
    progress: Callable[[int], None] | None = None,
    split: int | None = None,
    jobs: int = 1,
    force: bool = False,
    fingerprint: str | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    order: str = "rows",
    pdfx: Pdfx | None = None,
) -> BatchResult:
    """Issue one certificate per row into ``output``, recording every code in ``ledger``.

    ``problems`` found while reading the input are reported with any found here; if there
    are any, nothing is recorded. ``layout`` places the certificates (default: one a page;
    several to a printer sheet, on mailers, with their backs: ``placement``); ``split``
    writes files of at most that many certificates (``run-0001.pdf``...) and a
    ``run-manifest.csv``; ``jobs`` processes draw; ``progress`` is called with the number
    drawn so far. Files another
    run made are not written over unless ``force``. A new run records ``fingerprint``
    (``runs.fingerprint``) with its batch. A ``dry_run`` checks every row and file as the
    run would, and stops there. With ``limit``, only the first that many are drawn and
    recorded: the run stays unfinished, and running it again (``--resume``) does the rest.
    ``order`` ``cut-stack`` places the rows on the sheets so that each file's stack, cut and
    piled, is in the rows' order (``Layout.cut_stack``); its manifest says where each
    certificate is on the sheets and in the cut stack. ``pdfx`` writes PDF/X for a print
    shop, every colour in its press's CMYK."""
    output = output.resolve()
    design = for_rows(design, rows)
    layout = layout or Layout((design.width_mm, design.height_mm))
    if layout.skip and (split or order == "cut-stack"):
        raise ValueError("a partly used first sheet is for one file drawn in the rows' order")
    if order == "cut-stack":
        rows = reordered(rows, layout.cut_stack(len(rows), split))
    if not output.parent.is_dir():
        raise OutputError(f"cannot write {output}: the folder {output.parent} does not exist")
    settings = {
        "base_url": base_url,
        **layout.settings(),
        **({"pdfx": pdfx.describe()} if pdfx else {}),
        "split": split,
        "order": runs.order_digest(rows),
    }
    run = runs.Run.start(
        design,
        rows,
        ledger=ledger,
        source=source,
        target=str(output),
        now=now,
        run_id=batch_id,
        fingerprint=fingerprint,
        settings=settings,
        actor=actor,
        randbelow=randbelow,
    )
    recorded, row_codes = run.recorded, run.codes
    drawing = _Drawing(design, rows, row_codes, base_url, run.issued_on, run.file, layout, pdfx)
    outputs = _outputs(output, len(rows), split)
    if limit is not None:  # the first ``limit`` now, in the files they belong in
        now_part = run.part(limit)
        outputs = {
            out: range(part.start, min(part.stop, now_part.stop))
            for out, part in outputs.items()
            if part.start < now_part.stop
        } or {output: range(0)}
    planned = sum(len(part) for part in outputs.values())
    # A split run keeps the parts already recorded and in place: that is how it resumes.
    done = {out for out, part in outputs.items() if split and part.stop <= len(recorded)}
    todo = {out: part for out, part in outputs.items() if out not in done or not out.is_file()}
    problems = [*problems, *static_problems(design, layout.duplex, layout.envelope)]
    if problems or len(todo) > 1 or dry_run:  # every row checked before anything is recorded
        chunks = [chunk for part in todo.values() for chunk in drawing.chunks(part)]
        problems += _check(drawing, chunks, jobs)
    run.stop_on(problems)
    known = run.batch if run.known else None
    in_the_way = [] if force else files_in_the_way(output, len(rows), split, known)
    if in_the_way:
        shown = ", ".join(str(p) for p in in_the_way[:3])
        shown += f" and {len(in_the_way) - 3} more" if len(in_the_way) > 3 else ""
        raise OutputError(
            f"{shown} already exist{'s' if len(in_the_way) == 1 else ''}: certgen does not "
            "write over a file another run made (give another -o, or --force to replace it)"
        )
    issued = max(planned - len(recorded), 0)
    if dry_run:
        return BatchResult(
            run.id, output, row_codes, files=tuple(outputs), issued=issued, dry_run=True
        )
    plan = layout.envelope.imb if layout.envelope else None
    if plan:  # the run's block of serials, taken once: a resumed run prints the same
        first = ledger.reserve_serials(run.id, plan.mailer_id, len(rows), plan.modulus, run.now)
        drawing = dataclasses.replace(drawing, serial=first)
    pages = array("l", [0]) * len(rows)
    for i, r in enumerate(recorded):
        pages[i] = r.page
    reprint = run.known and not run.fresh

    def record(part: range, output: Path, placed: array[int]) -> None:
        """Rows recorded before must land where the ledger says; the rest are recorded now,
        the part's certificates and events in one transaction."""
        old = [i for i in part if i < len(recorded)]
        _check_same_places([recorded[i] for i in old], output, placed[: len(old)], run.id)
        new = range(part.start + len(old), part.stop)
        placed_new = ((output, page) for page in placed[len(old) :])
        run.record(new, placed_new, pieces=drawing.pieces(new))
        for i, page in zip(part, placed, strict=True):
            pages[i] = page

    _publish(drawing, outputs, todo, record, progress, jobs)
    listed = split or order == "cut-stack"
    listed = listed or plan is not None  # a mail house matches pieces by their serials
    if listed:
        manifest = _manifest(output, rows, row_codes, outputs, pages, layout, drawing)
    else:
        manifest = None
    return BatchResult(
        run.id,
        output,
        row_codes,
        reprinted=reprint,
        files=tuple(outputs),
        manifest=manifest,
        issued=issued,
    )


def files_in_the_way(
    output: Path, count: int, split: int | None, known: BatchRecord | None
) -> list[Path]:
    """The files a run would write over that are not its own: a reprint or a resumed run
    writes the files it wrote before, any other run none that exist."""
    output = output.resolve()
    if known is not None and Path(known.file) == output:
        return []
    paths = list(_outputs(output, count, split))
    if split:
        paths.append(_manifest_path(output))
    return [path for path in paths if path.exists()]


def _outputs(output: Path, count: int, split: int | None) -> dict[Path, range]:
    """Each file to write and the certificates (by position) it holds."""
    if not split or count <= 0:
        return {output: range(count)}
    parts = range(0, count, split)
    return {
        output.with_name(f"{output.stem}-{n:04d}{output.suffix}"): range(
            start, min(start + split, count)
        )
        for n, start in enumerate(parts, start=1)
    }


@dataclass(frozen=True)
class _Drawing:
    """What every chunk of a run is laid out and drawn from, by the rows' positions."""

    design: Design
    rows: Sequence[Row]
    row_codes: Sequence[str]
    base_url: str
    issued_on: dt.date
    file: str | None
    layout: Layout
    pdfx: Pdfx | None = None
    serial: int = 0  # the first row's IMb serial (the ledger's counter), on a mailing run

    def chunk_size(self) -> int:
        """Certificates a chunk holds: CHUNK, in whole sheets."""
        slots = self.layout.per_sheet
        return max(slots, CHUNK // slots * slots)

    def chunks(self, part: range) -> list[range]:
        """A file's rows in chunks of whole sheets: the first chunk of the run fills
        the rest of a partly used first sheet (``Layout.skip``), so later ones start a sheet."""
        skip = self.layout.skip if part.start == 0 else 0
        if not skip or len(part) <= self.chunk_size() - skip:
            return _split(part, self.chunk_size())
        first = range(part.start, part.start + self.chunk_size() - skip)
        return [first, *_split(range(first.stop, part.stop), self.chunk_size())]

    def lay_out(self, part: range) -> tuple[list[render.Certificate], list[Problem]]:
        return lay_out(
            self.design,
            self.rows[part.start : part.stop],
            self.row_codes[part.start : part.stop],
            base_url=self.base_url,
            issued_on=self.issued_on,
            file=self.file,
            envelope=self.layout.envelope,
            duplex=self.layout.duplex,
            serial=self.serial + part.start,
        )

    def pieces(self, part: range) -> list[str | None]:
        """The rows' IMb digits, for the ledger (None without an IMb)."""
        envelope = self.layout.envelope
        if envelope is None or envelope.imb is None:
            return [None] * len(part)
        return [mail_piece(envelope, self.rows[i], self.serial + i, self.file)[0] for i in part]

    def check(self, part: range) -> list[Problem]:
        return self.lay_out(part)[1]

    def draw(
        self, part: range, temp: Path, progress: Callable[[int], None] | None = None
    ) -> tuple[list[int], list[Problem]]:
        """The chunk's PDF as ``temp`` and each certificate's page in it; if any of its
        rows cannot print, only why."""
        certs, problems = self.lay_out(part)
        if problems:
            return [], problems
        chunk = _counted(certs, progress, part.start)
        drawn = (with_qr(self.design, c, self.base_url) for c in chunk)
        layout = self.layout.restarted(self.layout.skip if part.start == 0 else 0)
        return _write(self.design, drawn, temp, layout, self.pdfx), []


def _check(drawing: _Drawing, chunks: Sequence[range], jobs: int) -> list[Problem]:
    """Why rows of these chunks cannot print, in row order."""
    problems: list[Problem] = []
    with workers.in_order(drawing, "check", [(c,) for c in chunks], jobs) as results:
        for found in results:
            stopping.check()
            problems += found
    return problems


def _publish(
    drawing: _Drawing,
    outputs: dict[Path, range],
    todo: dict[Path, range],
    record: Callable[[range, Path, array[int]], None],
    progress: Callable[[int], None] | None,
    jobs: int,
) -> None:
    """Each file in ``todo``: draw it into a temporary file, then, in order, ``record`` its
    certificates' pages and only then move it into place; temporary files are removed on
    any failure. A file is drawn in chunks, each a PDF of its own, joined at the end; the
    chunks do not depend on ``jobs``, so neither does the output. A chunk with rows that
    cannot print is not drawn; their problems are raised before anything is recorded.
    Files not in ``todo`` are kept as they are; part files a killed run left are removed."""
    for output in outputs:
        for stale in output.parent.glob(f".{glob.escape(output.name)}.*.part"):
            stale.unlink(missing_ok=True)
    token = secrets.token_hex(4)
    temps = {out: out.with_name(f".{out.name}.{token}.part") for out in todo}
    chunks = {
        out: [
            (c, out.with_name(f".{out.name}.{token}.{i:04d}.part"))
            for i, c in enumerate(drawing.chunks(part))
        ]
        for out, part in todo.items()
    }
    tasks = [task for parts in chunks.values() for task in parts]
    try:
        with workers.in_order(drawing, "draw", tasks, jobs, progress=progress) as results:
            for output, part in outputs.items():
                if output not in todo:
                    if progress:
                        progress(part.stop)
                    continue
                drawn, problems = [], []
                for chunk, temp in chunks[output]:
                    pages, found = next(results)
                    stopping.check()
                    drawn.append((temp, array("l", pages)))  # 8 bytes a page, not an int object
                    problems += found
                    if progress:
                        progress(chunk.stop)
                if problems:
                    raise InputError(problems)
                placed = _join(drawn, temps[output])
                stopping.check()  # before the file's transaction, never inside it
                record(part, output, placed)
                os.replace(temps[output], output)
    except OSError as exc:
        raise OutputError(f"cannot write {exc.filename or 'a PDF'}: {exc.strerror}") from exc
    finally:
        for temp in [*temps.values(), *(t for _, t in tasks)]:
            temp.unlink(missing_ok=True)


def _split(part: range, per: int) -> list[range]:
    return [range(s, min(s + per, part.stop)) for s in range(part.start, part.stop, per)] or [part]


def _join(drawn: list[tuple[Path, array[int]]], temp: Path) -> array[int]:
    """The chunks' PDFs as the file ``temp``; each certificate's page in it."""
    if len(drawn) == 1:
        os.replace(drawn[0][0], temp)
        return drawn[0][1]
    with _created(temp) as stream:
        counts = pdfjoin.join([path for path, _ in drawn], stream)
    pages, before = array("l"), 0
    for (_, chunk_pages), count in zip(drawn, counts, strict=True):
        pages.extend(before + page for page in chunk_pages)
        before += count
    return pages


def _check_same_places(
    recorded: Sequence[CertificateRecord], file: Path, pages: Sequence[int], batch_id: str
) -> None:
    for record, page in zip(recorded, pages, strict=True):
        if (record.file, record.page) != (str(file), page):
            raise RunMismatchError(
                f"batch {batch_id} printed {codes.display(record.code)} to {record.file}, "
                f"page {record.page}; this run would put it in {file}, page {page}; "
                "rerun it with the same --output, --split and --sheet"
            )


MANIFEST_COLUMNS = ("code", "row", "recipient", "giver", "file", "page", "sheet", "slot", "stack")


def _manifest(
    output: Path,
    rows: Sequence[Row],
    row_codes: Sequence[str],
    outputs: dict[Path, range],
    pages: Sequence[int],
    layout: Layout,
    drawing: _Drawing,
) -> Path:
    """``<output>-manifest.csv``: where each row's certificate is, for the print shop or mail
    house (its file and page; its sheet and slot, and its place in the file's stack once
    cut and piled); written (atomically) after the PDFs are in place."""
    path = _manifest_path(output)
    envelope = layout.envelope
    barcoded = envelope is not None and envelope.imb is not None
    with csv_written(path, encoding="utf-8") as writer:
        writer.writerow([*MANIFEST_COLUMNS, *(["imb"] if barcoded else [])])
        for file, part in outputs.items():
            stacked = layout.stacked(len(part))
            pieces = drawing.pieces(part) if barcoded else []
            for i in part:
                row = rows[i]
                names = (row.text("recipient"), row.text("giver"), file.name)
                cells = [safe_cell(name) for name in names]
                sheet, slot = layout.where(i - part.start)
                place = [sheet + 1, slot + 1, stacked[i - part.start] + 1]
                code = codes.display(row_codes[i])
                piece = [pieces[i - part.start]] if barcoded else []
                writer.writerow([code, row.number or "", *cells, pages[i], *place, *piece])
    return path


def _manifest_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}-manifest.csv")


def _counted(
    certs: Iterable[render.Certificate], progress: Callable[[int], None] | None, before: int
) -> Iterator[render.Certificate]:
    """The certificates, calling ``progress`` with how many are drawn as each one is (the
    writer asks for the next one once it has drawn the last); ``before`` were drawn earlier."""
    for done, cert in enumerate(certs, start=before + 1):
        stopping.check()  # between certificates: the chunk's file is removed, nothing recorded
        yield cert
        if progress:
            progress(done)


def _write(
    design: Design,
    certs: Iterable[render.Certificate],
    temp: Path,
    layout: Layout,
    pdfx: Pdfx | None,
) -> list[int]:
    with _created(temp) as stream:
        title = design.manifest.design.title
        return render.write_pdf(design, certs, stream, title, layout, pdfx)


@contextlib.contextmanager
def _created(path: Path) -> Iterator[BinaryIO]:
    """A new file, on disk (fsynced) when the block ends."""
    # os.open rather than mkstemp: the PDF gets the usual permissions (umask), not 0600.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(descriptor, "wb") as stream:
        yield stream
        stream.flush()
        os.fsync(stream.fileno())
