"""Art in the formats designers export: SVG and PDF pages stay vector, large raster art is
downsampled to the print resolution, and art cannot reach outside its design folder."""

from __future__ import annotations

import base64
import io
import random
import re
import shutil
import struct
import subprocess
import time
import zlib
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from PIL import Image
from reportlab.pdfgen.canvas import Canvas

from certgen import art, checks
from certgen import design as design_mod
from certgen.errors import DesignError
from certgen.units import PT_PER_MM
from tests.helpers import TEST_DESIGNS, issue_rows, page_text, rows

LOGO = (120, 5, 20, 20)  # the tiny design's image element: x, y, width, height in mm
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100">'
    '<rect x="0" y="0" width="100" height="100" fill="#FF0000"/>'
    '<circle cx="150" cy="50" r="50" fill="#0000FF"/>{extra}</svg>'
)


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    shutil.copytree(TEST_DESIGNS / "tiny", folder)
    return folder


def use_art(folder: Path, name: str, extra: str = "") -> None:
    manifest = folder / "design.toml"
    text = manifest.read_text().replace('file = "logo.png"', f'file = "{name}"{extra}', 1)
    manifest.write_text(text)


def art_problems(folder: Path, name: str) -> list[DesignError]:
    """What ``designs check`` says about one art file."""
    found = [p for p in checks.check(folder, "https://g.example") if name in str(p)]
    assert all(isinstance(p, DesignError) and str(folder / name) in str(p) for p in found), found
    return found


def issue_pdf(folder: Path, out: Path) -> Path:
    design = design_mod.load(folder)
    return issue_rows(out, design, rows(design, [{"recipient": "Bob"}])).file


def pixel(pdf: Path, x_mm: float, y_mm: float, dpi: int = 150) -> tuple[int, int, int]:
    doc = pdfium.PdfDocument(str(pdf))
    image = doc[0].render(scale=dpi / 72).to_pil().convert("RGB")
    doc.close()
    scale = dpi / 72 * PT_PER_MM
    return image.getpixel((round(x_mm * scale), round(y_mm * scale)))  # type: ignore[return-value]


def images_embedded(pdf: Path) -> list[tuple[int, int]]:
    """Pixel size of every image drawn on page 1, inside forms too."""
    doc = pdfium.PdfDocument(str(pdf))
    found = doc[0].get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=4)
    sizes = [tuple(image.get_px_size()) for image in found]
    doc.close()
    return sizes  # type: ignore[return-value]


def image_count(pdf: Path) -> int:
    return pdf.read_bytes().count(b"/Subtype /Image")


def near(color: tuple[int, int, int], target: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(color, target, strict=True))


def test_svg_art_is_drawn_as_vectors(tiny: Path, tmp_path: Path) -> None:
    (tiny / "art.svg").write_text(SVG.format(extra=""))
    use_art(tiny, "art.svg")
    pdf = issue_pdf(tiny, tmp_path / "out")
    assert image_count(pdf) == 0  # no raster anywhere: the art is paths
    x, y, w, h = LOGO  # 200 x 100 art contained in a 20 x 20 mm box: 20 x 10 mm, centred
    assert near(pixel(pdf, x + w * 0.25, y + h / 2), (255, 0, 0))
    assert near(pixel(pdf, x + w * 0.75, y + h / 2), (0, 0, 255))
    assert near(pixel(pdf, x + w * 0.25, y + 2), (255, 255, 255))  # above the art: page


def test_a_page_of_a_pdf_is_drawn_as_vectors(tiny: Path, tmp_path: Path) -> None:
    c = Canvas(str(tiny / "art.pdf"), pagesize=(100, 100))
    for color in ((1, 0, 0), (0, 0.6, 0)):
        c.setFillColorRGB(*color)
        c.rect(0, 0, 100, 100, fill=1, stroke=0)
        c.showPage()
    c.save()
    use_art(tiny, "art.pdf", "\npage = 2")
    pdf = issue_pdf(tiny, tmp_path / "out")
    assert image_count(pdf) == 0
    x, y, w, h = LOGO
    assert near(pixel(pdf, x + w / 2, y + h / 2), (0, 153, 0))  # page 2, not page 1

    manifest = tiny / "design.toml"
    manifest.write_text(manifest.read_text().replace("page = 2", "page = 3"))
    [problem] = art_problems(tiny, "art.pdf")
    assert "has 2 page(s), not a page 3" in str(problem)


