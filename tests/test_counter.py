"""At the counter and on the friend's phone, through Flask's test client and the CLI: undo,
convert, find, views counted, the friend's page, times in the shop's zone and locale."""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.client
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from certgen import catalog, codes, palette, views, web, web_api
from certgen.clock import Clock
from certgen.config import ConfigError, Web, load
from certgen.errors import LedgerError
from certgen.ledger import BatchRecord, CertificateRecord, Ledger, open_ledger
from certgen.redeem import Outcome, unredeem
from tests.test_cli import invoke
from tests.test_web import csrf, sign_in
from tests.web_browser import free_port, listening

AT = "2026-11-23T12:00:00+00:00"
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1"
PEOPLE = [
    ("Bob Ng", "Jane Doe", "jane@example.com"),
    ("Иван Петров", "Ольга Смирнова", "olga@example.ru"),
    ("فاطمة الزهراء", "أحمد علي", "ahmed@example.com"),
    ("王芳", "李伟", "li.wei@example.cn"),
    ("100% Sure_Name", "Percy", ""),
]
BUSINESS = {
    "business": "Northside Physio",
    "phone": "(555) 010-2030",
    "website": "northside.example",
    "address": "4 Hill Road",
    "offer": "A free posture check",
    "pain": "Sore back?",
}


def certificate(code: str, recipient: str, giver: str, email: str, n: int) -> CertificateRecord:
    data = {"recipient": recipient, "giver": giver, **BUSINESS, "expires": "2027-03-02"}
    if email:
        data["giver_email"] = email
    return CertificateRecord(
        code, "b1", "o.pdf", n, n + 1, "compact", "h", recipient, giver, data, AT, "2027-03-02"
    )


def record_people(ledger: Ledger, people: list[tuple[str, str, str]]) -> list[str]:
    made = [codes.generate() for _ in people]
    records = [certificate(c, *p, i + 1) for i, (c, p) in enumerate(zip(made, people, strict=True))]
    ledger.issue_batch(BatchRecord("b1", "compact", "h", "l.csv", "o.pdf", len(made), AT), records)
    return made


@pytest.fixture
def made(ledger: Ledger) -> list[str]:
    return record_people(ledger, PEOPLE)


def make_app(ledger: Ledger, **settings: object) -> Flask:
    return web.create_app(ledger, Web(secret_key="k", **settings))  # type: ignore[arg-type]


@pytest.fixture
def app(ledger: Ledger, made: list[str]) -> Flask:
    return make_app(ledger, book_url="https://book.northside.example/free-check")


def staff_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client) == 303
    return client


def post(client: FlaskClient, path: str, **form: str) -> str:
    token = csrf(client, path.rsplit("/", 1)[0])
    answer = client.post(path, data={"csrf": token, **form}, follow_redirects=True)
    return answer.get_data(as_text=True)


# Undo


def test_undo_within_the_window_makes_it_valid_again_and_keeps_both_events(
    app: Flask, ledger: Ledger, made: list[str]
) -> None:
    code = made[0]
    client = staff_client(app)
    post(client, f"/r/{code}/redeem")
    page = client.get(f"/r/{code}").get_data(as_text=True)
    assert "Undo redemption" in page and "Possible for 15 minutes" in page
    done = post(client, f"/r/{code}/unredeem", reason="scanned the wrong gift")
    assert '<p class="outcome ok" role="status">Redemption undone</p>' in done
    assert "Redeem</button>" in done  # valid again
    assert ledger.get(code).redeemed_at is None  # type: ignore[union-attr]
    kinds = [(e.kind, e.detail.get("reason")) for e in ledger.events(code)]
    assert kinds == [
        ("issued", None),
        ("redeemed", None),
        ("unredeemed", "scanned the wrong gift"),
    ]
    [row] = ledger.rollup("2026-12-01")
    assert row["redeemed"] == 0


