"""The /scan page in Debian's chromium: the camera is fed a rendered certificate (Chromium's
fake capture device reads it from a file), the page decodes the QR code with the zxing-wasm
served by certgen itself, and opens that certificate; typed codes are checked as typed."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import qrcode
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright

from certgen import codes
from tests.web_browser import CHROMIUM, FLAGS, offline, scanned_urls, sign_in

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
FRAME = (1280, 720)


def camera_file(pdf: Path, page: int, into: Path, frames: int = 5) -> Path:
    """``page`` of ``pdf`` as a camera would see it held up: a 1280x720 JPEG, ``frames``
    times over (MJPEG: frames back to back, which Chromium's fake camera loops)."""
    with pdfium.PdfDocument(pdf) as document:
        width, height = document[page].get_size()
        scale = min(FRAME[0] * 0.8 / width, FRAME[1] * 0.8 / height)
        picture = document[page].render(scale=scale).to_pil().convert("RGB")
    frame = Image.new("RGB", FRAME, (96, 88, 80))  # a counter top around the certificate
    frame.paste(picture, ((FRAME[0] - picture.width) // 2, (FRAME[1] - picture.height) // 2))
    buffer = io.BytesIO()
    frame.save(buffer, "JPEG", quality=90)
    into.write_bytes(buffer.getvalue() * frames)
    return into


@contextmanager
def filming(video: Path) -> Iterator[Browser]:
    """Chromium whose camera shows ``video``, the camera allowed without asking."""
    fake = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=[*FLAGS, *fake])
        yield launched
        launched.close()


@pytest.fixture
def camera_browser(server: str, tmp_path: Path) -> Iterator[Browser]:
    """Chromium whose camera shows the fourth issued certificate (فاطمة الزهراء's)."""
    with filming(camera_file(Path("run.pdf"), 3, tmp_path / "camera.mjpeg")) as browser:
        yield browser


def test_the_camera_names_a_qr_code_that_is_not_a_certificate_and_keeps_looking(
    server: str, tmp_path: Path, output: Path
) -> None:
    menu = tmp_path / "menu.png"
    qrcode.make("https://elsewhere.example/menu").save(menu)
    frame = Image.new("RGB", FRAME, (96, 88, 80))
    frame.paste(Image.open(menu).convert("RGB"), (400, 100))
    frame.save(tmp_path / "menu.jpg", "JPEG", quality=90)
    video = tmp_path / "menu.mjpeg"
    video.write_bytes((tmp_path / "menu.jpg").read_bytes() * 5)
    with filming(video) as browser:
        page, left = open_scanner(browser, server)
        expect(page.get_by_role("status")).to_have_text(
            "That QR code is not a gift certificate. Try the one on the certificate."
        )
        expect(page.get_by_label("Camera view")).to_be_visible()
        page.wait_for_timeout(500)  # it keeps reading frames, and stays on /scan
        assert page.url == f"{server}/scan"
        page.screenshot(path=str(output / "scanning.png"), full_page=True)
        assert not left, left


def open_scanner(browser: Browser, server: str) -> tuple[Page, list[str]]:
    """/scan at phone size, signed in as Sam, with the offline guard on."""
    context = browser.new_context(viewport=SIZES["phone"])  # type: ignore[arg-type]
    left = offline(context)
    page = context.new_page()
    page.goto(server)
    sign_in(page)
    page.goto(f"{server}/scan")
    return page, left


@pytest.mark.parametrize("size", SIZES)
def test_the_camera_reads_the_certificate_and_the_page_opens_it(
    server: str, camera_browser: Browser, output: Path, size: str
) -> None:
    wanted = scanned_urls()[3]
    context = camera_browser.new_context(viewport=SIZES[size], permissions=["camera"])  # type: ignore[arg-type]
    left = offline(context)
    page = context.new_page()
    failures: list[str] = []
    page.on("console", lambda m: failures.append(m.text) if m.type == "error" else None)
    page.goto(f"{server}/scan")  # staff only: sign in first, then back to the scanner
    page.get_by_label("Name").fill("Sam")
    page.get_by_label("Password or PIN").fill("pin12345")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server}/r/**", timeout=30_000)
    assert page.url == wanted
    expect(page.get_by_text("For فاطمة الزهراء, from أحمد علي")).to_be_visible()
    expect(page.get_by_role("button", name="Redeem")).to_be_visible()
    page.screenshot(path=str(output / f"{size}-scanned.png"), full_page=True)
    assert not failures, failures  # no CSP refusal, no decoder error
    assert not left, left


def test_the_scanner_says_what_it_sees_and_waits_for_a_certificate(
    server: str, browser: Browser, output: Path, tmp_path: Path
) -> None:
    """Without a camera the page says so and offers the photo and the typed code; a photo
    of something else is named as not a certificate; a photo of the certificate opens it."""
    page, left = open_scanner(browser, server)
    expect(page.get_by_role("status")).to_contain_text("type the code")
    page.screenshot(path=str(output / "no-camera.png"), full_page=True)
    stranger = tmp_path / "stranger.png"
    qrcode.make("https://elsewhere.example/menu").save(stranger)
    page.get_by_label("Or take a photo of the QR code").set_input_files(stranger)
    expect(page.get_by_role("status")).to_have_text(
        "That QR code is not a gift certificate. Try the one on the certificate."
    )
    photo = camera_file(Path("run.pdf"), 1, tmp_path / "photo.jpg", frames=1)
    page.get_by_label("Or take a photo of the QR code").set_input_files(photo)
    page.wait_for_url(scanned_urls()[1])
    expect(page.get_by_text("For Ann Lee, from Jane Doe")).to_be_visible()
    assert not left, left


def test_a_typed_code_is_checked_as_it_is_typed(
    server: str, browser: Browser, output: Path
) -> None:
    url = scanned_urls()[0]
    code = url.rsplit("/", 1)[1]
    page, left = open_scanner(browser, server)
    field = page.get_by_label("Or type the code")
    hint = page.locator("#code-check")
    field.press_sequentially(codes.display(code)[:9].lower())
    expect(hint).to_have_text("9 more symbols.")
    expect(field).to_have_attribute("aria-invalid", "false")
    wrong = code[:5] + ("0" if code[5] != "0" else "1") + code[6:]  # one symbol mistyped
    field.fill(codes.display(wrong))
    expect(hint).to_have_text("The check symbol does not match: one symbol is mistyped.")
    expect(field).to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Open").click()
    assert "/scan" in page.url  # a code that cannot be right is not sent
    page.screenshot(path=str(output / "typed-wrong.png"), full_page=True)
    field.fill("u" + code[1:])
    expect(hint).to_have_text("“U” is never in a code.")
    field.fill(codes.display(code).lower().replace("-", " "))
    expect(hint).to_have_text("The code checks out.")
    page.screenshot(path=str(output / "typed-right.png"), full_page=True)
    page.get_by_role("button", name="Open").click()
    page.wait_for_url(url)
    expect(page.get_by_text("For Bob Ng, from Jane Doe")).to_be_visible()
    assert not left, left


def test_the_pages_check_of_a_code_agrees_with_certgens(server: str, browser: Browser) -> None:
    """The JavaScript port of codes.normalize/is_valid, against Python, on real codes, every
    single-symbol substitution of some, adjacent swaps and typed forms."""
    rng = random.Random(17)  # noqa: S311 - test data
    real = [codes.generate(rng.randrange) for _ in range(40)]
    cases = [*real, codes.SAMPLE]
    for code in real[:8]:
        for i in range(codes.CODE_LENGTH):
            cases += [code[:i] + c + code[i + 1 :] for c in codes.ALPHABET if c != code[i]]
            if i + 1 < codes.CODE_LENGTH:
                cases.append(code[:i] + code[i + 1] + code[i] + code[i + 2 :])
    typed = [codes.display(c).lower() for c in real[:5]] + [f"{server}/r/{real[0]}/"]
    typed += [real[1].replace("1", "l"), real[2].replace("0", "o"), " " + real[3] + "\t"]
    page, left = open_scanner(browser, server)
    seen = page.evaluate(
        "texts => texts.map(t => { const c = certgenCodes.normalize(t);"
        " return [c, certgenCodes.check(c).ok]; })",
        cases + typed,
    )
    assert seen == [[codes.normalize(t), codes.is_valid(codes.normalize(t))] for t in cases + typed]
    assert {code for code, ok in seen if ok} == {*real, codes.SAMPLE}  # every slip is caught
    assert not left, left
