"""Batch actions that cannot do damage by accident: no file of another run written over, no
output that is not a PDF."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tests.test_cli import invoke


def count(env: Path) -> int:
    engine = sa.create_engine(f"sqlite:///{env / 'ledger.db'}")
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT count(*) FROM certificates")).scalar_one()
    engine.dispose()
    return int(found)


def issue(*args: str) -> tuple[int, str, str]:
    return invoke("issue", *args, "-d", "compact", "--set", "business=Bright Smile", "-q")


def test_an_output_that_is_not_a_pdf_is_refused(env: Path) -> None:
    code, _, err = issue("--to", "Bob", "-o", "out.png")
    assert code == 2 and "-o out.png: certgen writes PDF files; name the output .pdf" in err
    assert not Path("out.png").exists()


def test_another_runs_file_is_not_written_over_unless_forced(env: Path) -> None:
    assert issue("--to", "Bob", "-o", "gift.pdf")[0] == 0
    before = Path("gift.pdf").read_bytes()
    code, _, err = issue("--to", "Ann", "-o", "gift.pdf")
    assert code == 1 and "gift.pdf already exists: certgen does not write over a file" in err
    assert "--force" in err
    assert Path("gift.pdf").read_bytes() == before and count(env) == 1  # nothing recorded
    assert issue("--to", "Ann", "-o", "gift.pdf", "--force")[0] == 0
    assert Path("gift.pdf").read_bytes() != before and count(env) == 2


def test_a_reprint_writes_its_own_file_again(env: Path) -> None:
    Path("list.csv").write_text("to,from\nBob,Jane\nAnn,Jane\n")
    assert issue("list.csv", "--run-id", "spring", "-o", "spring.pdf")[0] == 0
    code, out, err = issue("list.csv", "--run-id", "spring", "-o", "spring.pdf")
    assert code == 0, err
    assert "was already issued" in out
    assert count(env) == 2


def test_a_split_runs_parts_and_manifest_are_not_written_over(env: Path) -> None:
    Path("list.csv").write_text("to,from\n" + "".join(f"F{i},G{i}\n" for i in range(5)))
    assert issue("list.csv", "--split", "2", "-o", "run.pdf")[0] == 0
    code, _, err = issue("list.csv", "--split", "2", "-o", "run.pdf", "--run-id", "other")
    assert code == 1
    assert "run-0001.pdf" in err and "and 1 more already exist" in err
    assert count(env) == 5
