"""The owner's dashboard in a real browser: served to owners only, its numbers the ledger's
(counted here by SQL of our own), its charts drawn, at phone and desktop size, and the same
as one HTML file that opens from disk and asks the network for nothing."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from certgen.ledger import open_ledger
from certgen.web import hash_password
from tests.seeding import REFERRERS, VARIANTS, seed
from tests.test_accessibility import AXE, SIZES, violations
from tests.web_browser import CHROMIUM, free_port, listening, offline

SEEDED = 10_000
PIN = "pin12345"


@dataclass(frozen=True)
class Site:
    base: str
    ledger: Path
    env: dict[str, str]


def run(site_env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    exe = shutil.which("certgen")
    assert exe
    done = subprocess.run(
        [exe, *args], input=stdin, capture_output=True, text=True, env=site_env, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """``certgen serve`` over a ledger of 10,000 certificates (3 campaigns, 2 variants, 4
    referrers), with staff Sam and Kim and the owner Olivia."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium"
    folder = tmp_path_factory.mktemp("dashboard")
    ledger = folder / "ledger.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTGEN_")}
    env |= {"CERTGEN_HOME": str(folder / "home"), "CERTGEN_LEDGER": f"sqlite:///{ledger}"}
    with open_ledger(env["CERTGEN_LEDGER"]) as opened:
        seed(opened, SEEDED, today=dt.date.today(), password_hash=hash_password(PIN))
    run(env, "staff", "add", "Olivia", "--role", "owner", "--password-stdin", stdin=PIN + "\n")
    port = free_port()
    process = subprocess.Popen(
        [shutil.which("certgen") or "certgen", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=folder,
    )
    listening(process, port)
    yield Site(f"http://127.0.0.1:{port}", ledger, env)
    process.terminate()
    process.wait(timeout=10)


def counted(ledger: Path, since: str = "0000-00-00") -> dict[str, str]:
    """The funnel as the ledger holds it, by SQL written here (viewed: from the events)."""
    with sqlite3.connect(ledger) as db:
        db.execute(
            "CREATE TEMP TABLE ranged AS SELECT * FROM certificates "
            "WHERE substr(issued_at, 1, 10) >= ?",
            (since,),
        )
        issued, redeemed, converted, value, viewed = db.execute(
            "SELECT count(*), count(redeemed_at), count(converted_at), "
            "total(CAST(conversion_value AS REAL)), "
            "(SELECT count(DISTINCT e.code) FROM events e JOIN ranged r ON r.code = e.code "
            "WHERE e.kind = 'viewed') FROM ranged"
        ).fetchone()
    return {
        "issued": str(issued),
        "viewed": str(viewed),
        "redeemed": str(redeemed),
        "converted": str(converted),
        "value": f"{value:,.2f}",
    }


def shown(page: Page) -> dict[str, str]:
    cells = page.locator("#funnel td[data-count]")
    return {
        cell.get_attribute("data-count") or "": cell.inner_text().strip() for cell in cells.all()
    }


def sign_in(page: Page, base: str, name: str) -> None:
    page.goto(f"{base}/signin?next=/dashboard")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password or PIN").fill(PIN)
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.get_by_role("button", name="Sign in").click()


def charts_drawn(page: Page) -> dict[str, int]:
    """Each chart's count of painted pixels (none: an empty canvas)."""
    return page.evaluate(
        """() => Object.fromEntries(Array.from(document.querySelectorAll('canvas')).map(c => {
            const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
            return [c.dataset.chart, painted];
        }))"""
    )


def funnel_chart(page: Page) -> list[int]:
    return page.evaluate(
        "Chart.getChart(document.querySelector('[data-chart=funnel]')).data.datasets[0].data"
    )


CHARTS = {"funnel", "over_time", "batch", "design", "variant", "location", "staff", "referrers"}


@pytest.mark.parametrize("size", SIZES)
def test_the_owner_sees_the_ledgers_numbers_drawn(
    site: Site, browser: Browser, output: Path, size: str
) -> None:
    context = browser.new_context(viewport=SIZES[size])  # type: ignore[arg-type]
    left = offline(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, site.base, "Olivia")
    expect(page.get_by_role("heading", name="Referrals", exact=True)).to_be_visible()
    page.screenshot(path=str(output / f"dashboard-{size}.png"), full_page=True)

    want = counted(site.ledger)
    assert want["issued"] == str(SEEDED)
    assert shown(page) == want
    assert funnel_chart(page) == [
        int(want[k]) for k in ("issued", "viewed", "redeemed", "converted")
    ]
    drawn = charts_drawn(page)
    assert set(drawn) == CHARTS and all(drawn[name] > 2000 for name in CHARTS), drawn

    campaigns = page.locator("#batch tbody th").all_inner_texts()
    assert campaigns == ["campaign-1", "campaign-2", "campaign-3"]
    assert page.locator("#variant tbody th").all_inner_texts() == list(VARIANTS)
    assert page.locator("#location tbody th").all_inner_texts() == [
        "Airport", "Downtown", "(not redeemed)",
    ]  # fmt: skip
    referrers = page.locator("#referrers tbody th").all_inner_texts()
    assert sorted(referrers) == sorted(f"{name} <{email}>" for name, email in REFERRERS)
    expiring = int(page.locator("#expiring-count").inner_text().split()[0])
    assert expiring == expiring_by_sql(site.ledger)
    expect(page.get_by_role("link", name="Dashboard")).to_be_visible()  # owners' nav

    assert AXE.exists()
    assert violations(page) == []
    assert not errors, errors  # a script refused by the CSP would show here
    assert not left, left


def expiring_by_sql(ledger: Path) -> int:
    today = dt.date.today()
    with sqlite3.connect(ledger) as db:
        [(count,)] = db.execute(
            "SELECT count(*) FROM certificates WHERE redeemed_at IS NULL AND voided_at IS NULL "
            "AND expires_on BETWEEN ? AND ?",
            (today.isoformat(), (today + dt.timedelta(days=30)).isoformat()),
        ).fetchall()
    return int(count)


def test_a_range_shows_only_what_was_issued_in_it(site: Site, browser: Browser) -> None:
    page = browser.new_page()
    sign_in(page, site.base, "Olivia")
    since = (dt.date.today() - dt.timedelta(weeks=8)).isoformat()
    page.get_by_label("Issued from").fill(since)
    page.get_by_label("Over time by").select_option("month")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name=re.compile("by month of issue"))).to_be_visible()
    want = counted(site.ledger, since)
    assert 0 < int(want["issued"]) < SEEDED
    assert shown(page) == want
    page.goto(f"{site.base}/dashboard?since=yesterday")
    expect(page.get_by_text("is not a day: write it as YYYY-MM-DD")).to_be_visible()


