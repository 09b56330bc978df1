"""Designers' commands: list, new, schema and preview, run as a designer would."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import jsonschema
import pytest
import zxingcpp
from PIL import Image

from certgen import codes, qr
from certgen.config import DEFAULT_BASE_URL
from tests.helpers import SHIPPED, TEST_DESIGNS
from tests.test_cli import invoke


def test_list_shows_shipped_designs_with_size_fields_and_origin() -> None:
    exit_code, out, _ = invoke("designs", "list")
    assert exit_code == 0
    lines = out.splitlines()
    assert lines[0].startswith("a4-portrait\tA4 certificate, portrait\t210.0 x 297.0 mm\tshipped")
    assert "classic\tClassic gift certificate\t279.4 x 215.9 mm\tshipped\t" in out
    assert "compact\tCompact gift certificate\t215.9 x 93.1 mm\tshipped" in out
    assert "\tfields: recipient, giver, giver_email, locale, pain, offer" in out


def test_new_makes_a_working_copy_that_lists_as_yours(env: Path) -> None:
    exit_code, out, err = invoke("designs", "new", "spring-promo", "--from", "modern")
    assert exit_code == 0, err
    copy = env / "designs" / "spring-promo"
    manifest = tomllib.loads((copy / "design.toml").read_text())
    assert manifest["design"]["name"] == "spring-promo"
    assert (copy / "panel.png").read_bytes() == (SHIPPED / "modern" / "panel.png").read_bytes()
    assert (
        "spring-promo\tModern gift certificate\t297.0 x 210.0 mm\tyours\t"
        in invoke("designs", "list")[1]
    )
    assert invoke("designs", "new", "spring-promo")[0] == 4  # exists
    exit_code, _, err = invoke("designs", "new", "Bad Name!")
    assert exit_code == 4 and "lowercase letters" in err
    exit_code, _, _ = invoke("issue", "-d", "spring-promo", "--set", "business=A", "-o", "x.pdf")
    assert exit_code == 0


def test_schema_validates_every_shipped_design_and_rejects_unknown_keys() -> None:
    exit_code, out, _ = invoke("designs", "schema")
    schema = json.loads(out)
    for name in ("classic", "modern", "compact"):
        jsonschema.validate(tomllib.loads((SHIPPED / name / "design.toml").read_text()), schema)
    broken = tomllib.loads((SHIPPED / "compact" / "design.toml").read_text())
    broken["elements"][0]["colour"] = "#000000"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_preview_renders_samples_to_png_and_issues_nothing(env: Path) -> None:
    exit_code, out, err = invoke("preview", "classic", "--dpi", "100", "-o", "p.png")
    assert exit_code == 0, err
    image = Image.open("p.png")
    assert image.size == (round(279.4 / 25.4 * 100), round(215.9 / 25.4 * 100))
    [found] = zxingcpp.read_barcodes(image)
    assert found.text == qr.redeem_url(DEFAULT_BASE_URL, codes.SAMPLE)
    assert not (env / "ledger.db").exists()


def test_preview_a_csv_row_and_a_missing_row(tmp_path: Path) -> None:
    Path("people.csv").write_text("to,from,business\nAnn,Bo,Acme\nCy,Di,Acme\n")
    # Rows are numbered as messages number them: the header is row 1.
    assert invoke("preview", "compact", "--csv", "people.csv", "-o", "first.png")[0] == 0
    assert (
        invoke("preview", "compact", "--csv", "people.csv", "--row", "2", "-o", "two.png")[0] == 0
    )
    assert (
        invoke("preview", "compact", "--csv", "people.csv", "--row", "3", "-o", "three.png")[0] == 0
    )
    assert Path("first.png").read_bytes() == Path("two.png").read_bytes()
    assert Path("three.png").read_bytes() != Path("two.png").read_bytes()
    exit_code, _, err = invoke("preview", "compact", "--csv", "people.csv", "--row", "4")
    assert exit_code == 3 and "there is no row 4: its rows are 2 to 3" in err
    # The row a message names is the row preview shows.
    Path("bad.csv").write_text("to,from,expires\nAnn,Bo,2027-01-31\nCy,Di,31 Febtember\n")
    status, _, err = invoke(
        "issue", "bad.csv", "-d", "compact", "--set", "business=A", "-o", "x.pdf"
    )
    assert status == 3 and "row 3" in err
    status, _, err = invoke("preview", "compact", "--csv", "bad.csv", "--row", "3")
    assert status == 3 and "row 3" in err


def test_generate_never_returns_the_sample_code() -> None:
    zeros = iter([0] * codes.DATA_LENGTH)
    code = codes.generate(lambda n: next(zeros, 5))
    assert code != codes.SAMPLE and codes.is_valid(codes.SAMPLE)


def test_check_passes_every_shipped_design() -> None:
    for name in ("classic", "modern", "compact"):
        exit_code, out, err = invoke("designs", "check", name)
        assert exit_code == 0 and out.strip().endswith(f"{name}: no problems"), err


def _broken_copy(tmp_path: Path, replacements: list[tuple[str, str]]) -> Path:
    folder = tmp_path / "broken"
    shutil.copytree(TEST_DESIGNS / "tiny", folder)
    manifest = folder / "design.toml"
    text = manifest.read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    manifest.write_text(text)
    return folder


def test_check_lists_every_schema_problem_at_once(tmp_path: Path) -> None:
    folder = _broken_copy(
        tmp_path,
        [
            ("size = 10\n", "sise = 10\nsize = 10\n"),
            ('file = "logo.png"', 'file = "logo.png"\nwidht = 3'),
        ],
    )
    exit_code, _, err = invoke("designs", "check", str(folder))
    assert exit_code == 4 and "2 problems in" in err
    assert "element 'corner', 'sise': unknown key (did you mean 'size'?)" in err
    assert "element 'logo', 'widht': unknown key (did you mean 'width'?)" in err


def test_check_lists_every_other_problem_at_once(tmp_path: Path) -> None:
    folder = _broken_copy(
        tmp_path,
        [
            ('font = "Noto Serif"', 'font = "Noto Serf"'),  # unknown font
            ("{{ giver }}", "{{ givr }}"),  # undeclared variable
            ('file = "logo.png"', 'file = "../../../etc/x.png"'),  # leaves the folder
            ("x = 120", "x = 140"),  # off the page
            ('size = 10\nvalign = "top"', 'size = 10\nvalign = "top"\ncolor = "red"'),
        ],
    )
    exit_code, _, err = invoke("designs", "check", str(folder))
    assert exit_code == 4
    for expected in (
        "element 'recipient', 'font': unknown font 'Noto Serf' (did you mean 'Noto Serif'?)",
        "element 'giver', 'text': uses undeclared variable 'givr' (did you mean 'giver'?)",
        "image '../../../etc/x.png' is outside the design folder",
        "element 'logo': lies outside the 148 x 105 mm page",
        "element 'corner', 'color'",
    ):
        assert expected in err, expected


def test_check_measures_samples_qr_size_and_margins(tmp_path: Path) -> None:
    folder = _broken_copy(
        tmp_path,
        [
            (
                "[fields.recipient]\nmax_length = 80",
                "[fields.recipient]\nmax_length = 80\n"
                'sample = "BartholomewFeatherstonehaughMontgomeryWolfgangssonBartholomew"',
            ),
            (
                "[fields.business]\nrequired = true",
                '[fields.business]\nrequired = true\nsample = "Acme"',
            ),
            ("x = 100\ny = 40\nsize = 40", "x = 100\ny = 40\nsize = 9"),
            ("x = 10\ny = 10\nwidth = 30", "x = 1\ny = 10\nwidth = 30"),
        ],
    )
    exit_code, _, err = invoke("designs", "check", str(folder))
    assert exit_code == 4 and "3 problems" in err
    assert (
        "with the sample values, 'BartholomewF" in err and "does not fit element 'recipient'" in err
    )
    assert (
        "element 'qr', 'size': its modules would print 0.24 mm wide" in err
        and "make size at least 15 mm" in err
    )
    assert "element 'corner': comes within 1.0 mm of the page edge" in err
