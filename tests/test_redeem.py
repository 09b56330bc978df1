"""Redeeming, voiding and converting on both engines, including 50 processes racing."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from certgen import codes
from certgen import redeem as r
from certgen.errors import InputError
from certgen.ledger import MIGRATIONS, BatchRecord, CertificateRecord, Ledger, open_ledger
from certgen.redeem import Outcome

AT = "2026-11-23T12:00:00+00:00"
EXPIRES = "2027-03-31"


def issue_codes(ledger: Ledger, count: int, expires_on: str | None = EXPIRES) -> list[str]:
    batch_id = f"b{codes.generate()[:6]}"
    made = [codes.generate() for _ in range(count)]
    ledger.issue_batch(
        BatchRecord(batch_id, "classic", "h", "t.csv", "/out.pdf", count, AT),
        [
            CertificateRecord(
                code,
                batch_id,
                "/out.pdf",
                i + 1,
                i + 2,
                "classic",
                "h",
                "Friend",
                "Jane",
                {"recipient": "Friend"},
                AT,
                expires_on,
            )
            for i, code in enumerate(made)
        ],
    )
    return made


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    with open_ledger(ledger_url) as opened:
        yield opened


BEFORE_EXPIRY = dt.date(2027, 3, 31)  # the last valid day


def test_redeem_once_then_already_redeemed_with_when_and_by_whom(ledger: Ledger) -> None:
    [code] = issue_codes(ledger, 1)
    typed = codes.display(code).lower().replace("-", " ")
    first = r.redeem(ledger, typed, actor="Sam", note="walk-in", today=BEFORE_EXPIRY)
    assert first.outcome is Outcome.REDEEMED and first.code == code
    assert first.record and first.record.redeemed_by == "Sam" and first.record.redeemed_via == "cli"
    second = r.redeem(ledger, code, actor="Alex", today=BEFORE_EXPIRY)
    assert second.outcome is Outcome.ALREADY_REDEEMED and second.outcome.exit_code == 8
    assert "already redeemed on" in second.message and "by Sam (cli)" in second.message
    kinds = [
        (e.kind, e.actor, e.detail.get("reason") or e.detail.get("note"))
        for e in ledger.events(code)
    ]
    assert kinds == [
        ("issued", "certgen", None),
        ("redeemed", "Sam", "walk-in"),
        ("redeem_failed", "Alex", "already_redeemed"),
    ]


def test_expired_code_never_redeems(ledger: Ledger) -> None:
    [code] = issue_codes(ledger, 1)
    result = r.redeem(ledger, code, actor="Sam", today=BEFORE_EXPIRY + dt.timedelta(days=1))
    assert result.outcome is Outcome.EXPIRED and result.outcome.exit_code == 9
    assert f"expired on {EXPIRES}" in result.message
    assert ledger.get(code).redeemed_at is None  # type: ignore[union-attr]


def test_code_without_expiry_redeems_any_day(ledger: Ledger) -> None:
    [code] = issue_codes(ledger, 1, expires_on=None)
    assert r.redeem(ledger, code, actor="S", today=dt.date(2099, 1, 1)).outcome is Outcome.REDEEMED


def test_void_rules(ledger: Ledger) -> None:
    voided, redeemed = issue_codes(ledger, 2)
    assert r.void(ledger, voided, reason="lost in the mail", actor="Ann").outcome is Outcome.VOIDED
    again = r.void(ledger, voided, reason="x", actor="Ann")
    assert again.outcome is Outcome.ALREADY_VOIDED and "lost in the mail" in again.message
    refused = r.redeem(ledger, voided, actor="Sam", today=BEFORE_EXPIRY)
    assert refused.outcome is Outcome.ALREADY_VOIDED and refused.outcome.exit_code == 10
    r.redeem(ledger, redeemed, actor="Sam", today=BEFORE_EXPIRY)
    no = r.void(ledger, redeemed, reason="oops", actor="Ann")
    assert no.outcome is Outcome.ALREADY_REDEEMED and "cannot be voided" in no.message
    assert ledger.get(redeemed).voided_at is None  # type: ignore[union-attr]


def test_voiding_a_run_leaves_redeemed_and_voided_ones_alone(ledger: Ledger) -> None:
    made = issue_codes(ledger, 1203)  # three blocks of VOID_BLOCK
    [batch_id] = {ledger.get(made[0]).batch_id}  # type: ignore[union-attr]
    r.redeem(ledger, made[5], actor="Sam", today=BEFORE_EXPIRY)
    r.void(ledger, made[6], reason="lost", actor="Ann")
    seen: list[int] = []
    done = r.void_run(ledger, batch_id, reason="wrong date", actor="Ann", progress=seen.append)
    assert (done.total, done.voided, done.already, done.redeemed, done.left) == (
        1203,
        1201,
        1,
        1,
        0,
    )
    assert seen == [500, 1000, 1201]
    assert ledger.get(made[5]).voided_at is None  # type: ignore[union-attr]
    assert ledger.get(made[6]).void_reason == "lost"  # type: ignore[union-attr]
    assert [e.kind for e in ledger.events(made[0])] == ["issued", "voided"]
    assert [e.kind for e in ledger.events(made[6])] == ["issued", "voided"]  # not twice
    again = r.void_run(ledger, batch_id, reason="x", actor="Ann")
    assert (again.voided, again.already, again.left) == (0, 1202, 0)


def test_unknown_code_is_recorded_as_a_failed_attempt(ledger: Ledger) -> None:
    code = codes.generate()
    result = r.redeem(ledger, code, actor="Sam")
    assert result.outcome is Outcome.UNKNOWN and result.outcome.exit_code == 6
    assert [e.detail["reason"] for e in ledger.events(code)] == ["unknown"]


def test_mistyped_code_is_refused_without_any_query(ledger: Ledger) -> None:
    [code] = issue_codes(ledger, 1)
    typo = code[:5] + ("Z" if code[5] != "Z" else "Y") + code[6:]
    statements: list[str] = []
    sa.event.listen(ledger.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    for action in (
        lambda: r.redeem(ledger, typo, actor="Sam"),
        lambda: r.void(ledger, typo, reason="x", actor="Sam"),
        lambda: r.convert(ledger, typo, actor="Sam"),
    ):
        assert action().outcome is Outcome.MISTYPED
    assert statements == []


def test_convert_after_redemption_once(ledger: Ledger) -> None:
    [code] = issue_codes(ledger, 1)
    early = r.convert(ledger, code, actor="Ann", value="99")
    assert early.outcome is Outcome.NOT_REDEEMED and early.outcome.exit_code == 11
    r.redeem(ledger, code, actor="Sam", today=BEFORE_EXPIRY)
    done = r.convert(ledger, code, actor="Ann", value="$1,200.5", note="signed up")
    assert done.outcome is Outcome.CONVERTED and done.record.conversion_value == "1200.50"  # type: ignore[union-attr]
    twice = r.convert(ledger, code, actor="Ann")
    assert twice.outcome is Outcome.ALREADY_CONVERTED and twice.outcome.exit_code == 12
    assert ledger.events(code)[-1].detail == {"note": "signed up", "value": "1200.50"}
    with pytest.raises(InputError, match="'ten' is not an amount"):
        r.convert(ledger, code, actor="Ann", value="ten")


def _race(url: str, code: str, barrier: Any, results: Any) -> None:
    with open_ledger(url) as ledger:
        barrier.wait()
        results.put(r.redeem(ledger, code, actor="racer", today=BEFORE_EXPIRY).outcome.name)


@pytest.mark.slow
def test_fifty_processes_redeem_one_code_exactly_once(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        [code] = issue_codes(ledger, 1)
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(50), context.Queue()
    workers = [
        context.Process(target=_race, args=(ledger_url, code, barrier, results)) for _ in range(50)
    ]
    for worker in workers:
        worker.start()
    outcomes = Counter(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert outcomes == {"REDEEMED": 1, "ALREADY_REDEEMED": 49}
    with open_ledger(ledger_url) as ledger:
        kinds = Counter(e.kind for e in ledger.events(code))
        assert kinds == {"issued": 1, "redeemed": 1, "redeem_failed": 49}


def test_an_old_ledger_is_upgraded_in_place(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # a ledger as the first release left it
        conn.execute(
            sa.text(
                "CREATE TABLE certgen_migrations "
                "(name VARCHAR(100) PRIMARY KEY, applied_at VARCHAR(32) NOT NULL)"
            )
        )
        MIGRATIONS[0][1](conn)
        conn.execute(
            sa.text("INSERT INTO certgen_migrations VALUES ('m001_initial', :at)"), {"at": AT}
        )
        conn.execute(
            sa.text("INSERT INTO batches VALUES ('b', 'classic', 'h', 't.csv', 'o.pdf', 1, :at)"),
            {"at": AT},
        )
        code = codes.generate()
        conn.execute(
            sa.text(
                "INSERT INTO certificates VALUES "
                "(:c, 'b', 'o.pdf', 1, 2, 'classic', 'h', 'Bob', 'Jane', '{}', :at, NULL)"
            ),
            {"c": code, "at": AT},
        )
    engine.dispose()
    with open_ledger(url) as ledger:
        assert ledger.applied == [name for name, _ in MIGRATIONS[1:]]
        assert ledger.get(code).recipient == "Bob"  # type: ignore[union-attr]
        assert r.redeem(ledger, code, actor="Sam").outcome is Outcome.REDEEMED
        [line] = ledger.referrers("2026-01-01")  # filled in by m007
        assert (line["key"], line["name"], line["issued"]) == ("name:Jane", "Jane", 1)
