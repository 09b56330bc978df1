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

from certgen import qr
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
    """SIGKILL the run as soon as ``ready``; False if it finished first."""
    deadline = time.monotonic() + limit
    while not ready():
        if process.poll() is not None:
            return False
        assert time.monotonic() < deadline
        time.sleep(0.002)
    os.kill(process.pid, signal.SIGKILL)
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
        command(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
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
