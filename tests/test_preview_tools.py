"""The designer's preview: --set, --config, --bounds and --watch, used as a designer would."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import zxingcpp
from PIL import Image

from certgen import codes, qr
from tests.helpers import REPO_ROOT
from tests.test_cli import invoke

TINY = REPO_ROOT / "tests" / "designs" / "tiny"
MAGENTA = (230, 0, 170)


def test_set_and_config_change_what_the_preview_shows(env: Path) -> None:
    Path("certgen.toml").write_text('base_url = "https://gifts.example"\n')
    status, _, err = invoke("preview", "compact", "--config", "certgen.toml", "--set",
                            "recipient=Zed Quill", "-o", "p.png")  # fmt: skip
    assert status == 0, err
    image = Image.open("p.png")
    [found] = zxingcpp.read_barcodes(image)
    assert found.text == qr.redeem_url("https://gifts.example", codes.SAMPLE)
    status, _, err = invoke("preview", "compact", "-o", "plain.png")
    assert Path("plain.png").read_bytes() != Path("p.png").read_bytes()
    status, _, err = invoke("preview", "compact", "--set", "nonsense", "-o", "x.png")
    assert status == 2 and "'nonsense' is not of the form NAME=VALUE" in err


def test_bounds_outline_every_front_element_and_the_safe_area(env: Path) -> None:
    status, _, err = invoke("preview", str(TINY), "--set", "business=S", "--bounds",
                            "--dpi", "100", "-o", "b.png")  # fmt: skip
    assert status == 0, err
    image = Image.open("b.png").convert("RGB")
    scale = 100 / 25.4
    # tiny's qr element: x 100, y 40, 40 mm square: its outline's left edge is magenta.
    edge = [(round(100 * scale) + d, round(60 * scale)) for d in (-1, 0, 1)]
    assert MAGENTA in [image.getpixel(xy) for xy in edge]
    plain_status, _, _ = invoke("preview", str(TINY), "--set", "business=S", "--dpi", "100",
                                "-o", "p.png")  # fmt: skip
    plain = Image.open("p.png").convert("RGB")
    assert plain_status == 0 and MAGENTA not in [plain.getpixel(xy) for xy in edge]
    blue = image.tobytes().count(bytes((0, 150, 255)))
    assert blue > 100  # the dashed safe area


def test_watch_renders_again_when_the_design_changes(env: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    subprocess.run(["cp", "-r", str(TINY), str(folder)], check=True)
    manifest = folder / "design.toml"
    exe = ["certgen", "preview", str(folder), "--set", "business=S", "--watch", "-o", "w.png"]
    with subprocess.Popen(exe, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as p:
        try:
            first = _changed(Path("w.png"), b"")
            manifest.write_text(manifest.read_text().replace("#FFFFFF", "#FFEEDD", 1))
            second = _changed(Path("w.png"), first)
            assert Image.open("w.png").convert("RGB").getpixel((5, 5)) == (255, 238, 221)
            manifest.write_text(manifest.read_text().replace("size = 40", "size = 900", 1))
            time.sleep(1.5)  # a broken design is reported; the last picture stays
            assert Path("w.png").read_bytes() == second and p.poll() is None
            manifest.write_text(manifest.read_text().replace("size = 900", "size = 40", 1))
            manifest.write_text(manifest.read_text().replace("#FFEEDD", "#DDEEFF", 1))
            _changed(Path("w.png"), second)
        finally:
            p.terminate()
            _, err = p.communicate(timeout=10)
    assert "Not rendered:" in err and "qr" in err and "Traceback" not in err


def _changed(path: Path, before: bytes, timeout: float = 15.0) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes() not in (b"", before):
            return path.read_bytes()
        time.sleep(0.1)
    raise AssertionError(f"{path} did not change within {timeout} s")
