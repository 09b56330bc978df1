"""Mailers for window envelopes, run through the real CLI: the address block lands inside
the envelope's window (from the PDF's text positions), fold marks sit on the folds, the
certificate and its QR code are on the mailer or the next page, rows without an address
are errors, and --sort-by orders the run (and its reprint) by postal code."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pdfplumber
import pytest

from certgen import codes, mailing
from certgen import design as design_mod
from certgen.ledger import open_ledger
from certgen.units import PT_PER_MM
from tests.helpers import load, page_count, qr_codes, words
from tests.test_cli import certgen

PEOPLE = [
    ("Bob Ng", "Jane Doe", "417 Maple Avenue", "", "Springfield", "IL", "62704"),
    (
        "María José Fernández",
        "Luis Ortega",
        "88 Elm Street",
        "Apt 4B",
        "Springfield",
        "IL",
        "62701",
    ),
    ("Анна Смирнова", "Дмитрий Иванов", "9 Oak Court", "", "Chatham", "IL", "62629"),
]
HEADER = ("Recipient", "From", "Address 1", "Address 2", "City", "State", "ZIP")


def write(path: Path, people: list[tuple[str, ...]], header: tuple[str, ...] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(people)
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return certgen("issue", "--set", "business=Riverside Auto Care", *args)


def issue(*args: str) -> str:
    done = run("--base-url", "https://gifts.example", "-q", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def in_box(
    pdf: Path, page: int, box: tuple[float, float, float, float], text: str, panel: float = 1e9
) -> bool:
    """Whether every word of ``text`` is on ``page`` and, of those above ``panel`` (mm from
    the top), inside ``box`` (mm: left, top, right, bottom)."""
    left, top, right, bottom = (v + d for v, d in zip(box, (-0.05, -0.05, 0.05, 0.05), strict=True))
    found = [w for w in words(pdf, page) if w.text in text.split() and w.bottom <= panel]
    spelled = {w.text for w in found}
    return spelled == set(text.split()) and all(
        left <= w.x0 and w.x1 <= right and top <= w.top and w.bottom <= bottom for w in found
    )


def fold_marks(pdf: Path, page: int) -> list[tuple[float, float, float]]:
    """Horizontal lines as (y, x0, x1) in mm from the top-left."""
    with pdfplumber.open(pdf) as doc:
        lines = doc.pages[page].lines
        height = doc.pages[page].height
    return sorted(
        (round((height - ln["y0"]) / PT_PER_MM, 2), ln["x0"] / PT_PER_MM, ln["x1"] / PT_PER_MM)
        for ln in lines
        if abs(ln["y0"] - ln["y1"]) < 0.01
    )


def test_us10_mailer_puts_the_address_in_the_window_and_the_certificate_below(
    tmp_path: Path,
) -> None:
    people = write(tmp_path / "people.csv", PEOPLE)
    out = tmp_path / "mail.pdf"
    summary = issue(str(people), "-d", "compact", "--mailing", "-o", str(out))
    assert "on us10 mailers" in summary
    envelope = mailing.ENVELOPES["us10"]
    assert page_count(out) == 3  # compact fits below the first fold: one sheet each
    found = qr_codes(out)
    with open_ledger(f"sqlite:///{tmp_path / 'home' / 'ledger.db'}") as ledger:
        batch = ledger.runs()[0][0]
        records = ledger.batch(batch.id)
    for page, (record, person) in enumerate(zip(records, PEOPLE, strict=True)):
        name, _, street, street2, city, state, zip_code = person
        assert record.page == page + 1
        assert record.data["postal_code"] == zip_code  # the ledger knows where it went
        block = " ".join([name, street, street2, f"{city}, {state} {zip_code}"])
        fold = envelope.folds[0]  # the certificate below repeats the name
        assert in_box(out, page, envelope.window, block, fold), block
        assert in_box(out, page, envelope.address, block, fold), block
        # The certificate: its name below the first fold, its QR code its own.
        below = (0, envelope.folds[0], envelope.paper[0], envelope.paper[1])
        assert any(w.text == name.split()[0] and w.top > below[1] for w in words(out, page))
        assert [codes.normalize(u) for u in found[page]] == [record.code]
        # Fold marks at both edges of every fold, 6 mm long, within 0.1 mm.
        marks = fold_marks(out, page)
        for fold in envelope.folds:
            at = [m for m in marks if abs(m[0] - fold) < 0.1]
            assert len(at) == 2, marks
            assert at[0][1] == pytest.approx(0, abs=0.1)
            assert at[0][2] == pytest.approx(mailing.FOLD_MARK, abs=0.1)
            assert at[1][2] == pytest.approx(envelope.paper[0], abs=0.1)


def test_dl_mailer_is_a_din_5008_cover_sheet_before_a_larger_certificate(
    tmp_path: Path,
) -> None:
    people = write(tmp_path / "people.csv", PEOPLE[:2])
    out = tmp_path / "mail.pdf"
    issue(str(people), "-d", "classic", "--mailing", "--envelope", "dl", "-o", str(out))
    envelope = mailing.ENVELOPES["dl"]
    assert page_count(out) == 4  # classic is a whole sheet: cover, certificate, cover, ...
    with pdfplumber.open(out) as doc:
        sizes = [(round(p.width / PT_PER_MM), round(p.height / PT_PER_MM)) for p in doc.pages]
    assert sizes == [(210, 297), (279, 216)] * 2
    assert envelope.window == (15.0, 45.0, 105.0, 90.0)  # DIN 5008 form B's address field
    block = "Bob Ng 417 Maple Avenue 62704 Springfield IL"
    assert in_box(out, 0, envelope.window, block)
    assert in_box(out, 0, (25.0, 62.7, 100.0, 87.7), block)  # the recipient zone
    assert [m[0] for m in fold_marks(out, 0)] == [105.0, 105.0, 210.0, 210.0]
    found = qr_codes(out)
    assert found[0] == [] and len(found[1]) == 1
    with open_ledger(f"sqlite:///{tmp_path / 'home' / 'ledger.db'}") as ledger:
        records = ledger.batch(ledger.runs()[0][0].id)
    assert [r.page for r in records] == [2, 4]  # the ledger's page is the certificate's
    assert codes.normalize(found[1][0]) == records[0].code


def test_rows_without_an_address_are_listed_and_nothing_is_issued(tmp_path: Path) -> None:
    people = [PEOPLE[0], (*PEOPLE[1][:4], "", "IL", "62701"), (*PEOPLE[2][:6], "")]
    out = tmp_path / "mail.pdf"
    done = run(
        str(write(tmp_path / "p.csv", people)),
        "-d",
        "compact",
        "--mailing",
        "-o",
        str(out),
    )
    assert done.returncode == 3, done.stderr
    assert "row 3, column 'City': 'city' is required" in done.stderr
    assert "row 4, column 'ZIP': 'postal_code' is required" in done.stderr
    assert "fill the 'ZIP' column, or leave the row out" in done.stderr
    assert not out.exists()
    assert "No runs yet" in certgen("runs").stdout


def test_a_file_without_address_columns_says_which_are_missing(tmp_path: Path) -> None:
    people = write(tmp_path / "p.csv", [p[:2] for p in PEOPLE], HEADER[:2])
    done = run(str(people), "-d", "compact", "--mailing")
    assert done.returncode == 3
    assert done.stderr.count("which is required") == 3, done.stderr  # street, city, postal_code
    assert "row 2" not in done.stderr  # said once for the file, not for every row
    # The same file prints without --mailing, and a file with addresses prints without too.
    assert run(str(people), "-d", "compact", "-q").returncode == 0
    addressed = write(tmp_path / "a.csv", PEOPLE)
    assert run(str(addressed), "-d", "compact", "-q", "-o", "a.pdf").returncode == 0


def test_an_address_too_long_for_the_window_is_refused(tmp_path: Path) -> None:
    long_street = "Apartment 12, Building C, " * 3 + "Long Street"
    people = write(tmp_path / "p.csv", [(*PEOPLE[0][:2], long_street, *PEOPLE[0][3:])])
    done = run(str(people), "-d", "compact", "--mailing")
    assert done.returncode == 3
    assert "row 2" in done.stderr and "does not fit the us10 window" in done.stderr


def test_sort_by_postal_code_orders_the_run_and_its_reprint(tmp_path: Path) -> None:
    people = write(tmp_path / "people.csv", PEOPLE)
    first, saved = tmp_path / "first.pdf", tmp_path / "saved.pdf"
    args = [str(people), "-d", "compact", "--mailing", "--sort-by", "postal_code"]
    issue(*args, "--run-id", "spring", "-o", str(first))
    pages = [w.text for page in range(3) for w in words(first, page) if w.text.isdigit()]
    zips = [z for z in pages if len(z) == 5]
    assert zips[:: len(zips) // 3] == ["62629", "62701", "62704"]
    with open_ledger(f"sqlite:///{tmp_path / 'home' / 'ledger.db'}") as ledger:
        by_page = sorted(ledger.batch("spring"), key=lambda r: r.page)
    assert [r.source_row for r in by_page] == [4, 3, 2]  # CSV rows, in postal-code order
    # Printing the run again (same sort) gives the same codes on the same pages.
    first.rename(saved)
    assert "already issued" in issue(*args, "--run-id", "spring", "-o", str(first))
    assert first.read_bytes() == saved.read_bytes()
    by_header = issue(*args[:-1], "ZIP", "--run-id", "spring", "-o", str(first))
    assert "already issued" in by_header  # the column's name sorts the same way
    unknown = run(*args[:-1], "postcod", "-o", str(tmp_path / "x.pdf"))
    assert unknown.returncode == 3 and "did you mean 'postal_code'" in unknown.stderr


def back_codes(pdf: Path, page: int) -> list[tuple[str, float, float]]:
    """Codes printed on a page: (code, left, top) in mm."""
    return [
        (codes.normalize(w.text), w.x0, w.top)
        for w in words(pdf, page)
        if codes.is_valid(codes.normalize(w.text))
    ]


def test_duplex_mailers_carry_each_back_behind_its_certificate(tmp_path: Path) -> None:
    people = write(tmp_path / "people.csv", PEOPLE[:2])
    out = tmp_path / "mail.pdf"
    issue(str(people), "-d", "compact", "--mailing", "--duplex", "-o", str(out))
    envelope = mailing.ENVELOPES["us10"]
    design = load("compact")
    back_code = next(e for e in design.manifest.elements if e.id == "back-code")
    assert page_count(out) == 4  # mailer, its back, mailer, its back
    found = qr_codes(out)
    assert [len(f) for f in found] == [1, 0, 1, 0]
    with open_ledger(f"sqlite:///{tmp_path / 'home' / 'ledger.db'}") as ledger:
        records = ledger.batch(ledger.runs()[0][0].id)
    assert [r.page for r in records] == [1, 3]  # the ledger's page is the front's
    for record, person in zip(records, PEOPLE, strict=False):
        front = record.page - 1
        assert in_box(out, front, envelope.window, person[0], envelope.folds[0])
        [(code, left, top)] = back_codes(out, front + 1)
        assert code == record.code == codes.normalize(found[front][0])
        # The certificate is centred under the first fold, so its back is too: a long-edge
        # turn mirrors x about the sheet's middle, and keeps y.
        trim_left = (envelope.paper[0] - design.width_mm) / 2
        mirrored_left = envelope.paper[0] - trim_left - design.width_mm
        trim_top = envelope.folds[0]  # the certificate hangs from the first fold
        assert left == pytest.approx(mirrored_left + back_code.x, abs=0.5)
        assert trim_top + back_code.y <= top <= trim_top + back_code.y + back_code.height
        assert not in_box(out, front + 1, envelope.window, person[0])  # no address behind


def test_duplex_cover_sheets_get_a_blank_back(tmp_path: Path) -> None:
    """A certificate larger than the panel below the fold is on a sheet of its own after the
    cover sheet; with duplex the cover's back is blank, so every certificate and its back
    share a sheet."""
    folder = tmp_path / "large"
    shutil.copytree(design_mod.shipped_designs_dir() / "compact", folder)
    manifest = folder / "design.toml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(
        text.replace('page = "Letter-third-landscape"', 'page = "Letter-landscape"')
    )
    people = write(tmp_path / "people.csv", PEOPLE[:2])
    out = tmp_path / "mail.pdf"
    issue(str(people), "-d", str(folder), "--mailing", "--duplex", "-o", str(out))
    assert page_count(out) == 8  # cover, blank, certificate, its back; twice
    found = qr_codes(out)
    assert [len(f) for f in found] == [0, 0, 1, 0] * 2
    with pdfplumber.open(out) as doc:
        assert [len(doc.pages[i].chars) for i in (1, 5)] == [0, 0]  # the covers' backs
    with open_ledger(f"sqlite:///{tmp_path / 'home' / 'ledger.db'}") as ledger:
        records = ledger.batch(ledger.runs()[0][0].id)
    assert [r.page for r in records] == [3, 7]
    for record in records:
        [(code, _, _)] = back_codes(out, record.page)  # the page after the front
        assert code == record.code


@pytest.mark.parametrize(("envelope_name", "design_name"), [("us10", "compact"), ("dl", "classic")])
def test_a_pass_it_on_mailer_is_addressed_to_the_customer(
    tmp_path: Path, envelope_name: str, design_name: str
) -> None:
    # A customer list: the customers give the gifts, the friends' lines are left blank.
    customers = [(("", *person[1:])) for person in PEOPLE[:2]]
    people = write(tmp_path / "customers.csv", customers)
    out = tmp_path / "mail.pdf"
    args = [str(people), "-d", design_name, "--mailing", "--envelope", envelope_name]
    issue(*args, "--address-to", "giver", "-o", str(out))
    envelope = mailing.ENVELOPES[envelope_name]
    pages_per = page_count(out) // 2
    with open_ledger(f"sqlite:///{tmp_path / 'home' / 'ledger.db'}") as ledger:
        records = ledger.batch(ledger.runs()[0][0].id)
    for index, (record, person) in enumerate(zip(records, customers, strict=True)):
        _, giver, street, street2, city, state, zip_code = person
        page = index * pages_per
        if envelope_name == "us10":
            town = f"{city}, {state} {zip_code}"
        else:
            town = f"{zip_code} {city} {state}"
        block = " ".join([giver, street, street2, town])
        assert in_box(out, page, envelope.address, block, envelope.folds[0]), block
        codes_found = [c for p in qr_codes(out)[page : page + pages_per] for c in p]
        assert [codes.normalize(u) for u in codes_found] == [record.code]
        assert record.recipient == "" and record.giver == giver
    # Addressed to the recipient (the default), a customer list has no name for the window.
    refused = run(*args, "-o", str(tmp_path / "x.pdf"), "--new-run")
    assert refused.returncode == 3
    assert "row 2, column 'Recipient': the mailer is addressed to the recipient, and this row" in (
        refused.stderr
    )
    assert "--address-to giver" in refused.stderr


SHOP = ("--set", "address=12 River Street, Springfield, IL 62701")


@pytest.mark.parametrize(("envelope_name", "design_name"), [("us10", "compact"), ("dl", "classic")])
@pytest.mark.parametrize("to", ["recipient", "giver"])
def test_the_top_panel_has_the_return_address_and_a_cover_letter_to_the_addressee(
    tmp_path: Path, envelope_name: str, design_name: str, to: str
) -> None:
    people = PEOPLE[:2] if to == "recipient" else [("", *p[1:]) for p in PEOPLE[:2]]
    listed = write(tmp_path / "people.csv", people)
    out = tmp_path / "mail.pdf"
    args = ["--mailing", "--envelope", envelope_name, "--address-to", to, *SHOP]
    issue(str(listed), "-d", design_name, *args, "-o", str(out))
    envelope = mailing.ENVELOPES[envelope_name]
    pages_per = page_count(out) // len(people)
    fold = envelope.folds[0]
    with open_ledger(f"sqlite:///{tmp_path / 'home' / 'ledger.db'}") as ledger:
        records = ledger.batch(ledger.runs()[0][0].id)
    for index, (person, record) in enumerate(zip(people, records, strict=True)):
        page = index * pages_per
        found = words(out, page)
        name = person[0] if to == "recipient" else person[1]
        # The return address: the business's, inside the window and its own zone.
        left, top, right, bottom = envelope.sender_zone
        ret = [w for w in found if w.x1 <= right + 0.1 and top - 0.1 <= w.top < bottom]
        joined = " ".join(w.text for w in ret)
        assert joined == envelope.return_address("Riverside Auto Care", SHOP[1][8:]), joined
        assert all(bottom + 0.1 >= w.bottom and w.x0 >= left - 0.1 for w in ret)
        window = envelope.window
        assert all(window[0] <= w.x0 and w.x1 <= window[2] and window[1] <= w.top for w in ret)
        assert min(w.size for w in ret) >= 8 - 0.01
        # The address below it, the addressee's name first, never under 8 pt.
        address = [w for w in found if envelope.address[1] - 0.1 <= w.top < envelope.address[3]]
        assert address and address[0].text == name.split()[0]
        assert min(w.size for w in address) >= mailing.ADDRESS_MIN_SIZE - 0.01
        # The cover letter, above the first fold, beside the window, greeting the addressee.
        left, top, right, bottom = envelope.letter
        letter = [
            w for w in found if left - 0.1 <= w.x0 and w.x1 <= right + 0.1 and w.bottom < fold
        ]
        text = " ".join(w.text for w in letter)
        assert text.startswith(f"Dear {name.split()[0]},"), text
        if to == "giver":
            assert "pass on to a friend" in text
        else:
            assert f"{person[1]} thought of you" in text
        assert all(top - 0.1 <= w.top and w.bottom <= bottom + 0.1 for w in letter)
        assert all(w.x0 >= envelope.window[2] for w in letter)  # hidden in the envelope
        # The certificate's QR code is still the recorded code; pass-it-on leaves the
        # friend's line blank.
        codes_found = [c for p in qr_codes(out)[page : page + pages_per] for c in p]
        assert [codes.normalize(u) for u in codes_found] == [record.code]
        assert record.recipient == (person[0] if to == "recipient" else "")


def test_a_design_writes_its_own_cover_letter_and_a_long_one_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "designs" / "compact"
    shutil.copytree(design_mod.shipped_designs_dir() / "compact", folder)
    manifest = folder / "design.toml"
    text = manifest.read_text()

    def with_letter(letter: str) -> None:
        table = f'\n[letter]\nrecipient = "{letter}"\n\n[[elements]]'
        manifest.write_text(text.replace("\n[[elements]]", table, 1))

    listed = write(tmp_path / "people.csv", PEOPLE[:1])
    args = [str(listed), "--designs-dir", str(tmp_path / "designs"), "-d", "compact"]
    args += ["--mailing", *SHOP, "--new-run"]
    with_letter("Hello {{ recipient_first }}, from {{ giver_first }}.")
    out = tmp_path / "mail.pdf"
    issue(*args, "-o", str(out))
    envelope = mailing.ENVELOPES["us10"]
    assert in_box(out, 0, envelope.letter, "Hello Bob, from Jane.", envelope.folds[0])
    with_letter("word " * 2000)
    refused = run(*args, "-o", str(tmp_path / "x.pdf"))
    assert refused.returncode == 3
    message = "row 2, column 'Recipient': the cover letter to the recipient does not fit"
    assert message in refused.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_a_mailing_without_the_business_address_says_it_has_no_return_address(
    tmp_path: Path,
) -> None:
    listed = write(tmp_path / "people.csv", PEOPLE[:1])
    done = run(str(listed), "-d", "compact", "--mailing", "-o", str(tmp_path / "m.pdf"))
    assert done.returncode == 0, done.stderr
    assert "the mailers carry no return address" in done.stderr
    long = "A very long street name that goes on and on, " * 3
    refused = run(
        str(listed),
        "-d",
        "compact",
        "--mailing",
        "--set",
        f"address={long}",
        "-o",
        str(tmp_path / "n.pdf"),
        "--new-run",
    )
    assert refused.returncode == 3 and "the return address" in refused.stderr
    assert "does not fit the us10 window's 1 line even at 8 pt" in refused.stderr


def test_the_envelope_choices_of_issue_are_the_envelopes() -> None:
    """The CLI names them without importing mailing (and with it the design's models)."""
    from certgen import mailing
    from certgen.cli import issuing

    assert sorted(issuing.ENVELOPE_NAMES) == sorted(mailing.ENVELOPES)
