"""Emailing a run: each row's certificate as a PDF attachment with a short personal message
from the design's email templates, through one SMTP connection or into an outbox folder.

Every row is checked and every code recorded before the first email goes out. Each
certificate then has a delivery in the ledger, claimed before it is sent and marked sent as
soon as the server accepts it (an ``emailed`` event), or rejected when the server refuses
the address for good (``email_rejected``). A run stopped by Ctrl-C, a kill or a lost server
is finished by sending it again under its run id: sent and rejected deliveries are left
alone, and a claim whose sender died is taken over. The one email that can go out twice is
one the server accepted in the instant before its sender died; both copies carry the same
Message-ID, which receiving systems use to drop duplicates.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import secrets
import smtplib
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol

from certgen import codes, locks, mail, preview, render, runs, stopping, workers
from certgen import issue as issue_mod
from certgen.design import EMAIL_NAMES, Design, FieldSpec, QrElement
from certgen.errors import InputError, LedgerError, Problem
from certgen.inputs import Row, Table
from certgen.ledger import Delivery, Ledger
from certgen.text import RenderError

EMAIL_FIELD = "email"
GIVER_EMAIL_FIELD = mail.EMAIL_FIELD  # the referrer's, which the thank-you goes to too
# Whose address each way of sending reads: a column beside the design's fields, required.
FIELDS = {
    "recipient": {
        EMAIL_FIELD: FieldSpec(
            type="email",
            label="The recipient's email address",
            required=True,
            max_length=254,
            aliases=("email_address", "e_mail", "recipient_email", "friend_email", "to_email"),
        )
    },
    "giver": {
        GIVER_EMAIL_FIELD: FieldSpec(
            type="email",
            label="The giver's (the customer's) email address",
            required=True,
            max_length=254,
            aliases=("email", "email_address", "e_mail", "customer_email", "from_email"),
        )
    },
}
# The inline picture: about this wide (an email shows it at 560 px, a phone's screen at
# twice its CSS pixels), its QR code at least QR_PIXELS across so it still scans, and a
# palette PNG of IMAGE_COLOURS: a quarter of the bytes, dark modules still dark.
IMAGE_PIXELS = 720
# The attached PDF's raster art: sharp on a screen and on a home printer, a quarter of the
# bytes of 300 dpi.
EMAIL_ART_DPI = 96  # CSS's reference pixel
QR_PIXELS = 120
IMAGE_COLOURS = 32
COMPOSED_AT_ONCE = 8  # emails a worker composes in one go: fewer round trips, little held
# Seconds to wait before each new connection when the server is lost mid-run; then the run
# stops, and sending it again picks up where it stopped.
RECONNECT_DELAYS = (0.5, 2.0, 5.0)
STALE_CLAIM = dt.timedelta(minutes=10)  # far longer than one delivery attempt can last
MAYBE = (
    "the server took the whole message and its answer was lost, so it may have arrived; "
    "check the mailbox or the server's log, and send it again with --resend-unknown"
)


class Postbox(Protocol):
    """Where messages go: ``mail.Session`` (SMTP) or ``mail.Outbox`` (.eml files)."""

    def send(self, message: EmailMessage, name: str) -> None: ...


@dataclass(frozen=True)
class Outgoing:
    """How a run's emails are written: from ``sender``, to ``to`` ("recipient": the business
    delivers the gift; "giver": the customer gets it to pass on), their links to
    ``base_url``; with ``unsubscribe_key``, each carries a one-click unsubscribe link."""

    sender: str
    base_url: str
    to: str = "recipient"
    unsubscribe_key: str | None = None

    @property
    def field(self) -> str:
        """The column the addressee's email is in."""
        return next(iter(FIELDS[self.to]))

    def email(self, row: Row) -> str:
        return row.text(self.field)

    def address(self, row: Row) -> Address:
        name = mail.header_text(row.text(self.to))
        return Address(display_name=name, addr_spec=self.email(row))


@dataclass
class SendResult:
    batch_id: str
    count: int  # certificates in the run
    sent: int = 0  # by this run
    already: int = 0  # by an earlier run under the same id
    resumed: bool = False
    rejected: list[Problem] = field(default_factory=list)  # refused for good
    deferred: list[Problem] = field(default_factory=list)  # to try again: send it again
    stopped: str | None = None  # why the run stopped before the end
    dry_run: bool = False  # checked only: nothing recorded or sent
    held: int = 0  # past --limit: recorded, to send when the run is resumed

    @property
    def complete(self) -> bool:
        return not (self.rejected or self.deferred or self.stopped)


