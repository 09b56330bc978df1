"""The referrer's thank-you email, sent once per certificate when it is redeemed.

Sending never blocks or undoes a redemption: the redemption is committed first, the email
is queued in the ledger (its primary key makes it once per certificate), and a failure is
recorded for ``certgen notify --retry``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.policy
import hashlib
import hmac
import os
import smtplib
import ssl
import unicodedata
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certgen import codes
from certgen.config import Smtp, today_in
from certgen.errors import CertgenError, ConfigError
from certgen.ledger import CertificateRecord, Ledger

if TYPE_CHECKING:  # a redemption imports neither templates nor drawing until it mails
    from certgen.design import EmailTemplates
    from certgen.gifts import Gift, GiftMaker

EMAIL_FIELD = "giver_email"
DEFAULT_SENDER = "certgen@localhost"
STALE_CLAIM = dt.timedelta(minutes=10)  # far longer than a conversation can last
UNSUBSCRIBE_PATH = "/unsubscribe/"
# Header lines up to RFC 5322's limit: a List-Unsubscribe link longer than 78 characters
# would otherwise be folded into an encoded word, which mail clients do not read as a link.
POLICY = email.policy.default.clone(max_line_length=998)


def domain(sender: str) -> str:
    """The sender's domain, for Message-IDs and content ids."""
    return sender.rpartition("@")[2].strip("> ") or "certgen"


def add_unsubscribe(message: EmailMessage, url: str | None, sender: str) -> None:
    """RFC 2369: how to ask for no more (``certgen unsubscribe`` records a reply); RFC 8058:
    one click on the signed link, which the redemption site records."""
    ways = [f"<{url}>"] if url else []
    reply_to = parseaddr(sender)[1]
    ways += [f"<mailto:{reply_to}?subject=unsubscribe>"] if reply_to else []
    if ways:
        message["List-Unsubscribe"] = ", ".join(ways)
    if url:
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"


def unsubscribe_url(base_url: str, key: str, address: str) -> str:
    """The one-click unsubscribe link (RFC 8058) for ``address``: the address and a MAC of
    it under ``key`` (the site's secret), so the link works without a sign-in and cannot
    be made for another address."""
    return f"{base_url.rstrip('/')}{UNSUBSCRIBE_PATH}{unsubscribe_token(key, address)}"


def unsubscribe_token(key: str, address: str) -> str:
    named = _b64(address.strip().lower().encode())
    return f"{named}.{_b64(_mac(key, named))}"


def unsubscribing(key: str, token: str) -> str | None:
    """The address an unsubscribe token was made for, or None if ``key`` did not make it."""
    named, _, mac = token.partition(".")
    try:
        given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
        address = base64.urlsafe_b64decode(named + "=" * (-len(named) % 4)).decode()
    except (binascii.Error, ValueError):
        return None
    return address if hmac.compare_digest(given, _mac(key, named)) else None


def _mac(key: str, named: str) -> bytes:
    return hmac.new(key.encode(), f"unsubscribe:{named}".encode(), hashlib.sha256).digest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass(frozen=True)
class Mailer:
    """Delivers through SMTP, or writes ``.eml`` files into ``outbox`` instead."""

    smtp: Smtp | None = None
    outbox: Path | None = None
    include_friend_name: bool = False
    timezone: str | None = None  # the shop's: when a gift was used, as it reads it
    designs_dirs: tuple[Path, ...] = ()  # where a certificate's design (its thank-you) is
    locale: str = "en"
    gifts: GiftMaker | None = None  # [notify] new_gift: a fresh certificate in each thank-you

    def __post_init__(self) -> None:
        if self.smtp is None and self.outbox is None:
            raise ConfigError("no [smtp] in certgen.toml and no --outbox: nowhere to send emails")

    @property
    def sender(self) -> str:
        return self.smtp.sender if self.smtp else DEFAULT_SENDER

    def deliver(self, message: EmailMessage, name: str) -> None:
        if self.outbox is not None:
            Outbox(self.outbox).send(message, name)
            return
        if self.smtp is None:
            raise ConfigError("no [smtp] in certgen.toml and no --outbox")
        _send_smtp(self.smtp, message)


class MaybeDelivered(Exception):  # noqa: N818 (a state, not a failure)
    """The message went out whole, and the server's answer was lost (a timeout, a dropped
    connection): it may have arrived. Sending it again could deliver it twice."""