def test_staff_without_the_owner_role_are_refused(site: Site, browser: Browser) -> None:
    page = browser.new_page()
    answer = page.goto(f"{site.base}/dashboard")
    assert answer is not None and "/signin" in page.url  # signed out: sign in first
    sign_in(page, site.base, "Sam")
    answer = page.goto(f"{site.base}/dashboard")
    assert answer is not None and answer.status == 403
    expect(page.get_by_text("The dashboard is for owners")).to_be_visible()
    expect(page.get_by_role("link", name="Dashboard")).to_have_count(0)
    assert "10000" not in page.content()


def test_the_report_file_opens_from_disk_with_no_network(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    target = tmp_path / "report.html"
    run(site.env, "report", "--format", "html", "-o", str(target))
    context = browser.new_context()
    left = offline(context)
    asked: list[str] = []
    context.on("request", lambda request: asked.append(request.url))
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(target.as_uri())
    expect(page.get_by_role("heading", name="Referrals report")).to_be_visible()
    assert asked == [target.as_uri()]  # the file itself, and nothing else
    assert shown(page) == counted(site.ledger)
    drawn = charts_drawn(page)
    assert set(drawn) == CHARTS and all(drawn[name] > 2000 for name in CHARTS), drawn
    assert not errors and not left, (errors, left)
    policy = page.locator("meta[http-equiv=Content-Security-Policy]").get_attribute("content")
    assert policy and policy.startswith("default-src 'none'") and "http" not in policy