@dataclass(frozen=True)
class Throttle:
    """At most ``rate`` messages a second, evenly spaced; no limit when ``rate`` is None."""

    rate: float | None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _next: list[float] = field(default_factory=list)

    def wait(self) -> None:
        if not self.rate:
            return
        now = self.clock()
        if self._next and now < self._next[0]:
            self.sleep(self._next[0] - now)
            now = self._next[0]
        self._next[:] = [now + 1 / self.rate]


def email_context(
    design: Design, row: Row, code: str, issued_on: dt.date, outgoing: Outgoing
) -> dict[str, Any]:
    """What an email template reads: the certificate's values, "" for the standard
    referral fields a design does not declare, the inline picture's address and the
    unsubscribe link."""
    values: dict[str, Any] = dict.fromkeys(EMAIL_NAMES, "")
    values.update(issue_mod.context(design, row, code, issued_on, outgoing.base_url))
    values["certificate_image"] = f"cid:{_image_id(code, outgoing.sender)}"
    if outgoing.unsubscribe_key:
        key = outgoing.unsubscribe_key
        values["unsubscribe_url"] = mail.unsubscribe_url(
            outgoing.base_url, key, outgoing.email(row)
        )
    return values


def check_rows(
    design: Design,
    rows: Sequence[Row],
    file: str | None,
    issued_on: dt.date,
    outgoing: Outgoing,
) -> list[Problem]:
    """Problems that would stop a row's email: no address, an address the mail system
    cannot take, or a template that cannot be rendered with its values."""
    problems = []
    whose = "recipient" if outgoing.to == "recipient" else "giver (the customer)"
    for row in rows:
        where = (file, row.number, row.column(outgoing.field))
        if not outgoing.email(row):
            hint = "fill it, or leave the row out"
            if outgoing.to == "giver":
                hint += ", or send to the recipients with --address-to recipient"
            problems.append(Problem(f"no email address for the {whose}", *where, hint))
            continue
        if outgoing.to == "giver" and not row.text("giver"):
            message = "the email goes to the giver (the customer), and this row has no name "
            hint = "fill it: the certificate says it is from them, or leave the row out"
            column = row.column("giver")
            problems.append(Problem(message + "for them", file, row.number, column, hint))
        try:
            outgoing.address(row)
        except (ValueError, HeaderParseError, IndexError) as exc:
            problems.append(
                Problem(
                    f"'{outgoing.email(row)}' is not an email address ({exc})",
                    *where,
                    "correct it, or leave the row out",
                )
            )
        try:
            values = email_context(design, row, "X" * 16, issued_on, outgoing)
            _bodies(design, outgoing.to, values)
        except (RenderError, ValueError, TypeError) as exc:
            problems.append(Problem(f"the email cannot be written: {exc}", file, row.number))
    return problems


def screen(
    design: Design,
    rows: Sequence[Row],
    problems: Sequence[Problem],
    *,
    outgoing: Outgoing,
    issued_on: dt.date,
    file: str | None,
) -> tuple[Sequence[Row], list[Problem], list[Problem]]:
    """``issue.screen`` for a send run: its rows' addresses and emails checked too."""
    found = [*problems, *check_rows(design, rows, file, issued_on, outgoing)]
    base_url = outgoing.base_url
    return issue_mod.screen(design, rows, found, base_url=base_url, issued_on=issued_on, file=file)


def without_unsubscribed(
    ledger: Ledger, rows: Sequence[Row], outgoing: Outgoing
) -> tuple[Sequence[Row], list[Row]]:
    """The rows whose address has not asked for no more email, and those that have."""
    unsubscribed = ledger.unsubscribed(outgoing.email(row) for row in rows)
    if not unsubscribed:
        return rows, []
    keep: list[int] = []
    skipped: list[int] = []
    for i, row in enumerate(rows):
        (skipped if outgoing.email(row).lower() in unsubscribed else keep).append(i)
    if isinstance(rows, Table):
        return rows.reordered(keep), [rows[i] for i in skipped]
    return [rows[i] for i in keep], [rows[i] for i in skipped]


def _bodies(design: Design, to: str, values: dict[str, Any]) -> tuple[str, str, str | None]:
    templates = design.emails[to]
    subject = " ".join(templates.subject.render(values).split())  # one header line
    html = templates.html.render(values) if templates.html else None
    return subject, templates.text.render(values), html