def test_undo_past_the_window_is_refused_on_the_page_the_api_and_the_cli(
    env: Path, tmp_path: Path, ledger: Ledger, made: list[str]
) -> None:
    code = made[0]
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)).isoformat(timespec="seconds")
    assert ledger.redeem(
        code, at=long_ago, today="2026-01-01", actor="Kim", channel="web", note=None
    )
    app = make_app(ledger)
    client = staff_client(app)
    page = client.get(f"/r/{code}").get_data(as_text=True)
    assert "Undo redemption" not in page  # no button
    refused = post(client, f"/r/{code}/unredeem", reason="too late")
    assert "Not undone" in refused and "can be undone within 15 minutes" in refused
    assert ledger.get(code).redeemed_by == "Kim"  # type: ignore[union-attr]
    ledger.add_token(*token_for("Sam"))
    answer = app.test_client().post(
        f"/api/certificates/{code}/unredeem", json={"reason": "x"}, headers=BEARER
    )
    assert answer.status_code == 409 and answer.json["outcome"] == "undo_closed"  # type: ignore[index]
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    status, _, err = invoke("unredeem", code, "--reason", "x", "--ledger", url)
    assert status == 18 and "within 15 minutes" in err
    Path("certgen.toml").write_text("[web]\nundo_minutes = 30\n")
    status, out, _ = invoke("unredeem", code, "--reason", "a longer window", "--ledger", url)
    assert status == 0 and "redemption undone" in out


def test_undo_needs_a_reason_and_leaves_a_conversion_alone(
    app: Flask, ledger: Ledger, made: list[str]
) -> None:
    code = made[1]
    client = staff_client(app)
    post(client, f"/r/{code}/redeem")
    empty = client.post(
        f"/r/{code}/unredeem", data={"csrf": csrf(client, f"/r/{code}"), "reason": " "}
    )
    assert empty.status_code == 400 and "Say why" in empty.get_data(as_text=True)
    post(client, f"/r/{code}/convert", value="80")
    window = dt.timedelta(minutes=15)
    result = unredeem(ledger, code, reason="oops", actor="Sam", window=window)
    assert result.outcome is Outcome.ALREADY_CONVERTED
    assert unredeem(ledger, made[2], reason="x", actor="Sam", window=window).outcome is (
        Outcome.NOT_REDEEMED
    )
    assert unredeem(ledger, "NOT-A-CODE", reason="x", actor="Sam", window=window).outcome is (
        Outcome.MISTYPED
    )


def test_two_undos_at_once_undo_once(app: Flask, ledger: Ledger, made: list[str]) -> None:
    code = made[0]
    window = dt.timedelta(minutes=15)
    assert ledger.redeem(
        code, at=now_iso(), today="2026-01-01", actor="Sam", channel="cli", note=None
    )
    first = unredeem(ledger, code, reason="a", actor="Sam", window=window)
    second = unredeem(ledger, code, reason="b", actor="Kim", window=window)
    assert (first.outcome, second.outcome) == (Outcome.UNREDEEMED, Outcome.NOT_REDEEMED)
    assert [e.kind for e in ledger.events(code)].count("unredeemed") == 1


# Convert at the counter


def test_became_a_customer_with_its_value_shows_in_the_report(
    env: Path, tmp_path: Path, app: Flask, ledger: Ledger, made: list[str]
) -> None:
    code = made[0]
    client = staff_client(app)
    page = client.get(f"/r/{code}").get_data(as_text=True)
    assert "Became a customer</button>" not in page  # only after redeeming (or without the gift)
    post(client, f"/r/{code}/redeem")
    bad = post(client, f"/r/{code}/convert", value="lots")
    assert "is not an amount" in bad and "120.50" in bad
    done = post(client, f"/r/{code}/convert", value="$1,240.50", note="booked a course")
    assert '<p class="outcome ok" role="status">Became a customer</p>' in done
    assert "spending 1240.50" in done
    again = post(client, f"/r/{code}/convert", value="1")
    assert "Not recorded" in again and "already converted" in again
    [event] = [e for e in ledger.events(code) if e.kind == "converted"]
    assert event.detail == {"value": "1240.50", "note": "booked a course"} and event.actor == "Sam"
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    status, out, _ = invoke("report", "--by", "referrer", "--format", "json", "--ledger", url)
    assert status == 0
    [jane] = [row for row in json.loads(out) if row["referrer"].startswith("Jane Doe")]
    assert (jane["redeemed"], jane["converted"], jane["value"]) == (1, 1, "1240.50")


