"""``certgen remind``: an email to each friend whose gift expires soon and is not used yet.

Only friends whose address certgen knows are written to: the row's ``recipient_email``, or
the address a send run delivered the gift to (``--address-to recipient``); a gift mailed to
the customer to pass on names nobody to remind. Each certificate gets at most one reminder
(the ledger's ``reminders`` table, as for the referrer's thank-you); an address that asked
for no more email is left out; a failed one is tried again by the next run, one that may
have arrived (its answer lost) is not.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol

from certgen import codes, issue, mail, qr, stopping
from certgen.design import EMAIL_NAMES, EmailTemplates
from certgen.ledger import CertificateRecord, Ledger

FRIEND_EMAIL = "recipient_email"
SUBJECT = (
    "{% if giver_first %}Your gift from {{ giver_first }}{% else %}Your gift{% endif %}"
    "{% if business %} at {{ business }}{% endif %} expires {{ expires | date }}"
)
# What the reminder's templates read: the email's names and the certificate's built-ins.
KNOWN = {*EMAIL_NAMES, "code", "code_display", "redeem_url", "recipient_first", "giver_first"}
KNOWN |= {"terms", "days_left"}


class Postbox(Protocol):
    def send(self, message: EmailMessage, name: str) -> None: ...


@dataclass(frozen=True)
class Due:
    record: CertificateRecord
    address: str


@dataclass
class Plan:
    """Who a run reminds, and why the others are left out."""

    due: list[Due] = field(default_factory=list)
    no_address: int = 0
    unsubscribed: int = 0
    already: int = 0  # reminded before (or may have been)
    converted: int = 0  # the friend is a customer already


@dataclass
class Result:
    sent: int = 0
    failed: list[tuple[Due, str]] = field(default_factory=list)
    unknown: int = 0
    held: int = 0  # past --limit, for the next run
    stopped: bool = False  # Ctrl-C


def plan(ledger: Ledger, today: dt.date, days: int) -> Plan:
    """The gifts expiring from ``today`` through ``days`` later, not redeemed or voided,
    soonest first, split into those to remind now and those left out."""
    last = today + dt.timedelta(days=days)
    _, records = ledger.expiring(today.isoformat(), last.isoformat(), limit=None)
    found = Plan()
    codes_ = [r.code for r in records]
    delivered = ledger.friend_addresses(codes_)
    reminded = ledger.reminder_status(codes_)
    addresses = {
        r.code: (r.data.get(FRIEND_EMAIL) or delivered.get(r.code) or "").strip() for r in records
    }
    unsubscribed = ledger.unsubscribed(a for a in addresses.values() if a)
    for record in records:
        address = addresses[record.code]
        if record.converted_at:
            found.converted += 1
        elif not address:
            found.no_address += 1
        elif address.lower() in unsubscribed:
            found.unsubscribed += 1
        elif reminded.get(record.code) in ("sent", "unknown"):
            found.already += 1  # a run killed mid-send left "sending": its claim decides
        else:
            found.due.append(Due(record, address))
    return found


def context(record: CertificateRecord, base_url: str, today: dt.date) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(KNOWN, "")
    values.update({k: v for k, v in record.data.items() if k in KNOWN})
    values.update(
        recipient=record.recipient,
        giver=record.giver,
        code=record.code,
        code_display=codes.display(record.code),
        redeem_url=qr.redeem_url(base_url, record.code),
        recipient_first=issue.first_name(record.recipient),
        giver_first=issue.first_name(record.giver),
        expires=record.expires_on or "",
        days_left=(dt.date.fromisoformat(record.expires_on) - today).days
        if record.expires_on
        else "",
    )
    return values


def templates() -> EmailTemplates:
    return mail.shipped_message("reminder", SUBJECT, KNOWN)


def compose(
    due: Due,
    templates: EmailTemplates,
    *,
    sender: str,
    base_url: str,
    today: dt.date,
    unsubscribe_key: str | None,
) -> EmailMessage:
    values = context(due.record, base_url, today)
    if unsubscribe_key:
        values["unsubscribe_url"] = mail.unsubscribe_url(base_url, unsubscribe_key, due.address)
    message = EmailMessage(policy=mail.POLICY)
    message["From"] = sender
    message["To"] = Address(
        display_name=mail.header_text(due.record.recipient), addr_spec=due.address
    )
    message["Subject"] = " ".join(templates.subject.render(values).split())
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<reminder.{due.record.code}@{mail.domain(sender)}>"
    mail.add_unsubscribe(message, values["unsubscribe_url"] or None, sender)
    message.set_content(templates.text.render(values))
    if templates.html is not None:
        message.add_alternative(templates.html.render(values), subtype="html")
    return message


def remind(
    ledger: Ledger,
    due: list[Due],
    postbox: Postbox,
    *,
    sender: str,
    base_url: str,
    today: dt.date,
    unsubscribe_key: str | None = None,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Result:
    """Send the reminders ``due`` (the first ``limit``), each claimed in the ledger first so
    two runs at once never send one twice, and recorded as it goes."""
    shipped = templates()
    stale_before = (dt.datetime.now(dt.UTC) - mail.STALE_CLAIM).isoformat(timespec="seconds")
    result = Result()
    now = due[:limit] if limit is not None else due
    result.held = len(due) - len(now)
    try:
        for i, item in enumerate(now):
            stopping.check()
            code = item.record.code
            ledger.queue_reminder(code, item.address)
            if not ledger.claim_reminder(code, stale_before):
                continue  # another run has it, or sent it since the plan
            try:
                message = compose(
                    item,
                    shipped,
                    sender=sender,
                    base_url=base_url,
                    today=today,
                    unsubscribe_key=unsubscribe_key,
                )
                postbox.send(message, f"reminder-{codes.display(code)}")
            except mail.MaybeDelivered as exc:
                ledger.finish_reminder(code, f"may have arrived: {exc}", status="unknown")
                result.unknown += 1
            except (OSError, smtplib.SMTPException, ValueError, TypeError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
                ledger.finish_reminder(code, reason)
                result.failed.append((item, reason))
            else:
                ledger.finish_reminder(code, None)
                result.sent += 1
            if progress:
                progress(i + 1)
    except KeyboardInterrupt:
        result.stopped = True
    return result
