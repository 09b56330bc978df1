"""The redemption page and API through Flask's test client: what a customer, staff and an
attacker each get."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from certgen import codes, web
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
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as opened:
        opened.add_staff("Sam", web.hash_password("pin1234"))
        yield opened


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


def sign_in(client: FlaskClient, name: str = "Sam", password: str = "pin1234") -> int:
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
    again = client.get(f"/r/{code}").get_data(as_text=True)
    assert ">Already redeemed<" in again and "by Sam (web)" in again
    assert ledger.get(code).redeemed_via == "web"  # type: ignore[union-attr]


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


def test_wrong_password_and_sign_in_backoff(app: Flask) -> None:
    client = app.test_client()
    statuses = [sign_in(client, password="wrong") for _ in range(web.SIGN_INS_PER_MINUTE)]
    assert statuses == [401] * web.SIGN_INS_PER_MINUTE
    assert sign_in(client) == 429  # even the right password waits now


def test_sign_out_and_session_expiry(ledger: Ledger, code: str) -> None:
    app = web.create_app(ledger, Web(secret_key="k", session_minutes=1))
    client = app.test_client()
    sign_in(client)
    assert "Redeem</button>" in client.get(f"/r/{code}").get_data(as_text=True)
    client.post("/signout", data={"csrf": csrf(client, f"/r/{code}")})
    assert "Redeem</button>" not in client.get(f"/r/{code}").get_data(as_text=True)
    sign_in(client)
    with client.session_transaction() as session:
        session["since"] = time.time() - 61
    assert "Redeem</button>" not in client.get(f"/r/{code}").get_data(as_text=True)


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


def test_expired_certificate(app: Flask, issued: list[str]) -> None:
    page = app.test_client().get(f"/r/{issued[1]}").get_data(as_text=True)
    assert ">Expired<" in page and "It expired on 2020-01-01" in page


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
    ledger.set_token_hash("Sam", web.hash_token(token))
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
    assert set(spec["paths"]) == {"/api/certificates/{code}", "/api/certificates/{code}/redeem"}  # type: ignore[index]


def test_the_limiter_forgets_idle_addresses() -> None:
    limiter = web.Limiter(limit=2, window=0.05)
    for address in ("a", "b"):
        limiter.hit(address)
        limiter.hit(address)
    assert limiter.retry_after("a") > 0 and len(limiter) == 2
    time.sleep(0.06)
    assert limiter.retry_after("a") == 0 and limiter.retry_after("b") == 0
    assert len(limiter) == 0