def _image_id(code: str, sender: str) -> str:
    return f"certificate.{code}@{mail.domain(sender)}"


def image_dpi(design: Design) -> float:
    """The inline picture's resolution: IMAGE_PIXELS across the page, more if its QR code
    would be under QR_PIXELS."""
    dpi = IMAGE_PIXELS / (design.width_mm / 25.4)
    sides = [e.size for e in design.manifest.elements if isinstance(e, QrElement)]
    return max([dpi, *(QR_PIXELS / (side / 25.4) for side in sides)])


def attachment_name(code: str) -> str:
    return f"gift-certificate-{codes.display(code)}.pdf"


def compose(
    design: Design,
    row: Row,
    cert: render.Certificate,
    outgoing: Outgoing,
    *,
    batch_id: str,
    issued_on: dt.date,
) -> EmailMessage:
    """The addressee's email: text and HTML bodies (the HTML showing the certificate as a
    PNG of its page, where the template asks for ``certificate_image``), the one-page PDF
    attached. Its Message-ID is the same every time it is written, so a resent copy is
    recognisable."""
    values = email_context(design, row, cert.code, issued_on, outgoing)
    subject, text, html = _bodies(design, outgoing.to, values)
    message = EmailMessage(policy=mail.POLICY)
    message["From"] = outgoing.sender
    message["To"] = outgoing.address(row)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{cert.code}.{batch_id}@{mail.domain(outgoing.sender)}>"
    mail.add_unsubscribe(message, values.get("unsubscribe_url"), outgoing.sender)
    message.set_content(text)
    pdf = io.BytesIO()
    drawn = issue_mod.with_qr(design, cert, outgoing.base_url)
    emailed = design.for_screen(EMAIL_ART_DPI)
    render.write_pdf(emailed, [drawn], pdf, design.manifest.design.title)
    templates = design.emails[outgoing.to]
    if html is not None:
        message.add_alternative(html, subtype="html")
        if templates.html and "certificate_image" in templates.html.variables:
            png = preview.page_png(pdf.getvalue(), image_dpi(design), IMAGE_COLOURS)
            cid = f"<{_image_id(cert.code, outgoing.sender)}>"
            [html_part] = [
                part for part in message.iter_parts() if part.get_content_subtype() == "html"
            ]
            html_part.add_related(
                png,
                maintype="image",
                subtype="png",
                cid=cid,
                filename=f"gift-certificate-{codes.display(cert.code)}.png",
            )
    name = attachment_name(cert.code)
    message.add_attachment(pdf.getvalue(), maintype="application", subtype="pdf", filename=name)
    return message


def send(
    design: Design,
    rows: Sequence[Row],
    *,
    ledger: Ledger,
    postbox: Postbox,
    outgoing: Outgoing,
    source: str,
    file_label: str,
    now: dt.datetime | None = None,
    batch_id: str | None = None,
    problems: Sequence[Problem] = (),
    actor: str = "certgen",
    rate: float | None = None,
    progress: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    randbelow: runs.Randbelow = secrets.randbelow,
    fingerprint: str | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    resend_unknown: bool = False,
    jobs: int = 1,
) -> SendResult:
    """Email one certificate per row to the addressee's email, recording every code first.

    ``problems`` found while reading the input are reported with any found here; if there
    are any, nothing is recorded or sent. ``file_label`` says in the ledger where the run's
    emails went. Sending the same run id again finishes it. A ``dry_run`` stops after the
    checks. With ``limit``, only the first that many rows are sent now; every code is
    recorded, and the rest wait, pending, for the run to be resumed. An email the server
    may have taken without saying so (its answer lost) is sent again only with
    ``resend_unknown``. With ``jobs`` > 1, that many processes compose the emails ahead
    of this one, which claims, sends and records each in turn as before."""
    design = issue_mod.for_rows(design, rows)
    settings = {
        "base_url": outgoing.base_url,
        "address_to": outgoing.to,
        "order": runs.order_digest(rows),
    }
    run = runs.Run.start(
        design,
        rows,
        ledger=ledger,
        source=source,
        target=file_label,
        now=now,
        run_id=batch_id,
        fingerprint=fingerprint,
        settings=settings,
        actor=actor,
        randbelow=randbelow,
    )
    if run.recorded and not ledger.deliveries(run.id):
        raise LedgerError(
            f"run {run.id} printed its certificates; certgen issue --resume finishes it"
        )
    base_url = outgoing.base_url
    problems = [*problems, *check_rows(design, rows, run.file, run.issued_on, outgoing)]
    problems += issue_mod.static_problems(design, duplex=False)
    problems += issue_mod.layout_problems(
        design, rows, run.codes, base_url=base_url, issued_on=run.issued_on, file=run.file
    )
    run.stop_on(problems)
    result = SendResult(run.id, len(rows), resumed=run.known)
    if dry_run:  # every row, address and email checked, as the run would
        result.already, result.dry_run = len(run.recorded), True
        return result
    new = range(len(run.recorded), len(rows))
    emails = {run.codes[i]: outgoing.email(rows[i]) for i in new}
    run.record(new, ((attachment_name(run.codes[i]), 1) for i in new), emails=emails)
    now_rows = run.part(limit)
    result.held = len(rows) - len(now_rows)
    _Delivering(run, postbox, outgoing, sleep, resend_unknown).deliver(
        now_rows, result, Throttle(rate, sleep=sleep), progress, jobs
    )
    return result


