"""USPS-ready mailers: the Intelligent Mail barcode decodes back to its fields (with a
decoder written here from USPS-B-3200, not certgen's encoder) and is drawn to the
specification's dimensions; serials come from the ledger, never twice within 45 days; and
"Or Current Resident" prints under the name."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pdfplumber
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reportlab.graphics.barcode.usps4s import USPS_4State

from certgen import imb
from certgen.errors import InputError
from certgen.ledger import open_ledger
from certgen.mailing import ENVELOPES
from tests.test_cli import certgen

INCH = 72.0  # pt
# USPS-B-3200's bar-to-character table (which bit of which character each bar's descender
# and ascender carry): data from the specification, as reportlab records it.
BAR_TABLE = USPS_4State.table4


def _characters_table(bits: int, size: int) -> list[int]:
    """USPS-B-3200 Appendix: the 13-bit characters with ``bits`` bits set, each beside its
    bit-reversal, palindromes from the end."""
    table, low, high = [0] * size, 0, size - 1
    for value in range(8192):
        if bin(value).count("1") != bits:
            continue
        reverse = int(f"{value:013b}"[::-1], 2)
        if reverse < value:
            continue
        if reverse == value:
            table[high], high = value, high - 1
        else:
            table[low], table[low + 1], low = value, reverse, low + 2
    return table


FIVE, TWO = _characters_table(5, 1287), _characters_table(2, 78)


def _crc11(data: bytes) -> int:
    """USPS-B-3200's frame check sequence: CRC-11 (0xF35) of the 102 bits, most
    significant first (the first byte's top two bits are not part of them)."""
    fcs = 0x7FF
    bits = [(data[0] << 5) << i for i in range(6)]  # the first byte's 6 low bits
    bits += [(byte << 3) << i for byte in data[1:] for i in range(8)]
    for word in bits:
        fcs = ((fcs << 1) ^ 0xF35) if (fcs ^ word) & 0x400 else fcs << 1
        fcs &= 0x7FF
    return fcs


def decode(bars: str) -> tuple[str, str]:
    """The tracking code and routing code of 65 bars (F, A, D, T), checked by its CRC."""
    assert len(bars) == 65 and set(bars) <= set("FADT")
    characters = [0] * 10
    for bar, (dc, db, ac, ab) in zip(bars, BAR_TABLE, strict=True):
        characters[dc] |= (bar in "DF") << db
        characters[ac] |= (bar in "AF") << ab
    fcs, words = 0, []
    for k, value in enumerate(characters):
        if bin(value).count("1") in (8, 11):  # inverted: that bit of the check is set
            value ^= 0x1FFF
            fcs |= 1 << k
        words.append(FIVE.index(value) if bin(value).count("1") == 5 else 1287 + TWO.index(value))
    if words[0] >= 659:
        words[0] -= 659
        fcs |= 1 << 10
    assert words[9] % 2 == 0
    number = words[0]
    for word in words[1:9]:
        number = number * 1365 + word
    number = number * 636 + words[9] // 2
    assert _crc11(number.to_bytes(13, "big")) == fcs, "the frame check sequence does not match"
    digits = ""
    for _ in range(18):
        number, digit = divmod(number, 10)
        digits = str(digit) + digits
    number, second = divmod(number, 5)
    number, first = divmod(number, 10)
    if number == 0:
        route = ""
    elif number <= 100000:
        route = f"{number - 1:05d}"
    elif number <= 1000100000:
        route = f"{number - 100001:09d}"
    else:
        route = f"{number - 1000100001:011d}"
    return f"{first}{second}{digits}", route


def test_the_specifications_examples_encode_to_its_bars() -> None:
    # USPS-B-3200's worked example, and one from USPS's own online encoder.
    spec = imb.bars("01234567094987654321", "01234567891")
    assert spec == "AADTFFDFTDADTAADAATFDTDDAAADDTDTTDAFADADDDTFFFDDTTTADFAAADFTDAADA"
    online = imb.bars("23270592831482031240", "96713024817")
    assert online == "DDADATADTAATDTTTDFDTTFTFFADTFTDFTATAAFTTFATDAATATDATATFADAADDTFDT"
    assert decode(spec) == ("01234567094987654321", "01234567891")


@settings(max_examples=200, deadline=None)
@given(
    barcode=st.tuples(st.integers(0, 9), st.integers(0, 4)),
    service=st.integers(0, 999),
    nine=st.booleans(),
    serial=st.integers(0, 10**9 - 1),
    route=st.sampled_from(["", "12345", "123456789", "12345678901", "00000", "99999999999"]),
)
def test_every_barcode_decodes_back_to_its_fields(
    barcode: tuple[int, int], service: int, nine: bool, serial: int, route: str
) -> None:
    mailer = "912345678" if nine else "123456"
    plan = imb.plan(mailer, f"{service:03d}", f"{barcode[0]}{barcode[1]}")
    tracking = plan.tracking(serial)
    assert len(tracking) == 20 and tracking.endswith(
        f"{serial % plan.modulus:0{15 - len(mailer)}d}"
    )
    assert decode(imb.bars(tracking, route)) == (tracking, route)


def bars_of(pdf: Path, page: int = 0) -> list[dict[str, float]]:
    """The barcode's bars on a mailer page: thin black rectangles, left to right."""
    with pdfplumber.open(pdf) as doc:
        rects = [r for r in doc.pages[page].rects if r["width"] < 0.03 * INCH and r["fill"]]
    return sorted(rects, key=lambda r: r["x0"])


def classify(rects: list[dict[str, float]]) -> str:
    middle = sorted((r["top"] + r["bottom"]) / 2 for r in rects if r["height"] < 0.06 * INCH)[0]
    letters = []
    for r in rects:
        up = middle - r["top"] > 0.04 * INCH
        down = r["bottom"] - middle > 0.04 * INCH
        letters.append("F" if up and down else "A" if up else "D" if down else "T")
    return "".join(letters)


def test_mailers_carry_a_barcode_the_ledger_and_manifest_agree_on(env: Path) -> None:
    Path("mail.csv").write_text(
        "to,from,street,city,region,zip\n"
        "Ana Lima,Bo Ek,12 Main St,Springfield,IL,62704\n"
        "Chris Doe,Bo Ek,55 Oak Ave,Portland,OR,97201-1234\n"
        "Dee Roe,Bo Ek,9 Elm St,Austin,TX,73301\n"
    )
    base = ["issue", "mail.csv", "-d", "compact", "--mailing", "--set", "business=Shop",
            "--set", "address=1 Shop Rd, Springfield, IL 62701",
            "--imb-mailer-id", "123456", "--imb-service-type", "270",
            "--current-resident"]  # fmt: skip
    done = certgen(*base, "-o", "first.pdf", "--run-id", "m1")
    assert done.returncode == 0, done.stderr
    with open("first-manifest.csv", encoding="utf-8-sig") as f:
        listed = list(csv.DictReader(f))
    assert [m["imb"][:11] for m in listed] == ["00270123456"] * 3
    serials = [int(m["imb"][11:20]) for m in listed]
    assert serials == [serials[0], serials[0] + 1, serials[0] + 2]
    assert [m["imb"][20:] for m in listed] == ["62704", "972011234", "73301"]
    with open_ledger(f"sqlite:///{env / 'ledger.db'}") as ledger:
        for m in listed:
            record = ledger.get(m["code"].replace("-", ""))
            assert record is not None and record.mail_piece == m["imb"]
    for page, m in enumerate(listed):
        rects = bars_of(Path("first.pdf"), page)
        assert len(rects) == 65
        assert decode(classify(rects)) == (m["imb"][:20], m["imb"][20:])
        widths = [r["width"] / INCH for r in rects]
        assert all(0.015 <= w <= 0.025 for w in widths)
        pitches = [(b["x0"] - a["x0"]) / INCH for a, b in zip(rects, rects[1:], strict=False)]
        assert all(0.0416 <= p <= 0.050 for p in pitches)
        heights = {round(r["height"] / INCH, 4) for r in rects}
        assert 0.125 <= max(heights) <= 0.165 and 0.039 <= min(heights) <= 0.057
        assert 2.667 <= (rects[-1]["x1"] - rects[0]["x0"]) / INCH <= 3.225
    with pdfplumber.open("first.pdf") as doc:
        text = doc.pages[0].extract_text()
    assert "Ana Lima\nOr Current Resident\n12 Main St" in text
    again = certgen(*base, "-o", "first.pdf", "--run-id", "m1", "--force")  # a reprint
    assert again.returncode == 0, again.stderr
    with open("first-manifest.csv", encoding="utf-8-sig") as f:
        assert [m["imb"] for m in csv.DictReader(f)] == [m["imb"] for m in listed]
    second = certgen(*base, "-o", "second.pdf", "--new-run")
    assert second.returncode == 0, second.stderr
    with open("second-manifest.csv", encoding="utf-8-sig") as f:
        later = [int(m["imb"][11:20]) for m in csv.DictReader(f)]
    assert later == [serials[-1] + 1, serials[-1] + 2, serials[-1] + 3]  # never the same


def test_serials_never_come_round_within_45_days(ledger_url: str) -> None:
    now = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    with open_ledger(ledger_url) as ledger:
        assert ledger.reserve_serials("r1", "912345678", 6, 10, now) == 0
        assert ledger.reserve_serials("r1", "912345678", 6, 10, now) == 0  # the same run
        with pytest.raises(InputError, match="would give out one twice within 45 days"):
            ledger.reserve_serials("r2", "912345678", 5, 10, now + dt.timedelta(days=44))
        later = ledger.reserve_serials("r3", "912345678", 5, 10, now + dt.timedelta(days=46))
        assert later == 6  # serials 6 to 9, then 0 again: 46 days on
        assert ledger.reserve_serials("r4", "123456", 3, 10**9, now) == 0  # its own counter
        with pytest.raises(InputError, match="has 10 serials"):
            ledger.reserve_serials("r5", "912345678", 11, 10, now)


def test_wrong_barcode_options_and_addresses_are_clear_errors(env: Path) -> None:
    Path("mail.csv").write_text(
        "to,street,city,zip\nAna,1 A St,Town,62704\nBen,2 B St,Ville,SW1A 1AA\n"
    )
    base = ["issue", "mail.csv", "-d", "compact", "--set", "business=S", "-o", "m.pdf"]
    cases = [
        ([*base, "--mailing", "--imb-mailer-id", "12345", "--imb-service-type", "270"],
         3, "a USPS mailer ID is 6 digits"),
        ([*base, "--mailing", "--imb-mailer-id", "123456", "--imb-service-type", "27"],
         3, "a Service Type ID is 3 digits"),
        ([*base, "--mailing", "--imb-mailer-id", "123456"], 2, "go together"),
        ([*base, "--imb-mailer-id", "123456", "--imb-service-type", "270"], 2, "is for --mailing"),
        ([*base, "--current-resident"], 2, "--current-resident is for --mailing"),
        ([*base, "--mailing", "--envelope", "dl", "--imb-mailer-id", "123456",
          "--imb-service-type", "270"], 2, "for US mail"),
        ([*base, "--mailing", "--imb-mailer-id", "123456", "--imb-service-type", "270"],
         3, "postal code 'SW1A 1AA' is not a US ZIP code"),
    ]  # fmt: skip
    for command, code, says in cases:
        done = certgen(*command)
        assert done.returncode == code and "Traceback" not in done.stderr, done.stderr
        assert says in done.stderr, (says, done.stderr)
    assert "row 3" in done.stderr and not Path("m.pdf").exists()


def test_the_window_shows_everything_with_usps_clear_zone(env: Path) -> None:
    """Address, return address and barcode at least 1/8 in inside the us10 window's edges,
    measured on the printed page, the longest address at 8 pt or more."""
    Path("mail.csv").write_text(
        "to,from,street,street2,city,region,zip\n"
        "Alexandra Wellington-Smithson,Bo,1234 Long Street Name Blvd,Apt 5B,Springfield,IL,"
        "62704-1234\n"
    )
    done = certgen("issue", "mail.csv", "-d", "compact", "--mailing", "--set", "business=Shop",
                   "--set", "address=1200 Riverside Drive, Springfield, IL 62704",
                   "--imb-mailer-id", "123456", "--imb-service-type", "270",
                   "-o", "m.pdf")  # fmt: skip
    assert done.returncode == 0, done.stderr
    left, top, right, bottom = (v * 72 / 25.4 for v in ENVELOPES["us10"].window)
    clear = 0.125 * INCH
    with pdfplumber.open("m.pdf") as doc:
        page = doc.pages[0]
        words = [w for w in page.extract_words(extra_attrs=["size"]) if w["top"] < bottom]
        shown = [w for w in words if w["x0"] < right]  # the letter is beside the window
        bars = bars_of(Path("m.pdf"))
    assert {"Alexandra", "Apt", "62704-1234", "Riverside"} <= {w["text"] for w in shown}
    for thing in [*shown, *bars]:
        assert thing["x0"] >= left + clear - 0.5 and thing["x1"] <= right - clear + 0.5
        assert thing["top"] >= top + clear - 0.5 and thing["bottom"] <= bottom - clear + 0.5
    assert min(w["size"] for w in shown) >= 8.0
