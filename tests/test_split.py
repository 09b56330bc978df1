"""--split: bounded files for print shops and mail houses, and a manifest matching the ledger."""

from __future__ import annotations

import csv
from pathlib import Path

import pdfplumber
import pytest

from certgen import codes, issue, sheets
from certgen.errors import InputError, RunMismatchError
from certgen.ledger import open_ledger
from certgen.placement import Layout
from tests.helpers import issue_rows, load, page_count, qr_codes, rows

TINY = load("tiny")
PEOPLE = [{"recipient": f"Person {i}", "giver": "Jane"} for i in range(7)]
PEOPLE[4] = {"recipient": '=HYPERLINK("http://evil.example")', "giver": "@Jane"}


def manifest_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def test_split_writes_bounded_files_and_a_manifest_that_matches_the_ledger(
    tmp_path: Path,
) -> None:
    result = issue_rows(tmp_path, TINY, rows(TINY, PEOPLE), output=tmp_path / "run.pdf", split=3)
    names = [f.name for f in result.files]
    assert names == ["run-0001.pdf", "run-0002.pdf", "run-0003.pdf"]
    assert [page_count(f) for f in result.files] == [3, 3, 1]
    assert not (tmp_path / "run.pdf").exists()
    assert result.manifest == tmp_path / "run-manifest.csv"
    listed = manifest_rows(result.manifest)
    assert [r["row"] for r in listed] == [str(n) for n in range(2, 9)]  # every row, in order
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        for line in listed:
            record = ledger.get(codes.normalize(line["code"]))
            assert record is not None
            assert (Path(record.file).name, record.page) == (line["file"], int(line["page"]))
    # Each page's QR code is the code the manifest lists for that file and page.
    for file in result.files:
        for page, [url] in enumerate(qr_codes(file), start=1):
            [line] = [r for r in listed if r["file"] == file.name and r["page"] == str(page)]
            assert codes.normalize(url) == codes.normalize(line["code"])
    # Names a spreadsheet would run as formulas are quoted.
    assert listed[4]["recipient"] == '\'=HYPERLINK("http://evil.example")'
    assert listed[4]["giver"] == "'@Jane"


def test_a_rerun_reprints_the_same_files_and_refuses_another_split(tmp_path: Path) -> None:
    first = issue_rows(
        tmp_path, TINY, rows(TINY, PEOPLE), output=tmp_path / "run.pdf", split=3, batch_id="b1"
    )
    before = {f: f.read_bytes() for f in first.files}
    again = issue_rows(
        tmp_path, TINY, rows(TINY, PEOPLE), output=tmp_path / "run.pdf", split=3, batch_id="b1"
    )
    assert again.reprinted and again.codes == first.codes
    assert {f: f.read_bytes() for f in again.files} == before
    with pytest.raises(RunMismatchError, match="--split was '3', now '2'"):
        issue_rows(
            tmp_path, TINY, rows(TINY, PEOPLE), output=tmp_path / "run.pdf", split=2, batch_id="b1"
        )
    assert {f: f.read_bytes() for f in first.files} == before  # nothing was overwritten
    assert not list(tmp_path.glob(".*.part"))


def test_jobs_draw_files_in_parallel_with_the_same_output(tmp_path: Path) -> None:
    people = rows(TINY, PEOPLE)
    one = issue_rows(tmp_path / "one", TINY, people, output=tmp_path / "one" / "run.pdf", split=2)
    two = issue_rows(
        tmp_path / "two", TINY, people, output=tmp_path / "two" / "run.pdf", split=2, jobs=2
    )
    assert one.codes == two.codes  # the same seeded codes, so the files can be compared
    assert len(one.files) == 4
    for a, b in zip(one.files, two.files, strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert one.manifest and two.manifest
    assert one.manifest.read_text().replace("one", "") == two.manifest.read_text().replace(
        "two", ""
    )
    with open_ledger(f"sqlite:///{tmp_path / 'two' / 'ledger.db'}") as ledger:
        assert [(Path(r.file).name, r.page) for r in ledger.batch(two.batch_id)] == [
            (f"run-000{i // 2 + 1}.pdf", i % 2 + 1) for i in range(7)
        ]


def test_one_file_is_drawn_in_chunks_joined_in_order_whatever_the_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(issue, "CHUNK", 5)  # 7 certificates on 2-up sheets: chunks of 4 and 3
    people = rows(TINY, PEOPLE)
    sheet = sheets.load("a4-2up", (TINY.width_mm, TINY.height_mm))
    one = issue_rows(tmp_path / "j1", TINY, people, layout=Layout(sheet.trim, sheet), jobs=1)
    two = issue_rows(tmp_path / "j2", TINY, people, layout=Layout(sheet.trim, sheet), jobs=2)
    assert one.file.read_bytes() == two.file.read_bytes()  # the same bytes from 1 or 2 jobs
    assert page_count(one.file) == 4
    with open_ledger(f"sqlite:///{tmp_path / 'j1' / 'ledger.db'}") as ledger:
        pages = {c: ledger.get(c).page for c in one.codes}  # type: ignore[union-attr]
    assert sorted(pages.values()) == [1, 1, 2, 2, 3, 3, 4]
    for page, urls in enumerate(qr_codes(one.file), start=1):
        assert {codes.normalize(u) for u in urls} == {c for c, p in pages.items() if p == page}
    # The text reads back from every part, and each part's font subsets have a name of their own.
    with pdfplumber.open(one.file) as doc:
        names = [w["text"] for p in doc.pages for w in p.extract_words() if w["text"] == "Person"]
        fonts = {p.page_number: {c["fontname"] for c in p.chars} for p in doc.pages}
    assert len(names) == 6  # "Person 0" ... with row 4's formula-like name
    prefixes = {page: {f.split("+")[0] for f in found} for page, found in fonts.items()}
    assert prefixes[1] and prefixes[1] == prefixes[2] and prefixes[3] == prefixes[4]
    assert prefixes[2].isdisjoint(prefixes[3])  # the second chunk's subsets


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_one_file_run_lists_bad_rows_of_every_chunk_and_records_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    monkeypatch.setattr(issue, "CHUNK", 5)  # 12 rows: chunks of 5, 5 and 2, each checked as drawn
    people = [{"recipient": f"Person {i}", "giver": "Jane"} for i in range(12)]
    for bad in (1, 11):  # in the first chunk and in the last
        people[bad] = {"recipient": "W" * 55, "giver": "Jane"}  # within max_length; cannot fit
    with pytest.raises(InputError) as raised:
        issue_rows(tmp_path, TINY, rows(TINY, people), jobs=jobs)
    assert [p.row for p in raised.value.problems] == [3, 13]
    assert all("does not fit element 'recipient'" in p.message for p in raised.value.problems)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
        "ledger.db"
    ]  # no PDF, no parts
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        assert ledger.runs() == []


def test_a_split_run_checks_every_file_before_recording_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(issue, "CHUNK", 2)
    people = [{"recipient": f"Person {i}", "giver": "Jane"} for i in range(7)]
    people[6] = {"recipient": "W" * 55, "giver": "Jane"}  # in the last file
    with pytest.raises(InputError) as raised:
        issue_rows(tmp_path, TINY, rows(TINY, people), output=tmp_path / "run.pdf", split=3, jobs=2)
    assert [p.row for p in raised.value.problems] == [8]
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
        "ledger.db"
    ]  # no run-0001.pdf
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        assert ledger.runs() == []