def send_test(
    design: Design,
    rows: Sequence[Row],
    *,
    postbox: Postbox,
    outgoing: Outgoing,
    to: str,
    source: str,
    issued_on: dt.date,
) -> int:
    """The first ``rows``' emails as they would go out, all to ``to`` (a test send): each
    with the sample code, which is never issued, and "[test]" before its subject; nothing
    is recorded. Their problems, if any, stop it first."""
    file = None if source == "command line" else source
    problems = check_rows(design, rows, file, issued_on, outgoing)
    problems += issue_mod.static_problems(design, duplex=False)
    sample = [codes.SAMPLE] * len(rows)
    base_url = outgoing.base_url
    certs, found = issue_mod.lay_out(
        design, rows, sample, base_url=base_url, issued_on=issued_on, file=file
    )
    if problems or found:
        raise InputError([*problems, *found])
    for number, (row, cert) in enumerate(zip(rows, certs, strict=True), start=1):
        message = compose(
            design, row, cert, outgoing, batch_id=f"test-{number}", issued_on=issued_on
        )
        subject = message["Subject"]
        del message["To"], message["Subject"]
        message["To"], message["Subject"] = to, f"[test] {subject}"
        postbox.send(message, f"test-{number}")
    return len(rows)


@dataclass(frozen=True)
class _Composer:
    """A run's emails, composed a few at a time, in this process or in forked ones."""

    run: runs.Run
    outgoing: Outgoing

    def compose(self, indices: tuple[int, ...]) -> list[tuple[int, EmailMessage]]:
        """Each row's email, laid out again as it is sent (checked before the run): a long
        run holds only the emails composed ahead, never all its certificates."""
        run = self.run
        made = []
        for i in indices:
            [cert] = issue_mod.prepare(
                run.design,
                [run.rows[i]],
                row_codes=[run.codes[i]],
                base_url=self.outgoing.base_url,
                issued_on=run.issued_on,
                file=run.file,
            )
            message = compose(
                run.design,
                run.rows[i],
                cert,
                self.outgoing,
                batch_id=run.id,
                issued_on=run.issued_on,
            )
            made.append((i, message))
        return made


