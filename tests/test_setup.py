"""First run: certgen init keeps the business's details, certgen config says where every
setting comes from, and a run without them says what is missing."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from certgen.cli import cli
from tests.helpers import load
from tests.test_cli import certgen, invoke

CONTACT = "(555) 010-2030 · riverside-auto.example · 12 River Street, Springfield"


def contact_line(pdf: Path) -> str:
    from tests.helpers import inside, words

    element = next(
        e for e in load("classic").manifest.elements if getattr(e, "id", "") == "contact"
    )
    box = (element.x, element.y, element.width, element.height)  # type: ignore[union-attr]
    return " ".join(w.text for w in words(pdf) if inside(w, box))


def test_init_with_options_only_then_the_first_certificate_carries_them(env: Path) -> None:
    done = certgen(
        "init",
        "--no-input",
        "--business",
        "Riverside Auto Care",
        "--phone",
        "(555) 010-2030",
        "--website",
        "riverside-auto.example",
        "--address",
        "12 River Street, Springfield",
        "--base-url",
        "https://gifts.riverside.example/",
    )
    assert done.returncode == 0, done.stderr
    assert f"Wrote {env / 'certgen.toml'}" in done.stdout and "certgen issue" in done.stdout
    written = tomllib.loads((env / "certgen.toml").read_text())
    assert written == {
        "base_url": "https://gifts.riverside.example",
        "design": "classic",
        "defaults": {
            "business": "Riverside Auto Care",
            "phone": "(555) 010-2030",
            "website": "riverside-auto.example",
            "address": "12 River Street, Springfield",
        },
    }
    # No -d, no --set: the design and the business's details come from init.
    first = certgen("issue", "--to", "Bob Ng", "--from", "Jane Doe", "-o", "one.pdf")
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""  # nothing missing, and the QR codes point to the real site
    assert contact_line(Path("one.pdf")) == CONTACT


def test_init_asks_showing_what_is_set_and_keeps_the_rest(env: Path) -> None:
    env.mkdir(parents=True, exist_ok=True)
    (env / "certgen.toml").write_text('[web]\nsession_minutes = 60\n[defaults]\nphone = "1"\n')
    typed = "\n".join(
        [
            "Bright Smile Dental",  # business
            "",  # phone: keep "1"
            "brightsmile.example",
            "88 Elm Avenue, Portland",
            "",  # logo: none
            "America/Los_Angeles",
            "https://gifts.brightsmile.example",
            "compact",
            "smtp.brightsmile.example",
            "465",
            "ssl",
            "gifts",
            "Bright Smile <gifts@brightsmile.example>",
        ]
    )
    result = CliRunner().invoke(cli, ["init"], input=typed + "\n", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Phone [1]:" in result.output and "Design [classic]:" in result.output
    assert "Logo file (PNG, JPEG, SVG or PDF; blank: none):" in result.output
    assert "Time zone (where the shop is)" in result.output
    written = tomllib.loads((env / "certgen.toml").read_text())
    assert written["web"] == {"session_minutes": 60}  # kept
    assert written["defaults"] == {
        "business": "Bright Smile Dental",
        "phone": "1",
        "website": "brightsmile.example",
        "address": "88 Elm Avenue, Portland",
    }
    assert written["design"] == "compact"
    assert written["timezone"] == "America/Los_Angeles"
    assert written["smtp"] == {
        "host": "smtp.brightsmile.example",
        "port": 465,
        "security": "ssl",
        "username": "gifts",
        "sender": "Bright Smile <gifts@brightsmile.example>",
    }


def test_init_refuses_what_cannot_work(env: Path) -> None:
    code, _, err = invoke("init", "--no-input")
    assert code == 1 and "business name is required: give --business" in err
    code, _, err = invoke("init", "--no-input", "--business", "A", "--base-url", "gifts.example")
    assert code == 1 and "must start with http:// or https://" in err
    code, _, err = invoke("init", "--no-input", "--business", "A", "-d", "clasic")
    assert code == 4 and "did you mean 'classic'?" in err
    code, _, err = invoke("init", "--no-input", "--business", "A", "--timezone", "Europe/Berln")
    assert code == 1 and "'Europe/Berln' is not a time zone; did you mean Europe/Berlin" in err
    assert not (env / "certgen.toml").exists()


def test_config_says_where_each_setting_comes_from(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("certgen.toml").write_text(
        'design = "modern"\nledger = "sqlite:///here.db"\n'
        '[defaults]\nbusiness = "Acme"\n[smtp]\nhost = "mail.example"\npassword = "hunter2"\n'
    )
    monkeypatch.setenv("CERTGEN_BASE_URL", "https://gifts.acme.example")
    code, out, _ = invoke("config")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    here = str(Path("certgen.toml").resolve())
    assert rows["base_url"].endswith("environment CERTGEN_BASE_URL")
    assert rows["design"].split()[1:] == ["modern", here]
    # A relative SQLite path in a certgen.toml lives beside that file.
    assert f"sqlite:///{Path('here.db').resolve()}" in rows["ledger"]
    assert rows["defaults.business"].split()[1:] == ["Acme", here]
    assert "hunter2" not in out and rows["smtp.password"].split()[1] == "(set)"
    code, out, _ = invoke("config", "--ledger", "sqlite:////tmp/x.db")
    assert "option" in next(line for line in out.splitlines() if line.startswith("ledger"))


def test_a_run_says_which_business_details_nothing_sets(env: Path) -> None:
    code, out, err = invoke("issue", "-d", "classic", "--to", "Bob", "--set", "business=A")
    assert code == 0
    assert (
        "Note: nothing sets the business's phone, website, address, so the certificates print "
        "without them: run certgen init" in err
    )
    code, _, err = invoke("issue", "--to", "Bob")
    assert code == 2 and "no design: give -d NAME" in err and "certgen init" in err


def test_a_pad_of_blank_certificates_for_the_counter(env: Path) -> None:
    import sqlalchemy as sa

    from certgen import codes
    from tests.helpers import page_count, qr_codes, words

    code, out, err = invoke(
        "issue",
        "-d",
        "compact",
        "--set",
        "business=Bright Smile",
        "--count",
        "25",
        "--sheet",
        "letter-3up",
        "-o",
        "pad.pdf",
        "--base-url",
        "https://gifts.example",
    )
    assert code == 0, err
    assert "Issued 25 certificates to pad.pdf on letter-3up sheets" in out
    assert page_count(Path("pad.pdf")) == 9
    found = [
        codes.normalize(url.rsplit("/", 1)[1]) for page in qr_codes(Path("pad.pdf")) for url in page
    ]
    engine = sa.create_engine(f"sqlite:///{env / 'ledger.db'}")
    with engine.connect() as conn:
        recorded = [
            row for row in conn.execute(sa.text("SELECT code, recipient, giver FROM certificates"))
        ]
    engine.dispose()
    assert len(set(found)) == 25 and set(found) == {c for c, _, _ in recorded}
    assert {(r, g) for _, r, g in recorded} == {("", "")}  # lines to write on
    assert "Bob" not in " ".join(w.text for w in words(Path("pad.pdf")))
    code, _, err = invoke("issue", "list.csv", "-d", "compact", "--count", "3")
    assert code == 2 and "--count is for certificates from the options" in err


def test_the_shops_time_zone_decides_the_issue_date_and_when_a_gift_expires(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    # Samoa's date (UTC-11) is always a day or two behind Kiritimati's (UTC+14).
    behind = dt.datetime.now(ZoneInfo("Pacific/Pago_Pago")).date()
    ahead = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    assert ahead > behind
    certgen("init", "--no-input", "--business", "A", "--timezone", "Pacific/Pago_Pago")
    assert "Pacific/Pago_Pago" in invoke("config")[1]
    one = ("issue", "--to", "Bob", "--from", "Jane", "-q")
    code, out, err = invoke(*one, "--expires", behind.isoformat(), "-o", "today.pdf")
    assert code == 0, err
    code_text = out.split("Code: ")[1].strip()
    assert invoke("show", code_text)[1].count(f"valid until {behind}") == 1  # its last day
    monkeypatch.setenv("CERTGEN_TIMEZONE", "Pacific/Kiritimati")  # a shop a day ahead
    assert f"expired on {behind}" in invoke("show", code_text)[1]
    assert invoke("redeem", code_text)[0] == 9
    code, out, err = invoke(*one, "--expires", "+1", "-o", "tomorrow.pdf")
    assert code == 0, err
    later = out.split("Code: ")[1].strip()
    assert f"valid until {ahead + dt.timedelta(days=1)}" in invoke("show", later)[1]
    monkeypatch.setenv("CERTGEN_TIMEZONE", "Mars/Olympus")
    code, _, err = invoke("show", later)
    assert code == 1 and "'Mars/Olympus' is not a time zone" in err


def _red_share(pdf: Path, box: tuple[float, float, float, float], dpi: int = 72) -> float:
    """The share of the box's pixels (mm: x, y, width, height) that are the logo's red."""
    import pypdfium2 as pdfium

    image = pdfium.PdfDocument(str(pdf))[0].render(scale=dpi / 72).to_pil().convert("RGB")
    px = dpi / 25.4
    x, y, w, h = box
    crop = image.crop((round(x * px), round(y * px), round((x + w) * px), round((y + h) * px)))
    data = crop.tobytes()
    pixels = [data[i : i + 3] for i in range(0, len(data), 3)]
    red = sum(1 for r, g, b in pixels if r > 170 and g < 90 and b < 90)
    return red / len(pixels)


@pytest.mark.parametrize("design_name", ["classic", "modern", "compact"])
def test_the_logo_from_init_prints_in_each_designs_logo_place(
    env: Path, tmp_path: Path, design_name: str
) -> None:
    from PIL import Image, ImageDraw

    logo = tmp_path / "Downloads" / "our logo.png"
    logo.parent.mkdir()
    drawn = Image.new("RGBA", (400, 200), (0, 0, 0, 0))  # transparent around a red disc
    ImageDraw.Draw(drawn).ellipse((100, 0, 300, 200), fill=(210, 30, 30, 255))
    drawn.save(logo)
    element = next(e for e in load(design_name).manifest.elements if getattr(e, "id", "") == "logo")
    box = (element.x, element.y, element.width, element.height)  # type: ignore[union-attr]
    # Before init: the logo's place is left empty, not a placeholder.
    certgen("init", "--no-input", "--business", "Riverside Auto Care", "-d", design_name)
    assert certgen("issue", "--to", "Bob", "--from", "Jane", "-o", "plain.pdf").returncode == 0
    assert _red_share(Path("plain.pdf"), box) == 0
    done = certgen("init", "--no-input", "--logo", str(logo))
    assert done.returncode == 0, done.stderr
    assert tomllib.loads((env / "certgen.toml").read_text())["brand"]["logo"] == "logo.png"
    assert (env / "logo.png").read_bytes() == logo.read_bytes()  # kept in the app folder
    logo.unlink()  # the download can go
    config_rows = {line.split()[0]: line for line in invoke("config")[1].splitlines()}
    assert str(env / "logo.png") in config_rows["brand.logo"]
    first = certgen("issue", "--to", "Bob", "--from", "Jane", "-o", "logo.pdf")
    assert first.returncode == 0, first.stderr
    share = _red_share(Path("logo.pdf"), box)
    assert 0.15 < share < 0.8, share  # the disc, contained in its box; the rest shows through
    outside = (box[0] + box[2] + 2, box[1], 10, box[3])
    assert _red_share(Path("logo.pdf"), outside) == 0  # and nothing past it


def test_a_logo_that_cannot_print_is_refused(env: Path, tmp_path: Path) -> None:
    text = tmp_path / "logo.png"
    text.write_text("not a picture")
    code, _, err = invoke("init", "--no-input", "--business", "A", "--logo", str(text))
    assert code == 4 and "cannot read image logo.png" in err
    assert not (env / "certgen.toml").exists()
    code, _, err = invoke("init", "--no-input", "--business", "A", "--logo", "logo.gif")
    assert code == 1 and "logo logo.gif: give a PNG, JPEG, SVG or PDF file" in err
    env.mkdir(parents=True, exist_ok=True)
    (env / "certgen.toml").write_text('logo = "gone.png"\n[defaults]\nbusiness = "A"\n')
    code, _, err = invoke("issue", "-d", "classic", "--to", "Bob", "-o", "x.pdf")
    assert code == 1 and f"logo {env / 'gone.png'} is not a file" in err