def test_a_friend_who_bought_without_the_gift_is_credited_from_the_staff_view(
    app: Flask, ledger: Ledger, made: list[str]
) -> None:
    code = made[1]
    client = staff_client(app)
    page = client.get(f"/r/{code}").get_data(as_text=True)
    assert "Bought without presenting the gift?" in page and "Redeem</button>" in page
    done = post(client, f"/r/{code}/convert", unredeemed="1", value="75", note="phoned in")
    assert '<p class="outcome ok" role="status">Became a customer</p>' in done
    assert "spending 75.00, without presenting the gift." in done
    assert "Redeem</button>" in done  # the gift itself is still theirs to use
    assert ledger.get(code).redeemed_at is None  # type: ignore[union-attr]
    [event] = [e for e in ledger.events(code) if e.kind == "converted"]
    assert event.detail == {"value": "75.00", "note": "phoned in", "unredeemed": True}


BEARER = {"Authorization": "Bearer till-token"}


def token_for(name: str) -> tuple[str, str, str, float]:
    """add_token's arguments for the token BEARER sends."""
    return (
        name,
        "till",
        web_api.hash_token("till-token"),
        dt.datetime.now(dt.UTC).timestamp() + 86400,
    )


def test_the_api_converts_and_undoes_once_each_with_idempotency(
    app: Flask, ledger: Ledger, made: list[str]
) -> None:
    ledger.add_token(*token_for("Sam"))
    client = app.test_client()
    code, other = made[0], made[1]
    refused = client.post(f"/api/certificates/{code}/convert", json={}, headers=BEARER)
    assert refused.status_code == 409 and refused.json["outcome"] == "not_redeemed"  # type: ignore[index]
    client.post(f"/api/certificates/{code}/redeem", headers=BEARER)
    keyed = {**BEARER, "Idempotency-Key": "sale-1"}
    first = client.post(f"/api/certificates/{code}/convert", json={"value": 99.5}, headers=keyed)
    replay = client.post(f"/api/certificates/{code}/convert", json={"value": 99.5}, headers=keyed)
    assert first.status_code == replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert first.json["certificate"]["conversion_value"] == "99.50"  # type: ignore[index]
    bad = client.post(f"/api/certificates/{other}/convert", json={"value": [1]}, headers=BEARER)
    assert bad.status_code == 400
    client.post(f"/api/certificates/{other}/redeem", headers=BEARER)
    no_reason = client.post(f"/api/certificates/{other}/unredeem", json={}, headers=BEARER)
    assert no_reason.status_code == 400
    undone = client.post(
        f"/api/certificates/{other}/unredeem", json={"reason": "wrong till"}, headers=BEARER
    )
    assert undone.status_code == 200 and undone.json["certificate"]["status"] == "valid"  # type: ignore[index]
    no_token = client.post(f"/api/certificates/{other}/convert", json={})
    assert no_token.status_code == 401
    unused = made[2]
    wrong = client.post(
        f"/api/certificates/{unused}/convert", json={"unredeemed": "yes"}, headers=BEARER
    )
    assert wrong.status_code == 400 and "unredeemed is true or false" in wrong.json["message"]  # type: ignore[index]
    bought = client.post(
        f"/api/certificates/{unused}/convert",
        json={"unredeemed": True, "value": "20"},
        headers=BEARER,
    )
    assert bought.status_code == 200 and bought.json["certificate"]["status"] == "valid"  # type: ignore[index]


