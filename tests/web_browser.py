"""What every browser test shares: Debian's chromium driven by Playwright, a real
`certgen serve` with five certificates issued from a file, and a guard that fails a test on
any request that would leave the machine."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.helpers import qr_codes

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def certgen(*args: str, stdin: str | None = None) -> str:
    exe = shutil.which("certgen")
    assert exe
    done = subprocess.run([exe, *args], input=stdin, capture_output=True, text=True, check=True)
    return done.stdout


def listening(process: subprocess.Popen[bytes], port: int) -> None:
    """Wait until the server ``process`` answers on ``port`` (at most 20 s)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()  # type: ignore[union-attr]
            time.sleep(0.05)


@pytest.fixture
def server(env: Path) -> Iterator[str]:
    """A real server on a free port, its ledger holding two certificates and staff Sam and Kim."""
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    Path("two.csv").write_text(
        "to,from,giver_email,language\nBob Ng,Jane Doe,jane@example.com,\n"
        "Ann Lee,Jane Doe,jane@example.com,fr\n"
        "Иван Петров,Ольга Смирнова,olga@example.ru,\nفاطمة الزهراء,أحمد علي,ahmed@example.com,\n"
        "王芳,李伟,li.wei@example.cn,Spanish\n"
    )
    Path("certgen.toml").write_text(
        '[web]\nbook_url = "https://book.northside.example/free-check"\n'
        'book_label = "Book your free check-up"\ncolor = "#f2c230"\n'  # a light gold: hard to read
    )
    certgen(
        "issue",
        "two.csv",
        "-d",
        "compact",
        "--set",
        "business=Northside Physio",
        "--set",
        "phone=(555) 010-2030",
        "--set",
        "website=northside.example",
        "--base-url",
        base,
        "-o",
        "run.pdf",
    )
    for name in ("Sam", "Kim"):
        certgen("staff", "add", name, "--password-stdin", stdin="pin12345\n")
    process = subprocess.Popen(
        [shutil.which("certgen") or "certgen", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    listening(process, port)
    yield base
    process.terminate()
    process.wait(timeout=10)


def scanned_urls() -> list[str]:
    return [found for [found] in qr_codes(Path("run.pdf"))]


def sign_in(page: Page, name: str = "Sam") -> None:
    page.get_by_role("link", name="Staff sign-in").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password or PIN").fill("pin12345")
    page.get_by_role("button", name="Sign in").click()


expect.set_options(timeout=15_000)  # a loaded 2-core machine can be slow to start chromium


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


def offline(context: BrowserContext) -> list[str]:
    """The requests ``context`` makes off this machine, collected (and refused) as they
    happen: a test asserts the list is empty. data:, blob: and the like stay inside."""
    left: list[str] = []

    def watch(route, request) -> None:  # type: ignore[no-untyped-def]
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOOPBACK:
            left.append(request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", watch)
    return left
