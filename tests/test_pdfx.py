"""--pdfx: files a print shop accepts, checked by the tools a print shop would use (qpdf,
poppler's pdffonts and pdfimages, Ghostscript) and by reading every content stream and
image with pikepdf; and ``certgen preflight``, which must fail what is not PDF/X."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageCms

from certgen import inks
from tests.helpers import REPO_ROOT, qr_codes
from tests.test_cli import certgen

SHIPPED = ("classic", "compact", "modern")
TESTS = str(REPO_ROOT / "tests" / "designs")


def issue(*args: str) -> subprocess.CompletedProcess[str]:
    done = certgen("issue", "--to", "Ana Lima", "--from", "Bo Ek", "--set", "business=S", *args)
    assert done.returncode == 0, done.stderr
    return done


def rgb_in(pdf: Path) -> list[str]:
    """Every use of an RGB colour in the file: colour operators in page and form content,
    RGB colour spaces named by resources, RGB images."""
    found = []
    with pikepdf.open(pdf) as doc:
        contents = [page for page in doc.pages]
        for obj in doc.objects:
            if not isinstance(obj, pikepdf.Stream):
                continue
            if obj.get("/Subtype") == "/Image":
                space = obj.get("/ColorSpace")
                if space == "/DeviceRGB" or (
                    isinstance(space, pikepdf.Array) and int(space[1].get("/N", 0)) == 3
                ):
                    found.append(f"image {obj.objgen}: {space}")
            elif obj.get("/Subtype") == "/Form":
                contents.append(obj)
        for holder in contents:
            for instruction in pikepdf.parse_content_stream(holder):
                op = str(instruction.operator)
                if op in ("rg", "RG", "sc", "SC", "scn", "SCN") and len(instruction.operands) == 3:
                    found.append(f"{op} {list(instruction.operands)}")
                if op in ("cs", "CS") and str(instruction.operands[0]) == "/DeviceRGB":
                    found.append(op)
    return found


def tool(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{command[0]}: {done.stderr}"
    return done.stdout + done.stderr


@pytest.mark.parametrize("version", ["x4", "x1a"])
@pytest.mark.parametrize("design", SHIPPED)
def test_every_shipped_design_makes_a_pdfx_file_the_tools_accept(
    env: Path, design: str, version: str
) -> None:
    issue("-d", design, "--pdfx", version, "--bleed", "3", "-o", "shop.pdf")
    pdf = Path("shop.pdf")
    assert "No syntax or stream encoding errors" in tool("qpdf", "--check", str(pdf))
    fonts = tool("pdffonts", str(pdf)).splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts  # emb
    images = tool("pdfimages", "-list", str(pdf)).splitlines()[2:]
    for line in images:
        cells = line.split()
        assert cells[5] == "cmyk", line  # color
        assert int(cells[12]) >= 285 and int(cells[13]) >= 285, line  # x-ppi, y-ppi
    assert tool("gs", "-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=nullpage", str(pdf)) == ""
    assert rgb_in(pdf) == []
    with pikepdf.open(pdf) as doc:
        name = "PDF/X-4" if version == "x4" else "PDF/X-1a:2003"
        assert str(doc.docinfo["/GTS_PDFXVersion"]) == name
        assert doc.pdf_version == ("1.6" if version == "x4" else "1.4")
        (intent,) = doc.Root.OutputIntents
        assert intent.S == "/GTS_PDFX"
        profile = ImageCms.ImageCmsProfile(
            __import__("io").BytesIO(bytes(intent.DestOutputProfile.read_bytes()))
        ).profile
        assert profile.xcolor_space.strip() == "CMYK" and intent.DestOutputProfile.N == 4
        page = doc.pages[0]
        trim, bleed = [float(v) for v in page.TrimBox], [float(v) for v in page.BleedBox]
        assert trim[0] - bleed[0] == pytest.approx(3 * 72 / 25.4, abs=0.01)
    assert [len(codes) for codes in qr_codes(pdf)] == [1]  # the QR code still decodes
    done = certgen("preflight", str(pdf))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout and "All 10 rules pass" in done.stdout


def test_colours_go_in_as_the_press_prints_them(env: Path) -> None:
    issue("-d", "tiny", "--designs-dir", TESTS, "--pdfx", "x4", "-o", "shop.pdf")
    press = inks.press(None)
    srgb = ImageCms.createProfile("sRGB")
    transform = ImageCms.buildTransform(
        srgb,
        ImageCms.getOpenProfile(str(press.path)),
        "RGB",
        "CMYK",
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
    )
    blue = ImageCms.applyTransform(Image.new("RGB", (1, 1), (0x33, 0x66, 0x99)), transform)
    assert blue is not None
    expected = [round(v / 255, 4) for v in blue.getpixel((0, 0))]  # type: ignore[union-attr]
    assert press.cmyk("#336699") == pytest.approx(expected)
    assert press.cmyk("#000000") == (0, 0, 0, 1)  # black text: black ink alone
    assert press.cmyk("#808080") == pytest.approx((0, 0, 0, 1 - 128 / 255), abs=1e-4)
    with pikepdf.open("shop.pdf") as doc:
        fills = {
            tuple(round(float(v), 4) for v in i.operands)
            for page in doc.pages
            for obj in [
                page,
                *(
                    x
                    for x in doc.objects
                    if isinstance(x, pikepdf.Stream) and x.get("/Subtype") == "/Form"
                ),
            ]  # fmt: skip
            for i in pikepdf.parse_content_stream(obj)
            if str(i.operator) == "k"
        }
    assert (0.0, 0.0, 0.0, 1.0) in fills  # the design's black text and QR modules


def test_a_thousand_certificate_pdfx_file_renders_whole_in_ghostscript(env: Path) -> None:
    Path("rows.csv").write_text("to,from\n" + "".join(f"F{i},G{i}\n" for i in range(1000)))
    done = certgen(
        "issue", "rows.csv", "-d", "tiny", "--designs-dir", TESTS, "--set", "business=S",
        "--pdfx", "x4", "--bleed", "3", "--jobs", "2", "-o", "big.pdf", "-q",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    pdf = Path("big.pdf")
    rendered = tool("gs", "-dNOPAUSE", "-dBATCH", "-sDEVICE=nullpage", str(pdf))
    assert "Page 1000" in rendered and "Page 1001" not in rendered
    assert "warning" not in rendered.lower() and "error" not in rendered.lower(), rendered
    assert "No syntax or stream encoding errors" in tool("qpdf", "--check", str(pdf))
    with pikepdf.open(pdf) as doc:  # chunks joined: one output intent, one profile
        assert len(doc.pages) == 1000
        profiles = [o for o in doc.objects if isinstance(o, pikepdf.Stream) and o.get("/N") == 4]
        assert len(profiles) == 1 and len(doc.Root.OutputIntents) == 1
        assert "/Metadata" in doc.Root
    assert rgb_in(pdf) == []
    check = certgen("preflight", str(pdf))
    failed = [line for line in check.stdout.splitlines() if "FAIL" in line]
    assert len(failed) == 1 and "Image resolution" in failed[0]  # tiny's 40 px logo: 51 ppi
    assert "51 ppi" in failed[0] and check.returncode == 19


def test_transparent_art_is_kept_for_x4_and_refused_for_x1a(env: Path) -> None:
    logo = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    logo.paste((200, 30, 30, 255), (50, 50, 150, 150))
    logo.save("logo.png")
    Path("certgen.toml").write_text('logo = "logo.png"\n[defaults]\nbusiness = "S"\n')
    refused = certgen(
        "issue", "-d", "compact", "--to", "A", "--from", "B", "--pdfx", "x1a", "-o", "a.pdf"
    )
    assert refused.returncode == 4 and "Traceback" not in refused.stderr
    assert "transparent pixels, which PDF/X-1a does not allow" in refused.stderr
    assert "--pdfx x4" in refused.stderr and not Path("a.pdf").exists()
    done = certgen("issue", "-d", "compact", "--to", "A", "--from", "B", "--pdfx", "x4",
                   "--bleed", "3", "-o", "b.pdf")  # fmt: skip
    assert done.returncode == 0, done.stderr
    with pikepdf.open("b.pdf") as doc:
        masked = [o for o in doc.objects if isinstance(o, pikepdf.Stream) and "/SMask" in o]
        assert masked and all(m.ColorSpace == "/DeviceCMYK" for m in masked)
    as_x4 = certgen("preflight", "b.pdf")
    assert as_x4.returncode == 0 and "soft-masked images" in as_x4.stdout
    as_x1a = certgen("preflight", "b.pdf", "--pdfx", "x1a")
    assert as_x1a.returncode == 19
    assert "FAIL  Transparency" in as_x1a.stdout and "FAIL  PDF version" in as_x1a.stdout


def test_preflight_fails_a_plain_pdf_rule_by_rule(env: Path) -> None:
    issue("-d", "compact", "-o", "plain.pdf")
    done = certgen("preflight", "plain.pdf")
    assert done.returncode == 19 and "Traceback" not in done.stderr
    failed = {line.split("  ")[2].strip() for line in done.stdout.splitlines() if "FAIL" in line}
    assert {"PDF/X identification", "Output intent", "Colour spaces", "Page boxes",
            "Bleed"} <= failed  # fmt: skip
    assert "DeviceRGB" in done.stdout
    assert "issue with --pdfx x4 --bleed 3" in done.stderr
    Path("junk.pdf").write_text("not a pdf")
    junk = certgen("preflight", "junk.pdf")
    assert junk.returncode == 19 and "not a PDF that can be read" in junk.stderr


def test_low_resolution_art_and_text_near_the_cut_fail_preflight(env: Path) -> None:
    design = Path("small")
    design.mkdir()
    Image.new("RGB", (60, 40), (20, 120, 200)).save(design / "art.png")
    (design / "design.toml").write_text(
        """format = 1
