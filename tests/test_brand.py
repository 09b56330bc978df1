"""The brand kit: one business's colours, fonts and logo on every shipped design, named
styles and colours in a manifest, and art that follows the brand rather than holding it."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageDraw

from certgen import config as config_mod
from certgen import design as design_mod
from certgen import tint
from certgen.errors import DesignError
from tests.helpers import SHIPPED
from tests.test_cli import invoke

DESIGNS = sorted(p.name for p in SHIPPED.iterdir() if (p / "design.toml").is_file())
FONTS = design_mod.shared_fonts_dir()
# Two brands a business might have: colours that read as text on white, so the designs
# use them as they are; a logo of a colour no design has.
BLUE = {"primary": "#1D4ED8", "accent": "#B45309"}
GREEN = {"primary": "#15803D", "accent": "#BE185D"}
LOGO_COLOUR = (0, 200, 200)
DPI = 100


def _rgb(colour: str) -> tuple[int, int, int]:
    value = int(colour[1:], 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


def _near(image: Image.Image, colour: tuple[int, int, int], reach: int = 24) -> int:
    """How many pixels are within ``reach`` of ``colour`` in every channel."""
    bands = [
        band.point(lambda v, c=c: 255 if abs(v - c) <= reach else 0)
        for band, c in zip(image.convert("RGB").split(), colour, strict=True)
    ]
    both = bands[0]
    for band in bands[1:]:
        both = Image.composite(band, Image.new("L", both.size, 0), both)
    return both.histogram()[255]


def _brand_file(folder: Path, kit: dict[str, str], **more: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ['base_url = "https://gifts.example"', "[brand]"]
    lines += [f'{key} = "{value}"' for key, value in {**kit, **more}.items()]
    path = folder / "certgen.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _logo(path: Path) -> Path:
    drawn = Image.new("RGB", (300, 150), LOGO_COLOUR)
    ImageDraw.Draw(drawn).rectangle((100, 50, 200, 100), fill=(255, 255, 255))
    drawn.save(path)
    return path


def _preview(design: str, config: Path, out: str) -> Image.Image:
    status, _, err = invoke("preview", design, "--config", str(config), "--dpi", str(DPI),
                            "-o", out)  # fmt: skip
    assert status == 0, err
    return Image.open(out).convert("RGB")


@pytest.mark.parametrize("design", DESIGNS)
def test_two_brands_recolour_the_design_and_show_the_logo(env: Path, design: str) -> None:
    logo = _logo(Path.cwd() / "logo.png")
    blue = _preview(design, _brand_file(Path("blue"), BLUE, logo=str(logo)), "blue.png")
    green = _preview(design, _brand_file(Path("green"), GREEN), "green.png")
    for name in ("primary", "accent"):
        ours, theirs = _rgb(BLUE[name]), _rgb(GREEN[name])
        assert _near(blue, ours) > 40, (name, "not drawn in the brand's colour")
        assert _near(green, theirs) > 40, (name, "not drawn in the other brand's colour")
        assert _near(blue, theirs) < 5 and _near(green, ours) < 5, name
    own = design_mod.load(SHIPPED / design).manifest.brand
    plain = _preview(design, _brand_file(Path("plain"), {}), "plain.png")
    assert own.primary and _near(plain, _rgb(own.primary)) > 60  # the design's own kit
    # The logo, inside its box, in the one brand that has it.
    [box] = [e for e in design_mod.load(SHIPPED / design).manifest.elements if e.id == "logo"]
    scale = DPI / 25.4
    area = tuple(round(v * scale) for v in (box.x, box.y, box.x + box.width, box.y + box.height))  # type: ignore[union-attr]
    assert _near(blue.crop(area), LOGO_COLOUR) > 20
    assert _near(green.crop(area), LOGO_COLOUR) == 0
    around = (area[0] - 3, area[1] - 3, area[2] + 3, area[3] + 3)  # its edges' anti-aliasing
    assert _near(blue, LOGO_COLOUR) == _near(blue.crop(around), LOGO_COLOUR)  # nowhere else


def test_known_pixels_take_the_brands_colour(env: Path) -> None:
    """The compact band is the primary colour itself; the modern panel its shade."""
    config = _brand_file(Path("green"), GREEN)
    compact = _preview("compact", config, "c.png")
    scale = DPI / 25.4
    assert compact.getpixel((round(2 * scale), round(46 * scale))) == _rgb(GREEN["primary"])
    modern = _preview("modern", config, "m.png")
    # The panel at (95, 100) mm: its art is a grey of 24 x 110/210 there, no light spot.
    grey = 24 * (1 - 100 / 210) / 255
    expected = tint.shade(tuple(c / 255 for c in _rgb(GREEN["primary"])), (grey, grey, grey))  # type: ignore[arg-type]
    found = modern.getpixel((round(95 * scale), round(100 * scale)))
    assert all(abs(f - round(e * 255)) <= 6 for f, e in zip(found, expected, strict=True))  # type: ignore[union-attr, arg-type]


@pytest.mark.parametrize("design", DESIGNS)
def test_no_shipped_art_holds_a_brand_colour(design: str) -> None:
    """What follows the brand is tinted grey art or a vector element filled by name."""
    loaded = design_mod.load(SHIPPED / design)
    kit = loaded.manifest.brand
    tinted = {e.file for e in loaded.manifest.elements if getattr(e, "tint", None)}
    raster = [p for p in loaded.assets.values() if p.suffix.lower() in (".png", ".jpg", ".jpeg")]
    for path in raster:
        with Image.open(path) as image:
            pixels = image.convert("RGB")
        if path.name in tinted:
            assert Image.open(path).mode in ("L", "LA"), f"{path.name}: tinted art is grey"
            continue
        for colour in (kit.primary, kit.accent):
            assert colour and _near(pixels, _rgb(colour), 40) == 0, (path.name, colour)
    raw = tomllib.loads((SHIPPED / design / "design.toml").read_text())
    for element in raw["elements"]:
        for key in ("color", "fill", "stroke"):
            value = element.get(key, "")
            assert value.upper() not in {kit.primary, kit.accent}, (element["id"], key)


def test_brand_fonts_replace_the_designs_and_a_font_file_brings_its_faces(env: Path) -> None:
    fonts = Path.cwd() / "downloads"
    fonts.mkdir()
    shutil.copy(FONTS / "EBGaramond12-Regular.ttf", fonts / "Brandy-Regular.ttf")
    shutil.copy(FONTS / "EBGaramond12-Italic.ttf", fonts / "Brandy-Italic.ttf")
    status, out, err = invoke("init", "--no-input", "--business", "Acme", "--config",
                              "certgen.toml", "--heading-font", str(fonts / "Brandy-Regular.ttf"),
                              "--body-font", "Lato", "--primary", "#15803d")  # fmt: skip
    assert status == 0, err
    written = tomllib.loads(Path("certgen.toml").read_text())["brand"]
    assert written == {"heading_font": "fonts/Brandy-Regular.ttf", "body_font": "Lato",
                       "primary": "#15803d"}  # fmt: skip
    status, _, err = invoke("issue", "--config", "certgen.toml", "-d", "compact", "--to",
                            "Bob Ng", "--from", "Jane Doe", "-o", "one.pdf")  # fmt: skip
    assert status == 0, err
    with pikepdf.open("one.pdf") as pdf:
        used = {str(f.BaseFont).split("+")[-1] for f in _fonts(pdf)}
    # Headings (pain, names) in the brand's file (EB Garamond's, copied), its italic face
    # too; the rest in Lato; the design's own Noto families are gone.
    for face in ("EBGaramond12-Regular", "EBGaramond12-Italic"):
        assert any(name.startswith(face) for name in used), used
    assert any(name.startswith("Lato") for name in used), used
    assert not any(name.startswith("Noto") for name in used), used


def _fonts(pdf: pikepdf.Pdf) -> list[pikepdf.Object]:
    found = []
    for page in pdf.pages:
        stack = [page.Resources]
        while stack:
            resources = stack.pop()
            found += list(resources.get("/Font", {}).values())
            stack += [
                x.Resources for x in resources.get("/XObject", {}).values() if "/Resources" in x
            ]
    return found


@pytest.mark.parametrize(
    ("kit", "message"),
    [
        ({"primary": "blue"}, '[brand] primary must be written #RRGGBB (like "#1f4e3d"), not'),
        ({"heading_font": "Comic Sans"}, "[brand] font 'Comic Sans' is not a font certgen has"),
        ({"body_font": "missing.ttf"}, "the font file"),
        ({"primry": "#123456"}, "unknown key 'primry' in [brand]; did you mean 'primary'?"),
    ],
)
def test_a_brand_that_cannot_print_is_refused_with_what_to_write(
    env: Path, kit: dict[str, str], message: str
) -> None:
    config = _brand_file(Path("."), kit)
    status, _, err = invoke("issue", "--config", str(config), "-d", "compact", "--to", "A",
                            "--from", "B", "--set", "business=S", "-o", "x.pdf")  # fmt: skip
    assert status != 0 and message in err, err
    assert "Traceback" not in err and not Path("x.pdf").exists()


def test_web_pages_take_the_brands_colour_unless_web_sets_one(env: Path) -> None:
    config = _brand_file(Path("."), GREEN)
    assert config_mod.load(config_file=config).web().color == GREEN["primary"]
    config.write_text(config.read_text().replace("[brand]", '[web]\ncolor = "#222222"\n[brand]'))
    assert config_mod.load(config_file=config).web().color == "#222222"


def _design(tmp_path: Path, manifest: str) -> Path:
    folder = tmp_path / "mine"
    shutil.copytree(SHIPPED / "compact", folder)
    (folder / "design.toml").write_text(manifest)
    return folder


def test_named_styles_and_colours_are_checked_where_they_are_used(tmp_path: Path) -> None:
    source = (SHIPPED / "compact" / "design.toml").read_text()
    cases = {
        'style = "heading"': (
            'style = "headng"',
            "unknown style 'headng'",
            "did you mean 'heading'?",
        ),
        'color = "rule"': ('color = "rul"', "unknown colour 'rul'", "did you mean 'rule'?"),
        'fill = "primary"': ('fill = "primery"', "unknown colour 'primery'", "'primary'"),
    }
    for old, (new, message, hint) in cases.items():
        folder = _design(tmp_path / old.split()[0], source.replace(old, new, 1))
        _, problems = design_mod.inspect(folder)
        assert problems and message in str(problems[0]) and hint in str(problems[0]), problems
        assert problems[0].element  # located: the element's id
    folder = _design(tmp_path / "role", source.replace('heading_font = "Noto Serif"\n', ""))
    _, problems = design_mod.inspect(folder)
    assert any("font 'heading' is the kit's heading_font" in str(p) for p in problems), problems


def test_a_design_keeps_what_it_fixes_and_its_own_hex_colours(tmp_path: Path) -> None:
    source = (SHIPPED / "compact" / "design.toml").read_text()
    fixed = source.replace(
        'body_font = "Noto Sans"\n', 'body_font = "Noto Sans"\nfixed = ["primary"]\n'
    )
    design = design_mod.load(_design(tmp_path, fixed))
    brand = config_mod.brand_mod.parse(GREEN | {"body_font": "Lato"}, tmp_path, "t")
    branded = design.branded(brand)
    band = next(e for e in branded.manifest.elements if e.id == "band")
    assert band.fill == "#C8553D"  # type: ignore[union-attr]  # kept: fixed
    pain = next(e for e in branded.manifest.elements if e.id == "contact")
    assert pain.font == "Lato"  # type: ignore[union-attr]  # not fixed: the brand's
    qr_card = next(e for e in branded.manifest.elements if e.id == "qr-card")
    assert qr_card.fill == "#FFFFFF"  # type: ignore[union-attr]  # a hex colour is the design's
    assert branded.hash != design.hash


def test_tinted_art_refuses_what_it_cannot_recolour(tmp_path: Path) -> None:
    with pytest.raises(tint.Untintable, match="an inline image"):
        tint.content(b"q BI /W 1 /H 1 ID x EI Q", lambda c, s: b"")
    folder = _design(tmp_path, (SHIPPED / "compact" / "design.toml").read_text())
    shutil.copy(SHIPPED / "compact" / "background.png", folder / "art.png")
    manifest = folder / "design.toml"
    element = (
        '\n[[elements]]\ntype = "image"\nid = "art"\nfile = "art.png"\n'
        'x = 0\ny = 0\nwidth = 10\nheight = 10\ntint = "nope"\n'
    )
    manifest.write_text(manifest.read_text() + element)
    _, problems = design_mod.inspect(folder)
    assert problems and "unknown colour 'nope'" in str(problems[0])
    assert problems[0].element == "art" and problems[0].field == "tint"
    assert isinstance(problems[0], DesignError)
    assert re.search(r"primary|rule", problems[0].hint or "")