class _Tracked(smtplib.SMTP):
    """Knows whether the message's last line went out: after that, a lost answer means the
    server may have taken it."""

    message_sent = False

    def send(self, s: Any) -> None:  # bytes or str, as smtplib sends them
        super().send(s)
        data = s.encode("ascii", "replace") if isinstance(s, str) else bytes(s)
        if data.endswith(b"\r\n.\r\n"):
            self.message_sent = True


class _TrackedSSL(_Tracked, smtplib.SMTP_SSL):
    pass


def send_once(client: smtplib.SMTP, message: EmailMessage) -> None:
    """``send_message``, with a lost answer after the whole message raised as
    MaybeDelivered instead of an error that would have it sent again."""
    if isinstance(client, _Tracked):
        client.message_sent = False
    try:
        client.send_message(message)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException):
        raise  # the server answered
    except OSError as exc:
        if getattr(client, "message_sent", False):
            raise MaybeDelivered(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
        raise


def header_text(value: str) -> str:
    """A value fit for a header: line and paragraph separators, controls and other
    characters a header cannot hold become spaces, runs of space one."""
    kept = "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") or c.isspace() else c for c in value
    )
    return " ".join(kept.split())


def connect(smtp: Smtp) -> smtplib.SMTP:
    """An SMTP conversation, secured and logged in as the config says."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if smtp.security == "ssl":
        client = _TrackedSSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
    else:
        client = _Tracked(smtp.host, smtp.port, timeout=smtp.timeout)
    try:
        if smtp.security == "starttls":
            client.starttls(context=context)
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
    except BaseException:
        client.close()
        raise
    return client


def _send_smtp(smtp: Smtp, message: EmailMessage) -> None:
    with connect(smtp) as client:
        send_once(client, message)


class Outbox:
    """Writes each message into a folder as ``NAME.eml`` instead of sending it; writing one
    again replaces it, so a resumed run never leaves two."""

    def __init__(self, folder: Path):
        self.folder = folder

    def send(self, message: EmailMessage, name: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}.eml"
        temp = path.with_name(f".{path.name}.part")
        temp.write_bytes(bytes(message))
        os.replace(temp, path)

    def close(self) -> None:
        pass


class Session:
    """One SMTP connection kept open across many messages (a mailing run), opened when the
    first is sent and again after the server drops it."""

    def __init__(self, smtp: Smtp):
        self.smtp = smtp
        self._client: smtplib.SMTP | None = None

    def send(self, message: EmailMessage, name: str) -> None:
        if self._client is None:
            self._client = connect(self.smtp)
        try:
            send_once(self._client, message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException):
            raise  # the server answered: the connection is still good
        except (OSError, MaybeDelivered):  # dropped, timed out or reset: reconnect next time
            self._drop()
            raise

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.quit()
            except (OSError, smtplib.SMTPException):
                pass  # the messages are sent; a failed goodbye changes nothing
            self._drop()


def shipped_message(name: str, subject: str, known: set[str]) -> EmailTemplates:
    """One of certgen's own messages: ``email_templates/NAME.txt`` and ``.html``."""
    from certgen import text as text_mod
    from certgen.design import EmailTemplates

    folder = Path(__file__).resolve().parent / "email_templates"

    def compiled(source: str, path: str, field: str | None, html: bool) -> Any:
        return text_mod.compile_text(
            source, known=known, path=path, element=None, field=field, html=html
        )

    bodies = [
        compiled((folder / f"{name}.{kind}").read_text(encoding="utf-8"),
                 str(folder / f"{name}.{kind}"), None, kind == "html")
        for kind in ("txt", "html")
    ]  # fmt: skip
    return EmailTemplates(compiled(subject, name, "subject", False), *bodies)


def thanks_templates(mailer: Mailer, record: CertificateRecord) -> EmailTemplates:
    """The thank-you of the certificate's design (its own ``[email.thanks]``, else
    certgen's); certgen's own where the design is no longer installed."""
    from certgen import design as design_mod

    try:
        found = design_mod.locate(record.design, list(mailer.designs_dirs))
    except CertgenError:  # removed or renamed since the gift was issued
        names = set(design_mod.THANKS_NAMES)
        return shipped_message("thanks", design_mod.DEFAULT_THANKS_SUBJECT, names)
    return design_mod.load(found).emails["thanks"]


