"""The redemption page in a real browser: Debian's chromium driven by Playwright, against a
real `certgen serve`, starting from the URL scanned off a printed certificate."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
import os
import re
import sqlite3
from pathlib import Path

import pytest
from playwright.async_api import async_playwright
from playwright.sync_api import Browser, expect

from tests.web_browser import CHROMIUM, FLAGS, certgen, offline, scanned_urls, sign_in


def test_scan_sign_in_redeem_reload(server: str, browser: Browser, tmp_path: Path) -> None:
    url = scanned_urls()[0]
    assert url.startswith(f"{server}/r/")
    page = browser.new_page()
    page.goto(url)
    expect(page.get_by_role("status")).to_have_text("Valid")
    expect(page.get_by_role("banner")).to_contain_text("Northside Physio")
    expect(page.get_by_text("Bob Ng")).to_have_count(0)  # nothing personal before sign-in
    sign_in(page)
    assert page.url == url  # back on the certificate
    expect(page.get_by_text("Signed in as Sam")).to_be_visible()
    page.get_by_role("button", name="Redeem").click()
    expect(page.get_by_role("status")).to_have_text("Redeemed")
    page.screenshot(path=str(tmp_path / "redeemed.png"))
    page.reload()  # still this visit's redemption: green, not an error
    expect(page.get_by_role("status")).to_have_text("Redeemed")
    expect(page.get_by_text("Just now by Sam")).to_be_visible()
    expect(page.get_by_role("button", name="Redeem")).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()
    page.goto(url)
    expect(page.get_by_role("status")).to_have_text("Already redeemed")
    expect(page.get_by_text("by Sam")).to_have_count(0)


SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


@pytest.mark.parametrize("size", SIZES)
def test_the_friend_opens_the_gift_and_the_counter_redeems_converts_and_undoes(
    server: str, browser: Browser, output: Path, size: str
) -> None:
    urls = scanned_urls()
    context = browser.new_context(viewport=SIZES[size])  # type: ignore[arg-type]
    left = offline(context)
    page = context.new_page()
    # The friend: the business, the offer, the expiry in words, what to do, links; no names.
    page.goto(urls[2])
    expect(page.get_by_role("status")).to_have_text("Valid")
    expect(page.get_by_role("banner")).to_contain_text("Northside Physio")
    expect(page.get_by_role("banner")).to_have_css("background-color", "rgb(242, 194, 48)")
    expect(page.get_by_text(re.compile(r"^Valid until \d{1,2} \w+ \d{4}$"))).to_be_visible()
    expect(page.get_by_role("heading", name="What to do next")).to_be_visible()
    book = page.get_by_role("link", name="Book your free check-up")
    expect(book).to_have_attribute("href", "https://book.northside.example/free-check")
    expect(page.get_by_role("link", name="Call (555) 010-2030")).to_have_attribute(
        "href", "tel:5550102030"
    )
    expect(page.get_by_role("link", name="northside.example")).to_have_attribute(
        "href", "https://northside.example"
    )
    for personal in ("Иван", "Ольга", "olga@"):
        expect(page.get_by_text(personal)).to_have_count(0)
    expect(
        page.get_by_role("contentinfo").get_by_role("link", name="Staff sign-in")
    ).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
    page.screenshot(path=str(output / f"{size}-1-friend.png"), full_page=True)
    # The counter: who it is for, first; redeem; a reload stays green.
    sign_in(page)
    gift = page.get_by_role("region", name="The gift")
    expect(gift).to_contain_text("For Иван Петров, from Ольга Смирнова")
    assert (
        page.get_by_text("For Иван Петров").bounding_box()["y"]
        < (  # type: ignore[index]
            page.get_by_role("button", name="Redeem").bounding_box()["y"]  # type: ignore[index]
        )
    )
    page.screenshot(path=str(output / f"{size}-2-staff.png"), full_page=True)
    page.get_by_role("button", name="Redeem").click()
    expect(page.get_by_role("status")).to_have_text("Redeemed")  # the POST answered
    page.reload()
    expect(page.get_by_role("status")).to_have_text("Redeemed")
    expect(page.get_by_text("Just now by Sam")).to_be_visible()
    page.screenshot(path=str(output / f"{size}-3-redeemed.png"), full_page=True)
    # Became a customer, with what they spent: in certgen report.
    page.get_by_label("What they spent (optional)").fill("240.50")
    page.get_by_label("Note (optional)").fill("booked 6 sessions")
    page.get_by_role("button", name="Became a customer").click()
    expect(page.get_by_role("status")).to_have_text("Became a customer")
    page.screenshot(path=str(output / f"{size}-4-converted.png"), full_page=True)
    report = certgen("report", "--format", "json")
    [olga] = [row for row in json.loads(report) if row["referrer"].startswith("Ольга")]
    assert (olga["viewed"], olga["redeemed"], olga["converted"], olga["value"]) == (
        1,
        1,
        1,
        "240.50",
    )
    # A redemption by mistake, undone with a reason: valid again, both in the history.
    page.goto(urls[3])
    page.get_by_role("button", name="Redeem").click()
    expect(page.get_by_role("status")).to_have_text("Redeemed")
    page.get_by_label("Why undo it").fill("scanned the wrong gift")
    page.get_by_role("button", name="Undo redemption").click()
    expect(page.get_by_role("status")).to_have_text("Redemption undone")
    expect(page.get_by_role("button", name="Redeem")).to_be_visible()
    history = page.get_by_role("region", name="History")
    expect(history).to_contain_text("unredeemed by Sam via web: scanned the wrong gift")
    page.screenshot(path=str(output / f"{size}-5-undone.png"), full_page=True)
    # Past the window: the page still open with its Undo form, the redemption now 20
    # minutes old (aged in the ledger file), the undo is refused and it stays redeemed.
    page.get_by_role("button", name="Redeem").click()
    expect(page.get_by_role("status")).to_have_text("Redeemed")  # recorded before ageing it
    age_redemption(urls[3].rsplit("/", 1)[1], dt.timedelta(minutes=20))
    page.get_by_label("Why undo it").fill("too late")
    page.get_by_role("button", name="Undo redemption").click()
    expect(page.get_by_role("status")).to_have_text("Not undone")
    expect(page.get_by_text("can be undone within 15 minutes")).to_be_visible()
    expect(page.get_by_role("button", name="Undo redemption")).to_have_count(0)
    page.screenshot(path=str(output / f"{size}-5b-undo-refused.png"), full_page=True)
    # Find, in four scripts, partial and in any case.
    for typed, found in (
        ("ann", "Ann Lee"),
        ("петров", "Иван Петров"),
        ("الزهراء", "فاطمة الزهراء"),
        ("李", "王芳"),
    ):
        page.get_by_role("link", name="Find").click()
        page.get_by_label("Code, name or email").fill(typed)
        page.get_by_role("button", name="Find").click()
        results = page.get_by_role("list", name="Results")
        expect(results.get_by_role("link")).to_have_count(1)
        expect(results.get_by_role("link", name=found)).to_be_visible()
    page.screenshot(path=str(output / f"{size}-6-found.png"), full_page=True)
    results.get_by_role("link", name="王芳").click()
    expect(page.get_by_role("region", name="The gift")).to_contain_text("For 王芳, from 李伟")
    assert not left, left
    context.close()


def age_redemption(code: str, by: dt.timedelta) -> None:
    """Move a redemption back in time in the server's SQLite ledger, as if staff had waited."""
    with sqlite3.connect(Path(os.environ["CERTGEN_HOME"]) / "ledger.db") as db:
        [[at]] = db.execute("SELECT redeemed_at FROM certificates WHERE code = ?", (code,))
        older = (dt.datetime.fromisoformat(at) - by).isoformat()
        db.execute("UPDATE certificates SET redeemed_at = ? WHERE code = ?", (older, code))