def noise(size: tuple[int, int]) -> Image.Image:
    """An image that does not compress, so its byte size shows its pixel count."""
    data = random.Random(3).randbytes(size[0] * size[1] * 3)  # noqa: S311 - test data
    return Image.frombytes("RGB", size, data)


@pytest.mark.parametrize("suffix", ["png", "jpg"])
def test_large_raster_art_is_downsampled_to_the_print_resolution(
    tiny: Path, tmp_path: Path, suffix: str
) -> None:
    noise((1200, 1200)).save(tiny / f"big.{suffix}")
    use_art(tiny, f"big.{suffix}")
    manifest = tiny / "design.toml"
    manifest.write_text(
        manifest.read_text().replace(
            'page = "A6-landscape"', 'page = "A6-landscape"\nart_dpi = 150'
        )
    )
    pdf = issue_pdf(tiny, tmp_path / "out")
    # A 20 mm box at 150 dpi needs 118 pixels a side, not 1,200.
    assert images_embedded(pdf) == [(118, 118)]
    assert pdf.stat().st_size < (tiny / f"big.{suffix}").stat().st_size / 10


def test_small_raster_art_is_embedded_as_it_is(tiny: Path, tmp_path: Path) -> None:
    pdf = issue_pdf(tiny, tmp_path / "out")
    with Image.open(tiny / "logo.png") as logo:
        assert images_embedded(pdf) == [logo.size]


@pytest.mark.parametrize(
    "href",
    [
        "/etc/hostname",
        "file:///etc/hostname",
        "../outside.png",
        "sub/../../outside.png",
        "https://example.com/x.png",
        "other.svg#shape",
    ],
)
def test_svg_referring_outside_itself_is_refused(tiny: Path, href: str) -> None:
    Image.new("RGB", (4, 4)).save(tiny.parent / "outside.png")
    extra = f'<image href="{href}" x="0" y="0" width="10" height="10"/>'
    (tiny / "art.svg").write_text(SVG.format(extra=extra))
    use_art(tiny, "art.svg")
    [problem] = art_problems(tiny, "art.svg")
    assert "refers to" in str(problem) and "outside itself" in str(problem)


