"""certgen send over a real SMTP conversation (aiosmtpd on loopback): what each recipient
gets, and that a refused recipient, a dropped connection or a killed run loses no delivery
and sends none twice."""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
import sqlalchemy as sa
import zxingcpp
from aiosmtpd.controller import Controller
from PIL import Image

from certgen import codes, mail
from certgen import config as config_mod
from certgen.ledger import open_ledger
from certgen.send import Throttle
from tests.test_cli import invoke
from tests.test_mail import free_port

BASE = "https://gifts.example"


class Server:
    """Accepts mail like a real server, with faults to order: addresses it refuses for
    good, messages (by number) before whose content it hangs up (so it never had them),
    and a delay before each "250"."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()
        self.drop_at: set[int] = set()
        self.on_drop: Callable[[], None] | None = None  # e.g. the server going away
        self.attempts = 0
        self.data_commands = 0
        self.connections = 0
        self.delay = 0.0  # seconds before each "250", as a slow or overloaded server takes

    async def handle_EHLO(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        self.attempts += 1
        if self.attempts in self.drop_at:
            server.transport.close()  # gone before the message: it never had it
            if self.on_drop:
                self.on_drop()
            return "421 closing"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.data_commands += 1
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)
        await asyncio.sleep(self.delay)
        return "250 Message accepted"

    def to(self) -> Counter[str]:
        return Counter(str(m["To"].addresses[0].addr_spec) for m in self.messages)


@pytest.fixture
def server(env: Path) -> Iterator[tuple[Server, Controller]]:
    handler = Server()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    configure(controller.port)
    yield handler, controller
    controller.stop()


def configure(port: int) -> None:
    Path("certgen.toml").write_text(
        f'base_url = "{BASE}"\n[defaults]\nbusiness = "Northside Physio"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        'sender = "hello@northside.example"\n'
    )


def people(count: int) -> list[tuple[str, str, str]]:
    return [(f"Friend {i}", f"Customer {i}", f"friend{i}@example.com") for i in range(count)]


def write_csv(rows: list[tuple[str, str, str]], name: str = "friends.csv") -> Path:
    path = Path(name)
    path.write_text("Recipient,From,Email\n" + "".join(f"{r},{g},{e}\n" for r, g, e in rows))
    return path


def sqlite_url(env: Path) -> str:
    return f"sqlite:///{env / 'ledger.db'}"


@pytest.fixture
def ledger(ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The run's ledger, on each engine (CERTGEN_LEDGER, as a shared install sets it)."""
    monkeypatch.setenv("CERTGEN_LEDGER", ledger_url)
    return ledger_url


def ledger_rows(url: str, query: str) -> list[tuple[Any, ...]]:
    """Rows of a query, read with a connection of its own (a SQLite file, read-only)."""
    if url.startswith("sqlite:///"):
        url = f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true"
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


def attachment_qr(message: EmailMessage) -> list[str]:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    data = part.get_content()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-32:]
    doc = pdfium.PdfDocument(io.BytesIO(data))
    assert len(doc) == 1
    image = doc[0].render(scale=150 / 72).to_pil()
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    doc.close()
    return [r.text for r in found]


def test_each_recipient_gets_their_own_certificate_as_a_pdf(
    server: tuple[Server, Controller], env: Path
) -> None:
    handler, _ = server
    rows = people(3)
    exit_code, out, err = invoke("send", str(write_csv(rows)), "-d", "modern")
    assert exit_code == 0, err
    assert out.startswith("Sent 3 emails in ")
    assert handler.to() == Counter(e for _, _, e in rows)
    codes_by_address = dict(
        ledger_rows(sqlite_url(env), "SELECT address, code FROM deliveries WHERE status = 'sent'")
    )
    for message in handler.messages:
        address = message["To"].addresses[0]
        recipient, giver, _ = next(r for r in rows if r[2] == address.addr_spec)
        code = codes_by_address[address.addr_spec]
        assert address.display_name == recipient
        assert message["From"] == "hello@northside.example"
        assert message["Subject"] == f"{giver} sent you a gift from Northside Physio"
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert f"Hi {recipient.split()[0]}," in text and codes.display(code) in text
        assert f"{BASE}/r/{code}" in text and f'href="{BASE}/r/{code}"' in html
        assert attachment_qr(message) == [f"{BASE}/r/{code}"]
        assert message["Message-ID"].startswith(f"<{code}.")
    events = ledger_rows(
        sqlite_url(env), "SELECT code, detail_json FROM events WHERE kind = 'emailed'"
    )
    assert sorted(c for c, _ in events) == sorted(codes_by_address.values())
    listing = invoke("runs")[1]
    assert "sent 3/3" in listing and "email via 127.0.0.1" in listing


