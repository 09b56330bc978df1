"""The redemption page and API through Flask's test client: what a customer, staff and an
attacker each get."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from certgen import codes, web, web_api
from certgen.config import Web
from certgen.ledger import Ledger, open_ledger
from tests.helpers import issue_rows, load, rows

PERSONAL = {
    "recipient": "Zelda Quux-Personal",
    "giver": "Jane Referrer-Secret",
    "giver_email": "jane.secret@example.com",
    "business": "Northside <b>Physio</b>",
    "offer": "A free <script>alert(1)</script> check",
    "expires": "2099-12-31",
}


@pytest.fixture
def issued(tmp_path: Path) -> list[str]:
    """A valid certificate and an expired one."""
    design = load("modern")
    people = [PERSONAL, {"recipient": "Expired", "expires": "2020-01-01"}]
    return issue_rows(tmp_path, design, rows(design, people)).codes


@pytest.fixture
def code(issued: list[str]) -> str:
    return issued[0]


@pytest.fixture
def app(ledger: Ledger, code: str) -> Flask:
    return web.create_app(ledger, Web(secret_key="test-secret", lookups_per_minute=5))


def sign_in(client: FlaskClient, name: str = "Sam", password: str = "pin12345") -> int:
    page = client.get("/signin").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    return client.post(
        "/signin", data={"name": name, "password": password, "csrf": token}
    ).status_code


def csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_public_page_shows_state_offer_and_business_but_nothing_personal(
    app: Flask, code: str
) -> None:
    response = app.test_client().get(f"/r/{codes.display(code).lower()}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="outcome state-valid"' in page and ">Valid<" in page
    assert "Northside &lt;b&gt;Physio&lt;/b&gt;" in page  # escaped, not markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    for value in (PERSONAL["recipient"], PERSONAL["giver"], PERSONAL["giver_email"]):
        for form in (value, value.replace(" ", "%20"), value.replace("@", "%40")):
            assert form not in page
    assert "Redeem</button>" not in page


def test_security_headers(app: Flask, code: str) -> None:
    response = app.test_client().get(f"/r/{code}")
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_get_never_redeems(app: Flask, ledger: Ledger, code: str) -> None:
    client = app.test_client()
    sign_in(client)
    for _ in range(3):
        client.get(f"/r/{code}")
    assert ledger.get(code).redeemed_at is None  # type: ignore[union-attr]


def test_staff_redeem_then_already_redeemed(app: Flask, ledger: Ledger, code: str) -> None:
    client = app.test_client()
    assert sign_in(client) == 303
    page = client.get(f"/r/{code}").get_data(as_text=True)
    assert "Redeem</button>" in page and PERSONAL["recipient"] in page  # staff see who
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    done = client.post(f"/r/{code}/redeem", data={"csrf": token}, follow_redirects=True)
    assert '<p class="outcome ok" role="status">Redeemed</p>' in done.get_data(as_text=True)
    again = client.get(f"/r/{code}").get_data(as_text=True)  # a reload: still this visit's
    assert '<p class="outcome ok" role="status">Redeemed</p>' in again
    assert "Just now by Sam" in again and "Redeem</button>" not in again
    assert ledger.get(code).redeemed_via == "web"  # type: ignore[union-attr]


def test_a_redemption_of_an_earlier_visit_is_already_redeemed(
    app: Flask, ledger: Ledger, issued: list[str]
) -> None:
    code = issued[0]
    at = "2026-01-05T15:30:00+00:00"
    assert ledger.redeem(code, at=at, today="2026-01-05", actor="Kim", channel="cli", note=None)
    client = app.test_client()
    sign_in(client)
    page = client.get(f"/r/{code}").get_data(as_text=True)
    assert 'class="outcome state-redeemed" role="status">Already redeemed<' in page
    assert "by Kim (cli)" in page and "Undo redemption" not in page


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_redeem_without_the_right_csrf_token_is_refused(
    app: Flask, ledger: Ledger, code: str, token: str | None
) -> None:
    client = app.test_client()
    sign_in(client)
    data = {} if token is None else {"csrf": token}
    response = client.post(f"/r/{code}/redeem", data=data)
    assert response.status_code == 400 and "did not come from this site" in response.get_data(
        as_text=True
    )
    assert ledger.get(code).redeemed_at is None  # type: ignore[union-attr]


def test_signed_out_post_is_refused(app: Flask, ledger: Ledger, code: str) -> None:
    client = app.test_client()
    token = csrf(client, "/signin")  # a valid token for an anonymous session
    response = client.post(f"/r/{code}/redeem", data={"csrf": token})
    assert response.status_code == 403
    assert ledger.get(code).redeemed_at is None  # type: ignore[union-attr]


def test_wrong_password_then_each_try_waits_longer(app: Flask) -> None:
    client = app.test_client()
    statuses = [sign_in(client, password="wrong") for _ in range(web.FREE_TRIES)]
    assert statuses == [401] * web.FREE_TRIES
    refused = client.post("/signin", data={"name": "Sam", "password": "pin12345"})
    assert refused.status_code == 400  # no form token: refused before it counts as a try
    assert sign_in(client) == 429  # the next try waits, even with the right password
    assert web.account_wait([0, 1, 2, 2.5], 2.5, 10) == 1  # the 4th try: 1 s after the 3rd
    assert web.account_wait([0, 1, 2, 3, 3.5], 3.5, 10) == 2  # the 5th: 2 s, then 4 s ...
    assert web.account_wait([0, 1, 2, 3, 5.5], 5.5, 10) == 0
    assert web.account_wait([float(i) for i in range(11)], 10, 10) == 891  # past the limit


def _session_rows(ledger: Ledger, sql: str) -> None:
    import sqlalchemy as sa

    with ledger.engine.begin() as conn:
        conn.execute(sa.text(sql))


def test_sign_out_ends_the_session_even_for_a_copied_cookie(
    app: Flask, ledger: Ledger, code: str
) -> None:
    client = app.test_client()
    assert sign_in(client) == 303
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    assert "Redeem</button>" in thief.get(f"/r/{code}").get_data(as_text=True)
    client.post("/signout", data={"csrf": csrf(client, f"/r/{code}")})
    assert "Redeem</button>" not in thief.get(f"/r/{code}").get_data(as_text=True)
    thief.set_cookie("session", cookie.value)  # the captured cookie, again
    assert thief.post(f"/r/{code}/redeem", data={"csrf": "x"}).status_code in (400, 403)
    assert ledger.get(code).redeemed_at is None  # type: ignore[union-attr]


def test_removing_or_signing_out_a_person_ends_their_sessions_at_once(
    app: Flask, ledger: Ledger, code: str
) -> None:
    phone, counter = app.test_client(), app.test_client()
    assert sign_in(phone) == 303 and sign_in(counter) == 303
    assert ledger.sessions() == {"Sam": 2}
    assert ledger.end_sessions("Sam") == 2  # certgen staff signout Sam
    for client in (phone, counter):
        assert "Redeem</button>" not in client.get(f"/r/{code}").get_data(as_text=True)
    assert sign_in(phone) == 303
    assert ledger.remove_staff("Sam")  # certgen staff remove Sam
    assert "Redeem</button>" not in phone.get(f"/r/{code}").get_data(as_text=True)
    assert ledger.sessions() == {}


def test_an_idle_session_ends(ledger: Ledger, code: str) -> None:
    app = web.create_app(ledger, Web(secret_key="k", session_minutes=1))
    client = app.test_client()
    sign_in(client)
    assert "Redeem</button>" in client.get(f"/r/{code}").get_data(as_text=True)
    _session_rows(ledger, "UPDATE staff_sessions SET last_seen = last_seen - 61")
    assert "Redeem</button>" not in client.get(f"/r/{code}").get_data(as_text=True)


def test_guesses_from_many_addresses_get_at_most_the_accounts_checks(ledger: Ledger) -> None:
    app = web.create_app(ledger, Web(secret_key="k", sign_ins_per_account=10))
    checked = 0
    for guess in range(100):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{guess % 20}"
        status = sign_in(client, password=f"guess{guess:04d}")
        checked += status == 401  # a 401 is a password checked; a 429 was not checked
        assert status in (401, 429)
        _session_rows(ledger, "UPDATE sign_in_attempts SET at = at - 5")  # a guess every 5 s
    assert 1 <= checked <= 10, checked


def test_concurrent_guesses_are_counted_before_they_are_checked(ledger: Ledger) -> None:
    import threading

    app = web.create_app(ledger, Web(secret_key="k", sign_ins_per_account=5))
    clients = [app.test_client() for _ in range(40)]
    forms = []
    for i, client in enumerate(clients):
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{i}"
        forms.append(csrf(client, "/signin"))
    start, results = threading.Barrier(40), []

    def guess(client: FlaskClient, token: str) -> None:
        start.wait()
        data = {"name": "Sam", "password": "wrong-guess", "csrf": token}
        results.append(client.post("/signin", data=data).status_code)

    threads = [
        threading.Thread(target=guess, args=pair) for pair in zip(clients, forms, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 40 and results.count(401) <= 5, sorted(results)


def test_the_right_password_from_a_busy_address_still_signs_in(ledger: Ledger) -> None:
    ledger.add_staff("Kim", web.hash_password("kim-password"))
    app = web.create_app(ledger, Web(secret_key="k", sign_ins_per_address=5))
    client = app.test_client()  # one shop's address, everyone's typos
    for name in ("Ann", "Bob", "Cy", "Di", "Ed", "Flo", "Gus"):
        assert sign_in(client, name=name, password="typo") == 401  # one try each: checked
    assert sign_in(client, name="Ann", password="again") == 429  # a second try: not checked
    assert sign_in(client, name="Kim", password="kim-password") == 303


def test_an_unknown_name_takes_as_long_as_a_known_one(app: Flask, ledger: Ledger) -> None:
    import statistics

    for i in range(10):
        ledger.add_staff(f"Known{i}", web.hash_password("a-long-password"))

    def timed(name: str) -> float:  # each name's first try: its password is checked
        client = app.test_client()
        token = csrf(client, "/signin")
        started = time.perf_counter()
        response = client.post("/signin", data={"name": name, "password": "x", "csrf": token})
        assert response.status_code == 401
        return time.perf_counter() - started

    timed("Known9"), timed("Nobody9")  # warm
    # Alternated, so a machine that gets busier part way slows both alike. A name that
    # skipped the password hash would answer in a few milliseconds, not within a third.
    pairs = [(timed(f"Known{i}"), timed(f"Nobody{i}")) for i in range(9)]
    known = statistics.median(k for k, _ in pairs)
    unknown = statistics.median(u for _, u in pairs)
    assert abs(unknown - known) <= 0.35 * known, (known, unknown)


def test_a_post_from_another_site_is_refused(app: Flask, ledger: Ledger, code: str) -> None:
    client = app.test_client()
    sign_in(client)
    token = csrf(client, f"/r/{code}")
    evil = {"Origin": "https://evil.example"}
    response = client.post(f"/r/{code}/redeem", data={"csrf": token}, headers=evil)
    assert response.status_code == 403 and "another site" in response.get_data(as_text=True)
    referer = {"Referer": "https://evil.example/page"}
    assert (
        client.post(f"/r/{code}/redeem", data={"csrf": token}, headers=referer).status_code == 403
    )
    assert ledger.get(code).redeemed_at is None  # type: ignore[union-attr]
    ours = {"Origin": "http://localhost"}
    assert client.post(f"/r/{code}/redeem", data={"csrf": token}, headers=ours).status_code == 303


def test_https_sites_get_secure_cookies_and_hsts(ledger: Ledger) -> None:
    app = web.create_app(ledger, Web(secret_key="k", base_url="https://gifts.example"))
    client = app.test_client()
    page = client.get("/signin", base_url="https://gifts.example")
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert page.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert "Secure" in page.headers["Set-Cookie"] and "HttpOnly" in page.headers["Set-Cookie"]
    plain = web.create_app(ledger, Web(secret_key="k")).test_client().get("/signin")
    assert "Strict-Transport-Security" not in plain.headers
    assert "Secure" not in plain.headers["Set-Cookie"]


def test_unknown_code_lookups_are_rate_limited_per_address(app: Flask, code: str) -> None:
    client = app.test_client()
    for _ in range(5):
        assert client.get(f"/r/{codes.generate()}").status_code == 200
    blocked = client.get(f"/r/{code}")
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    other = app.test_client()
    assert other.get(f"/r/{code}", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 200
    staff = app.test_client()
    sign_in(staff)
    assert staff.get(f"/r/{code}").status_code == 200  # staff are never locked out


def test_behind_a_proxy_each_client_has_its_own_limit(ledger: Ledger, code: str) -> None:
    app = web.create_app(ledger, Web(secret_key="k", lookups_per_minute=2, proxies=1))
    client = app.test_client()
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    for _ in range(2):
        client.get(
            f"/r/{codes.generate()}", environ_base=proxy, headers={"X-Forwarded-For": "203.0.113.7"}
        )
    blocked = client.get(
        f"/r/{code}", environ_base=proxy, headers={"X-Forwarded-For": "203.0.113.7"}
    )
    other = client.get(
        f"/r/{code}", environ_base=proxy, headers={"X-Forwarded-For": "198.51.100.2"}
    )
    assert (blocked.status_code, other.status_code) == (429, 200)


def test_unknown_and_mistyped_look_the_same_to_the_public(app: Flask, code: str) -> None:
    client = app.test_client()
    unknown = client.get(f"/r/{codes.generate()}").get_data(as_text=True)
    typo = client.get(f"/r/{code[:-1]}{'0' if code[-1] != '0' else '1'}").get_data(as_text=True)

    def without_link(page: str) -> str:  # the sign-in link returns to the path asked for
        return re.sub(r"next=[^\"]*", "", page)

    assert ">Not a valid code<" in unknown and without_link(unknown) == without_link(typo)


def test_a_voided_code_looks_like_a_false_one_to_the_public_but_not_to_staff(
    app: Flask, ledger: Ledger, code: str
) -> None:
    from certgen import redeem as redeem_mod

    redeem_mod.void(ledger, code, reason="lost batch", actor="owner")
    client = app.test_client()
    voided = client.get(f"/r/{code}").get_data(as_text=True)
    false = client.get(f"/r/{codes.generate()}").get_data(as_text=True)

    def without_code(page: str) -> str:  # the page repeats the path it was asked for
        return re.sub(r"/r/[^\"<]*|next=[^\"]*", "", page)

    assert ">Not a valid code<" in voided and without_code(voided) == without_code(false)
    assert "Physio" not in voided
    assert sign_in(client) == 303
    assert ">Void<" in client.get(f"/r/{code}").get_data(as_text=True)


def test_the_limiter_forgets_addresses_that_never_come_back() -> None:
    limiter = web.Limiter(limit=5, window=0.05)
    for address in range(1000):
        limiter.hit(f"10.0.{address // 256}.{address % 256}")
    time.sleep(0.06)
    limiter.hit("10.9.9.9")  # any later hit sweeps the idle ones
    assert len(limiter) == 1


def test_expired_certificate(app: Flask, issued: list[str]) -> None:
    page = app.test_client().get(f"/r/{issued[1]}").get_data(as_text=True)
    assert ">Expired<" in page and "This gift expired on 1 January 2020" in page


def test_api_needs_a_token_and_redeems_once(app: Flask, ledger: Ledger, code: str) -> None:
    client = app.test_client()
    assert client.get(f"/api/certificates/{code}").status_code == 401
    assert (
        client.get(
            f"/api/certificates/{code}", headers={"Authorization": "Bearer nope"}
        ).status_code
        == 401
    )
    token = "pos-terminal-token"
    ledger.add_token("Sam", "pos", web_api.hash_token(token), time.time() + 3600)
    auth = {"Authorization": f"Bearer {token}"}
    got = client.get(f"/api/certificates/{codes.display(code)}", headers=auth)
    assert got.status_code == 200 and got.json["status"] == "valid"  # type: ignore[index]
    assert PERSONAL["recipient"] not in got.get_data(as_text=True)
    first = client.post(f"/api/certificates/{code}/redeem", headers=auth)
    assert first.status_code == 200 and first.json["outcome"] == "redeemed"  # type: ignore[index]
    second = client.post(f"/api/certificates/{code}/redeem", headers=auth)
    assert second.status_code == 409 and second.json["outcome"] == "already_redeemed"  # type: ignore[index]
    assert (
        client.post(f"/api/certificates/{codes.generate()}/redeem", headers=auth).status_code == 404
    )
    typo = code[:-1] + ("Z" if code[-1] != "Z" else "Y")
    assert client.post(f"/api/certificates/{typo}/redeem", headers=auth).status_code == 400
    assert ledger.get(code).redeemed_via == "api"  # type: ignore[union-attr]


def test_api_ignores_the_session_cookie(app: Flask, code: str) -> None:
    client = app.test_client()
    sign_in(client)
    assert client.post(f"/api/certificates/{code}/redeem").status_code == 401


def test_openapi_document_is_valid_and_served(app: Flask) -> None:
    spec = app.test_client().get("/api/openapi.json").json
    validate(spec)  # type: ignore[arg-type]
    routes = {
        rule.rule.replace("<text>", "{code}")
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/certificates/")
    }
    assert set(spec["paths"]) == routes  # type: ignore[index]
    assert "/api/certificates/{code}/convert" in routes


def test_the_limiter_forgets_idle_addresses() -> None:
    limiter = web.Limiter(limit=2, window=0.05)
    for address in ("a", "b"):
        limiter.hit(address)
        limiter.hit(address)
    assert limiter.retry_after("a") > 0 and len(limiter) == 2
    time.sleep(0.06)
    assert limiter.retry_after("a") == 0 and limiter.retry_after("b") == 0
    assert len(limiter) == 0


def test_a_locked_ledger_answers_503_with_retry_after_within_5_seconds(
    tmp_path: Path, code: str
) -> None:
    import sqlite3

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url, wait=web.LEDGER_WAIT) as ledger:
        if ledger.password_hash("Sam") is None:
            ledger.add_staff("Sam", web.hash_password("pin12345"))
        assert ledger.add_token("Sam", "pos", web_api.hash_token("t" * 40), time.time() + 3600)
        app = web.create_app(ledger, Web(secret_key="k"))
        holder = sqlite3.connect(tmp_path / "ledger.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            started = time.monotonic()
            response = app.test_client().post(
                f"/api/certificates/{code}/redeem", headers={"Authorization": f"Bearer {'t' * 40}"}
            )
            elapsed = time.monotonic() - started
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert response.status_code == 503 and elapsed < 5, (response.status_code, elapsed)
        assert response.is_json and response.get_json()["outcome"] == "unavailable"
        assert response.headers["Retry-After"] == "5"
        assert ledger.get(code).redeemed_at is None  # type: ignore[union-attr]
        after = app.test_client().post(
            f"/api/certificates/{code}/redeem", headers={"Authorization": f"Bearer {'t' * 40}"}
        )
        assert after.status_code == 200  # the lock gone, the retry works


def test_a_body_over_the_limit_is_refused_with_413(app: Flask, code: str) -> None:
    client = app.test_client()
    big = {"name": "Sam", "password": "x" * (web.MAX_BODY + 1)}
    assert client.post("/signin", data=big).status_code == 413
    api = client.post(f"/api/certificates/{code}/redeem", data=b"x" * (web.MAX_BODY + 1))
    assert api.status_code == 413 and api.is_json


def test_an_idempotency_key_replays_the_first_answer(
    app: Flask, ledger: Ledger, issued: list[str]
) -> None:
    code, other = issued
    ledger.add_token("Sam", "pos", web_api.hash_token("k" * 40), time.time() + 3600)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {'k' * 40}", "Idempotency-Key": "pos-7-sale-1001"}
    first = client.post(f"/api/certificates/{code}/redeem", headers=auth)
    again = client.post(f"/api/certificates/{code}/redeem", headers=auth)  # the answer was lost
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json() and again.get_json()["outcome"] == "redeemed"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len([e for e in ledger.events(code) if e.kind == "redeemed"]) == 1
    fresh = dict(auth, **{"Idempotency-Key": "pos-7-sale-1002"})
    assert client.post(f"/api/certificates/{code}/redeem", headers=fresh).status_code == 409
    elsewhere = client.post(f"/api/certificates/{other}/redeem", headers=auth)
    assert elsewhere.status_code == 422 and "was used for POST" in elsewhere.get_json()["message"]
    no_key = {"Authorization": auth["Authorization"]}
    assert client.post(f"/api/certificates/{code}/redeem", headers=no_key).status_code == 409


def test_api_tokens_are_named_expire_and_are_revoked_one_by_one(
    env: Path, tmp_path: Path, issued: list[str]
) -> None:
    from tests.test_cli import invoke

    code, other = issued
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as ledger:
        if ledger.password_hash("Sam") is None:
            ledger.add_staff("Sam", web.hash_password("pin12345"))
    made = {
        label: invoke("staff", "token", "Sam", "--label", label, "--ledger", url)
        for label in ("till-1", "till-2")
    }
    assert all(answer[0] == 0 for answer in made.values())
    assert "Token 'till-1' for Sam, valid until" in made["till-1"][2]
    tokens = {label: answer[1].strip() for label, answer in made.items()}
    listed = invoke("staff", "tokens", "--ledger", url)[1]
    assert "till-1" in listed and "till-2" in listed and "never" in listed  # not used yet
    assert not any(t in listed for t in tokens.values())

    def lookup(token: str) -> int:
        with open_ledger(url) as ledger:
            client = web.create_app(ledger, Web(secret_key="k")).test_client()
            auth = {"Authorization": f"Bearer {token}"}
            return client.get(f"/api/certificates/{code}", headers=auth).status_code

    assert lookup(tokens["till-1"]) == lookup(tokens["till-2"]) == 200
    assert invoke("staff", "revoke", "Sam", "till-1", "--ledger", url)[0] == 0
    assert lookup(tokens["till-1"]) == 401 and lookup(tokens["till-2"]) == 200
    assert invoke("staff", "revoke", "Sam", "till-1", "--ledger", url)[0] == 6
    # A new token of a label replaces the old one; an expired token is refused.
    with open_ledger(url) as ledger:
        ledger.add_token("Sam", "till-2", web_api.hash_token("old" * 14), time.time() - 1)
    assert lookup(tokens["till-2"]) == 401 and lookup("old" * 14) == 401
    assert "(expired)" in invoke("staff", "tokens", "Sam", "--ledger", url)[1]
    with open_ledger(url) as ledger:
        ledger.add_token("Sam", "till-3", web_api.hash_token("new" * 14), time.time() + 60)
    assert lookup("new" * 14) == 200
    assert (
        "Revoked 2 API tokens of Sam"
        in invoke("staff", "revoke", "Sam", "--all", "--ledger", url)[1]
    )
    assert lookup("new" * 14) == 401


def test_staff_removal_revokes_every_token(env: Path, tmp_path: Path, issued: list[str]) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as ledger:
        if ledger.password_hash("Sam") is None:
            ledger.add_staff("Sam", web.hash_password("pin12345"))
        ledger.add_token("Sam", "pos", web_api.hash_token("p" * 40), time.time() + 60)
        assert ledger.staff_for_token(web_api.hash_token("p" * 40), time.time()) == "Sam"
        assert ledger.remove_staff("Sam")
        ledger.add_staff("Sam", web.hash_password("pin12345"))  # the same name again
        assert ledger.staff_for_token(web_api.hash_token("p" * 40), time.time()) is None
        assert ledger.tokens("Sam") == []


def test_a_token_made_before_m014_keeps_working_for_90_days(tmp_path: Path) -> None:
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'old.db'}"
    with open_ledger(url) as ledger:
        ledger.add_staff("Sam", web.hash_password("pin12345"))
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the ledger as m013 left it, with Sam's one token
        conn.execute(sa.text("DROP TABLE api_tokens"))
        conn.execute(sa.text("DELETE FROM certgen_migrations WHERE name = 'm014_api_tokens'"))
        conn.execute(
            sa.text("UPDATE staff SET token_hash = :h"), {"h": web_api.hash_token("o" * 40)}
        )
    engine.dispose()
    with open_ledger(url) as ledger:
        [token] = ledger.tokens("Sam")
        assert token.label == "default"
        assert 89 < (token.expires_at - time.time()) / 86400 <= 90
        assert ledger.staff_for_token(web_api.hash_token("o" * 40), time.time()) == "Sam"