def thank_you(record: CertificateRecord, mailer: Mailer, gift: Gift | None = None) -> EmailMessage:
    """Tells the referrer their gift was used, when (in the shop's time zone) and where, in
    the design's words (``thanks_templates``); never the used code, and the friend's name
    only if allowed. With ``gift``, a new certificate to pass on is attached."""
    from certgen import design as design_mod
    from certgen import text as text_mod
    from certgen.clock import Clock

    data = record.data
    at = record.redeemed_at
    redeemed = Clock(mailer.timezone, mailer.locale).at(at) if at else ""
    names = (*design_mod.THANKS_NAMES, *design_mod.EMAIL_NAMES, *text_mod.BUILTINS)
    values: dict[str, Any] = dict.fromkeys(names, "")  # the used code among them: never shown
    values.update(data)
    values.update(
        business=header_text(data.get("business") or ""),
        giver=record.giver,
        giver_first=record.giver.split(maxsplit=1)[0] if record.giver.strip() else "",
        recipient=record.recipient if mailer.include_friend_name else "",
        friend=record.recipient if mailer.include_friend_name else "",
        redeemed=redeemed,
        new_gift=gift is not None,
    )
    for name in ("recipient_email", "recipient_phone", "recipient_id"):
        values.pop(name, None)  # the friend's details are not the referrer's to read
    if gift is not None:
        values.update(
            gift_code=codes.display(gift.code),
            gift_url=gift.url,
            gift_expires=gift.expires_on or "",
        )
    templates = thanks_templates(mailer, record)
    message = EmailMessage(policy=POLICY)
    message["From"] = mailer.sender
    message["To"] = data[EMAIL_FIELD]
    message["Subject"] = " ".join(templates.subject.render(values).split())
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<thanks.{record.code}@{domain(mailer.sender)}>"
    message.set_content(templates.text.render(values))
    if templates.html is not None:
        message.add_alternative(templates.html.render(values), subtype="html")
    if gift is not None:
        name = f"gift-certificate-{codes.display(gift.code)}.pdf"
        message.add_attachment(gift.pdf, maintype="application", subtype="pdf", filename=name)
    return message


def notify_redeemed(ledger: Ledger, mailer: Mailer | None, record: CertificateRecord) -> str:
    """Queue and send the thank-you for a redeemed certificate. Returns sent, failed,
    queued (no mailer configured: ``certgen notify --retry`` sends it later), already
    (it was queued before) or none (no email address known)."""
    address = record.data.get(EMAIL_FIELD)
    if not address:
        return "none"
    if not ledger.queue_notification(record.code, address):
        return "already"
    return _attempt(ledger, mailer, record) if mailer else "queued"


def _attempt(
    ledger: Ledger, mailer: Mailer, record: CertificateRecord, stale_before: str | None = None
) -> str:
    if not ledger.claim_notification(record.code, stale_before):
        return "already"
    try:
        gift = (
            mailer.gifts.make(ledger, record, today_in(mailer.timezone)) if mailer.gifts else None
        )
        mailer.deliver(thank_you(record, mailer, gift), record.code)
    except MaybeDelivered as exc:  # not sent again by --retry: it may be in their inbox
        ledger.finish_notification(record.code, f"may have arrived: {exc}", status="unknown")
        return "unknown"
    except (OSError, smtplib.SMTPException, ValueError, TypeError, IndexError, CertgenError) as exc:
        # A value the message cannot hold (a stored address that is not one), or a new gift
        # that cannot be issued, fails this one thank-you, with the reason; the queue goes on.
        ledger.finish_notification(record.code, f"{type(exc).__name__}: {exc}")
        return "failed"
    ledger.finish_notification(record.code, None)
    return "sent"


def retry(ledger: Ledger, mailer: Mailer) -> dict[str, int]:
    """Send every queued or failed thank-you again, and any whose sender died mid-send
    (claimed over STALE_CLAIM ago); counts of each result."""
    stale_before = (dt.datetime.now(dt.UTC) - STALE_CLAIM).isoformat(timespec="seconds")
    counts = {"sent": 0, "failed": 0, "already": 0, "unknown": 0}
    for row in ledger.notifications("pending", "failed", "sending"):
        record = ledger.get(row["code"])
        if record is not None:
            counts[_attempt(ledger, mailer, record, stale_before)] += 1
    return counts
