"""Issuing end to end: every page's QR code scans to its own recorded code, runs are
reproducible, and a failure leaves neither records nor a PDF."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from certgen import codes, issue, qr
from certgen.errors import InputError, LedgerError, RunMismatchError
from certgen.ledger import open_ledger
from tests.helpers import (
    BASE_URL,
    REPO_ROOT,
    issue_rows,
    load,
    page_count,
    page_text,
    qr_codes,
    rows,
    seeded,
    words,
)

BASE = BASE_URL


def run(
    tmp_path: Path, people: list[dict[str, str]], design: str = "classic", **options: Any
) -> issue.BatchResult:
    d = load(design)
    return issue_rows(tmp_path, d, rows(d, people), **{"output": tmp_path / "run.pdf", **options})


PEOPLE = [{"recipient": f"Friend {i}", "giver": f"Customer {i}"} for i in range(20)]


def test_twenty_row_run_every_qr_scans_to_its_own_recorded_code(tmp_path: Path) -> None:
    result = run(tmp_path, PEOPLE)
    pdf = tmp_path / "run.pdf"
    assert page_count(pdf) == 20
    scanned = qr_codes(pdf, dpi=150)
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        for page, (found, code) in enumerate(zip(scanned, result.codes, strict=True), start=1):
            assert found == [qr.redeem_url(BASE, code)]
            record = ledger.get(code)
            assert record is not None
            assert (record.page, record.file, record.source_row) == (page, str(pdf), page + 1)
            assert (
                record.recipient == f"Friend {page - 1}" and record.giver == f"Customer {page - 1}"
            )
            assert record.design == "classic" and record.batch_id == result.batch_id
            assert [e.kind for e in ledger.events(code)] == ["issued"]
    assert len(set(result.codes)) == 20


def test_names_are_in_their_boxes_on_every_page(tmp_path: Path) -> None:
    run(tmp_path, PEOPLE[:3])
    design = load("classic")
    boxes = {e.id: (e.x, e.y, e.width, e.height) for e in design.text_elements}
    for page in range(3):
        found = words(tmp_path / "run.pdf", page)
        for text, element in (("Friend", "recipient"), ("Customer", "giver")):
            [word] = [w for w in found if w.text == text]
            x, y, w, h = boxes[element]
            assert x - 0.5 <= word.x0 and word.x1 <= x + w + 0.5 and y - 0.5 <= word.top <= y + h


@pytest.mark.parametrize("design", ["classic", "modern", "compact"])
def test_smallest_qr_of_each_design_scans_at_100_dpi(tmp_path: Path, design: str) -> None:
    result = run(tmp_path, PEOPLE[:2], design)
    assert qr_codes(tmp_path / "run.pdf", dpi=100) == [
        [qr.redeem_url(BASE, c)] for c in result.codes
    ]


def test_same_inputs_give_identical_bytes_even_in_another_process(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    run(tmp_path / "a", PEOPLE[:3], batch_id="fixed")
    script = (
        "import sys; from pathlib import Path; from tests.test_issue import run, PEOPLE;"
        "run(Path(sys.argv[1]), PEOPLE[:3], batch_id='fixed')"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "b")], check=True, cwd=REPO_ROOT, env=env
    )
    assert (tmp_path / "a" / "run.pdf").read_bytes() == (tmp_path / "b" / "run.pdf").read_bytes()


def test_bad_rows_leave_no_pdf_no_records_and_no_temp_files(tmp_path: Path) -> None:
    people = [*PEOPLE[:3], {"recipient": "W" * 55}]  # within max_length, but cannot fit
    with pytest.raises(InputError):
        run(tmp_path, people)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["ledger.db"]
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        assert ledger.existing(codes.generate(seeded()) for _ in range(4)) == set()


def test_a_ledger_failure_publishes_no_pdf(tmp_path: Path) -> None:
    open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}").close()
    read_only = f"sqlite:///file:{tmp_path / 'ledger.db'}?mode=ro&uri=true"
    design = load("classic")
    with open_ledger(read_only) as ledger, pytest.raises(LedgerError, match="read-only here"):
        issue.issue(
            design,
            rows(design, PEOPLE[:2]),
            output=tmp_path / "run.pdf",
            ledger=ledger,
            base_url=BASE,
            source="t.csv",
        )
    assert (
        sorted(p.name for p in tmp_path.iterdir() if p.is_file() and "ledger" not in p.name) == []
    )


def test_rerunning_a_batch_prints_the_same_codes_and_issues_none(tmp_path: Path) -> None:
    first = run(tmp_path, PEOPLE[:5], batch_id="spring")
    original = (tmp_path / "run.pdf").read_bytes()
    (tmp_path / "run.pdf").unlink()  # as after a crash between the commit and the rename
    again = run(tmp_path, PEOPLE[:5], batch_id="spring", randbelow=seeded(99))
    assert again.reprinted and again.codes == first.codes
    assert (tmp_path / "run.pdf").read_bytes() == original
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        assert len(ledger.batch("spring")) == 5
        assert all(len(ledger.events(code)) == 1 for code in first.codes)


@pytest.mark.parametrize(
    ("people", "design", "message"),
    [
        (PEOPLE[:4], "classic", "has 5 certificates; this input has 4 rows"),
        ([*PEOPLE[:4], {"recipient": "Someone else"}], "classic", "row 6 differs"),
        (PEOPLE[:5], "modern", "was issued with design classic"),
    ],
)
def test_a_batch_id_with_other_input_is_refused(
    tmp_path: Path, people: list[dict[str, str]], design: str, message: str
) -> None:
    run(tmp_path, PEOPLE[:5], batch_id="spring")
    with pytest.raises(RunMismatchError, match=message):
        run(tmp_path, people, design, batch_id="spring", output=tmp_path / "other.pdf")
    assert not (tmp_path / "other.pdf").exists()


def test_a_code_already_in_the_ledger_is_never_issued_again(tmp_path: Path) -> None:
    first = run(tmp_path, PEOPLE[:1], "tiny", output=tmp_path / "first.pdf")
    # The same seed draws the same first code, which the ledger already holds.
    second = run(tmp_path, PEOPLE[:1], "tiny", output=tmp_path / "second.pdf")
    assert first.codes != second.codes
    url = qr.redeem_url(BASE, second.codes[0])
    assert qr_codes(tmp_path / "second.pdf") == [[url]]
    # Texts that print the code were rendered again with the new code.
    assert url in page_text(tmp_path / "second.pdf")
    assert codes.display(second.codes[0]) in page_text(tmp_path / "second.pdf")


def test_a_repeated_draw_within_a_run_is_drawn_again(tmp_path: Path) -> None:
    draws = seeded(3)
    replay = [draws(32) for _ in range(codes.DATA_LENGTH)]
    sequence = iter(replay + replay)  # the second code's draws repeat the first's

    def randbelow(n: int) -> int:
        replayed = next(sequence, None)
        return draws(n) if replayed is None else replayed

    result = run(tmp_path, PEOPLE[:3], "tiny", randbelow=randbelow)
    assert len(set(result.codes)) == 3
