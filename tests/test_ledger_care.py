"""A ledger that looks after itself, through the real CLI: a file that is not a ledger is
never taken for a new one, damage is found before anything is written or believed, and a
backup taken while ten processes redeem is sound and holds every redemption made before it."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest

from certgen import codes
from certgen import redeem as redeem_mod
from certgen.errors import LedgerError
from certgen.ledger import BatchRecord, CertificateRecord, Ledger, open_ledger
from tests.test_cli import certgen

AT = "2026-11-01T12:00:00+00:00"


def fill(ledger: Ledger, count: int, batch_id: str = "r1") -> list[str]:
    made = [codes.generate() for _ in range(count)]
    batch = BatchRecord(batch_id, "compact", "h", "list.csv", "/run.pdf", count, AT)
    ledger.issue_batch(
        batch,
        (
            CertificateRecord(
                code, batch_id, "/run.pdf", i + 1, i + 2, "compact", "h",
                f"Friend {i}", f"Giver {i}", {"recipient": f"Friend {i}"}, AT, None,
            )
            for i, code in enumerate(made)
        ),
    )  # fmt: skip
    return made


@pytest.mark.parametrize("kind", ["empty", "text", "foreign"])
def test_a_file_that_is_not_a_ledger_is_never_taken_for_a_new_one(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "ledger.db"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("customer,email\nJane,jane@example.com\n")
    else:
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE customers (name TEXT)")
    before = path.read_bytes()
    done = certgen("runs", "--ledger", f"sqlite:///{path}")
    assert done.returncode == 5 and "Traceback" not in done.stderr
    expected = {
        "empty": "is an empty file, not a ledger",
        "text": "is not a SQLite database",
        "foreign": "holds tables that are not a certgen ledger's (customers)",
    }[kind]
    assert expected in done.stderr
    assert path.read_bytes() == before  # untouched


def test_a_damaged_ledger_is_found_and_no_command_writes_to_it_or_believes_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    url = f"sqlite:///{path}"
    with open_ledger(url) as ledger:
        made = fill(ledger, 3000)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert certgen("ledger", "check", "--ledger", url).returncode == 0
    data = bytearray(path.read_bytes())
    pages = len(data) // 4096
    for page in range(pages // 3, pages // 3 + 4):  # a few pages in the middle
        data[page * 4096 + 100 : page * 4096 + 400] = b"\xa5" * 300
    path.write_bytes(bytes(data))
    checked = certgen("ledger", "check", "--ledger", url)
    assert checked.returncode == 5 and "problem" in checked.stderr
    assert "Traceback" not in checked.stderr
    Path("one.csv").write_text("to,from\nQ,R\n")
    writes = [
        ("issue", "one.csv", "-d", "compact", "--set", "business=B", "-o", "o.pdf"),
        ("redeem", made[0]),
        ("void", made[1], "--reason", "x"),
        ("void", "--run", "r1", "--reason", "x"),
    ]
    for command in writes:
        done = certgen(*command, "--ledger", url)
        assert done.returncode == 5, (command, done.stdout, done.stderr)
        assert "the ledger is damaged, so nothing was written" in done.stderr
        assert "Traceback" not in done.stderr
    assert not Path("o.pdf").exists()
    # Reading: a real code is shown, or the damage is reported; never "not in the ledger".
    for code in made[::300]:
        done = certgen("show", code, "--ledger", url)
        assert "not in the ledger" not in done.stderr and "Traceback" not in done.stderr
        assert done.returncode == 0 or "damaged" in done.stderr


def _redeem_all(url: str, some: list[str], started: object) -> None:
    with open_ledger(url) as ledger:
        started.wait()  # type: ignore[attr-defined]
        for code in some:
            redeem_mod.redeem(ledger, code, actor="Sam", today=None)
            time.sleep(0.005)


def test_a_backup_taken_while_ten_processes_redeem_is_sound_and_complete(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as ledger:
        made = fill(ledger, 1000)
    context = multiprocessing.get_context("spawn")
    started = context.Event()
    workers = [
        context.Process(target=_redeem_all, args=(url, made[i::10], started)) for i in range(10)
    ]
    for worker in workers:
        worker.start()
    started.set()
    with open_ledger(url) as ledger:
        deadline = time.monotonic() + 60
        while True:  # redemptions under way: the backup runs in the middle of them
            before = {r.code for r in ledger.batch("r1") if r.redeemed_at}
            if len(before) >= 100 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    done = certgen("ledger", "backup", str(tmp_path / "copy.db"), "--ledger", url)
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    assert done.returncode == 0, done.stderr
    assert "checked" in done.stdout
    assert before, "the backup should run while redemptions are going on"
    copy_url = f"sqlite:///{tmp_path / 'copy.db'}"
    assert certgen("ledger", "check", "--ledger", copy_url).returncode == 0
    with open_ledger(copy_url) as copy:
        in_copy = {r.code for r in copy.batch("r1") if r.redeemed_at}
    with open_ledger(url) as ledger:
        after = {r.code for r in ledger.batch("r1") if r.redeemed_at}
    assert before <= in_copy <= after and len(after) == 1000
    again = certgen("ledger", "backup", str(tmp_path / "copy.db"), "--ledger", url)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_restore_replaces_the_ledger_and_keeps_the_one_it_replaced(env: Path) -> None:
    env.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{env / 'ledger.db'}"
    with open_ledger(url) as ledger:
        made = fill(ledger, 5)
    assert certgen("ledger", "backup", "saved.db").returncode == 0
    assert certgen("redeem", made[0]).returncode == 0  # after the backup
    done = certgen("ledger", "restore", "saved.db", "--yes")
    assert done.returncode == 0, done.stderr
    assert "the ledger it replaced is" in done.stdout
    assert "valid" in certgen("show", made[0]).stdout  # as it was at the backup
    kept = [p for p in env.iterdir() if ".before-restore-" in p.name and p.suffix != ".db-wal"]
    assert kept
    Path("broken.db").write_text("not a ledger")
    refused = certgen("ledger", "restore", "broken.db", "--yes")
    assert refused.returncode == 5 and "not a SQLite database" in refused.stderr


def test_export_writes_the_whole_event_log_as_json_lines(env: Path) -> None:
    env.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{env / 'ledger.db'}"
    with open_ledger(url) as ledger:
        made = fill(ledger, 3)
    certgen("redeem", made[0], "--by", "Sam")
    certgen("void", made[1], "--reason", "lost")
    done = certgen("ledger", "export")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["kind"] for e in lines] == ["issued"] * 3 + ["redeemed", "voided"]
    assert lines[3]["actor"] == "Sam" and lines[4]["detail"] == {"reason": "lost"}
    assert [e["id"] for e in lines] == sorted(e["id"] for e in lines)
    written = certgen("ledger", "export", "audit.jsonl")
    assert written.stdout.strip() == "Wrote 5 events to audit.jsonl"
    assert Path("audit.jsonl").read_text().splitlines() == done.stdout.splitlines()


def test_a_postgresql_ledger_is_told_how_to_back_up(ledger_url: str, tmp_path: Path) -> None:
    if not ledger_url.startswith("postgresql"):
        done = certgen("ledger", "check", "--ledger", ledger_url)
        assert done.returncode == 0 and "sound" in done.stdout
        return
    with open_ledger(ledger_url) as ledger:
        fill(ledger, 2)
    assert certgen("ledger", "check", "--ledger", ledger_url).returncode == 0
    done = certgen("ledger", "backup", str(tmp_path / "x.dump"), "--ledger", ledger_url)
    assert done.returncode == 5 and "pg_dump --format=custom" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "x.dump").exists()


def test_a_read_only_ledger_serves_reads_and_refuses_writes_leaving_the_file_as_it_was(
    env: Path, tmp_path: Path
) -> None:
    path = tmp_path / "ledger.db"
    with open_ledger(f"sqlite:///{path}") as ledger:
        [code] = fill(ledger, 1)
    before = path.read_bytes()
    url = f"sqlite:///{path}?mode=ro"
    for args in (["show", code], ["report"], ["runs"], ["ledger", "check"], ["ledger", "path"]):
        done = certgen(*args, "--ledger", url)
        assert done.returncode == 0, (args, done.stderr)
    assert "Friend 0" in certgen("show", code, "--ledger", url).stdout
    refused = certgen("redeem", code, "--ledger", url)
    assert refused.returncode == 5 and "the ledger is read-only here, so nothing was written" in (
        refused.stderr
    )
    assert "Traceback" not in refused.stderr
    assert path.read_bytes() == before


def test_a_ledger_file_this_user_cannot_write_is_opened_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests run as root, whom file modes do not stop; os.access is what certgen asks."""
    import os

    path = tmp_path / "ledger.db"
    with open_ledger(f"sqlite:///{path}") as ledger:
        [code] = fill(ledger, 1)
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != path)
    with open_ledger(f"sqlite:///{path}") as ledger:
        assert ledger.read_only and ledger.get(code) is not None
        with pytest.raises(LedgerError, match="read-only here"):
            redeem_mod.redeem(ledger, code, actor="t", channel="cli")