# Find


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("bob", ["Bob Ng"]),
        ("JANE", ["Bob Ng"]),
        ("иван", ["Иван Петров"]),
        ("ПЕТР", ["Иван Петров"]),
        ("смирн", ["Иван Петров"]),
        ("فاطمة", ["فاطمة الزهراء"]),
        ("أحمد", ["فاطمة الزهراء"]),
        ("王", ["王芳"]),
        ("李伟", ["王芳"]),
        ("olga@EXAMPLE", ["Иван Петров"]),
        ("100%", ["100% Sure_Name"]),
        ("e_N", ["100% Sure_Name"]),
        ("%", ["100% Sure_Name"]),
        ("nobody", []),
    ],
)
def test_find_by_name_or_email_in_any_script_and_case(
    app: Flask, made: list[str], typed: str, found: list[str]
) -> None:
    page = staff_client(app).get("/search", query_string={"q": typed}).get_data(as_text=True)
    names = re.findall(r'<li><a href="/r/[0-9A-Z]+">([^<]+)</a>', page)
    assert names == [name.replace("&", "&amp;") for name in found]
    if not found:
        assert "Nothing found for" in page


def test_find_by_code_opens_it_and_by_its_first_groups_lists_it(
    app: Flask, made: list[str]
) -> None:
    client = staff_client(app)
    code = made[3]
    whole = client.get("/search", query_string={"q": codes.display(code).lower()})
    assert whole.status_code == 303 and whole.headers["Location"].endswith(f"/r/{code}")
    start = client.get("/search", query_string={"q": codes.display(code)[:9]}).get_data(
        as_text=True
    )
    assert f'href="/r/{code}"' in start


def test_find_pages_results_and_is_for_staff_only(ledger: Ledger, made: list[str]) -> None:
    record_more = [(f"Many Lee {i:02}", "Giver", "") for i in range(45)]
    more = [codes.generate() for _ in record_more]
    records = [
        CertificateRecord(
            c,
            "b2",
            "o.pdf",
            i + 1,
            None,
            "compact",
            "h",
            r,
            g,
            {},
            f"2026-11-24T00:00:{i:02}+00:00",
            None,
        )
        for i, (c, (r, g, _)) in enumerate(zip(more, record_more, strict=True))
    ]
    ledger.issue_batch(BatchRecord("b2", "compact", "h", "l.csv", "o.pdf", 45, AT), records)
    app = make_app(ledger)
    public = app.test_client().get("/search?q=lee")
    assert public.status_code == 303 and "/signin" in public.headers["Location"]
    client = staff_client(app)
    seen: list[str] = []
    for number in (1, 2, 3):
        page = client.get("/search", query_string={"q": "many lee", "page": number}).get_data(
            as_text=True
        )
        seen += re.findall(r'<li><a href="/r/[0-9A-Z]+">([^<]+)</a>', page)
        assert ("Next</a>" in page) == (number < 3)
    assert seen == [f"Many Lee {i:02}" for i in reversed(range(45))]  # newest first, each once


def test_signing_in_from_find_comes_back_to_it(app: Flask) -> None:
    client = app.test_client()
    token = csrf(client, "/signin")
    answer = client.post(
        "/signin",
        data={"name": "Sam", "password": "pin12345", "csrf": token, "next": "/search?q=bob"},
    )
    assert answer.headers["Location"] == "/search?q=bob"


# Views