def test_svg_external_entities_are_never_read(tiny: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRETVALUE")
    svg = SVG.format(extra='<text x="10" y="50" font-size="20">&leak;</text>')
    doctype = f'<!DOCTYPE svg [<!ENTITY leak SYSTEM "file://{secret}">]>\n'
    (tiny / "art.svg").write_text(doctype + svg)
    use_art(tiny, "art.svg")
    pdf = issue_pdf(tiny, tmp_path / "out")
    assert "TOPSECRETVALUE" not in page_text(pdf)
    assert b"TOPSECRETVALUE" not in pdf.read_bytes()


def test_an_image_bomb_embedded_in_svg_is_refused(tiny: Path) -> None:
    bomb = io.BytesIO()
    Image.new("1", (8000, 8000)).save(bomb, "PNG", optimize=True)  # 64 Mpx in a few kB
    data = base64.b64encode(bomb.getvalue()).decode()
    extra = f'<image href="data:image/png;base64,{data}" width="10" height="10"/>'
    (tiny / "art.svg").write_text(SVG.format(extra=extra))
    use_art(tiny, "art.svg")
    [problem] = art_problems(tiny, "art.svg")
    assert "64,000,000 pixels; the limit is 40,000,000" in str(problem)


def png_with_text_bomb() -> bytes:
    """A 10 x 10 PNG with a zTXt chunk that inflates to 200 MB."""
    plain = io.BytesIO()
    Image.new("RGB", (10, 10), "red").save(plain, "PNG")
    data = zlib.compress(b"A" * 200_000_000, 9)
    body = b"zTXt" + b"Comment\0\0" + data
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    return plain.getvalue()[:33] + chunk + plain.getvalue()[33:]  # after IHDR


def test_a_png_text_chunk_bomb_is_refused_as_art(tiny: Path) -> None:
    (tiny / "bomb.png").write_bytes(png_with_text_bomb())
    use_art(tiny, "bomb.png")
    [problem] = art_problems(tiny, "bomb.png")
    assert "cannot read image bomb.png" in str(problem) and "too large" in str(problem)


def test_a_png_text_chunk_bomb_is_refused_inside_svg(tiny: Path) -> None:
    data = base64.b64encode(png_with_text_bomb()).decode()
    extra = f'<image href="data:image/png;base64,{data}" width="10" height="10"/>'
    (tiny / "art.svg").write_text(SVG.format(extra=extra))
    use_art(tiny, "art.svg")
    [problem] = art_problems(tiny, "art.svg")
    assert "embeds an unreadable image" in str(problem)


def test_an_svg_whose_uses_expand_past_the_limit_is_refused(tiny: Path) -> None:
    """svglib itself stops at 10,000 <use> copies with a warning and leaves the rest blank."""
    levels = "".join(
        f'<g id="a{i}">' + f'<use href="#a{i - 1}"/>' * 10 + "</g>" for i in range(1, 9)
    )
    extra = f'<defs><rect id="a0" width="1" height="1"/>{levels}</defs><use href="#a8"/>'
    (tiny / "art.svg").write_text(SVG.format(extra=extra))
    use_art(tiny, "art.svg")
    started = time.perf_counter()
    [problem] = art_problems(tiny, "art.svg")
    assert "draws more than 10,000 shapes" in str(problem)
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    ("definition", "use", "kind"),
    [
        (
            '<linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient>',
            'fill="url(#g)"',
            "a gradient",
        ),
        (
            '<radialGradient id="g"><stop offset="0" stop-color="red"/></radialGradient>',
            "style=\"stroke: url('#g')\"",
            "a gradient",
        ),
        (
            '<pattern id="g" width="4" height="4"><rect width="2" height="2"/></pattern>',
            'fill="url(#g)"',
            "a pattern fill",
        ),
        (
            '<filter id="g"><feGaussianBlur stdDeviation="3"/></filter>',
            'filter="url(#g)"',
            "a filter",
        ),
        (
            '<mask id="g"><rect width="5" height="5" fill="white"/></mask>',
            'mask="url(#g)"',
            "a mask",
        ),
    ],
)
def test_svg_features_certgen_cannot_draw_are_reported(
    tiny: Path, definition: str, use: str, kind: str
) -> None:
    extra = f'<defs>{definition}</defs><rect width="50" height="50" {use}/>'
    (tiny / "art.svg").write_text(SVG.format(extra=extra))
    use_art(tiny, "art.svg")
    [problem] = art_problems(tiny, "art.svg")
    assert f"uses {kind}, which certgen cannot draw" in str(problem)


def test_an_unused_gradient_definition_is_no_problem(tiny: Path) -> None:
    extra = '<defs><linearGradient id="g"><stop offset="0"/></linearGradient></defs>'
    (tiny / "art.svg").write_text(SVG.format(extra=extra))
    use_art(tiny, "art.svg")
    assert art_problems(tiny, "art.svg") == []


def raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF written object by object, with a correct cross-reference table."""
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
    return out + trailer % (len(objects) + 1, xref)


def stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (dictionary, len(data), data)


PAGE_TREE = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"]


def test_a_pdf_background_that_inflates_past_the_limit_is_refused(tiny: Path) -> None:
    content = zlib.compress(b"0 0 1 rg 0 0 50 50 re f\n%" + b"A" * 400_000_000, 9)
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>"
    (tiny / "bomb.pdf").write_bytes(
        raw_pdf([*PAGE_TREE, page, stream(b"/Filter /FlateDecode", content)])
    )
    use_art(tiny, "bomb.pdf")
    started = time.perf_counter()
    [problem] = art_problems(tiny, "bomb.pdf")
    assert "inflates to more than 256 MiB" in str(problem)
    assert time.perf_counter() - started < 10


def test_javascript_launch_and_links_in_pdf_art_never_reach_the_output(
    tiny: Path, tmp_path: Path
) -> None:
    form = b"q 0 0 1 rg 0 0 50 50 re f Q"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>",
        PAGE_TREE[1],
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R "
        b"/Resources << /XObject << /F1 5 0 R >> >> /Annots [7 0 R] /AA << /O 6 0 R >> >>",
        stream(b"", b"/F1 Do"),
        stream(
            b"/Type /XObject /Subtype /Form /BBox [0 0 50 50] /AA << /O 6 0 R >> "
            b"/Launch << /S /Launch /F (calc.exe) >>",
            form,
        ),
        b"<< /S /JavaScript /JS (app.alert\\('hi'\\)) >>",
        b"<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /A 6 0 R >>",
    ]
    (tiny / "art.pdf").write_bytes(raw_pdf(objects))
    use_art(tiny, "art.pdf")
    pdf = issue_pdf(tiny, tmp_path / "out")
    expanded = subprocess.run(
        ["qpdf", "--qdf", "--object-streams=disable", str(pdf), "-"],
        capture_output=True,
        check=True,
    ).stdout
    assert not re.findall(rb"/(?:JavaScript|JS|Launch|AA|Annots|OpenAction)\b|calc\.exe", expanded)
    x, y, w, h = LOGO
    assert near(pixel(pdf, x + w / 8, y + h * 7 / 8), (0, 0, 255))  # the art still prints


def test_an_emailed_certificate_carries_its_art_at_screen_resolution(
    tiny: Path, tmp_path: Path
) -> None:
    """A print run keeps 300 dpi; the PDF attached to an email gets 96 (a screen's), a
    tenth of the pixels, as the smaller of JPEG and lossless."""
    import email
    from email import policy

    from tests.test_cli import invoke

    noise((1200, 1200)).save(tiny / "big.png")
    use_art(tiny, "big.png")
    printed = issue_pdf(tiny, tmp_path / "printed")
    assert images_embedded(printed) == [(236, 236)]  # a 20 mm box at 300 dpi
    listing = tmp_path / "friends.csv"
    listing.write_text("to,email\nBob,bob@example.com\n")
    code, _, err = invoke(
        "send", str(listing), "-d", str(tiny), "--set", "business=B", "--outbox",
        str(tmp_path / "out"), "-q",
    )  # fmt: skip
    assert code == 0, err
    [eml] = (tmp_path / "out").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    [attached] = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    emailed = tmp_path / "emailed.pdf"
    emailed.write_bytes(attached.get_payload(decode=True))
    assert images_embedded(emailed) == [(76, 76)]  # 20 mm at 96 dpi


def test_screen_art_is_the_smaller_of_jpeg_and_lossless(tmp_path: Path) -> None:
    """A photograph becomes a JPEG; flat colour stays lossless, with no JPEG blur at its
    edges. Print art is never re-encoded this way."""
    from PIL import ImageDraw

    photo, flat = tmp_path / "photo.png", tmp_path / "flat.png"
    noise((600, 400)).save(photo)
    poster = Image.new("RGB", (600, 400), "#1F4E79")
    ImageDraw.Draw(poster).rectangle((100, 100, 500, 300), fill="#F2C14E")
    poster.save(flat)
    box = [(600 * 0.75, 400 * 0.75)]  # drawn at 96 dpi: the pixels as they are
    as_photo = art.open_art(photo, boxes=box, dpi=96, screen=True)
    as_flat = art.open_art(flat, boxes=box, dpi=96, screen=True)
    assert isinstance(as_photo, art.PdfPage) and isinstance(as_flat, art.PdfPage)
    assert b"/DCTDecode" in as_photo.data and b"/DCTDecode" not in as_flat.data
    printed = art.open_art(photo, boxes=box, dpi=96)
    assert isinstance(printed, art.PdfPage) and b"/DCTDecode" not in printed.data
