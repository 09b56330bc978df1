"""The referrer's thank-you over a real SMTP conversation (aiosmtpd on loopback)."""

from __future__ import annotations

import email
import json
import re
import socket
import time
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from certgen import codes, web
from certgen import config as config_mod
from certgen.cli.base import mailer_for
from certgen.config import Web
from certgen.ledger import Ledger, notifications, open_ledger
from tests.test_cli import invoke


class Inbox:
    """Collects delivered messages; ``reject`` makes it refuse every recipient."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.reject = False

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:  # noqa: N802
        if self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


def bodies(message: Message) -> dict[str, str]:
    """Each text part of a message by its type, decoded."""
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for part in message.walk()
        if part.get_content_maintype() == "text"
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, Controller]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller
    controller.stop()


def configure(port: int, friend_name: bool = False) -> None:
    Path("certgen.toml").write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f'sender = "hello@northside.example"\n'
        f"[notify]\ninclude_friend_name = {'true' if friend_name else 'false'}\n"
    )


def issue_one(email_address: str = "jane.secret@example.com") -> str:
    exit_code, out, err = invoke(
        "issue",
        "-d",
        "modern",
        "--to",
        "Zelda Friend",
        "--from",
        "Jane Doe",
        "--set",
        "business=Northside Physio",
        "--set",
        f"giver_email={email_address}",
        "-o",
        f"{email_address}.pdf",  # certgen writes over no other run's file
    )
    assert exit_code == 0, err
    return codes.normalize(re.search(r"Code: (\S+)", out).group(1))  # type: ignore[union-attr]


def test_redeeming_thanks_the_referrer_once_without_the_code_or_the_friend(
    smtp: tuple[Inbox, Controller],
) -> None:
    inbox, controller = smtp
    configure(controller.port)
    code = issue_one()
    exit_code, out, err = invoke("redeem", code, "--by", "Sam")
    assert exit_code == 0 and "Thank-you email sent to the referrer." in err
    [message] = inbox.messages
    assert (
        message["To"] == "jane.secret@example.com" and message["From"] == "hello@northside.example"
    )
    assert message["Subject"] == "Your gift was used at Northside Physio"
    texts = bodies(message)
    assert set(texts) == {"text/plain", "text/html"}, "a real text and HTML message"
    for body in texts.values():
        assert "Hi Jane," in body and "Northside Physio" in body
        assert "Zelda" not in body and code not in body and codes.display(code) not in body
    assert invoke("redeem", code)[0] == 8
    assert len(inbox.messages) == 1  # once per certificate


def test_the_friend_is_named_only_when_the_business_allows_it(
    smtp: tuple[Inbox, Controller],
) -> None:
    inbox, controller = smtp
    configure(controller.port, friend_name=True)
    invoke("redeem", issue_one())
    assert all("Zelda Friend" in body for body in bodies(inbox.messages[0]).values())


def test_a_refused_recipient_never_undoes_the_redemption_and_is_retried(
    smtp: tuple[Inbox, Controller], env: Path
) -> None:
    inbox, controller = smtp
    configure(controller.port)
    inbox.reject = True
    code = issue_one()
    exit_code, _, err = invoke("redeem", code)
    assert exit_code == 0 and "failed; `certgen notify --retry`" in err
    with open_ledger(f"sqlite:///{env / 'ledger.db'}") as ledger:
        assert ledger.get(code).redeemed_at is not None  # type: ignore[union-attr]
    listing = invoke("notify")[1]
    assert "\tfailed\t1 attempts\t" in listing and "550" in listing
    assert invoke("notify", "--retry")[0] == 1  # still refused: a script sees it
    inbox.reject = False
    exit_code, out, _ = invoke("notify", "--retry")
    assert exit_code == 0 and out.strip() == "sent 1, failed 0"
    assert invoke("notify", "--retry")[1].strip() == "sent 0, failed 0"
    assert len(inbox.messages) == 1


def test_a_server_that_is_down_loses_nothing() -> None:
    inbox, port = Inbox(), free_port()
    configure(port)  # nothing listens there yet
    code = issue_one()
    exit_code, _, err = invoke("redeem", code)
    assert exit_code == 0 and "failed" in err
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert invoke("notify", "--retry")[1].strip() == "sent 1, failed 0"
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


def test_no_mail_settings_queue_and_outbox_writes_eml(tmp_path: Path) -> None:
    code = issue_one()
    exit_code, _, err = invoke("redeem", code)
    assert exit_code == 0 and "queued" in err
    outbox = tmp_path / "outbox"
    assert invoke("notify", "--retry", "--outbox", str(outbox))[1].strip() == "sent 1, failed 0"
    [eml] = outbox.glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes())
    assert message["To"] == "jane.secret@example.com"


def test_a_bad_address_is_refused_at_issue_time() -> None:
    exit_code, _, err = invoke(
        "issue", "-d", "modern", "--set", "business=A", "--set", "giver_email=not-an-address"
    )
    assert exit_code == 3 and "'not-an-address' is not an email address" in err


def test_redeeming_on_the_page_sends_off_the_request(
    smtp: tuple[Inbox, Controller], env: Path
) -> None:
    inbox, controller = smtp
    configure(controller.port)
    code = issue_one()
    config = config_mod.load()
    with open_ledger(config.ledger) as ledger:
        redeem_on_the_page(ledger, config, code)
        assert len(inbox.messages) == 1 and ledger.notifications("sent")


def redeem_on_the_page(ledger: Ledger, config: config_mod.Config, code: str) -> None:
    """Sam signs in on the page and redeems ``code``; returns once the thank-you is sent
    (the sender thread records "sent" just after the server has the message)."""
    ledger.add_staff("Sam", web.hash_password("pin12345"))
    app = web.create_app(ledger, Web(secret_key="k"), mailer_for(config, None))
    client = app.test_client()
    page = client.get("/signin").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    client.post("/signin", data={"name": "Sam", "password": "pin12345", "csrf": token})
    page = client.get(f"/r/{code}").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    client.post(f"/r/{code}/redeem", data={"csrf": token})
    deadline = time.monotonic() + 20  # a new gift is drawn in the sender's thread first
    while not ledger.notifications("sent") and time.monotonic() < deadline:
        time.sleep(0.05)


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, trusted below through SSL_CERT_FILE."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.mark.parametrize(("password", "delivered"), [("s3cret", True), ("wrong", False)])
def test_starttls_and_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, password: str, delivered: bool
) -> None:
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert_file, key_file = _certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_file, key_file)
    logins: list[tuple[str, bool]] = []

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        ok = data.login == b"gifts" and data.password == b"s3cret"
        logins.append((data.login.decode(), session.ssl is not None))
        return AuthResult(success=ok, handled=False)  # the server sends 235 or 535

    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # trust our certificate, verify as usual
    monkeypatch.setenv("CERTGEN_SMTP_PASSWORD", password)
    Path("certgen.toml").write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "starttls"\n'
        'username = "gifts"\nsender = "gifts@northside.example"\n'
    )
    try:
        exit_code, _, err = invoke("redeem", issue_one())
    finally:
        controller.stop()
    assert exit_code == 0  # the redemption stands either way
    # credentials only ever travel inside TLS (on refusal smtplib tries PLAIN, then LOGIN)
    assert logins and all(login == ("gifts", True) for login in logins)
    assert len(inbox.messages) == (1 if delivered else 0)
    assert ("sent" if delivered else "failed") in err
    if not delivered:
        with open_ledger(config_mod.load().ledger) as ledger:
            [failed] = ledger.notifications("failed")
        assert "535" in failed["last_error"]  # refused credentials, said by the server


def test_a_sender_that_died_mid_send_is_retried_later_but_a_live_one_is_not(
    smtp: tuple[Inbox, Controller], env: Path
) -> None:
    inbox, controller = smtp
    configure(controller.port)
    stuck, busy = issue_one(), issue_one("kim@example.com")
    Path("certgen.toml").unlink()  # no mail settings: both are only queued when redeemed
    invoke("redeem", stuck)
    invoke("redeem", busy)
    configure(controller.port)
    with open_ledger(f"sqlite:///{env / 'ledger.db'}") as ledger:
        for code in (stuck, busy):
            assert ledger.claim_notification(code)  # a sender takes each, then...
        with ledger.engine.begin() as conn:  # ...the one holding `stuck` died 20 minutes ago
            conn.execute(
                notifications.update()
                .where(notifications.c.code == stuck)
                .values(claimed_at="2000-01-01T00:00:00+00:00")
            )
    assert invoke("notify", "--retry")[1].strip() == "sent 1, failed 0"
    assert [m["To"] for m in inbox.messages] == ["jane.secret@example.com"]


def test_a_line_separator_in_the_business_name_never_stops_the_thank_you_queue(
    smtp: tuple[Inbox, Controller], env: Path
) -> None:
    inbox, controller = smtp
    configure(controller.port)
    exit_code, out, err = invoke(
        "issue", "-d", "modern", "--to", "Zelda", "--from", "Jane",
        "--set", "business=Northside\u2028Physio\u2029Ltd", "--set", "giver_email=jane@example.com",
        "-o", "odd.pdf",
    )  # fmt: skip
    if exit_code != 0:  # certgen refuses the character at issue: the queue never sees it
        assert "U+2028" in err and "Traceback" not in err
        code = None
    else:
        code = codes.normalize(re.search(r"Code: (\S+)", out).group(1))  # type: ignore[union-attr]
    # One already in the ledger (an older certgen let it in): its thank-you still goes.
    with open_ledger(f"sqlite:///{env / 'ledger.db'}") as ledger:
        import sqlalchemy as sa

        later = issue_one("later@example.com")
        odd = issue_one("odd@example.com")
        data = ledger.get(odd).data  # type: ignore[union-attr]
        data["business"] = "Northside\u2028Physio"
        with ledger.engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE certificates SET data_json = :d WHERE code = :c"),
                {"d": json.dumps(data), "c": odd},
            )
    exit_code, _, err = invoke("redeem", odd)
    assert exit_code == 0 and "Traceback" not in err and "Thank-you email sent" in err
    assert inbox.messages[-1]["Subject"] == "Your gift was used at Northside Physio"
    assert invoke("redeem", later)[0] == 0
    assert len(inbox.messages) == 2
    assert code is None or invoke("redeem", code)[0] == 0


def test_a_thank_you_that_cannot_be_written_fails_alone_and_the_queue_goes_on(
    env: Path,
) -> None:
    inbox = Inbox()
    port = free_port()
    configure(port)  # the server is down: both wait in the queue
    broken, fine = issue_one("broken@example.com"), issue_one("fine@example.com")
    for code in (broken, fine):
        assert invoke("redeem", code)[0] == 0
    with open_ledger(f"sqlite:///{env / 'ledger.db'}") as ledger:
        import sqlalchemy as sa

        with ledger.engine.begin() as conn:  # a recipient no header can hold
            conn.execute(
                sa.update(notifications).where(notifications.c.code == broken)
                .values(recipient="a@b\r\nBcc: x@evil.example")
            )  # fmt: skip
            data = ledger.get(broken).data  # type: ignore[union-attr]
            data["giver_email"] = "a@b\r\nBcc: x@evil.example"
            conn.execute(
                sa.text("UPDATE certificates SET data_json = :d WHERE code = :c"),
                {"d": json.dumps(data), "c": broken},
            )
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        exit_code, out, err = invoke("notify", "--retry")
    finally:
        controller.stop()
    assert "Traceback" not in err and out.strip() == "sent 1, failed 1" and exit_code == 1
    assert [m["To"] for m in inbox.messages] == ["fine@example.com"]
    listing = invoke("notify")[1]
    assert f"{broken}\tfailed" in listing and "ValueError" in listing