@dataclass
class _Delivering:
    """A recorded run's emails, each claimed, sent and marked in turn."""

    run: runs.Run
    postbox: Postbox
    outgoing: Outgoing
    sleep: Callable[[float], None]
    resend_unknown: bool = False
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    def deliver(
        self,
        part: range,
        result: SendResult,
        throttle: Throttle,
        progress: Callable[[int], None] | None,
        jobs: int = 1,
    ) -> None:
        run, ledger = self.run, self.run.ledger
        deliveries = ledger.deliveries(run.id)
        retake = _dead_claims(deliveries.values(), self.owner)
        wanted = [i for i in part if self._to_try(deliveries[run.codes[i]].status)]
        tasks = [
            (tuple(wanted[k : k + COMPOSED_AT_ONCE]),)
            for k in range(0, len(wanted), COMPOSED_AT_ONCE)
        ]
        composer = _Composer(run, self.outgoing)
        with workers.in_order(composer, "compose", tasks, jobs, ahead=2 * jobs) as composed:
            messages = (pair for batch in composed for pair in batch)
            self._deliver(part, result, throttle, progress, deliveries, retake, messages)

    def _to_try(self, status: str) -> bool:
        """Whether a delivery in this state is claimed and sent (so its email composed)."""
        return status not in ("sent", "rejected") and (status != "unknown" or self.resend_unknown)

    def _deliver(
        self,
        part: range,
        result: SendResult,
        throttle: Throttle,
        progress: Callable[[int], None] | None,
        deliveries: dict[str, Delivery],
        retake: set[str],
        messages: Iterator[tuple[int, EmailMessage]],
    ) -> None:
        run, ledger = self.run, self.run.ledger
        for done, i in enumerate(part, start=1):
            stopping.check()  # between emails: each one sent is recorded as sent
            run.beat()
            row, code = run.rows[i], run.codes[i]
            delivery = deliveries[code]
            if delivery.status == "sent":
                result.already += 1
            elif delivery.status == "rejected":
                result.rejected.append(self._problem(row, delivery.last_error or "rejected"))
            elif result.stopped:  # the server is lost: the rest wait for the next run
                result.deferred.append(self._problem(row, "not sent yet"))
                continue
            elif delivery.status == "unknown" and not self.resend_unknown:
                result.deferred.append(self._problem(row, MAYBE + f" ({delivery.last_error})"))
            elif not ledger.claim_delivery(code, self.owner, retake, self.resend_unknown):
                result.deferred.append(self._problem(row, "another certgen is sending it"))
            else:
                message = next(m for index, m in messages if index == i)  # skips the unsent
                throttle.wait()
                status, error = self._attempt(message, code)
                detail = {"batch": run.id, "to": delivery.address}
                detail |= {"message_id": message["Message-ID"]} if status == "sent" else {}
                detail |= {"error": error} if error else {}
                recorded = "pending" if status == "stopped" else status
                ledger.finish_delivery(code, recorded, error=error, actor=run.actor, detail=detail)
                if status == "sent":
                    result.sent += 1
                elif status == "rejected":
                    result.rejected.append(self._problem(row, error or "rejected"))
                elif status == "unknown":
                    result.deferred.append(self._problem(row, f"{MAYBE} ({error})"))
                else:
                    result.deferred.append(self._problem(row, error or "not sent"))
                    if status == "stopped":
                        result.stopped = error
            if progress and not result.stopped:
                progress(done)

    def _attempt(self, message: EmailMessage, code: str) -> tuple[str, str | None]:
        """Send once, reconnecting after a lost connection: ``sent``, ``rejected`` (for
        good), ``pending`` (a temporary refusal), ``unknown`` (the server took the whole
        message and its answer was lost) or ``stopped`` (the server stays lost)."""
        for delay in (*RECONNECT_DELAYS, None):
            try:
                self.postbox.send(message, code)
                return "sent", None
            except mail.MaybeDelivered as exc:  # never sent again without being asked
                return "unknown", str(exc)
            except smtplib.SMTPRecipientsRefused as exc:
                replies = list(exc.recipients.values())
                permanent = all(reply[0] >= 500 for reply in replies)
                reason = "; ".join(f"{c} {_text(m)}" for c, m in replies)
                return ("rejected" if permanent else "pending"), reason
            except (smtplib.SMTPSenderRefused, smtplib.SMTPAuthenticationError) as exc:
                return "stopped", f"{exc.smtp_code} {_text(exc.smtp_error)}"
            except smtplib.SMTPResponseException as exc:
                permanent = exc.smtp_code >= 500
                return ("rejected" if permanent else "pending"), (
                    f"{exc.smtp_code} {_text(exc.smtp_error)}"
                )
            except OSError as exc:  # the connection: refused, dropped, timed out
                reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
                if delay is None:
                    return "stopped", reason
                self.sleep(delay)
        raise AssertionError("unreachable")

    def _problem(self, row: Row, reason: str) -> Problem:
        where = (self.run.file, row.number, row.column(self.outgoing.field))
        return Problem(f"{self.outgoing.email(row)}: {reason}", *where)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _dead_claims(deliveries: Iterable[Delivery], owner: str) -> set[str]:
    """Senders holding claims that can be taken over: processes on this machine that are
    gone, and any whose claim is older than a delivery attempt can last."""
    stale_before = (dt.datetime.now(dt.UTC) - STALE_CLAIM).isoformat(timespec="seconds")
    dead = set()
    for d in deliveries:
        if d.status != "sending" or not d.claimed_by or d.claimed_by == owner:
            continue
        claim_host, _, pid = d.claimed_by.rpartition(":")
        if (d.claimed_at or "") < stale_before or not locks.process_alive(claim_host, int(pid)):
            dead.add(d.claimed_by)
    return dead