def test_values_are_escaped_in_the_html_body(server: tuple[Server, Controller]) -> None:
    handler, _ = server
    rows = [("Bob", "<b>Jane</b> & co", "bob@example.com")]
    Path("x.csv").write_text(
        "Recipient,From,Email\n" + "".join(f'"{r}",{g},{e}\n' for r, g, e in rows)
    )
    assert invoke("send", "x.csv", "-d", "modern")[0] == 0
    [message] = handler.messages
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "&lt;b&gt;Jane&lt;/b&gt; &amp; co" in html and "<b>Jane" not in html


def test_bad_and_missing_addresses_are_listed_and_nothing_goes_out(
    server: tuple[Server, Controller], env: Path
) -> None:
    handler, _ = server
    path = Path("friends.csv")
    path.write_text(
        "Recipient,From,Email\nAda,Jane,ada@example.com\nBob,Jane,\nCy,Jane,cy at example\n"
    )
    exit_code, _, err = invoke("send", str(path), "-d", "modern")
    assert exit_code == 3
    assert "friends.csv, row 3, column 'Email'" in err
    assert "friends.csv, row 4, column 'Email': 'cy at example' is not an email address" in err
    assert handler.messages == [] and handler.connections == 0
    assert not (env / "ledger.db").exists() or ledger_rows(
        f"sqlite:///{env / 'ledger.db'}", "SELECT count(*) FROM certificates"
    ) == [(0,)]


def test_a_refused_recipient_is_reported_and_the_others_are_sent_once(
    server: tuple[Server, Controller], ledger: str
) -> None:
    handler, _ = server
    rows = people(4)
    handler.refuse = {rows[1][2]}
    csv = str(write_csv(rows))
    exit_code, out, err = invoke("send", csv, "-d", "modern", "--run-id", "spring")
    assert exit_code == 13 and out.startswith("Sent 3 emails")
    assert "1 of 4 emails were not delivered" in err
    assert (
        "friends.csv, row 3, column 'Email': friend1@example.com: 550 5.1.1 "
        "<friend1@example.com>: mailbox unavailable" in err
    )
    assert handler.to() == Counter(e for _, _, e in rows if e != rows[1][2])
    statuses = dict(ledger_rows(ledger, "SELECT address, status FROM deliveries"))
    assert statuses[rows[1][2]] == "rejected" and list(statuses.values()).count("sent") == 3
    [(detail,)] = ledger_rows(
        ledger, "SELECT detail_json FROM events WHERE kind = 'email_rejected'"
    )
    assert "550 5.1.1" in detail
    # Sending the run again sends nothing twice, and says again what was refused.
    exit_code, out, err = invoke("send", csv, "-d", "modern", "--resume", "spring")
    assert exit_code == 13 and out.startswith("Sent 0 emails") and "3 sent before" in out
    assert "friend1@example.com: 550 5.1.1" in err
    assert len(handler.messages) == 3


def test_a_dropped_connection_loses_nothing_and_sends_nothing_twice(
    server: tuple[Server, Controller],
) -> None:
    handler, _ = server
    rows = people(5)
    handler.drop_at = {2, 4}  # the server hangs up during the 2nd and 4th message
    exit_code, out, err = invoke("send", str(write_csv(rows)), "-d", "modern")
    assert exit_code == 0, err
    assert out.startswith("Sent 5 emails")
    assert handler.to() == Counter(e for _, _, e in rows)  # each exactly once
    assert handler.connections == 3


