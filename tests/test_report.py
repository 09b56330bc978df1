"""Reports: counts and rates per group, and CSV that is safe in a spreadsheet."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from certgen import codes, report
from certgen import redeem as r
from certgen.ledger import BatchRecord, CertificateRecord, Ledger, open_ledger
from tests.test_cli import invoke

TODAY = dt.date(2027, 1, 15)


def add(
    ledger: Ledger, batch: str, giver: str, issued: str, expires: str | None = "2027-03-31"
) -> str:
    code = codes.generate()
    batch_id = f"{batch}-{code[:4]}"
    ledger.issue_batch(
        BatchRecord(batch_id, "classic", "h", "t.csv", "o.pdf", 1, issued),
        [
            CertificateRecord(
                code,
                batch_id,
                "o.pdf",
                1,
                2,
                "classic",
                "h",
                "Friend",
                giver,
                {"giver": giver},
                issued,
                expires,
            )
        ],
    )
    return code


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    with open_ledger(ledger_url) as opened:
        yield opened


def populate(ledger: Ledger) -> None:
    jane = [add(ledger, "b1", "Jane Doe", "2026-11-02T10:00:00+00:00") for _ in range(4)]
    add(ledger, "b1", "Νίκος Γεωργίου", "2026-12-01T10:00:00+00:00", expires="2027-01-01")
    voided = add(ledger, "b2", '=HYPERLINK("http://x","y")', "2026-12-05T10:00:00+00:00")
    for code in jane[:3]:
        r.redeem(ledger, code, actor="Sam", today=TODAY)
    r.convert(ledger, jane[0], actor="Ann", value="120.50")
    r.convert(ledger, jane[1], actor="Ann", value="80")
    r.void(ledger, voided, reason="duplicate", actor="Ann")


def test_by_referrer_counts_rates_and_thank_first_order(ledger: Ledger) -> None:
    populate(ledger)
    lines = report.build(ledger, "referrer", TODAY)
    jane = lines[0]
    assert jane.group == "Jane Doe"
    assert (jane.issued, jane.redeemed, jane.converted, jane.expired, jane.voided) == (
        4,
        3,
        2,
        0,
        0,
    )
    assert jane.value == Decimal("200.50")
    assert jane.redemption_rate == 0.75 and jane.conversion_rate == pytest.approx(0.6667)
    nikos = next(line for line in lines if line.group == "Νίκος Γεωργίου")
    assert (nikos.expired, nikos.redemption_rate) == (1, 0.0)
    hostile = next(line for line in lines if line.group.startswith("="))
    assert hostile.voided == 1 and hostile.expired == 0


def test_by_month_design_and_batch(ledger: Ledger) -> None:
    populate(ledger)
    months = {line.group: line.issued for line in report.build(ledger, "month", TODAY)}
    assert months == {"2026-11": 4, "2026-12": 2}
    designs = [(line.group, line.issued) for line in report.build(ledger, "design", TODAY)]
    assert designs == [("classic", 6)]
    assert len(report.build(ledger, "batch", TODAY)) == 6


@pytest.mark.parametrize(
    "hostile", ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
)
def test_csv_neutralizes_formulas_and_keeps_numbers(hostile: str) -> None:
    line = report.Line(hostile, 3, 3, 2, 0, 0, 1, 0, Decimal("5.00"), 0.6667, 0.5)
    text = report.to_csv([line], "referrer")
    [header, row, totals] = list(csv.reader(io.StringIO(text, newline="")))
    assert header[0] == "referrer" and not text.startswith("ID")
    assert row[0] == "'" + hostile
    assert row[1:] == ["3", "3", "2", "0", "0", "1", "0", "5.00", "0.6667", "0.5"]
    assert text.endswith("\r\n")


def test_csv_file_round_trips_names_in_any_script(ledger_url: str, tmp_path: Path) -> None:
    names = ["Jane Doe", "Νίκος Γεωργίου", "Дмитрий Иванов", "محمد", "李小龍", "-Minus Person"]
    with open_ledger(ledger_url) as ledger:
        for name in names:
            add(ledger, "b", name, "2026-11-02T10:00:00+00:00")
    exit_code, _, err = invoke(
        "report", "--format", "csv", "-o", str(tmp_path / "r.csv"), "--ledger", ledger_url
    )
    assert exit_code == 0, err
    assert (tmp_path / "r.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # spreadsheets: UTF-8
    with (tmp_path / "r.csv").open(encoding="utf-8-sig", newline="") as handle:
        read = [row["referrer"] for row in csv.DictReader(handle)]
    assert read[-1] == "Total"
    assert sorted(n.removeprefix("'") for n in read[:-1]) == sorted(names)
    assert "'-Minus Person" in read  # neutralized, as documented


def test_json_and_table_from_the_command_line(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        populate(ledger)
    exit_code, out, _ = invoke(
        "report", "--by", "design", "--format", "json", "--ledger", ledger_url
    )
    assert exit_code == 0
    [row] = json.loads(out)
    assert row["design"] == "classic" and row["issued"] == 6 and row["value"] == "200.50"
    exit_code, out, _ = invoke("report", "--ledger", ledger_url)
    assert exit_code == 0
    header, first = out.splitlines()[:2]
    assert header.split()[:4] == ["referrer", "issued", "viewed", "redeemed"]
    assert first.startswith("Jane Doe")


def test_a_range_of_issue_dates_by_week_and_by_staff_with_totals(ledger: Ledger) -> None:
    populate(ledger)  # 4 on 2 Nov (3 redeemed by Sam), 1 on 1 Dec, 1 voided on 5 Dec
    weeks = report.build(ledger, "week", TODAY)
    assert [(w.group, w.issued, w.redeemed) for w in weeks] == [
        ("2026-W45", 4, 3),
        ("2026-W49", 2, 0),
    ]
    december = report.build(
        ledger, "referrer", TODAY, since=dt.date(2026, 12, 1), until=dt.date(2026, 12, 1)
    )
    assert [(line.group, line.issued) for line in december] == [("Νίκος Γεωργίου", 1)]
    staff = report.build(ledger, "staff", TODAY)
    assert {line.group: line.issued for line in staff} == {"(not redeemed)": 3, "Sam": 3}
    everything = report.total(report.build(ledger, "batch", TODAY))
    assert (everything.group, everything.issued, everything.redeemed) == ("Total", 6, 3)
    assert (everything.converted, everything.value, everything.redemption_rate) == (
        2,
        Decimal("200.50"),
        0.5,
    )


def test_the_range_and_totals_from_the_command_line(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        populate(ledger)
    status, out, _ = invoke(
        "report",
        "--by",
        "month",
        "--since",
        "2026-11-01",
        "--until",
        "2026-11-30",
        "--ledger",
        ledger_url,
    )
    assert status == 0
    lines = out.splitlines()
    assert lines[1].split()[:4] == ["2026-11", "4", "0", "3"]
    assert set(lines[2]) == {"-", " "} and lines[3].split()[:4] == ["Total", "4", "0", "3"]
    status, _, err = invoke(
        "report", "--since", "2026-12-01", "--until", "2026-11-01", "--ledger", ledger_url
    )
    assert status == 2 and "--since 2026-12-01 is after --until 2026-11-01" in err
    status, _, err = invoke("report", "--since", "1 Dec", "--ledger", ledger_url)
    assert status == 2 and "'1 Dec' does not match the format '%Y-%m-%d'" in err


def test_a_friend_who_bought_without_the_gift_is_credited_but_not_a_redemption(
    ledger: Ledger,
) -> None:
    jane = [add(ledger, "b1", "Jane Doe", "2026-11-02T10:00:00+00:00") for _ in range(3)]
    r.redeem(ledger, jane[0], actor="Sam", today=TODAY)
    r.convert(ledger, jane[0], actor="Sam", value="50")
    refused = r.convert(ledger, jane[1], actor="Sam", value="80")
    assert refused.outcome is r.Outcome.NOT_REDEEMED and "--unredeemed" in refused.message
    done = r.convert(ledger, jane[1], actor="Sam", value="80", unredeemed=True)
    assert done.outcome is r.Outcome.CONVERTED
    assert ledger.get(jane[1]).redeemed_at is None  # type: ignore[union-attr]
    [event] = [e for e in ledger.events(jane[1]) if e.kind == "converted"]
    assert event.detail == {"value": "80.00", "note": None, "unredeemed": True}
    wrong = r.convert(ledger, jane[0], actor="Sam", unredeemed=True)  # it was redeemed
    assert wrong.outcome is r.Outcome.ALREADY_CONVERTED
    r.redeem(ledger, jane[2], actor="Sam", today=TODAY)
    wrong = r.convert(ledger, jane[2], actor="Sam", unredeemed=True)
    assert wrong.outcome is r.Outcome.NOT_REDEEMED and "without --unredeemed" in wrong.message
    [line] = report.build(ledger, "referrer", TODAY)
    assert (line.redeemed, line.converted, line.converted_without_gift) == (2, 2, 1)
    assert line.value == Decimal("130.00") and line.conversion_rate == 0.5  # 1 of 2 who came


def test_convert_unredeemed_from_the_command_line(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        code = add(ledger, "b1", "Jane Doe", "2026-11-02T10:00:00+00:00")
    status, _, err = invoke("convert", code, "--value", "99", "--ledger", ledger_url)
    assert status == 11 and "convert it with --unredeemed" in err
    status, out, _ = invoke(
        "convert", code, "--value", "99", "--unredeemed", "--ledger", ledger_url
    )
    assert status == 0 and "converted" in out


def test_a_redemption_keeps_the_location_it_was_made_at(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        ledger.add_staff("Sam", "!", location="Downtown")
        ledger.add_staff("Kim", "!", location="Airport")
        made = [add(ledger, "b1", "Jane Doe", "2026-11-02T10:00:00+00:00") for _ in range(4)]
        r.redeem(ledger, made[0], actor="Sam", today=TODAY)
        r.redeem(ledger, made[1], actor="Kim", today=TODAY)
        r.redeem(ledger, made[2], actor="Ann", today=TODAY)  # not staff: no location
        assert ledger.set_staff("Sam", location="Uptown")  # moved later: the past stays
        assert ledger.get(made[0]).redeemed_location == "Downtown"  # type: ignore[union-attr]
        r.unredeem(ledger, made[1], reason="wrong one", actor="Kim", window=dt.timedelta(hours=1))
        assert ledger.get(made[1]).redeemed_location is None  # type: ignore[union-attr]
    status, out, err = invoke("report", "--by", "location", "--ledger", ledger_url)
    assert status == 0, err
    rows = {line.split()[0]: line.split()[1:4] for line in out.splitlines()[1:]}
    assert rows["Downtown"] == ["1", "0", "1"] and "Airport" not in rows
    assert rows["(not"] == ["redeemed)", "3", "0"]  # 2 never redeemed, Ann's has no place
    assert "Uptown" not in rows and rows["Total"][0] == "4"


def test_staff_roles_and_locations_from_the_command_line(ledger_url: str) -> None:
    from click.testing import CliRunner

    from certgen.cli import cli

    def add_staff(*args: str) -> tuple[int, str, str]:
        line = ["staff", "add", *args, "--password-stdin", "--ledger", ledger_url]
        done = CliRunner().invoke(cli, line, input="pin12345\n", catch_exceptions=False)
        return done.exit_code, done.stdout, done.stderr

    status, out, _ = add_staff("Olivia", "--role", "owner")
    assert status == 0 and "Added Olivia (owner)" in out
    status, out, _ = add_staff("Sam", "--location", "Downtown")
    assert status == 0 and "Added Sam (staff, Downtown)" in out
    status, _, err = add_staff("Max", "--role", "boss")
    assert status == 2 and "'boss' is not one of 'staff', 'owner'" in err
    status, out, _ = invoke("staff", "list", "--ledger", ledger_url)
    assert [line.split("\t")[:3] for line in out.splitlines()][1] == ["Sam", "staff", "Downtown"]
    status, _, _ = invoke(
        "staff", "set", "Sam", "--role", "owner", "--location", "", "--ledger", ledger_url
    )
    assert status == 0
    status, out, _ = invoke("staff", "list", "--ledger", ledger_url)
    assert [line.split("\t")[:2] for line in out.splitlines()] == [
        ["Olivia", "owner"],
        ["Sam", "owner"],
    ]
    assert "Downtown" not in out  # cleared with --location ""
    status, _, err = invoke("staff", "set", "Nobody", "--role", "owner", "--ledger", ledger_url)
    assert status != 0 and "no staff member named 'Nobody'" in err
    status, _, err = invoke("staff", "set", "Sam", "--ledger", ledger_url)
    assert status == 2 and "give --role, --location or both" in err


def test_the_owners_migration_fills_variants_and_first_views_in(ledger_url: str) -> None:
    """A ledger from before m016: its certificates' variants and first views are read from
    their data and events into the columns the dashboard counts."""
    import sqlalchemy as sa

    from certgen.ledger.schema import MIGRATIONS

    M016 = [name for name, _ in MIGRATIONS].index("m016_owners_and_locations")  # noqa: N806

    url = ledger_url
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE certgen_migrations "
                "(name VARCHAR(100) PRIMARY KEY, applied_at VARCHAR(32) NOT NULL)"
            )
        )
        for name, step in MIGRATIONS[:M016]:
            step(conn)
            conn.execute(sa.text("INSERT INTO certgen_migrations VALUES (:n, 'x')"), {"n": name})
        conn.execute(
            sa.text(
                "INSERT INTO batches (id, design, design_hash, source, file, count, created_at) "
                "VALUES ('b', 'classic', 'h', 't.csv', 'o.pdf', 2, '2026-11-02')"
            )
        )
        for code, variant in (("AAAA", "B"), ("BBBB", None)):
            data = json.dumps({"variant": variant} if variant else {})
            conn.execute(
                sa.text(
                    "INSERT INTO certificates (code, batch_id, file, page, source_row, design, "
                    "design_hash, recipient, giver, data_json, issued_at, expires_on) VALUES "
                    "(:c, 'b', 'o.pdf', 1, 2, 'classic', 'h', 'Bob', 'Jane', :d, "
                    "'2026-11-02T10:00:00+00:00', NULL)"
                ),
                {"c": code, "d": data},
            )
        for at in ("2026-11-04T10:00:00+00:00", "2026-11-03T09:00:00+00:00"):
            conn.execute(
                sa.text(
                    "INSERT INTO events (code, kind, at, actor, channel, detail_json) "
                    "VALUES ('AAAA', 'viewed', :at, 'public', 'web', '{}')"
                ),
                {"at": at},
            )
    engine.dispose()
    with open_ledger(url) as ledger:
        assert ledger.applied == [name for name, _ in MIGRATIONS[M016:]]
        assert ledger.get("AAAA").viewed_at == "2026-11-03T09:00:00+00:00"  # type: ignore[union-attr]
        rows = {
            row["variant"]: (row["issued"], row["viewed"])
            for row in ledger.rollup(TODAY.isoformat())
        }
        assert rows == {"B": (1, 1), None: (1, 0)}