[design]
name = "small"
title = "Small"
width_mm = 100
height_mm = 60
background = "art.png"

[fields.recipient]

[[elements]]
type = "text"
id = "recipient"
x = 1
y = 1
width = 60
height = 8
text = "{{ recipient }}"
font = "Noto Sans"
size = 9
"""
    )
    made = certgen("issue", "-d", "small", "--designs-dir", ".", "--to", "Ana", "--pdfx", "x4",
                   "--bleed", "3", "-o", "s.pdf")  # fmt: skip
    assert made.returncode == 0, made.stderr
    done = certgen("preflight", "s.pdf")
    assert done.returncode == 19
    lines = {line.split("  ")[2].strip(): line for line in done.stdout.splitlines()[1:]}
    assert "FAIL" in lines["Image resolution"] and "15 ppi" in lines["Image resolution"]
    assert "FAIL" in lines["Text in the safe area"] and "'A'" in lines["Text in the safe area"]
    assert "pass" in lines["Colour spaces"] and "pass" in lines["Output intent"]


def test_pdfx_options_are_checked_before_anything_runs(env: Path, tmp_path: Path) -> None:
    base = ["issue", "-d", "compact", "--to", "A", "--from", "B", "--set", "business=S"]
    rgb_profile = "/usr/share/color/icc/ghostscript/srgb.icc"
    cases = {
        "--icc is the press profile for --pdfx": [*base, "--icc", rgb_profile, "-o", "a.pdf"],
        "not a CMYK output (printer) profile": [
            *base, "--pdfx", "x4", "--icc", rgb_profile, "-o", "b.pdf"],
        "cannot read the ICC profile": [*base, "--pdfx", "x4", "--icc", "certgen.toml",
                                        "-o", "c.pdf"],
    }  # fmt: skip
    Path("certgen.toml").write_text("")
    for says, command in cases.items():
        done = certgen(*command)
        assert done.returncode in (2, 3) and "Traceback" not in done.stderr, done.stderr
        assert says in done.stderr, (says, done.stderr)
    assert not list(Path().glob("*.pdf"))


def test_mailers_go_to_the_print_shop_as_pdfx_too(env: Path) -> None:
    Path("mail.csv").write_text("to,from,street,city,region,zip\nAna,Bo,1 A St,Town,IL,62704\n")
    done = certgen(
        "issue", "mail.csv", "-d", "compact", "--mailing", "--set", "business=S",
        "--set", "address=1 Shop Rd, Town, IL 62701", "--imb-mailer-id", "123456",
        "--imb-service-type", "270", "--pdfx", "x4", "-o", "m.pdf",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert rgb_in(Path("m.pdf")) == []
    assert tool("gs", "-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=nullpage", "m.pdf") == ""
    check = certgen("preflight", "m.pdf")
    failed = [line for line in check.stdout.splitlines() if "FAIL" in line]
    assert len(failed) == 1 and "Bleed" in failed[0]  # a mailer sheet is not cut
