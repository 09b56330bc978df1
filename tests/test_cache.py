"""The on-disk cache in the app folder: never wrong, never in the way."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from certgen import cache, render
from certgen.design import shared_fonts_dir
from tests.helpers import SHIPPED, issue_rows, load, rows
from tests.test_cli import certgen
from tests.test_golden import GOLDEN

FONTS = shared_fonts_dir()
PEOPLE = [{"recipient": "Ελένη Παπαδοπούλου", "giver": "Анна", "amount": "150"}]


def entries(kind: str) -> list[Path]:
    return sorted((cache.folder() / kind).glob("[0-9a-f]*"))


def test_an_entry_is_built_once_and_read_after(env: Path) -> None:
    built: list[int] = []

    def build() -> bytes:
        built.append(1)
        return b"value"

    assert cache.fetch("unit", ["a"], build) == b"value"
    assert cache.fetch("unit", ["a"], build) == b"value"
    assert len(built) == 1
    assert cache.fetch("unit", ["b"], build) == b"value"  # another key, another entry
    assert len(built) == 2 and len(entries("unit")) == 2


@pytest.mark.parametrize("damage", ["truncated", "flipped", "empty", "foreign"])
def test_a_damaged_entry_is_ignored_and_rebuilt(env: Path, damage: str) -> None:
    cache.fetch("unit", ["a"], lambda: b"the value " * 100)
    [entry] = entries("unit")
    data = entry.read_bytes()
    entry.write_bytes(
        {
            "truncated": data[: len(data) // 2],
            "flipped": data[:-1] + bytes([data[-1] ^ 1]),
            "empty": b"",
            "foreign": b"not a cache entry at all",
        }[damage]
    )
    assert cache.fetch("unit", ["a"], lambda: b"rebuilt") == b"rebuilt"
    assert cache.fetch("unit", ["a"], lambda: b"never called") == b"rebuilt"


def test_off_means_nothing_is_read_or_written(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERTGEN_CACHE", "off")
    assert cache.fetch("unit", ["a"], lambda: b"one") == b"one"
    assert cache.fetch("unit", ["a"], lambda: b"two") == b"two"
    assert not (cache.folder() / "unit").exists()


def test_an_unwritable_cache_only_costs_time(env: Path) -> None:
    cache.folder().parent.mkdir(parents=True, exist_ok=True)
    cache.folder().write_text("a file where the folder would be")
    assert cache.fetch("unit", ["a"], lambda: b"value") == b"value"


def _fresh_fonts() -> None:
    """Forget the fonts this process has open, so the next document reads them again."""
    render._GLYPH_FONTS.clear()
    render._reach.cache_clear()


@pytest.mark.parametrize("state", ["off", "filling", "filled"])
def test_the_golden_pdf_is_identical_with_and_without_the_cache(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state: str
) -> None:
    monkeypatch.setenv("CERTGEN_CACHE", "off" if state == "off" else "on")
    design = load("tiny")
    people = rows(design, [{**PEOPLE[0], "expires": "2027-03-31"}])
    if state == "filled":
        _fresh_fonts()
        issue_rows(tmp_path / "warm", design, people, batch_id="golden")
        assert entries("fonts")
    _fresh_fonts()
    made = issue_rows(tmp_path, design, people, output=tmp_path / "tiny.pdf", batch_id="golden")
    assert made.file.read_bytes() == (GOLDEN / "tiny.pdf").read_bytes()
    assert bool(entries("fonts")) == (state != "off")


def _design_with_own_font(folder: Path, font: str) -> Path:
    design = folder / "house"
    shutil.copytree(SHIPPED / "compact", design)
    (design / "fonts").mkdir()
    shutil.copy(FONTS / font, design / "fonts" / "House.ttf")
    manifest = design / "design.toml"
    text = manifest.read_text().replace('name = "compact"', 'name = "house"')
    text = text.replace('font = "Noto Sans"', 'font = "House"')
    text += '\n[[fonts]]\nfamily = "House"\nregular = "fonts/House.ttf"\nbold = "fonts/House.ttf"\n'
    text += 'italic = "fonts/House.ttf"\nbold_italic = "fonts/House.ttf"\n'
    manifest.write_text(text)
    return design


def _issue(design: Path, output: Path) -> subprocess.CompletedProcess[str]:
    return certgen(
        "issue", "-d", str(design), "--set", "business=Riverside Auto Care", "--to", "Bob Ng",
        "--from", "Jane Doe", "-q", "--base-url", "https://gifts.example", "-o", str(output),
    )  # fmt: skip


def _fonts_in(pdf: Path) -> set[str]:
    listed = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True)
    return {line.split()[0].split("+")[-1] for line in listed.stdout.splitlines()[2:]}


def test_a_changed_font_file_is_picked_up_on_the_next_run(env: Path, tmp_path: Path) -> None:
    design = _design_with_own_font(tmp_path, "NotoSans-Regular.ttf")
    assert _issue(design, tmp_path / "one.pdf").returncode == 0
    assert "NotoSans-Regular" in _fonts_in(tmp_path / "one.pdf")
    font = design / "fonts" / "House.ttf"
    stamp = font.stat()
    shutil.copy(FONTS / "Lato-Regular.ttf", font)
    subprocess.run(["touch", "-d", f"@{stamp.st_mtime}", str(font)], check=True)  # same date
    done = _issue(design, tmp_path / "two.pdf")
    assert done.returncode == 0, done.stderr
    used = _fonts_in(tmp_path / "two.pdf")
    assert "Lato-Regular" in used and "NotoSans-Regular" not in used


def test_a_changed_design_file_is_picked_up_on_the_next_run(env: Path, tmp_path: Path) -> None:
    design = _design_with_own_font(tmp_path, "NotoSans-Regular.ttf")
    assert _issue(design, tmp_path / "one.pdf").returncode == 0
    assert entries("templates") and entries("fonts")
    manifest = design / "design.toml"
    text = manifest.read_text().replace('font = "House"', 'font = "Noto Serif"')
    title = "\"{{ _('Gift Certificate') | upper }}\""
    assert title in text
    manifest.write_text(text.replace(title, '"A PRESENT {{ recipient }}"'))
    assert _issue(design, tmp_path / "two.pdf").returncode == 0
    assert "NotoSerif-Regular" in _fonts_in(tmp_path / "two.pdf")
    assert "NotoSans-Regular" not in _fonts_in(tmp_path / "two.pdf")
    printed = subprocess.run(["pdftotext", str(tmp_path / "two.pdf"), "-"], capture_output=True)
    assert "A PRESENT Bob Ng" in printed.stdout.decode() and "GIFT" not in printed.stdout.decode()


def test_two_processes_filling_the_cache_at_once_both_succeed_and_agree(
    env: Path, tmp_path: Path
) -> None:
    design = _design_with_own_font(tmp_path, "NotoSerif-Regular.ttf")
    command = ["certgen", "issue", "-d", str(design), "--set", "business=Riverside", "-q"]
    command += ["--to", "Bob Ng", "--from", "Jane Doe", "--base-url", "https://gifts.example"]
    for attempt in range(3):
        shutil.rmtree(cache.folder(), ignore_errors=True)
        outputs = [tmp_path / f"{attempt}-{i}.pdf" for i in range(2)]
        running = [
            subprocess.Popen([*command, "-o", str(o)], stderr=subprocess.PIPE, text=True)
            for o in outputs
        ]
        for process in running:
            assert process.wait(timeout=120) == 0, process.stderr.read() if process.stderr else ""
        assert _fonts_in(outputs[0]) == _fonts_in(outputs[1])
        filled = entries("fonts")
        assert filled and not list((cache.folder() / "fonts").glob(".part-*"))
        for entry in filled:  # every entry whole: read back without a rebuild
            value = cache._read(entry)
            assert value is not None and len(value) > 1000


def test_a_designs_own_copy_of_a_shared_font_prints_beside_it(env: Path, tmp_path: Path) -> None:
    """Its title keeps the shared Noto Serif, the rest is drawn from the design's copy: two
    subsets of one font name once made reportlab stop with 'redefining named object'."""
    design = _design_with_own_font(tmp_path, "NotoSerif-Regular.ttf")
    done = _issue(design, tmp_path / "one.pdf")
    assert done.returncode == 0, done.stderr
    assert {"NotoSerif-Regular", "NotoSerif-Regular-2"} <= _fonts_in(tmp_path / "one.pdf")


def test_a_cached_template_is_still_checked_against_each_designs_fields(env: Path) -> None:
    from certgen import text
    from certgen.errors import DesignError

    made = text.compile_text("Hi {{ a }}", known={"a"}, path="one", element="e")
    assert entries("templates") and made.render({"a": "Bo"}) == "Hi Bo"
    again = text.compile_text("Hi {{ a }}", known={"a"}, path="one", element="e")
    assert again.variables == {"a"} and again.render({"a": "Al"}) == "Hi Al"
    with pytest.raises(DesignError, match="undeclared variable 'a'"):
        text.compile_text("Hi {{ a }}", known={"b"}, path="two", element="e")
    for _ in range(2):  # a refused template is never kept
        with pytest.raises(DesignError, match="cannot include"):
            text.compile_text("{% include 'x' %}", known=set(), path="p", element="e")
    assert len(entries("templates")) == 1


def test_changed_art_is_picked_up_on_the_next_run(env: Path, tmp_path: Path) -> None:
    """The fitted art is cached by the file's bytes: new art with the old name and date is
    drawn, never the old one."""
    import pypdfium2 as pdfium
    from PIL import Image

    design = _design_with_own_font(tmp_path, "NotoSans-Regular.ttf")
    art = design / "background.png"

    def corner(pdf: Path) -> tuple[int, ...]:
        image = pdfium.PdfDocument(str(pdf))[0].render(scale=0.5).to_pil().convert("RGB")
        return tuple(image.getpixel((image.width - 3, image.height // 2)))  # the stub

    assert _issue(design, tmp_path / "one.pdf").returncode == 0
    assert entries("art")
    before = corner(tmp_path / "one.pdf")
    stamp = art.stat()
    with Image.open(art) as old:
        Image.new("RGB", old.size, "#C00000").save(art)
    subprocess.run(["touch", "-d", f"@{stamp.st_mtime}", str(art)], check=True)
    assert _issue(design, tmp_path / "two.pdf").returncode == 0
    after = corner(tmp_path / "two.pdf")
    assert after != before and after[0] > 150 and after[1] < 60, (before, after)