def test_two_browsers_redeem_at_once_one_wins(server: str) -> None:
    url = scanned_urls()[0]

    async def race() -> list[str]:
        async with async_playwright() as playwright:
            browsers = [
                await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                for _ in range(2)
            ]
            pages = [await b.new_page() for b in browsers]
            for page, name in zip(pages, ("Sam", "Kim"), strict=True):
                await page.goto(url)
                await page.get_by_role("link", name="Staff sign-in").click()
                await page.get_by_label("Name").fill(name)
                await page.get_by_label("Password or PIN").fill("pin12345")
                await page.get_by_role("button", name="Sign in").click()
                await page.get_by_role("button", name="Redeem").wait_for()
            await asyncio.gather(*(p.get_by_role("button", name="Redeem").click() for p in pages))
            words = [await p.get_by_role("status").inner_text() for p in pages]
            for b in browsers:
                await b.close()
            return words

    assert sorted(asyncio.run(race())) == ["Already redeemed", "Redeemed"]


def test_one_click_unsubscribe_from_a_mail_client_and_from_the_page_at_phone_size(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    Path("friends.csv").write_text(
        "Recipient,From,Email\nBob Ng,Jane Doe,bob@example.com\nAnn Lee,Jane Doe,ann@example.com\n"
    )
    certgen(
        "send",
        "friends.csv",
        "-d",
        "modern",
        "--set",
        "business=Northside Physio",
        "--base-url",
        server,
        "--outbox",
        "out",
        "-q",
    )
    links = {}
    for eml in Path("out").glob("*.eml"):
        raw = eml.read_bytes()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert f"\nList-Unsubscribe: <{server}/unsubscribe/".encode() in raw  # as is, not encoded
        link = message["List-Unsubscribe"].split(", ")[0].strip("<>")
        assert link.startswith(f"{server}/unsubscribe/")
        links[message["To"].addresses[0].addr_spec] = link
    # A mail client's one click (RFC 8058): a POST with no cookie and no form token.
    client = browser.new_context()  # a context of its own: no cookie of any page
    answer = client.request.post(
        links["bob@example.com"],
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 200
    client.close()
    assert certgen("unsubscribe").split() == ["bob@example.com"]
    # A person following the link on a phone: the address, one button, the outcome.
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(links["ann@example.com"])
    expect(page.get_by_text("Send no more email to ann@example.com?")).to_be_visible()
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("status")).to_have_text("Unsubscribed")
    expect(page.get_by_text("We will send no more email to ann@example.com.")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    page.screenshot(path=str(tmp_path / "unsubscribed.png"))
    assert sorted(certgen("unsubscribe").split()) == ["ann@example.com", "bob@example.com"]
    # A link cut short, or made up for another address, is refused and records nothing.
    forged = links["ann@example.com"].rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAA"
    page.goto(forged.replace("YW5u", "Ym9i"))
    expect(page.get_by_text("This unsubscribe link is not one of ours")).to_be_visible()
    assert sorted(certgen("unsubscribe").split()) == ["ann@example.com", "bob@example.com"]


def test_signing_a_person_out_or_removing_them_ends_every_browser_session(
    server: str, browser: Browser
) -> None:
    url = scanned_urls()[0]
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    counter = browser.new_context()
    pages = []
    for context, name in ((phone, "Sam"), (counter, "Sam"), (browser.new_context(), "Kim")):
        page = context.new_page()
        page.goto(url)
        sign_in(page, name)
        expect(page.get_by_role("button", name="Redeem")).to_be_visible()
        pages.append(page)
    assert "Sam\tstaff\tadded" in certgen("staff", "list") and "2 sessions" in certgen(
        "staff", "list"
    )
    assert certgen("staff", "signout", "Sam").strip() == "Signed Sam out of 2 sessions"
    for page in pages[:2]:  # the phone and the counter PC, at once
        page.reload()
        expect(page.get_by_role("button", name="Redeem")).to_have_count(0)
        expect(page.get_by_role("link", name="Staff sign-in")).to_be_visible()
    pages[2].reload()
    expect(pages[2].get_by_role("button", name="Redeem")).to_be_visible()  # Kim stays in
    assert "ended 1 open session" in certgen("staff", "remove", "Kim")
    pages[2].reload()
    expect(pages[2].get_by_role("button", name="Redeem")).to_have_count(0)