def test_a_persons_opening_is_a_view_but_not_a_reload_a_preview_or_staff(
    app: Flask, ledger: Ledger, made: list[str]
) -> None:
    code = made[0]
    public = app.test_client()
    for agent in (
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "facebookexternalhit/1.1",
        "WhatsApp/2.23.20.0",
        "TelegramBot (like TwitterBot)",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "curl/8.5.0",
        "",
    ):
        public.get(f"/r/{code}", headers={"User-Agent": agent})
    public.get(f"/r/{code}", headers={"User-Agent": BROWSER, "Sec-Purpose": "prefetch"})
    public.head(f"/r/{code}", headers={"User-Agent": BROWSER})
    app.extensions["certgen.views"].flush()
    assert [e.kind for e in ledger.events(code)] == ["issued"]
    public.get(f"/r/{code}", headers={"User-Agent": BROWSER})
    public.get(f"/r/{code}", headers={"User-Agent": BROWSER})  # a reload within the minute
    staff_client(app).get(f"/r/{code}", headers={"User-Agent": BROWSER})
    deadline = time.monotonic() + 5  # written off the request, within a second
    while not any(e.kind == "viewed" for e in ledger.events(code)):
        assert time.monotonic() < deadline, "the view was never written"
        time.sleep(0.05)
    viewed = [e for e in ledger.events(code) if e.kind == "viewed"]
    assert len(viewed) == 1 and viewed[0].detail == {} and viewed[0].actor == "public"
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=61)).isoformat(timespec="seconds")
    assert ledger.record_view(code, at=later, within=web.VIEW_REPEAT)
    [row] = ledger.rollup("2026-12-01")
    assert (row["issued"], row["viewed"]) == (5, 1)  # one certificate viewed, twice


def test_views_are_written_in_batches_and_a_refused_batch_waits(
    ledger: Ledger, made: list[str]
) -> None:
    """The recorder keeps a batch the ledger refused, in order, and the ledger drops a look
    within a minute of one it holds (another server process counted it) or of one before
    it in the same batch."""
    tries: list[list[tuple[str, str]]] = []

    def write(batch: list[tuple[str, str]]) -> int:
        tries.append(list(batch))
        if len(tries) == 1:
            raise LedgerError("busy")
        return ledger.record_views(batch, within=60)

    looks = views.Recorder(write, every=3600, repeat=60)
    looks.saw(made[0], "2026-12-01T10:00:00+00:00")
    looks.saw(made[0], "2026-12-01T10:00:01+00:00")  # this process's reload: dropped here
    looks.saw(made[1], "2026-12-01T10:00:02+00:00")
    with pytest.raises(LedgerError):
        looks.flush()
    looks.saw(made[2], "2026-12-01T10:00:03+00:00")
    looks.flush()
    assert tries[1] == [
        (made[0], "2026-12-01T10:00:00+00:00"),
        (made[1], "2026-12-01T10:00:02+00:00"),
        (made[2], "2026-12-01T10:00:03+00:00"),
    ]
    again = [
        (made[0], "2026-12-01T10:00:30+00:00"),  # another process's look within the minute
        (made[3], "2026-12-01T10:00:00+00:00"),
        (made[3], "2026-12-01T10:00:59+00:00"),  # within a minute of the one before it
        (made[3], "2026-12-01T10:01:00+00:00"),  # a minute on: a look again
    ]
    assert ledger.record_views(again, within=60) == 2
    seen = {c: [e.at for e in ledger.events(c) if e.kind == "viewed"] for c in made[:4]}
    assert [len(at) for at in seen.values()] == [1, 1, 1, 2]


def test_the_view_rule_reads_only_the_method_and_headers() -> None:
    assert views.counts("GET", {"User-Agent": BROWSER})
    assert not views.counts("POST", {"User-Agent": BROWSER})
    assert not views.counts("GET", {"User-Agent": "LinkedInBot/1.0"})
    assert not views.counts("GET", {"User-Agent": BROWSER, "Purpose": "prefetch"})


# The friend's page


def test_the_friends_page_links_the_phone_website_and_booking_and_shows_nothing_personal(
    app: Flask, made: list[str]
) -> None:
    page = app.test_client().get(f"/r/{made[1]}").get_data(as_text=True)
    assert '<a href="tel:5550102030">(555) 010-2030</a>' in page
    assert '<a href="https://northside.example" rel="noopener">northside.example</a>' in page
    assert 'href="https://book.northside.example/free-check">Book your visit</a>' in page
    assert "Valid until 2 March 2027" in page and "2027-03-02" not in page
    assert "What to do next" in page
    for personal in ("Иван", "Ольга", "olga@example.ru"):
        assert personal not in page
    header = page.split("<main>")[0]
    assert "Staff sign-in" not in header  # at the foot, out of the friend's way
    assert "<footer>" in page and "Staff sign-in</a></footer>" in page


