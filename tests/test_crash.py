"""A real certgen process killed with SIGKILL mid-run loses nothing and issues no code twice."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from certgen import codes, qr
from certgen.ledger import open_ledger
from tests.helpers import qr_codes

ROWS = 1200
BASE = "https://gifts.example"


def command(env: Path) -> list[str]:
    exe = shutil.which("certgen")
    assert exe
    return [
        exe,
        "issue",
        "big.csv",
        "-d",
        "compact",
        "--set",
        "business=Acme",
        "--batch-id",
        "crash",
        "--base-url",
        BASE,
        "-o",
        "run.pdf",
    ]


def kill_when(
    process: subprocess.Popen[str], ready: Callable[[], bool], limit: float = 120
) -> bool:
    """SIGKILL the run, with any worker processes it started (its process group, as a power
    cut would), as soon as ``ready``; False if it finished first."""
    deadline = time.monotonic() + limit
    while not ready():
        if process.poll() is not None:
            return False
        assert time.monotonic() < deadline
        time.sleep(0.002)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return True


def recorded(env: Path) -> int:
    """Certificates in the ledger, read with one light connection (polled every few ms)."""
    if not (env / "ledger.db").exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{env / 'ledger.db'}?mode=ro", uri=True)) as conn:
            return int(conn.execute("SELECT count(*) FROM certificates").fetchone()[0])
    except sqlite3.Error:  # the schema is not there yet, or the file is being created
        return 0


def part_file_exists() -> bool:
    return any(Path().glob(".run.pdf.*.part"))


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["while drawing", "after the commit"])
def test_killed_run_resumes_with_every_row_issued_once(env: Path, moment: str) -> None:
    Path("big.csv").write_text(
        "to,from\n" + "".join(f"Friend {i},Customer {i}\n" for i in range(ROWS))
    )
    process = subprocess.Popen(
        command(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    if moment == "while drawing":
        assert kill_when(process, part_file_exists), "the run finished before it could be killed"
        assert recorded(env) == 0  # nothing recorded without its PDF
        assert not Path("run.pdf").exists()
    else:
        # The window between the commit and the rename is a few milliseconds; if the run
        # wins the race, remove its PDF to leave exactly the state such a kill leaves.
        if not kill_when(process, lambda: recorded(env) > 0):
            Path("run.pdf").unlink()
        assert recorded(env) == ROWS  # the batch is recorded whole, never in part

    done = subprocess.run(command(env), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not part_file_exists()
    with open_ledger(f"sqlite:///{env / 'ledger.db'}") as ledger:
        records = ledger.batch("crash")
        assert len(records) == ROWS == recorded(env)  # no row issued twice, none lost
        assert [r.source_row for r in records] == list(range(2, ROWS + 2))
        assert [r.recipient for r in records[:3]] == ["Friend 0", "Friend 1", "Friend 2"]
        assert all(len(ledger.events(r.code)) == 1 for r in records[:50])
    sample = Path("sample.pdf")
    pick = [0, 1, ROWS // 2, ROWS - 1]
    _extract_pages(Path("run.pdf"), sample, pick)
    assert qr_codes(sample) == [[qr.redeem_url(BASE, records[i].code)] for i in pick]


def _extract_pages(source: Path, target: Path, pages: list[int]) -> None:
    out = pdfium.PdfDocument.new()
    out.import_pages(pdfium.PdfDocument(str(source)), pages)
    out.save(str(target))


@pytest.mark.slow
def test_a_split_run_killed_midway_resumes_to_the_same_output(env: Path) -> None:
    Path("big.csv").write_text(
        "to,from\n" + "".join(f"Friend {i},Customer {i}\n" for i in range(ROWS))
    )
    base = [arg for arg in command(env) if arg not in ("--batch-id", "crash")]
    run = [*base, "--split", "200", "--run-id", "mail"]
    process = subprocess.Popen(
        run, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    finished_parts = lambda: Path("run-0002.pdf").exists()  # noqa: E731
    assert kill_when(process, finished_parts), "the run finished before it could be killed"
    assert not Path("run-0006.pdf").exists()
    kept = {p.name: p.stat().st_mtime_ns for p in Path().glob("run-000*.pdf")}
    assert 2 <= len(kept) < 6 and recorded(env) == 200 * len(kept)  # whole parts only
    runs = subprocess.run([run[0], "runs"], capture_output=True, text=True, timeout=60)
    assert f"{recorded(env)}/{ROWS}" in runs.stdout and "interrupted" in runs.stdout

    resumed = [*base, "--split", "200", "--resume", "mail"]
    done = subprocess.run(resumed, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"Resumed run mail: issued the other {ROWS - 200 * len(kept)} of {ROWS}" in done.stdout
    assert not list(Path().glob(".*.part"))
    for name, mtime in kept.items():
        assert Path(name).stat().st_mtime_ns == mtime  # parts already in place are kept
    files = sorted(Path().glob("run-000*.pdf"))
    assert [f.name for f in files] == [f"run-000{n}.pdf" for n in range(1, 7)]

    with open_ledger(f"sqlite:///{env / 'ledger.db'}") as ledger:
        records = ledger.batch("mail")
    assert len(records) == ROWS == len({r.code for r in records})  # each row once, once only
    assert [r.source_row for r in records] == list(range(2, ROWS + 2))
    manifest = Path("run-manifest.csv").read_text(encoding="utf-8").splitlines()[1:]
    listed = [line.split(",") for line in manifest]
    assert [(codes.normalize(c[0]), c[4], int(c[5])) for c in listed] == [
        (r.code, Path(r.file).name, r.page) for r in records
    ]
    # Every page's QR code decodes to its own code, each code on exactly one page.
    seen = []
    for file in files:
        # zxing may report one symbol twice at a low resolution: the same text is one code.
        for page, found in enumerate(qr_codes(file), start=1):
            [url] = set(found)
            [record] = [r for r in records if Path(r.file) == file.resolve() and r.page == page]
            assert url == qr.redeem_url(BASE, record.code)
            seen.append(record.code)
    assert sorted(seen) == sorted(r.code for r in records)

    # The finished output is what the whole run prints: reprinting it gives the same bytes.
    resumed_bytes = {f.name: f.read_bytes() for f in files}
    for f in files:
        f.unlink()
    again = subprocess.run(run, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "already issued" in again.stdout, again.stderr
    assert {f.name: f.read_bytes() for f in sorted(Path().glob("run-000*.pdf"))} == resumed_bytes
