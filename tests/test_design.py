"""Loading designs: the shipped ones load, and each broken one names where it is broken."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from certgen import art
from certgen import design as design_mod
from certgen.design import CodeElement, QrElement, TextElement
from certgen.errors import DesignError
from tests.helpers import SHIPPED, TEST_DESIGNS, issue_rows, rows, words

SHIPPED_NAMES = ["classic", "modern", "compact"]


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_shipped_designs_have_every_part_of_a_referral_certificate(name: str) -> None:
    design = design_mod.load(SHIPPED / name)
    texts = {e.id: e for e in design.manifest.elements if isinstance(e, TextElement)}
    for field in ("pain", "offer", "recipient", "giver", "business", "expires"):
        assert any(field in design.templates[i].variables for i in texts), field
    assert any("this gift is for you from" in e.text.lower() for e in texts.values())
    assert texts["giver"].blank == "line" and texts["recipient"].blank == "line"
    assert any(isinstance(e, QrElement) for e in design.manifest.elements)
    assert any(isinstance(e, CodeElement) for e in design.manifest.elements)
    assert (SHIPPED / name / "preview.csv").is_file()


def test_shipped_page_sizes() -> None:
    sizes = {n: design_mod.load(SHIPPED / n) for n in SHIPPED_NAMES}
    assert (sizes["classic"].width_mm, sizes["classic"].height_mm) == (279.4, 215.9)
    assert (sizes["modern"].width_mm, sizes["modern"].height_mm) == (297.0, 210.0)
    assert sizes["compact"].height_mm == pytest.approx(279.4 / 3)


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    shutil.copytree(TEST_DESIGNS / "tiny", folder)
    return folder


def edit(folder: Path, old: str, new: str) -> None:
    manifest = folder / "design.toml"
    text = manifest.read_text()
    assert old in text, old
    manifest.write_text(text.replace(old, new, 1))


def load_error(folder: Path) -> DesignError:
    with pytest.raises(DesignError) as caught:
        design_mod.load(folder)
    return caught.value


def test_unknown_key_names_the_element_and_suggests(tiny: Path) -> None:
    edit(tiny, "size = 10\n", "sise = 10\nsize = 10\n")
    error = load_error(tiny)
    assert error.element == "corner" and error.field == "sise"
    assert "unknown key" in str(error) and "did you mean 'size'?" in str(error)
    assert str(tiny / "design.toml") in str(error)


def test_unknown_top_level_key(tiny: Path) -> None:
    edit(tiny, "[design]", "colour = 1\n\n[design]")
    assert "unknown key" in str(load_error(tiny))


def test_newer_format_is_refused(tiny: Path) -> None:
    edit(tiny, "format = 1", "format = 2")
    error = load_error(tiny)
    assert "format = 2 is not supported" in str(error) and error.field == "format"


def test_invalid_toml(tiny: Path) -> None:
    edit(tiny, 'name = "tiny"', 'name = "tiny')
    assert "not valid TOML" in str(load_error(tiny))


@pytest.mark.parametrize(
    "path", ["../../../etc/hostname.png", "/etc/passwd.png", "sub/../../x.png"]
)
def test_files_must_stay_inside_the_design(tiny: Path, path: str) -> None:
    edit(tiny, 'file = "logo.png"', f'file = "{path}"')
    assert "outside the design folder" in str(load_error(tiny))


def test_symlink_leaving_the_design_is_refused(tiny: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.png"
    shutil.copy(tiny / "logo.png", outside)
    (tiny / "link.png").symlink_to(outside)
    edit(tiny, 'file = "logo.png"', 'file = "link.png"')
    assert "outside the design folder" in str(load_error(tiny))


def test_missing_and_wrong_type_of_image(tiny: Path) -> None:
    edit(tiny, 'file = "logo.png"', 'file = "gone.png"')
    assert "'gone.png' does not exist" in str(load_error(tiny))
    edit(tiny, 'file = "gone.png"', 'file = "design.toml"')
    assert "unsupported type" in str(load_error(tiny))


def test_unknown_font_suggests_a_known_one(tiny: Path) -> None:
    edit(tiny, 'font = "Noto Serif"', 'font = "Noto Serf"')
    error = load_error(tiny)
    assert error.element == "recipient" and "did you mean 'Noto Serif'?" in str(error)


def test_unknown_fallback_font_suggests_a_known_one(tiny: Path) -> None:
    edit(tiny, 'name = "tiny"', 'name = "tiny"\nfallback_fonts = ["Noto Sans Arbic"]')
    error = load_error(tiny)
    assert error.field == "design.fallback_fonts" and str(tiny / "design.toml") in str(error)
    assert "did you mean 'Noto Sans Arabic'?" in str(error)


def test_fallback_fonts_replace_the_shared_chain(tiny: Path) -> None:
    edit(tiny, 'name = "tiny"', 'name = "tiny"\nfallback_fonts = ["Noto Sans Hebrew"]')
    design = design_mod.load(tiny)
    chain = design.font_chain("Noto Serif", "regular")
    assert [p.name for p in chain] == ["NotoSerif-Regular.ttf", "NotoSansHebrew-Regular.ttf"]
    assert design.font_chain("Noto Serif", "bold")[1].name == "NotoSansHebrew-Bold.ttf"


def test_missing_style(tiny: Path) -> None:
    edit(tiny, 'font = "Noto Sans"\nsize = 10', 'font = "EB Garamond"\nstyle = "bold"\nsize = 10')
    assert "has no bold style" in str(load_error(tiny))


def test_undeclared_variable(tiny: Path) -> None:
    edit(tiny, "{{ giver }}", "{{ givr }}")
    error = load_error(tiny)
    assert error.element == "giver" and "did you mean 'giver'?" in str(error)


def test_element_outside_the_page(tiny: Path) -> None:
    edit(tiny, "x = 120", "x = 140")
    error = load_error(tiny)
    assert error.element == "logo" and "outside the 148 x 105 mm page" in str(error)


def test_bad_colour(tiny: Path) -> None:
    edit(tiny, 'size = 10\nvalign = "top"', 'size = 10\nvalign = "top"\ncolor = "red"')
    error = load_error(tiny)
    assert error.element == "corner" and "#RRGGBB" in str(error)


def test_min_size_above_size(tiny: Path) -> None:
    edit(tiny, "min_size = 10", "min_size = 30")
    assert "min_size is larger than size" in str(load_error(tiny))


def test_unknown_design_name_suggests() -> None:
    with pytest.raises(DesignError, match="did you mean 'classic'"):
        design_mod.find("clasic", [SHIPPED])


def test_hash_follows_every_file(tiny: Path) -> None:
    before = design_mod.load(tiny).hash
    assert design_mod.load(tiny).hash == before
    (tiny / "logo.png").write_bytes((tiny / "logo.png").read_bytes() + b"\0")
    assert design_mod.load(tiny).hash != before


def test_a_decompression_bomb_is_refused_before_it_is_decoded(tiny: Path) -> None:
    bomb = tiny / "logo.png"
    Image.new("1", (8000, 8000)).save(bomb, optimize=True)  # 64 Mpx in a few kB
    assert bomb.stat().st_size < 100_000
    design = design_mod.load(tiny)
    with pytest.raises(DesignError, match="64,000,000 pixels; the limit is 40,000,000"):
        art.open_art(design.assets["logo.png"])


def test_a_corrupt_image_is_a_clear_error(tiny: Path) -> None:
    (tiny / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    design = design_mod.load(tiny)
    with pytest.raises(DesignError, match="cannot read image logo.png"):
        art.open_art(design.assets["logo.png"])


def test_a_design_may_bring_its_own_font_family(tiny: Path, tmp_path: Path) -> None:
    fonts = tiny / "fonts"
    fonts.mkdir()
    shutil.copy(design_mod.shared_fonts_dir() / "Lato-Regular.ttf", fonts / "House-Regular.ttf")
    shutil.copy(design_mod.shared_fonts_dir() / "Lato-Bold.ttf", fonts / "House-Bold.ttf")
    edit(
        tiny,
        "[[elements]]",
        '[[fonts]]\nfamily = "House"\nregular = "fonts/House-Regular.ttf"\n'
        'bold = "fonts/House-Bold.ttf"\n\n[[elements]]',
    )
    edit(tiny, 'font = "Noto Sans"\nstyle = "bold"', 'font = "House"\nstyle = "bold"')
    design = design_mod.load(tiny)
    assert design.fonts["House"]["bold"] == (fonts / "House-Bold.ttf").resolve()
    pdf = issue_rows(tmp_path / "out", design, rows(design, [{"giver": "Jane"}])).file
    [jane] = [w for w in words(pdf) if w.text == "Jane"]
    # the design's file, embedded (named Lato-Bold-2 where this process has the shared one)
    assert re.search(r"\+Lato-Bold(-\d+)?$", jane.fontname), jane.fontname


def house_font(tiny: Path, data: bytes) -> None:
    (tiny / "House.ttf").write_bytes(data)
    edit(tiny, "[[elements]]", '[[fonts]]\nfamily = "House"\nregular = "House.ttf"\n\n[[elements]]')
    edit(tiny, 'text = "CORNER"\nfont = "Noto Sans"', 'text = "CORNER"\nfont = "House"')


@pytest.mark.parametrize(
    ("cut", "why"),
    [
        (100, "cannot be read"),
        (5000, "runs past the end of the file"),
        (-100, "runs past the end of the file"),
    ],
)
def test_a_truncated_font_is_a_located_error_before_anything_reads_it(
    tiny: Path, cut: int, why: str
) -> None:
    """reportlab's own reader ended in a struct.error traceback on these."""
    data = (design_mod.shared_fonts_dir() / "Lato-Regular.ttf").read_bytes()
    house_font(tiny, data[:cut])
    error = load_error(tiny)
    assert "font 'House.ttf' cannot be used" in str(error) and why in str(error)
    assert error.path == str(tiny.resolve() / "design.toml")