def test_a_server_that_stays_away_stops_the_run_and_resume_finishes_it(ledger: str) -> None:
    handler = Server()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    configure(controller.port)
    rows = people(4)
    csv = str(write_csv(rows))
    handler.drop_at = {3}
    # After the drop, nothing listens: the run retries, then stops with what is left.
    handler.on_drop = lambda: controller.loop.call_soon(controller.server.close)  # type: ignore[union-attr]
    exit_code, out, err = invoke("send", csv, "-d", "modern", "--run-id", "r1")
    assert exit_code == 13 and out.startswith("Sent 2 emails")
    assert "2 of 4 emails were not delivered; the run stopped: " in err
    assert "certgen send ... --resume r1 sends the ones not sent yet" in err
    statuses = [s for (s,) in ledger_rows(ledger, "SELECT status FROM deliveries")]
    assert sorted(statuses) == ["pending", "pending", "sent", "sent"]
    controller.stop()
    handler.on_drop = None
    controller = Controller(handler, hostname="127.0.0.1", port=controller.port)
    controller.start()
    try:
        exit_code, out, err = invoke("send", csv, "-d", "modern", "--resume", "r1")
    finally:
        controller.stop()
    assert exit_code == 0, err
    assert out.startswith("Sent 2 emails") and "2 sent before" in out
    assert handler.to() == Counter(e for _, _, e in rows)


def test_the_outbox_holds_one_eml_per_recipient_and_a_rerun_adds_none(env: Path) -> None:
    rows = people(3)
    csv = str(write_csv(rows))
    exit_code, out, _ = invoke(
        "send", csv, "-d", "modern", "--outbox", "out", "--run-id", "o", "--set", "business=B"
    )
    assert exit_code == 0 and out.startswith("Wrote 3 emails to out")
    files = sorted(Path("out").glob("*.eml"))
    recorded = sorted(c for (c,) in ledger_rows(sqlite_url(env), "SELECT code FROM certificates"))
    assert [f.stem for f in files] == recorded
    for file in files:
        message = email.message_from_bytes(file.read_bytes(), policy=email.policy.default)
        assert attachment_qr(message) == [f"http://localhost:8000/r/{file.stem}"]
    assert (
        invoke(
            "send", csv, "-d", "modern", "--outbox", "out", "--run-id", "o", "--set", "business=B"
        )[0]
        == 0
    )
    assert sorted(Path("out").glob("*.eml")) == files


def test_nowhere_to_send_is_an_error_that_says_what_to_set(env: Path) -> None:
    exit_code, _, err = invoke(
        "send", str(write_csv(people(1))), "-d", "modern", "--set", "business=B"
    )
    assert exit_code == 1 and "no [smtp] in certgen.toml and no --outbox" in err


def test_one_certificate_from_the_options(server: tuple[Server, Controller]) -> None:
    handler, _ = server
    exit_code, out, err = invoke(
        "send", "-d", "modern", "--to", "Bob Ng", "--from", "Jane", "--email", "bob@example.com"
    )
    assert exit_code == 0, err
    assert out.startswith("Sent 1 email in")
    assert handler.to() == Counter(["bob@example.com"])


