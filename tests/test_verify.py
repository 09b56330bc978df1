"""certgen verify: a run's PDFs re-read, every QR code decoded and checked against the
ledger, so a print shop's file is proven complete before it ships."""

from __future__ import annotations

import shutil
from pathlib import Path

import pypdfium2 as pdfium

from tests.test_cli import invoke

LIST = "to,from\n" + "".join(f"F{i},G{i}\n" for i in range(7))


def issue(*args: str) -> None:
    code, _, err = invoke("issue", *args, "-d", "compact", "--set", "business=B", "-q")
    assert code == 0, err


def edit_pages(pdf: Path, change: str) -> None:
    doc = pdfium.PdfDocument(str(pdf))
    if change == "drop":
        doc.del_page(1)
    else:  # repeat the first page at the end
        doc.import_pages(pdfium.PdfDocument(str(pdf)), [0])
    doc.save(str(pdf) + ".new")
    doc.close()
    Path(str(pdf) + ".new").replace(pdf)


def test_a_complete_run_is_verified(env: Path) -> None:
    Path("list.csv").write_text(LIST)
    issue("list.csv", "--run-id", "r1", "--sheet", "letter-3up", "--split", "3", "-o", "run.pdf")
    code, out, err = invoke("verify", "r1", "-j", "2")
    assert code == 0, err
    assert "Run r1 verified: all 7 certificates found" in out and "(3 pages in 3 files" in out


def test_a_missing_page_is_found_with_the_codes_it_held(env: Path) -> None:
    Path("list.csv").write_text(LIST)
    issue("list.csv", "--run-id", "r1", "-o", "run.pdf", "--base-url", "https://g.example")
    edit_pages(Path("run.pdf"), "drop")
    code, _, err = invoke("verify", "r1")
    assert code == 17
    assert "6 of 7 certificates found on 6 pages" in err
    assert "(row 3) is not on page 2 of run.pdf, nor anywhere else" in err
    assert "is on page 2 of run.pdf; the ledger has it on page 3 of run.pdf" in err


def test_a_page_printed_twice_is_found(env: Path) -> None:
    Path("list.csv").write_text(LIST)
    issue("list.csv", "--run-id", "r1", "-o", "run.pdf")
    edit_pages(Path("run.pdf"), "repeat")
    code, _, err = invoke("verify", "r1")
    assert (
        code == 17 and "page 8 of run.pdf: " in err and "is printed again (first on page 1" in err
    )


def test_another_runs_file_or_another_site_is_found(env: Path) -> None:
    Path("list.csv").write_text(LIST)
    issue("list.csv", "--run-id", "r1", "-o", "run.pdf", "--base-url", "https://g.example")
    issue("list.csv", "--run-id", "r2", "-o", "other.pdf", "--base-url", "https://h.example")
    shutil.copy("other.pdf", "run.pdf")
    code, _, err = invoke("verify", "r1")
    assert code == 17 and "0 of 7 certificates found" in err
    assert "is not a certificate of run r1" in err
    assert (
        "points to 'https://h.example/r/" in err
        and "not to the run's site https://g.example" in err
    )


def test_a_copy_in_another_folder_is_verified_by_name(env: Path) -> None:
    Path("list.csv").write_text(LIST)
    issue("list.csv", "--run-id", "r1", "-o", "run.pdf")
    Path("shop").mkdir()
    Path("run.pdf").rename("shop/run.pdf")
    code, _, err = invoke("verify", "r1")
    assert code == 17 and "run.pdf: the file is missing" in err
    code, out, err = invoke("verify", "r1", "--in", "shop")
    assert code == 0 and "verified" in out, err


def test_an_unknown_or_emailed_run_is_refused(env: Path) -> None:
    code, _, err = invoke("verify", "nope")
    assert code == 6 and "no run nope in the ledger" in err
    Path("list.csv").write_text("to,from,email\nAnn,G,ann@example.com\n")
    send = ["send", "list.csv", "-d", "modern", "--set", "business=B", "--outbox", "out"]
    assert invoke(*send, "--run-id", "m1")[0] == 0
    code, _, err = invoke("verify", "m1")
    assert code == 1 and "run m1 was emailed, not printed" in err
