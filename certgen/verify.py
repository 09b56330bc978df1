"""``certgen verify RUN``: prove a printed run's files complete before they ship.

Every page of every file the run recorded is rasterized (pypdfium2) and its QR codes are
decoded (zxing-cpp), independently of how certgen drew them; each code read is checked
against the ledger: a certificate of this run, on the page and in the file recorded for it,
pointing to the run's redemption site, and found once. A file a print shop sends back (or
the copy about to go to one) can be checked the same way from another folder (``folder``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from certgen import codes, qr
from certgen.errors import CertgenError, NotFoundError
from certgen.ledger import CertificateRecord, Ledger

DPI = 150  # QR modules are at least 0.4 mm (designs check): 2.4 pixels here, read reliably
SHOWN = 20  # problems listed; the count says how many more


class VerifyError(CertgenError):
    """A run's files do not hold exactly its recorded certificates."""

    exit_code = 17


@dataclass
class Verified:
    run_id: str
    files: list[Path]
    certificates: int
    pages: int = 0
    found: int = 0
    problems: list[str] = field(default_factory=list)


def verify(
    ledger: Ledger,
    run_id: str,
    *,
    folder: Path | None = None,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Verified:
    """Check run ``run_id``'s files (in ``folder``, by name, if given; else where they were
    written) against the ledger; every difference is one problem."""
    batch = ledger.get_batch(run_id)
    if batch is None:
        raise NotFoundError(f"no run {run_id} in the ledger (certgen runs lists the runs)")
    records = ledger.batch(run_id)
    if ledger.deliveries(run_id):
        raise CertgenError(
            f"run {run_id} was emailed, not printed: certgen verify checks the PDFs of an "
            "issue run (certgen runs shows how each went)"
        )
    base_url = json.loads(batch.settings).get("base_url") if batch.settings else None
    by_file: dict[str, list[CertificateRecord]] = defaultdict(list)
    for record in records:
        by_file[record.file].append(record)
    files = {name: (folder / Path(name).name if folder else Path(name)) for name in by_file}
    result = Verified(run_id, list(files.values()), len(records))
    seen: dict[str, tuple[str, int]] = {}
    with _pages(files, jobs) as pages:
        for name, page, texts in pages:
            if page == 0:  # the file could not be opened: every certificate in it is missing
                result.problems.append(f"{files[name]}: {texts[0]}")
                continue
            result.pages += 1
            for text in texts:
                _check(text, name, page, base_url, seen, result)
            if progress:
                progress(len(seen))
    by_code = {r.code: r for r in records}
    missing = [r for r in records if r.code not in seen]
    result.problems += [
        f"{codes.display(r.code)} (row {r.source_row}) is not on page {r.page} of "
        f"{Path(r.file).name}, nor anywhere else"
        for r in missing
    ]
    for code, (name, page) in seen.items():
        found = by_code.get(code)
        if found is None:
            result.problems.append(
                f"page {page} of {files[name].name}: {codes.display(code)} is not a certificate "
                f"of run {run_id}"
            )
        elif (found.file, found.page) != (name, page):
            result.problems.append(
                f"{codes.display(code)} is on page {page} of {files[name].name}; the ledger "
                f"has it on page {found.page} of {Path(found.file).name}"
            )
    result.found = sum(1 for code in seen if code in by_code)
    return result


def _check(
    text: str,
    name: str,
    page: int,
    base_url: str | None,
    seen: dict[str, tuple[str, int]],
    result: Verified,
) -> None:
    where = f"page {page} of {Path(name).name}"
    code = codes.normalize(text)
    if not codes.is_valid(code):
        result.problems.append(f"{where}: a QR code reads '{text[:80]}', not a certificate code")
        return
    if "/" in text and base_url and text != qr.redeem_url(base_url, code):
        result.problems.append(
            f"{where}: the QR code of {codes.display(code)} points to '{text[:80]}', not to the "
            f"run's site {base_url}"
        )
    if code in seen:
        first_name, first_page = seen[code]
        result.problems.append(
            f"{where}: {codes.display(code)} is printed again (first on page {first_page} of "
            f"{Path(first_name).name})"
        )
        return
    seen[code] = (name, page)


Page = tuple[str, int, list[str]]


class _pages:
    """The QR texts of every page of ``files`` (recorded name -> where to read it), in
    order: (name, page, texts); a file that cannot be read gives one (name, 0, [reason])."""

    def __init__(self, files: dict[str, Path], jobs: int):
        self.files, self.jobs = files, jobs
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Iterator[Page]:
        if self.jobs > 1:
            self.pool = ProcessPoolExecutor(self.jobs)
        return self._read()

    def __exit__(self, *exc: object) -> None:
        if self.pool:
            self.pool.shutdown(cancel_futures=True)

    def _read(self) -> Iterator[Page]:
        for name, path in self.files.items():
            count, problem = _page_count(path)
            if problem:
                yield name, 0, [problem]
                continue
            numbers = range(1, count + 1)
            if self.pool:
                results = self.pool.map(_read_page, [path] * count, numbers, chunksize=8)
            else:
                results = map(_read_page, [path] * count, numbers)
            for number, texts in zip(numbers, results, strict=True):
                yield name, number, texts
        _close()


def _page_count(path: Path) -> tuple[int, str | None]:
    import pypdfium2 as pdfium

    if not path.is_file():
        return 0, "the file is missing"
    try:
        doc = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        return 0, f"cannot be read as a PDF ({exc})"
    try:
        return len(doc), None
    finally:
        doc.close()


_OPEN: dict[Path, Any] = {}  # the file a process reads, opened once for its pages


def _close() -> None:
    for doc in _OPEN.values():
        doc.close()
    _OPEN.clear()


def _read_page(path: Path, number: int) -> list[str]:
    import pypdfium2 as pdfium
    import zxingcpp

    if path not in _OPEN:
        _close()
        _OPEN[path] = pdfium.PdfDocument(str(path))
    image = _OPEN[path][number - 1].render(scale=DPI / 72, grayscale=True).to_pil()
    found = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    # zxing can report one symbol twice; two symbols are two places on the page.
    places: dict[tuple[str, int, int], None] = {}
    for barcode in found:
        corner = barcode.position.top_left
        places.setdefault((barcode.text, round(corner.x / 20), round(corner.y / 20)))
    return [text for text, _, _ in places]
