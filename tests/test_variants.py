"""Variants of a campaign: rows dealt to them in turn, each certificate printing and
recording its variant, the report comparing them with Wilson intervals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from certgen import redeem as r
from certgen import report
from certgen.config import load
from certgen.ledger import open_ledger
from tests.helpers import page_text, qr_codes
from tests.test_cli import invoke

VARIANTS = [
    "--variant",
    "pain=Sore back?;offer=A free posture check",
    "--variant",
    "name=stiff;pain=Stiff neck?;offer=A free neck check",
]


def write_list(rows: int) -> Path:
    listing = Path("list.csv")
    listing.write_text("to,from\n" + "".join(f"Friend {i},Giver {i % 3}\n" for i in range(rows)))
    return listing


def issue(*more: str) -> tuple[int, str, str]:
    return invoke("issue", "list.csv", "-d", "compact", "--set", "business=Northside Physio", *more)


def recorded() -> list[tuple[str, str | None, str | None]]:
    with open_ledger(load().ledger) as ledger:
        found = ledger.search("friend", limit=100)
    return sorted((c.recipient, c.data.get("variant"), c.data.get("pain")) for c in found)


def test_rows_are_dealt_in_turn_and_each_prints_and_records_its_variant(env: Path) -> None:
    write_list(7)
    status, _, err = issue(*VARIANTS, "-o", "run.pdf")
    assert status == 0, err
    seen = recorded()
    by_row = {name: (variant, pain) for name, variant, pain in seen}
    assert by_row["Friend 0"] == ("A", "Sore back?") and by_row["Friend 1"] == (
        "stiff",
        "Stiff neck?",
    )
    names = [variant for _, variant, _ in seen]
    assert (names.count("A"), names.count("stiff")) == (4, 3)  # even within one
    for page in range(7):  # each page prints its own variant's words
        text = page_text(Path("run.pdf"), page)
        friend = next(n for n in by_row if n in text)
        assert by_row[friend][1] in text and "A free" in text
    assert len(qr_codes(Path("run.pdf"))) == 7


def test_the_same_list_is_dealt_the_same_way_again(env: Path) -> None:
    write_list(5)
    assert issue(*VARIANTS, "-o", "one.pdf")[0] == 0
    first = recorded()
    assert issue(*VARIANTS, "-o", "two.pdf", "--new-run")[0] == 0
    both = recorded()
    assert sorted(first + first) == both  # every row the same variant in both runs


@pytest.mark.parametrize(
    ("given", "says"),
    [
        (["--variant", "pain=Sore back?"], "one variant is no test; give two or more"),
        (["--variant", "pian=x", "--variant", "pain=y"], "--variant 1: unknown field 'pian'"),
        (
            ["--variant", "business=Other;pain=x", "--variant", "pain=y"],
            "'business' is the business's own, the same on every certificate",
        ),
        (["--variant", "pain=" + "x" * 91, "--variant", "pain=y"], "limit is 90"),
        (["--variant", "pain", "--variant", "pain=y"], "'pain' is not FIELD=VALUE"),
        (
            ["--variant", "name=B;pain=x", "--variant", "pain=y"],
            "the name 'B' is given twice",
        ),
    ],
)
def test_a_wrong_variant_is_a_clear_error_and_nothing_is_issued(
    env: Path, given: list[str], says: str
) -> None:
    write_list(3)
    status, _, err = issue(*given, "-o", "run.pdf")
    assert status == 3 and says in err, err
    assert not Path("run.pdf").exists() and recorded() == []


def test_a_variant_never_silently_replaces_a_column_of_the_list(env: Path) -> None:
    Path("list.csv").write_text("to,from,pain\nAna,Jane,Bad knee?\n")
    status, _, err = issue(*VARIANTS, "-o", "run.pdf")
    assert status == 3
    assert "--variant sets 'pain', which the list's column 'pain' fills too" in err
    assert "--ignore 'pain'" in err


def test_the_report_compares_variants_with_wilson_intervals(env: Path) -> None:
    write_list(40)
    assert issue(*VARIANTS, "-o", "run.pdf")[0] == 0
    with open_ledger(load().ledger) as ledger:
        found = ledger.search("friend", limit=100)
        for certificate in found:
            if certificate.data["variant"] == "A" or certificate.recipient == "Friend 1":
                r.redeem(ledger, certificate.code, actor="Sam")
    status, out, _ = invoke("report", "--by", "variant", "--format", "json")
    assert status == 0
    rows = {row["variant"]: row for row in json.loads(out)}
    assert (rows["A"]["issued"], rows["A"]["redeemed"]) == (20, 20)
    assert (rows["stiff"]["issued"], rows["stiff"]["redeemed"]) == (20, 1)
    low, high = report.wilson(20, 20)
    assert (rows["A"]["redemption_low"], rows["A"]["redemption_high"]) == (
        round(low, 4),
        round(high, 4),
    )
    assert rows["stiff"]["redemption_high"] < rows["A"]["redemption_low"]  # not noise
    status, table, _ = invoke("report", "--by", "variant")
    assert "redeem 95% CI" in table.splitlines()[0] and "84%-100%" in table


def test_wilson_intervals_match_the_textbook() -> None:
    assert report.wilson(0, 0) == (0.0, 0.0)
    low, high = report.wilson(8, 10)  # Newcombe (1998), and any statistics package
    assert (round(low, 3), round(high, 3)) == (0.490, 0.943)
    low, high = report.wilson(0, 10)
    assert low == 0.0 and round(high, 3) == 0.278
    low, high = report.wilson(10, 10)
    assert round(low, 3) == 0.722 and high == pytest.approx(1.0)


def test_the_ledger_groups_by_variant_on_both_engines(ledger_url: str) -> None:
    from certgen import codes
    from certgen.ledger import BatchRecord, CertificateRecord

    at = "2026-11-23T12:00:00+00:00"
    made = [codes.generate() for _ in range(5)]
    records = [
        CertificateRecord(
            code,
            "b",
            "o.pdf",
            i + 1,
            i + 2,
            "compact",
            "h",
            "F",
            "G",
            {"variant": "AB"[i % 2], "pain": "x"},
            at,
            None,
        )
        for i, code in enumerate(made)
    ]
    with open_ledger(ledger_url) as ledger:
        ledger.issue_batch(BatchRecord("b", "compact", "h", "l.csv", "o.pdf", 5, at), records)
        r.redeem(ledger, made[0], actor="Sam")
        lines = report.build(ledger, "variant")
    assert [(line.group, line.issued, line.redeemed) for line in lines] == [
        ("A", 3, 1),
        ("B", 2, 0),
    ]
    assert lines[0].redemption_ci == report.wilson(1, 3)


def test_variants_from_the_campaign_file(env: Path) -> None:
    """[[variants]] in certgen.toml, when no --variant is given; the options win over it."""
    Path("certgen.toml").write_text(
        '[[variants]]\npain = "Sore back?"\noffer = "A free posture check"\n'
        '[[variants]]\nname = "stiff"\npain = "Stiff neck?"\noffer = "A free neck check"\n'
    )
    write_list(4)
    status, out, _ = invoke("config")
    assert "variants.2" in out and "name=stiff; pain=Stiff neck?" in out, out
    status, _, err = issue("-o", "file.pdf")
    assert status == 0, err
    names = [variant for _, variant, _ in recorded()]
    assert (names.count("A"), names.count("stiff")) == (2, 2)
    assert "Stiff neck?" in page_text(Path("file.pdf"), 1)

    status, _, err = issue("--variant", "pain=x", "--variant", "pain=y", "-o", "o.pdf", "--new-run")
    assert status == 0, err
    assert {pain for _, _, pain in recorded()} >= {"x", "y"}, "the options win over the file"


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        ('[[variants]]\npain = "Sore back?"\n', "toml: [[variants]]: one variant is no test"),
        (
            '[[variants]]\npain = "a"\n[[variants]]\nbogus = "b"\n',
            "[[variants]] 2: unknown field 'bogus'",
        ),
        ('variants = "pain=a"\n', "write each variant as a [[variants]] table"),
        (
            '[[variants]]\npain = ["a"]\n[[variants]]\npain = "b"\n',
            "[[variants]] 1: pain must be text",
        ),
    ],
)
def test_a_wrong_variant_in_the_file_is_located(env: Path, toml: str, says: str) -> None:
    Path("certgen.toml").write_text(toml)
    write_list(2)
    status, out, err = issue("-o", "x.pdf")
    assert status != 0 and says in err, err
    assert "certgen.toml" in err and not Path("x.pdf").exists()
