"""The referrer's thank-you as a real message (aiosmtpd on loopback): text and HTML, the
redemption's time in the shop's time zone, and with ``[notify] new_gift = true`` a new
certificate to pass on, recorded for the referrer, sent once even when retried."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zoneinfo
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from certgen import codes
from certgen import config as config_mod
from certgen.ledger import open_ledger
from tests.helpers import SHIPPED, page_text, qr_codes
from tests.test_cli import invoke
from tests.test_mail import (  # noqa: F401 - smtp: the fixture
    Inbox,
    bodies,
    configure,
    issue_one,
    redeem_on_the_page,
    smtp,
)

LEDGER = "ledger.db"


def gift_settings(port: int) -> None:
    configure(port)
    settings = Path("certgen.toml")
    top = f'ledger = "sqlite:///{LEDGER}"\nbase_url = "https://gifts.northside.example"\n'
    settings.write_text(top + settings.read_text() + "new_gift = true\n")  # in [notify]


def test_the_thank_you_says_when_in_the_shops_time_zone(
    smtp: tuple[Inbox, Controller],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox, controller = smtp
    configure(controller.port)
    monkeypatch.setenv("CERTGEN_TIMEZONE", "Pacific/Auckland")  # far from UTC
    code = issue_one()
    assert invoke("redeem", code)[0] == 0
    (message,) = inbox.messages
    redeemed = dt.datetime.fromisoformat(_redeemed_at(code))
    local = redeemed.astimezone(zoneinfo.ZoneInfo("Pacific/Auckland"))
    shown = f"{local:%b} {local.day}, {local.year}, {int(local.strftime('%I'))}:{local:%M}"
    for body in bodies(message).values():
        assert shown in body, f"{shown!r} is not in the thank-you"


def _redeemed_at(code: str) -> str:
    """When the ledger recorded the redemption (UTC)."""
    _, url, _ = invoke("ledger", "path")
    with open_ledger(url.strip()) as ledger:
        record = ledger.get(code)
    assert record is not None and record.redeemed_at
    return record.redeemed_at


def test_a_new_gift_is_attached_recorded_for_the_referrer_and_sent_once(
    smtp: tuple[Inbox, Controller],  # noqa: F811
    tmp_path: Path,
) -> None:
    inbox, controller = smtp
    gift_settings(controller.port)
    used = issue_one()
    inbox.reject = True  # the first try fails: the retry must carry the same gift
    status, _, err = invoke("redeem", used, "--by", "Sam")
    assert status == 0 and "failed" in err
    inbox.reject = False
    status, out, _ = invoke("notify", "--retry")
    assert status == 0 and "sent 1" in out
    assert invoke("notify", "--retry")[1].startswith("sent 0")
    (message,) = inbox.messages
    assert (
        message["Subject"] == "Your gift was used at Northside Physio: here is another to pass on"
    )
    new = gift_code(message, tmp_path)
    assert new != used and codes.is_valid(new)
    assert "Zelda" not in page_text(tmp_path / "gift.pdf"), "the friend's line is left blank"
    for body in bodies(message).values():
        assert codes.display(new) in body and codes.display(used) not in body

    with open_ledger(f"sqlite:///{Path.cwd() / LEDGER}") as ledger:
        record, first = ledger.get(new), ledger.get(used)
        assert record is not None and first is not None
        assert (
            record.giver == "Jane Doe" and record.data["giver_email"] == "jane.secret@example.com"
        )
        assert record.recipient == "" and record.batch_id == f"thanks-{used}"
        validity = dt.date.fromisoformat(first.expires_on or "") - dt.date.fromisoformat(
            first.issued_at[:10]
        )
        issued = dt.date.fromisoformat(record.issued_at[:10])
        assert record.expires_on == (issued + validity).isoformat()
        assert ledger.counts()["certificates"] == 2, "one gift, though the thank-you was retried"
    status, out, _ = invoke("report", "--by", "batch")
    assert status == 0
    assert re.search(r"repeat referrals \(thank-you gifts\)\s+1\s", out), out


def test_redeeming_on_the_page_sends_the_new_gift_off_the_request(
    smtp: tuple[Inbox, Controller],  # noqa: F811
    tmp_path: Path,
) -> None:
    inbox, controller = smtp
    gift_settings(controller.port)
    used = issue_one()
    config = config_mod.load()
    with open_ledger(config.ledger) as ledger:
        redeem_on_the_page(ledger, config, used)
        (message,) = inbox.messages
        gift = ledger.get(gift_code(message, tmp_path))
        assert gift is not None and gift.giver == "Jane Doe" and gift.batch_id == f"thanks-{used}"


def gift_code(message: Message, folder: Path) -> str:
    """The code the attached certificate's QR code carries, read off its rendered page."""
    [attachment] = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    pdf = folder / "gift.pdf"
    pdf.write_bytes(attachment.get_payload(decode=True))  # type: ignore[arg-type]
    [[url]] = qr_codes(pdf)
    assert url.startswith("https://gifts.northside.example/r/")
    return url.rsplit("/", 1)[1]


def test_a_design_may_write_its_own_thank_you(
    smtp: tuple[Inbox, Controller],  # noqa: F811
    env: Path,
) -> None:
    """``[email.thanks]`` in design.toml: the design's words, its fields and the redemption
    time; the used code is never there, even where the template asks for it."""
    inbox, controller = smtp
    configure(controller.port)
    own = env / "designs" / "physio"
    shutil.copytree(SHIPPED / "modern", own)
    manifest = own / "design.toml"
    manifest.write_text(
        manifest.read_text()
        .replace('name = "modern"', 'name = "physio"', 1)
        .replace(
            "[email]\n",
            "[email.thanks]\n"
            'subject = "{{ giver_first }}, your friend loved {{ offer }}"\n'
            'text = "thanks.txt"\n'
            "[email]\n",
        )
    )
    (own / "thanks.txt").write_text(
        "Cheers {{ giver_first }}! Redeemed {{ redeemed }} at {{ business }} [{{ code }}]\n"
    )
    status, out, err = invoke(
        "issue", "-d", "physio", "--to", "Zelda Friend", "--from", "Jane Doe",
        "--set", "business=Northside Physio", "--set", "offer=A free assessment",
        "--set", "giver_email=jane@example.com", "-o", "own.pdf",
    )  # fmt: skip
    assert status == 0, err
    code = codes.normalize(re.search(r"Code: (\S+)", out).group(1))  # type: ignore[union-attr]
    assert invoke("redeem", code)[0] == 0
    (message,) = inbox.messages
    assert message["Subject"] == "Jane, your friend loved A free assessment"
    texts = bodies(message)
    assert list(texts) == ["text/plain"]
    body = texts["text/plain"]
    assert body.startswith("Cheers Jane! Redeemed ") and "at Northside Physio []" in body
    assert code not in body and codes.display(code) not in body
