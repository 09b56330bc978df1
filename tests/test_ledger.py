"""The ledger on both engines: migrations, atomic batches, unique codes, clear failures."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from certgen import codes
from certgen import ledger as ledger_mod
from certgen.errors import LedgerError
from certgen.ledger import MIGRATIONS, BatchRecord, CertificateRecord, open_ledger, safe_url

AT = "2026-11-23T12:00:00+00:00"


def batch(batch_id: str = "b1", count: int = 2) -> BatchRecord:
    return BatchRecord(batch_id, "classic", "abc123", "people.csv", "/out/run.pdf", count, AT)


def record(code: str, page: int, batch_id: str = "b1") -> CertificateRecord:
    return CertificateRecord(
        code=code,
        batch_id=batch_id,
        file="/out/run.pdf",
        page=page,
        source_row=page + 1,
        design="classic",
        design_hash="abc123",
        recipient="Ελένη",
        giver="Jane Doe",
        data={"recipient": "Ελένη", "giver": "Jane Doe"},
        issued_at=AT,
        expires_on="2027-03-31",
    )


def test_migrations_are_recorded_and_run_once(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        assert ledger.migrate() == []  # open_ledger already applied them
        with ledger.engine.connect() as conn:
            names = [r.name for r in conn.execute(sa.text("SELECT name FROM certgen_migrations"))]
    assert names == [name for name, _ in MIGRATIONS]
    with open_ledger(ledger_url) as again:
        assert again.migrate() == []


def test_a_batch_is_recorded_with_its_certificates_and_events(ledger_url: str) -> None:
    first, second = codes.generate(), codes.generate()
    with open_ledger(ledger_url) as ledger:
        ledger.issue_batch(batch(), [record(first, 1), record(second, 2)])
        got = ledger.get(first)
        assert got == record(first, 1)
        assert [r.code for r in ledger.batch("b1")] == [first, second]
        [event] = ledger.events(second)
        assert (event.kind, event.at, event.detail) == ("issued", AT, {"batch": "b1", "page": 2})
        assert ledger.get(codes.generate()) is None
        assert ledger.existing([first, codes.generate()]) == {first}


def test_a_duplicate_code_records_nothing_of_the_batch(ledger_url: str) -> None:
    taken = codes.generate()
    with open_ledger(ledger_url) as ledger:
        ledger.issue_batch(batch("b1", 1), [record(taken, 1)])
        fresh = codes.generate()
        with pytest.raises(LedgerError, match="already recorded; nothing was recorded"):
            ledger.issue_batch(batch("b2"), [record(fresh, 1, "b2"), record(taken, 2, "b2")])
        assert ledger.get(fresh) is None and ledger.batch("b2") == []
        assert ledger.events(fresh) == []


def test_a_server_that_cannot_be_reached_is_one_line_without_the_password() -> None:
    url = "postgresql://certgen:s3cret@127.0.0.1:1/nowhere"
    with pytest.raises(LedgerError) as caught:
        open_ledger(url)
    message = str(caught.value)
    assert "s3cret" not in message and "127.0.0.1:1/nowhere" in message and "***" in message
    assert "\n" not in message


def test_a_read_only_sqlite_ledger_is_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root ignores file permissions; an immutable URL flag makes SQLite refuse writes.
        url = f"sqlite:///file:{tmp_path / 'ro.db'}?mode=ro&uri=true"
        open_ledger(f"sqlite:///{tmp_path / 'ro.db'}").close()
    else:
        path = tmp_path / "ro.db"
        open_ledger(f"sqlite:///{path}").close()
        path.chmod(stat.S_IRUSR)
        url = f"sqlite:///{path}"
    with open_ledger(url) as ledger, pytest.raises(LedgerError, match="read-only here"):
        ledger.issue_batch(batch(), [record(codes.generate(), 1)])


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="unable to open database file"):
        open_ledger(f"sqlite:///{tmp_path / 'missing' / 'ledger.db'}")


@pytest.mark.parametrize("url", ["mysql://x/y", "ledger.db", "sqlite:/nope"])
def test_unsupported_urls(url: str) -> None:
    with pytest.raises(LedgerError):
        open_ledger(url)


def test_safe_url_hides_passwords() -> None:
    assert safe_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"


@pytest.mark.parametrize("statement", ["UPDATE events SET actor = 'mallory'", "DELETE FROM events"])
def test_events_are_append_only_in_the_database(ledger_url: str, statement: str) -> None:
    code = codes.generate()
    with open_ledger(ledger_url) as ledger:
        ledger.issue_batch(batch("b1", 1), [record(code, 1)], actor="Rep")
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), ledger.engine.begin() as conn:
            conn.execute(sa.text(statement))
        assert [(e.kind, e.actor) for e in ledger.events(code)] == [("issued", "Rep")]


@pytest.mark.parametrize("ledger_url", ["postgres"], indirect=True)
def test_a_dropped_postgresql_connection_costs_no_request(ledger_url: str) -> None:
    """The server ends every certgen connection (a restart, an idle timeout): the next
    request, a moment later, is answered on a fresh connection."""
    from certgen import ledger as ledger_mod

    with open_ledger(ledger_url) as ledger:
        ledger.issue_batch(batch(), [record(code := codes.generate(), 1)])
        assert ledger.get(code) is not None
        with ledger.engine.connect() as conn:
            mine = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        base = ledger_url.split("?")[0]
        admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": mine})
        admin.dispose()
        time.sleep(ledger_mod.PING_IDLE + 0.2)
        assert ledger.get(code) is not None  # no error: the dead connection was replaced


def test_a_new_ledger_another_process_is_creating_is_put_in_wal_mode_once_it_may(
    tmp_path: Path,
) -> None:
    """Switching a new file to WAL is refused at once, busy timeout or not, while another
    connection holds its first transaction (two commands opening a new ledger at once: one
    failed with "database is locked"): certgen waits for it, up to its wait."""
    path = tmp_path / "new.db"
    first = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    first.execute("BEGIN IMMEDIATE")
    first.execute("CREATE TABLE t (x)")
    second = sqlite3.connect(path, isolation_level=None, timeout=5)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        second.execute("PRAGMA journal_mode=WAL")  # what SQLite does: no waiting
    threading.Timer(0.5, lambda: first.execute("COMMIT")).start()
    started = time.monotonic()
    ledger_mod._wal(second.cursor(), wait=5)
    assert 0.4 < time.monotonic() - started < 5
    assert second.execute("PRAGMA journal_mode").fetchone() == ("wal",)
