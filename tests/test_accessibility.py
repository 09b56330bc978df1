"""axe-core (from the npm registry: package.json, installed by the build hook) on every page
a person uses, at phone and desktop sizes, in Debian's chromium; nothing leaves the machine."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.helpers import REPO_ROOT
from tests.web_browser import offline, scanned_urls

AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


def violations(page: Page) -> list[str]:
    """axe's findings on the page as shown, one line each: rule, impact and where."""
    page.evaluate(AXE.read_text())  # through DevTools: the page's own CSP stays strict
    found = page.evaluate("axe.run(document).then(r => r.violations)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in found
    ]


@pytest.mark.parametrize("size", SIZES)
def test_no_page_has_an_accessibility_violation(
    server: str, browser: Browser, output: Path, size: str
) -> None:
    assert AXE.exists(), f"{AXE} is missing: pip install -e . runs npm ci (package.json)"
    context = browser.new_context(viewport=SIZES[size])  # type: ignore[arg-type]
    left = offline(context)
    page = context.new_page()
    url = scanned_urls()[0]
    found: dict[str, list[str]] = {}

    def audit(name: str) -> None:
        page.screenshot(path=str(output / f"{size}-{name}.png"), full_page=True)
        found[name] = violations(page)

    page.goto(url)
    audit("friend")
    page.goto(f"{server}/r/NOT-A-CODE")
    audit("unknown-code")
    for number, language, valid in ((1, "fr", "Valable"), (4, "es", "Válido")):
        page.goto(scanned_urls()[number])  # in the language the list gave the friend
        expect(page.get_by_role("status")).to_have_text(valid)
        expect(page.locator("html")).to_have_attribute("lang", language)
        audit(f"friend-{language}")
    page.goto(url)
    page.get_by_role("link", name="Staff sign-in").click()
    expect(page.get_by_label("Name")).to_be_visible()
    audit("sign-in")
    page.get_by_label("Name").fill("Sam")
    page.get_by_label("Password or PIN").fill("pin12345")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Redeem")).to_be_visible()
    audit("staff")
    page.get_by_role("button", name="Redeem").click()
    expect(page.get_by_role("status")).to_have_text("Redeemed")  # the page after the POST
    audit("staff-redeemed")
    page.goto(f"{server}/scan")
    page.get_by_role("status").filter(has_text="type the code").wait_for()
    audit("scan")
    page.goto(f"{server}/search?q=Ng")
    expect(page.get_by_role("heading", name="Find a certificate")).to_be_visible()
    audit("search")
    assert found == {name: [] for name in found}
    assert not left, left


def test_the_offline_guard_catches_a_request_off_the_machine(browser: Browser) -> None:
    """The guard the browser tests rely on does fail: a page reaching for a CDN is seen
    (a page of no origin, which no CSP of certgen's stops first)."""
    context = browser.new_context()
    left = offline(context)
    page = context.new_page()
    page.set_content('<img src="https://cdn.jsdelivr.net/npm/zxing-wasm/x.png" alt="">')
    page.wait_for_timeout(300)
    assert left == ["https://cdn.jsdelivr.net/npm/zxing-wasm/x.png"]


def test_the_audit_does_find_a_violation(browser: Browser) -> None:
    page = browser.new_page()
    page.set_content('<html lang="en"><title>t</title><main><h1>x</h1><input id="q"></main></html>')
    assert [line.split(" ", 1)[0] for line in violations(page)] == ["label"]