def test_the_throttle_spaces_sends_evenly() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    throttle = Throttle(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        throttle.wait()
    now[0] += 1.0  # a pause longer than the gap earns no burst afterwards
    throttle.wait()
    throttle.wait()
    assert slept == [0.25, 0.25, 0.25]


def test_rate_limits_a_real_run(server: tuple[Server, Controller]) -> None:
    handler, _ = server
    started = time.monotonic()
    assert invoke("send", str(write_csv(people(5))), "-d", "modern", "--rate", "10")[0] == 0
    assert time.monotonic() - started >= 0.4  # 5 emails, 0.1 s apart
    assert len(handler.messages) == 5


def delivered(url: str) -> int:
    try:
        return int(ledger_rows(url, "SELECT count(*) FROM deliveries WHERE status = 'sent'")[0][0])
    except sa.exc.SQLAlchemyError:  # not created yet
        return 0


def test_a_killed_run_resumes_and_every_recipient_gets_their_email(
    server: tuple[Server, Controller], ledger: str
) -> None:
    handler, _ = server
    rows = people(12)
    csv = str(write_csv(rows))
    exe = shutil.which("certgen")
    assert exe
    args = [exe, "send", csv, "-d", "modern", "--run-id", "k", "--rate", "8", "-q"]
    process = subprocess.Popen(args, start_new_session=True, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while delivered(ledger) < 4:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = len(handler.messages)
    assert 4 <= before < len(rows)
    exit_code, out, err = invoke("send", csv, "-d", "modern", "--resume", "k")
    assert exit_code == 0, err
    seen = handler.to()
    assert set(seen) == {e for _, _, e in rows}  # nobody missed
    # Only the email in flight at the kill can arrive twice, and both copies are one message.
    twice = [address for address, n in seen.items() if n > 1]
    assert len(twice) <= 1 and all(seen[a] == 2 for a in twice)
    for address in twice:
        ids = {
            str(m["Message-ID"])
            for m in handler.messages
            if m["To"].addresses[0].addr_spec == address
        }
        assert len(ids) == 1
    statuses = ledger_rows(ledger, "SELECT status, count(*) FROM deliveries GROUP BY status")
    assert statuses == [("sent", len(rows))]
    with open_ledger(ledger) as opened:
        issued = opened.batch("k")
    assert len({r.code for r in issued}) == len(rows)


def test_a_test_send_goes_to_one_address_with_the_sample_code_and_records_nothing(
    server: tuple[Server, Controller], env: Path
) -> None:
    handler, _ = server
    write_csv(people(5))
    code, out, err = invoke("send", "friends.csv", "-d", "modern", "--test-to", "me@shop.example")
    assert code == 0, err
    assert "Sent 3 test emails to me@shop.example: the first 3 rows" in out
    assert handler.to() == Counter({"me@shop.example": 3})
    assert [m["Subject"].startswith("[test] ") for m in handler.messages] == [True] * 3
    assert all(attachment_qr(m) == [f"{BASE}/r/{codes.SAMPLE}"] for m in handler.messages)
    assert "Customer 1 thought" in handler.messages[1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert ledger_rows(sqlite_url(env), "SELECT count(*) FROM certificates") == [(0,)]
    assert ledger_rows(sqlite_url(env), "SELECT count(*) FROM deliveries") == [(0,)]
    code, out, _ = invoke(
        "send", "friends.csv", "-d", "modern", "--test-to", "me@shop.example", "--limit", "1"
    )
    assert code == 0 and "Sent 1 test email to" in out and len(handler.messages) == 4
    code, _, err = invoke("send", "friends.csv", "-d", "modern", "--test-to", "not an address")
    assert code == 2 and "is not an email address" in err


def test_every_email_says_how_to_unsubscribe_and_an_unsubscribed_address_is_left_out(
    server: tuple[Server, Controller], env: Path
) -> None:
    handler, _ = server
    Path("certgen.toml").write_text(
        Path("certgen.toml")
        .read_text()
        .replace(
            'business = "Northside Physio"',
            'business = "Northside Physio"\naddress = "4 Mill Lane, Leeds LS1 4AB"',
        )
    )
    write_csv(people(3))
    code, out, err = invoke("unsubscribe", "FRIEND1@example.com", "--by", "Sam")
    assert code == 0 and "FRIEND1@example.com: unsubscribed" in out
    assert invoke("unsubscribe")[1].split() == ["friend1@example.com"]
    code, out, err = invoke("send", "friends.csv", "-d", "modern")
    assert code == 0, err
    assert "Note: 1 address asked for no more email and was left out: friend1@example.com" in err
    assert handler.to() == Counter({"friend0@example.com": 1, "friend2@example.com": 1})
    for message in handler.messages:
        # RFC 8058's one-click link on the redemption site, and RFC 2369's mailto.
        link, mailto = message["List-Unsubscribe"].split(", ")
        address = message["To"].addresses[0].addr_spec
        token = mail.unsubscribe_token(config_mod.load().web().secret_key, address)
        assert link == f"<{BASE}/unsubscribe/{token}>"
        assert mailto == "<mailto:hello@northside.example?subject=unsubscribe>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        for body in (text, html):
            assert "4 Mill Lane, Leeds LS1 4AB" in body  # the business's postal address
            assert f"{BASE}/unsubscribe/{token}" in body  # the same link, to click
            assert 'reply with "unsubscribe"' in body or "reply with &#34;unsubscribe&#34;" in body
    assert ledger_rows(sqlite_url(env), "SELECT count(*) FROM certificates") == [(2,)]
    assert invoke("unsubscribe", "friend1@example.com", "--undo")[1].strip().endswith("taken back")


def inline_image(message: EmailMessage) -> tuple[str, bytes]:
    """The HTML body's picture: the cid its <img> names, and the PNG it is."""
    html_part = message.get_body(("html",))
    assert html_part is not None
    related = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(related) == 1
    cid = str(related[0]["Content-ID"]).strip("<>")
    return cid, related[0].get_content()


def png_qr(data: bytes) -> list[str]:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    found = zxingcpp.read_barcodes(image.convert("RGB"), formats=zxingcpp.BarcodeFormat.QRCode)
    return [r.text for r in found]


@pytest.mark.parametrize(
    ("to", "design"),
    [("recipient", "modern"), ("giver", "modern"), ("recipient", "classic"), ("giver", "compact")],
)
def test_both_ways_name_the_right_people_and_show_the_certificate_inline(
    server: tuple[Server, Controller], env: Path, to: str, design: str
) -> None:
    handler, _ = server
    if to == "recipient":  # a list of friends: the business delivers each gift
        write_csv(people(2))
        args = ["friends.csv"]
    else:  # a list of customers: each gets a gift to pass on, the friend's line blank
        Path("customers.csv").write_text(
            "From,Email\nCustomer 0,customer0@example.com\nCustomer 1,customer1@example.com\n"
        )
        args = ["customers.csv", "--address-to", "giver"]
    code, out, err = invoke("send", *args, "-d", design)
    assert code == 0, err
    assert len(handler.messages) == 2
    with open_ledger(sqlite_url(env)) as opened:
        records = {r.code: r for r in opened.batch(opened.runs()[0][0].id)}
    for i, message in enumerate(sorted(handler.messages, key=lambda m: str(m["To"]))):
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        [url] = attachment_qr(message)
        record = records[codes.normalize(url)]
        if to == "recipient":
            assert str(message["To"]) == f"Friend {i} <friend{i}@example.com>"
            assert message["Subject"] == f"Customer {i} sent you a gift from Northside Physio"
            assert text.startswith("Hi Friend,") and f"Customer {i} thought of you" in text
            assert record.recipient == f"Friend {i}"
        else:
            assert str(message["To"]) == f"Customer {i} <customer{i}@example.com>"
            assert message["Subject"].startswith("Customer, a gift for you to pass on")
            assert text.startswith("Hi Customer,") and "pass on to a friend" in text
            assert "sent you a gift" not in text and "sent you a gift" not in message["Subject"]
            assert record.recipient == "" and record.giver == f"Customer {i}"
            assert record.data["giver_email"] == f"customer{i}@example.com"
        # The picture in the HTML is a PNG of the same certificate: its QR code is the code.
        cid, png = inline_image(message)
        assert f'src="cid:{cid}"' in html
        assert png_qr(png) == [url] == [f"{BASE}/r/{record.code}"]
        # The call to action says what the page does: see the gift (it cannot redeem).
        action = "See your gift" if to == "recipient" else "See the gift"
        assert action in html and action in text and "Redeem your gift" not in html
        assert f'href="{url}"' in html


def test_a_customer_list_is_sent_to_the_customers_by_its_profile(
    server: tuple[Server, Controller], env: Path
) -> None:
    handler, _ = server
    Path("customers.csv").write_text(
        "First Name,Last Name,Email\nJane,Doe,jane@example.com\n,,nobody@example.com\n"
    )
    code, out, err = invoke("send", "customers.csv", "-d", "modern", "--list-of", "customers")
    assert code == 2 and "--list-of says who a profile's rows are" in err
    code, out, err = invoke("send", "customers.csv", "-d", "modern", "--profile", "shopify")
    assert code == 3, err  # the second customer has no name to send the gift from
    assert "customers.csv, row 3" in err and not handler.messages
    Path("customers.csv").write_text("First Name,Last Name,Email\nJane,Doe,jane@example.com\n")
    code, out, err = invoke("send", "customers.csv", "-d", "modern", "--profile", "shopify")
    assert code == 0, err
    [message] = handler.messages
    assert str(message["To"]) == "Jane Doe <jane@example.com>"
    assert message["Subject"].startswith("Jane, a gift for you to pass on")


def test_a_giver_list_without_their_emails_says_which_column_is_missing(
    server: tuple[Server, Controller], env: Path
) -> None:
    Path("customers.csv").write_text("From,Address\nCustomer 0,1 Main St\n")
    code, _, err = invoke("send", "customers.csv", "-d", "modern", "--address-to", "giver")
    assert code == 3 and "giver_email" in err and "nothing was" in err.lower()
    Path("customers.csv").write_text("From,Email\nCustomer 0,\nCustomer 1,c1@example.com\n")
    code, _, err = invoke("send", "customers.csv", "-d", "modern", "--address-to", "giver")
    assert code == 3 and "customers.csv, row 2, column 'Email'" in err


def test_without_a_redemption_site_the_email_offers_the_mailto_only(env: Path) -> None:
    Path("certgen.toml").write_text('[defaults]\nbusiness = "Northside Physio"\n')
    write_csv(people(1))
    code, _, err = invoke("send", "friends.csv", "-d", "modern", "--outbox", "out")
    assert code == 0, err
    [eml] = Path("out").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["List-Unsubscribe"] == "<mailto:certgen@localhost?subject=unsubscribe>"
    assert message["List-Unsubscribe-Post"] is None
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert 'Reply with "unsubscribe" and we will send you no more.' in text
    assert "/unsubscribe/" not in text


def test_a_server_that_takes_30_seconds_to_answer_gets_the_message_once(
    server: tuple[Server, Controller], env: Path
) -> None:
    handler, _ = server
    handler.delay = 30.0
    write_csv(people(1))
    started = time.monotonic()
    code, out, err = invoke("send", "friends.csv", "-d", "modern")
    assert code == 0, err
    assert time.monotonic() - started >= 30
    assert len(handler.messages) == 1 and handler.data_commands == 1
    assert ledger_rows(sqlite_url(env), "SELECT status FROM deliveries") == [("sent",)]


def test_a_lost_answer_is_not_sent_again_unless_asked(
    server: tuple[Server, Controller], env: Path
) -> None:
    handler, controller = server
    Path("certgen.toml").write_text(
        Path("certgen.toml")
        .read_text()
        .replace('security = "none"', 'security = "none"\ntimeout = 1')
    )
    handler.delay = 3.0  # longer than this site's timeout: the answer is lost
    write_csv(people(2))
    code, out, err = invoke("send", "friends.csv", "-d", "modern", "--run-id", "slow")
    assert code == 13, err
    assert "may have arrived" in err and "--resend-unknown" in err
    assert handler.data_commands == 2  # each went once; none was sent again
    statuses = ledger_rows(sqlite_url(env), "SELECT status FROM deliveries ORDER BY code")
    assert statuses == [("unknown",), ("unknown",)]
    handler.delay = 0.0
    code, _, err = invoke("send", "friends.csv", "-d", "modern", "--resume", "slow")
    assert code == 13 and handler.data_commands == 2  # a resume leaves them alone
    code, out, err = invoke(
        "send", "friends.csv", "-d", "modern", "--resume", "slow", "--resend-unknown"
    )
    assert code == 0, err
    assert handler.data_commands == 4 and "Sent 2 emails" in out
    kinds = ledger_rows(sqlite_url(env), "SELECT kind FROM events WHERE kind LIKE 'email%'")
    assert sorted(k for (k,) in kinds) == ["email_unknown"] * 2 + ["emailed"] * 2


def _outbox(folder: str) -> dict[str, EmailMessage]:
    """Each .eml in ``folder`` by the address it goes to."""
    found = {}
    for path in Path(folder).glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        found[message["To"].addresses[0].addr_spec] = message
    return found


def test_emails_composed_by_several_processes_are_the_ones_one_process_writes(env: Path) -> None:
    """With --jobs 2 the emails are composed ahead in two processes and still each is its
    own row's, with its own code, recorded and written once, in the rows' order."""
    rows = people(21)  # three batches of composing, the last one short
    csv = str(write_csv(rows))
    written = {}
    for jobs in ("1", "2"):
        args = ["send", csv, "-d", "compact", "--set", "business=B", "--outbox", f"out{jobs}"]
        code, out, err = invoke(*args, "--run-id", f"j{jobs}", "-j", jobs)
        assert code == 0, err
        written[jobs] = _outbox(f"out{jobs}")
        assert set(written[jobs]) == {e for _, _, e in rows}
        query = "SELECT address, code FROM deliveries WHERE batch_id = 'j%s' AND status = 'sent'"
        sent = ledger_rows(sqlite_url(env), query % int(jobs))
        assert len(sent) == len(rows)
        for address, recorded in sent:
            message = written[jobs][address]
            [url] = attachment_qr(message)
            assert codes.normalize(url.rsplit("/", 1)[-1]) == recorded
            assert Path(f"out{jobs}", f"{recorded}.eml").exists()
        names = [str(m["Subject"]) for m in written[jobs].values()]
        assert len(set(names)) == len(rows)  # each names its own recipient
    for address, one in written["1"].items():  # the same words, but for the code
        texts = []
        for message in (one, written["2"][address]):
            body = message.get_body(("plain",))
            assert body is not None
            code = str(message["Message-ID"]).strip("<").split(".")[0]
            text = body.get_content().replace(codes.display(code), "CODE")
            texts.append(text.replace(code, "CODE"))  # in the redeem link too
            assert str(message["Subject"]) == str(one["Subject"])
        assert texts[0] == texts[1] and "CODE" in texts[0]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_stops_a_send_between_emails_and_the_resume_sends_each_once(
    env: Path, jobs: str
) -> None:
    import shlex

    from tests.test_safety import _in_a_terminal

    rows = people(60)
    csv = str(write_csv(rows))
    args = ["send", csv, "-d", "compact", "--set", "business=B", "--outbox", "out"]
    args += ["--run-id", "cc", "--rate", "25", "-j", jobs]
    code, shown = _in_a_terminal(args, env, interrupt_when=len(rows), drawn="10/60")
    assert code == 130, shown
    assert "Traceback" not in shown
    sent_before = len(list(Path("out").glob("*.eml")))
    assert 0 < sent_before < len(rows), shown
    line = next(x for x in shown.splitlines() if x.strip().startswith("certgen send"))
    finish = shlex.split(line.strip())
    assert "--resume" in finish
    done = subprocess.run(finish, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (finish, shown, done.stderr)
    assert set(_outbox("out")) == {e for _, _, e in rows}
    assert len(list(Path("out").glob("*.eml"))) == len(rows)  # one file a code: none twice
    statuses = ledger_rows(
        sqlite_url(env), "SELECT status, count(*) FROM deliveries GROUP BY status"
    )
    assert statuses == [("sent", len(rows))]