def test_the_friends_page_shows_the_business_logo(
    tmp_path: Path, ledger: Ledger, made: list[str]
) -> None:
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    app = make_app(ledger, logo=logo)
    page = app.test_client().get(f"/r/{made[0]}").get_data(as_text=True)
    assert '<img class="logo" src="/logo" alt="">' in page
    served = app.test_client().get("/logo")
    assert served.status_code == 200 and served.mimetype == "image/svg+xml"
    assert served.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert make_app(ledger).test_client().get("/logo").status_code == 404


# Times and settings


def test_times_are_in_the_shops_zone_and_locale(ledger: Ledger, made: list[str]) -> None:
    at = "2026-01-05T15:30:00+00:00"
    assert ledger.redeem(made[0], at=at, today="2026-01-05", actor="Kim", channel="web", note=None)
    app = make_app(ledger, timezone="Europe/Berlin", locale="de")
    page = staff_client(app).get(f"/r/{made[0]}").get_data(as_text=True)
    assert "05.01.2026, 16:30:00 by Kim (web)" in page  # 15:30 UTC is 16:30 in Berlin
    chicago = Clock("America/Chicago", "en")
    assert chicago.at(at) == "Jan 5, 2026, 9:30:00\u202fAM"  # CLDR's narrow space
    now = dt.datetime.fromisoformat(at)
    assert chicago.ago(at, now + dt.timedelta(seconds=20)) == "just now"
    assert chicago.ago(at, now + dt.timedelta(minutes=12)) == "12 minutes ago"
    assert Clock(None, "fr").ago(at, now + dt.timedelta(minutes=3)) == "il y a 3 minutes"


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ('[web]\nundo_minutes = "15"\n', "[web] undo_minutes must be a number, not '15'"),
        ("[web]\nundo_minutes = -1\n", "undo_minutes is 0 (no undo) or more"),
        ('[web]\nbook_url = "book.example"\n', "book_url must start with https://"),
        ("[web]\nsecure_cookies = 1\n", "secure_cookies must be true or false, not 1"),
        ('locale = "xx_QQ"\n', "locale 'xx_QQ' is not a language and region"),
        (
            '[web]\ncolor = "gold"\n',
            "[web] color must be written #RRGGBB (like \"#1f4e3d\"), not 'gold'",
        ),
    ],
)
def test_web_settings_are_checked_with_a_clear_message(env: Path, written: str, says: str) -> None:
    Path("certgen.toml").write_text(written)
    with pytest.raises(ConfigError) as caught:
        load().web()
    assert says in str(caught.value)


def test_a_locale_is_written_either_way(env: Path) -> None:
    Path("certgen.toml").write_text('locale = "es-MX"\n')
    assert load().web().locale == "es_MX"


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def test_find_and_its_migration_work_on_each_engine(ledger_url: str) -> None:
    import sqlalchemy as sa

    with open_ledger(ledger_url) as ledger:
        made = record_people(ledger, PEOPLE)
        with ledger.engine.begin() as conn:  # as a ledger from before m015 was
            conn.execute(sa.text("ALTER TABLE certificates DROP COLUMN search_key"))
            conn.execute(sa.text("DELETE FROM certgen_migrations WHERE name = 'm015_search'"))
    with open_ledger(ledger_url) as ledger:  # m015 runs and fills the column
        for typed, who in (("ПЕТРОВ", 1), ("li.wei@", 3), ("الزهراء", 2), ("sure_n", 4)):
            assert [r.code for r in ledger.search(typed)] == [made[who]], typed
        assert ledger.search("% SURE_") == [ledger.get(made[4])]
        assert ledger.search("%_") == []  # wildcards are letters here
        assert ledger.search("   ") == []
        assert len(ledger.search("e", limit=2)) == 2


# The scanner


