"""certgen remind over a real SMTP conversation (aiosmtpd on loopback): each friend whose gift
expires soon and who has a known address is reminded once; the others are left out, with
the reason."""

from __future__ import annotations

import datetime as dt
import re
from email.message import EmailMessage, Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from certgen import codes
from certgen.ledger import open_ledger
from tests.test_cli import invoke
from tests.test_mail import Inbox, configure, smtp  # noqa: F401 - the fixture

TODAY = dt.date.today()


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def issue_list(name: str, rows: list[tuple[str, str, str]], expires: str) -> list[str]:
    """Issue a customer list (friend, their email or "", referrer) expiring on ``expires``."""
    lines = ["recipient,recipient_email,giver,giver_email"]
    lines += [f"{friend},{address},{giver},{giver.split()[0].lower()}@example.com"
              for friend, address, giver in rows]  # fmt: skip
    Path(f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    status, out, err = invoke(
        "issue", f"{name}.csv", "-d", "compact", "--set", "business=Northside Physio",
        "--set", f"expires={expires}", "-o", f"{name}.pdf",
    )  # fmt: skip
    assert status == 0, err
    batch = re.search(r"batch (\S+),", out + err)
    assert batch, out + err
    with open_ledger(f"sqlite:///{Path.cwd() / 'ledger.db'}") as ledger:
        return [record.code for record in ledger.batch(batch.group(1))]


def to(message: Message) -> str:
    return re.sub(r".*<|>.*", "", str(message["To"]))


@pytest.fixture
def gifts(
    smtp: tuple[Inbox, Controller],  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    inbox, controller = smtp
    configure(controller.port)
    settings = Path("certgen.toml")
    top = 'ledger = "sqlite:///ledger.db"\nbase_url = "https://gifts.northside.example"\n'
    settings.write_text(top + settings.read_text())  # top-level keys before the tables
    monkeypatch.setenv("CERTGEN_TIMEZONE", "UTC")
    soon = issue_list(
        "soon",
        [
            ("Ann Lee", "ann@example.com", "Bob Smith"),
            ("Cy Young", "", "Dee Dee"),  # given to pass on: no one to remind
            ("Eve Adams", "eve@example.com", "Bob Smith"),
            ("Fay Wray", "fay@example.com", "Gus Grand"),  # to be redeemed
            ("Hal Jordan", "hal@example.com", "Gus Grand"),  # unsubscribed
        ],
        day(5),
    )
    sooner = issue_list("sooner", [("Ida Bell", "ida@example.com", "Jon Snow")], day(2))
    later = issue_list("later", [("Kai Lane", "kai@example.com", "Jon Snow")], day(30))
    assert invoke("redeem", soon[3])[0] == 0
    assert invoke("unsubscribe", "HAL@example.com")[0] == 0
    inbox.messages.clear()  # the referrer's thank-you for Fay's redemption
    return {
        "ann": soon[0], "cy": soon[1], "eve": soon[2], "fay": soon[3], "hal": soon[4],
        "ida": sooner[0], "kai": later[0],
    }  # fmt: skip


def test_each_friend_is_reminded_once_soonest_first(
    gifts: dict[str, str],
    smtp: tuple[Inbox, Controller],  # noqa: F811
) -> None:
    inbox, _ = smtp
    status, out, _ = invoke("remind", "--before", "14d", "--dry-run")
    assert status == 0
    assert "3 to remind of gifts expiring" in out
    assert "1 no address for the friend" in out and "1 unsubscribed" in out
    assert out.index("ida@example.com") < out.index("ann@example.com"), "soonest first"
    assert "kai@" not in out and "fay@" not in out and "hal@" not in out
    assert "nothing was sent" in out and not inbox.messages

    status, out, _ = invoke("remind", "--test-to", "owner@northside.example")
    assert status == 0 and "nothing was recorded" in out
    (test,) = inbox.messages
    assert to(test) == "owner@northside.example"

    status, out, _ = invoke("remind", "--before", "2w", "--limit", "1")
    assert status == 0, out
    assert "Reminded 1 friend" in out
    assert "2 more wait (--limit): certgen remind --before 2w" in out
    assert [to(m) for m in inbox.messages[1:]] == ["ida@example.com"]

    status, out, _ = invoke("remind", "--before", "2w")
    assert status == 0 and "Reminded 2 friends" in out
    status, out, _ = invoke("remind", "--before", "2w")
    assert status == 0 and "0 to remind" in out and "3 reminded before" in out
    reminded = sorted(to(m) for m in inbox.messages[1:])
    assert reminded == ["ann@example.com", "eve@example.com", "ida@example.com"], "once each"

    with open_ledger(f"sqlite:///{Path.cwd() / 'ledger.db'}") as ledger:
        for name in ("ann", "eve", "ida"):
            kinds = [event.kind for event in ledger.events(gifts[name])]
            assert kinds.count("reminded") == 1, name
        assert "reminded" not in [e.kind for e in ledger.events(gifts["cy"])]


def test_the_reminder_says_what_when_and_how_in_text_and_html(
    gifts: dict[str, str],
    smtp: tuple[Inbox, Controller],  # noqa: F811
) -> None:
    inbox, _ = smtp
    assert invoke("remind", "--before", "3d")[0] == 0
    (message,) = inbox.messages
    assert isinstance(message, Message)
    parsed = EmailMessage()
    for key, value in message.items():
        parsed[key] = value
    expires = dt.date.fromisoformat(day(2))
    long_date = f"{expires.day} {expires:%B %Y}"
    assert message["Subject"] == f"Your gift from Jon at Northside Physio expires {long_date}"
    assert to(message) == "ida@example.com" and "Ida Bell" in str(message["To"])
    assert "List-Unsubscribe" in message
    parts = {part.get_content_type(): part for part in message.walk()}
    text = parts["text/plain"].get_payload(decode=True).decode()
    html = parts["text/html"].get_payload(decode=True).decode()
    code = codes.display(gifts["ida"])
    for body in (text, html):
        assert "Hi Ida" in body and "Jon Snow" in body and long_date in body
        assert "(in 2 days)" in body and code in body
        assert f"https://gifts.northside.example/r/{gifts['ida']}" in body
    assert '<a href="https://gifts.northside.example/r/' in html


def test_a_failed_reminder_is_sent_by_the_next_run(
    gifts: dict[str, str],
    smtp: tuple[Inbox, Controller],  # noqa: F811
) -> None:
    inbox, _ = smtp
    inbox.reject = True
    status, out, err = invoke("remind")
    assert status == 13
    assert "3 failed; the same command tries them again: certgen remind" in err
    assert "ann@example.com" in err and "550" in err
    inbox.reject = False
    status, out, _ = invoke("remind")
    assert status == 0 and "Reminded 3 friends" in out
    assert len(inbox.messages) == 3


def test_a_friend_the_gift_was_emailed_to_is_reminded(
    smtp: tuple[Inbox, Controller],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox, controller = smtp
    configure(controller.port)
    monkeypatch.setenv("CERTGEN_TIMEZONE", "UTC")
    Path("friends.csv").write_text(
        "recipient,giver,email\nLea Park,Max Mustermann,lea@example.com\n"
    )
    status, _, err = invoke(
        "send", "friends.csv", "-d", "compact", "--address-to", "recipient",
        "--set", "business=Northside Physio", "--set", f"expires={day(9)}",
    )  # fmt: skip
    assert status == 0, err
    Path("customers.csv").write_text("giver,giver_email\nNed Stark,ned@example.com\n")
    status, _, err = invoke(
        "send", "customers.csv", "-d", "compact", "--address-to", "giver",
        "--set", "business=Northside Physio", "--set", f"expires={day(9)}",
    )  # fmt: skip
    assert status == 0, err
    assert sorted(to(m) for m in inbox.messages) == ["lea@example.com", "ned@example.com"]
    status, out, _ = invoke("remind", "--before", "10d")
    assert status == 0, out
    assert "1 no address for the friend" in out, "the customer's copy names no friend"
    assert to(inbox.messages[-1]) == "lea@example.com"
    assert "Reminded 1 friend" in out


def test_bad_windows_are_refused() -> None:
    for bad in ("fortnight", "14x", "-3d", ""):
        status, _, err = invoke("remind", "--before", bad)
        assert status == 2 and "give days or weeks" in err, bad