def test_a_font_with_postscript_outlines_is_refused(tiny: Path) -> None:
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.t2CharStringPen import T2CharStringPen

    builder = FontBuilder(1000, isTTF=False)
    builder.setupGlyphOrder([".notdef", "A"])
    builder.setupCharacterMap({65: "A"})
    pen = T2CharStringPen(500, None)
    pen.moveTo((0, 0))
    pen.lineTo((500, 700))
    pen.closePath()
    builder.setupCFF("House", {}, {".notdef": pen.getCharString(), "A": pen.getCharString()}, {})
    builder.setupHorizontalMetrics({".notdef": (500, 0), "A": (500, 0)})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "House", "styleName": "Regular"})
    builder.setupOS2()
    builder.setupPost()
    out = io.BytesIO()
    builder.save(out)
    house_font(tiny, out.getvalue())
    assert "PostScript (CFF) outlines" in str(load_error(tiny))


def test_deeply_nested_toml_is_refused_with_its_reason(tiny: Path) -> None:
    manifest = tiny / "design.toml"
    manifest.write_text(manifest.read_text() + "\n[x]\ny = " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested more than 16 deep" in str(load_error(tiny))


def test_a_huge_manifest_is_refused(tiny: Path) -> None:
    manifest = tiny / "design.toml"
    manifest.write_text(manifest.read_text() + "#" * 2_000_000 + "\n")
    assert "larger than 1024 KiB" in str(load_error(tiny))


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_nan_and_infinity_are_refused(tiny: Path, value: str) -> None:
    edit(tiny, "x = 10\ny = 10", f"x = {value}\ny = 10")
    error = load_error(tiny)
    assert error.element == "corner" and error.field == "x" and "finite" in str(error)


def test_type_smaller_than_5_pt_is_refused(tiny: Path) -> None:
    edit(tiny, "min_size = 10", "min_size = 0.75")
    error = load_error(tiny)
    assert error.field == "min_size" and "greater than or equal to 5" in str(error)


def test_a_print_run_does_not_compile_the_emails_but_send_and_check_do(
    tiny: Path, env: Path
) -> None:
    """The email templates wait until something sends (a tenth of a second of a print
    run's start-up); a broken one still stops a send and shows in designs check."""
    from tests.test_cli import invoke

    (tiny / "email.txt").write_text("Hello {{ recipient\n")
    edit(tiny, "[[elements]]", '[email]\ntext = "email.txt"\n\n[[elements]]')
    design = design_mod.load(tiny, emails=False)
    assert design.messages is None
    code, _, err = invoke("issue", "-d", str(tiny), "--to", "Bob", "--set", "business=B", "-q")
    assert code == 0, err
    with pytest.raises(DesignError, match="email.txt"):
        design.emails  # noqa: B018  (compiled when first asked for)
    Path("list.csv").write_text("to,email\nBob,bob@example.com\n")
    code, _, err = invoke("send", "list.csv", "-d", str(tiny), "--set", "business=B",
                          "--outbox", "out")  # fmt: skip
    assert code == 4 and "email.txt" in err
    code, out, err = invoke("designs", "check", str(tiny))
    assert code == 4 and "email.txt" in out + err