def test_only_the_scan_page_may_run_script_and_only_the_apps_own(
    app: Flask, made: list[str]
) -> None:
    public = app.test_client()
    assert public.get("/scan").headers["Location"] == "/signin?next=/scan"
    friend = public.get(f"/r/{made[0]}")
    assert "script-src" not in friend.headers["Content-Security-Policy"]
    assert "<script" not in friend.get_data(as_text=True)
    client = staff_client(app)
    scan = client.get("/scan")
    policy = dict(
        p.strip().split(" ", 1) for p in scan.headers["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert policy["connect-src"] == "'self'" and policy["default-src"] == "'none'"
    page = scan.get_data(as_text=True)
    sources = re.findall(r'<script src="([^"]+)"></script>', page)
    assert sources == ["/static/vendor/zxing-reader.js", "/static/scan.js"]
    assert "<script>" not in page  # nothing inline
    for path in [*sources, "/static/vendor/zxing_reader.wasm"]:
        served = client.get(path)
        assert served.status_code == 200 and served.headers["Cache-Control"] == "no-cache"
    wasm = client.get("/static/vendor/zxing_reader.wasm")
    assert wasm.mimetype == "application/wasm" and wasm.data[:4] == b"\0asm"
    assert "Scan</a>" in client.get(f"/r/{made[0]}").get_data(as_text=True)  # in staff's nav


def test_a_typed_code_opens_under_its_one_canonical_address(app: Flask, made: list[str]) -> None:
    typed = codes.display(made[0]).lower().replace("-", " ")
    answer = app.test_client().get("/r", query_string={"code": typed})
    assert answer.headers["Location"] == f"/r/{made[0]}"


# The business's colour


@pytest.mark.parametrize("color", ["#f2c230", "#ffffff", "#1f4e3d", "#e4002b", "#000000"])
def test_any_brand_colour_gives_readable_text(color: str) -> None:
    css = palette.stylesheet(color)
    found = dict(re.findall(r"--([\w-]+): (#[0-9a-f]{6})", css))
    assert found["brand"] == color
    assert palette.contrast(found["on-brand"], color) >= 4.5
    assert palette.contrast(found["brand-ink"], palette.PAGE) >= 4.5
    assert palette.contrast(found["brand-ink"], "#ffffff") >= 4.5
    if palette.contrast(color, palette.PAGE) >= 4.5:
        assert found["brand-ink"] == color  # a colour that reads is left as it is


def test_the_pages_carry_the_business_colour(ledger: Ledger, made: list[str]) -> None:
    plain = make_app(ledger).test_client()
    assert "/brand.css" not in plain.get(f"/r/{made[0]}").get_data(as_text=True)
    client = make_app(ledger, color="#F2C230").test_client()
    page = client.get(f"/r/{made[0]}").get_data(as_text=True)
    assert '<link rel="stylesheet" href="/brand.css">' in page
    css = client.get("/brand.css")
    assert css.mimetype == "text/css" and "--brand: #f2c230;" in css.get_data(as_text=True)


# The friend's page in the certificate's language


def test_every_catalogue_translates_all_of_the_friends_page() -> None:
    import tools.messages

    wanted = {m.id for m in tools.messages.template() if m.id}
    assert {"es", "fr", "de"} <= set(catalog.languages())
    for language in catalog.languages():
        po = catalog.LOCALES / language / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as handle:
            read = read_po(handle)
        entries = {m.id: m for m in read if m.id}
        assert set(entries) == wanted, f"{po}: run python tools/messages.py and translate"
        for message in entries.values():
            assert message.string and not message.fuzzy, f"{po}: {message.id!r} untranslated"
            names = re.findall(r"%\((\w+)\)s", str(message.id))
            assert sorted(names) == sorted(re.findall(r"%\((\w+)\)s", str(message.string)))


def with_locale(ledger: Ledger, locale: str, expires: str = "2027-03-02") -> str:
    code = codes.generate()
    record = certificate(code, "Bob Ng", "Jane Doe", "", 1)
    record.data["locale"] = locale
    record = dataclasses.replace(record, batch_id="b9", expires_on=expires)
    ledger.issue_batch(BatchRecord("b9", "compact", "h", "l.csv", "o.pdf", 1, AT), [record])
    return code


@pytest.mark.parametrize(
    ("locale", "says"),
    [
        (
            "es",
            [
                "Válido",
                "Válido hasta el 2 de marzo de 2027",
                "Qué hacer ahora",
                "Llamar al (555) 010-2030",
                "Acceso del personal",
                "Reserva tu visita",
            ],
        ),
        (
            "fr_CA",
            [
                "Valable",
                "Valable jusqu’au 2 mars 2027",
                "Et maintenant",
                "Appeler le (555) 010-2030",
                "Connexion du personnel",
            ],
        ),
        (
            "de_AT",
            [
                "Gültig",
                "Gültig bis 2. März 2027",
                "So geht es weiter",
                "(555) 010-2030 anrufen",
                "Anmeldung für Mitarbeitende",
                "Termin buchen",
            ],
        ),
        ("en", ["Valid", "Valid until 2 March 2027", "What to do next", "Staff sign-in"]),
        ("it", ["Valid", "Valid until 2 March 2027", "What to do next"]),  # no catalogue
    ],
)
def test_the_friends_page_speaks_the_certificates_language(
    ledger: Ledger, locale: str, says: list[str]
) -> None:
    code = with_locale(ledger, locale)
    app = make_app(ledger, book_url="https://book.example")
    page = app.test_client().get(f"/r/{code}").get_data(as_text=True)
    language = locale.split("_")[0] if locale != "it" else "en"
    assert f'<html lang="{language}">' in page
    for words in says:
        assert words in page, words
    staff = staff_client(app).get(f"/r/{code}").get_data(as_text=True)
    assert "Redeem</button>" in staff and "valid until 2 March 2027" in staff  # staff: English


def test_without_a_language_of_its_own_the_page_speaks_the_shops(ledger: Ledger) -> None:
    code = with_locale(ledger, "", expires="2027-01-05")
    page = make_app(ledger, locale="fr").test_client().get(f"/r/{code}").get_data(as_text=True)
    assert '<html lang="fr">' in page and "Valable jusqu’au 5 janvier 2027" in page


def test_a_list_names_the_friends_language_by_code_or_name(env: Path) -> None:
    Path("list.csv").write_text(
        "to,from,language\nAna,Jane,Spanish\nLuc,Jane,fr-CA\nMax,Jane,\nKurt,Jane,Martian\n"
    )
    status, _, err = invoke(
        "issue", "list.csv", "-d", "compact", "--set", "business=B", "-o", "a.pdf"
    )
    assert status == 3
    assert "list.csv, row 5, column 'language': 'Martian' is not a language" in err
    Path("list.csv").write_text(
        "to,from,language\nAna,Jane,Spanish\nLuc,Jane,fr-CA\nMax,Jane,\nUta,Jane,Deutsch\n"
    )
    status, _, err = invoke(
        "issue", "list.csv", "-d", "compact", "--set", "business=B", "-o", "a.pdf"
    )
    assert status == 0, err
    with open_ledger(load().ledger) as opened:
        found = {r.recipient: r.data.get("locale") for r in opened.search("jane")}
    assert found == {"Ana": "es", "Luc": "fr_CA", "Max": None, "Uta": "de"}


def test_a_look_just_before_the_server_stops_is_still_counted(
    ledger: Ledger, made: list[str], tmp_path: Path
) -> None:
    """`certgen serve` stopped by its service manager (SIGTERM) right after a look: the
    queued view is written before it exits."""
    port = free_port()
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    server = subprocess.Popen(
        [sys.executable, "-m", "certgen", "serve", "--port", str(port), "--ledger", url],
        stderr=subprocess.PIPE,
    )
    try:
        listening(server, port)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", f"/r/{made[0]}", headers={"User-Agent": BROWSER})
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        server.terminate()
        assert server.wait(timeout=10) == 0, server.stderr.read()  # type: ignore[union-attr]
    assert [e.kind for e in ledger.events(made[0])] == ["issued", "viewed"]
