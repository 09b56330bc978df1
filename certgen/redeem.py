"""Redeeming (and undoing it), voiding and converting certificates: each a conditional
change in the ledger, then an Outcome that says what happened, or why not, for people and
for scripts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum

from certgen import codes, stopping
from certgen.errors import InputError, NotFoundError, Problem
from certgen.ledger import CertificateRecord, Ledger, utc_now


class Outcome(Enum):
    """Each outcome's value is the CLI's exit code; successes are 0."""

    REDEEMED = "redeemed", 0
    VOIDED = "voided", 0
    CONVERTED = "converted", 0
    UNREDEEMED = "unredeemed", 0
    UNKNOWN = "unknown", 6
    MISTYPED = "mistyped", 7
    ALREADY_REDEEMED = "already_redeemed", 8
    EXPIRED = "expired", 9
    ALREADY_VOIDED = "already_voided", 10
    NOT_REDEEMED = "not_redeemed", 11
    ALREADY_CONVERTED = "already_converted", 12
    UNDO_CLOSED = "undo_closed", 18

    def __init__(self, reason: str, exit_code: int):
        self.reason = reason
        self.exit_code = exit_code

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    code: str  # canonical when valid, else as typed
    record: CertificateRecord | None
    message: str


def _when(at: str | None) -> str:
    return (at or "").replace("T", " ").replace("+00:00", " UTC")


def _refusal(record: CertificateRecord | None, today: str) -> tuple[Outcome, str]:
    """Why a certificate is not redeemable, from its record."""
    if record is None:
        return Outcome.UNKNOWN, "is not in the ledger"
    if record.redeemed_at:
        by = f" by {record.redeemed_by}" if record.redeemed_by else ""
        return Outcome.ALREADY_REDEEMED, (
            f"was already redeemed on {_when(record.redeemed_at)}{by} ({record.redeemed_via})"
        )
    if record.voided_at:
        return Outcome.ALREADY_VOIDED, (
            f"was voided on {_when(record.voided_at)}: {record.void_reason}"
        )
    if record.expires_on and record.expires_on < today:
        return Outcome.EXPIRED, f"expired on {record.expires_on}"
    raise AssertionError("a redeemable certificate was refused")


def status(record: CertificateRecord | None, today: dt.date | None = None) -> str:
    """valid, redeemed, voided, expired or unknown, for showing a certificate."""
    if record is None:
        return "unknown"
    day = (today or dt.date.today()).isoformat()
    if record.redeemed_at:
        return "redeemed"
    if record.voided_at:
        return "voided"
    if record.expires_on and record.expires_on < day:
        return "expired"
    return "valid"


def find(ledger: Ledger, text: str) -> tuple[str | None, CertificateRecord | None]:
    """(canonical code, record) for what someone typed or scanned; a mistyped code gives
    (None, None) without asking the ledger."""
    code = _parse(text)
    return (code, ledger.get(code)) if code else (None, None)


def _parse(text: str) -> str | None:
    code = codes.normalize(text)
    return code if codes.is_valid(code) else None


def _mistyped(text: str) -> Result:
    return Result(
        Outcome.MISTYPED,
        text,
        None,
        f"'{text}' is not a valid certificate code: check it for a typo",
    )


def redeem(
    ledger: Ledger,
    text: str,
    *,
    actor: str,
    channel: str = "cli",
    note: str | None = None,
    today: dt.date | None = None,
) -> Result:
    """Redeem once. A mistyped code is refused by its check symbol, before any query;
    every other failed attempt is recorded as a ``redeem_failed`` event."""
    code = _parse(text)
    if code is None:
        return _mistyped(text)
    day = (today or dt.date.today()).isoformat()
    at = utc_now()
    if ledger.redeem(code, at=at, today=day, actor=actor, channel=channel, note=note):
        return Result(Outcome.REDEEMED, code, ledger.get(code), f"{codes.display(code)} redeemed")
    record = ledger.get(code)
    outcome, why = _refusal(record, day)
    detail = {"reason": outcome.reason, "note": note}
    ledger.record_event(code, "redeem_failed", at=at, actor=actor, channel=channel, detail=detail)
    return Result(outcome, code, record, f"{codes.display(code)} {why}")


def void(ledger: Ledger, text: str, *, reason: str, actor: str, channel: str = "cli") -> Result:
    """Void an unredeemed certificate; a redeemed one cannot be voided."""
    code = _parse(text)
    if code is None:
        return _mistyped(text)
    if ledger.void(code, at=utc_now(), actor=actor, channel=channel, reason=reason):
        return Result(Outcome.VOIDED, code, ledger.get(code), f"{codes.display(code)} voided")
    record = ledger.get(code)
    outcome, why = _refusal(record, "")
    if outcome is Outcome.ALREADY_REDEEMED:
        why += "; a redeemed certificate cannot be voided"
    return Result(outcome, code, record, f"{codes.display(code)} {why}")


def unredeem(
    ledger: Ledger,
    text: str,
    *,
    reason: str,
    actor: str,
    window: dt.timedelta,
    channel: str = "cli",
    now: dt.datetime | None = None,
) -> Result:
    """Undo a redemption made within the last ``window`` (a mistake at the counter): the
    certificate is valid again and both events stay in its history. A converted one is
    refused: the conversion came from that visit."""
    code = _parse(text)
    if code is None:
        return _mistyped(text)
    if not reason.strip():
        raise InputError([Problem("a reason is required", column="--reason", hint="say why")])
    moment = now or dt.datetime.now(dt.UTC)
    at = moment.isoformat(timespec="seconds")
    since = (moment - window).isoformat(timespec="seconds")
    done = ledger.unredeem(
        code, at=at, since=since, actor=actor, channel=channel, reason=reason.strip()
    )
    record = ledger.get(code)
    shown = codes.display(code)
    if done:
        return Result(Outcome.UNREDEEMED, code, record, f"{shown}: redemption undone")
    if record is None:
        return Result(Outcome.UNKNOWN, code, None, f"{shown} is not in the ledger")
    if record.redeemed_at is None:
        return Result(Outcome.NOT_REDEEMED, code, record, f"{shown} is not redeemed")
    if record.converted_at:
        return Result(
            Outcome.ALREADY_CONVERTED,
            code,
            record,
            f"{shown} was converted on {_when(record.converted_at)}; "
            "a redemption that brought a customer stays",
        )
    minutes = int(window.total_seconds() // 60)
    return Result(
        Outcome.UNDO_CLOSED,
        code,
        record,
        f"{shown} was redeemed on {_when(record.redeemed_at)}: a redemption can be undone "
        f"within {minutes} minutes ([web] undo_minutes)",
    )


def parse_value(text: str | None) -> str | None:
    """A conversion value as a plain decimal string, or an InputError."""
    if text is None:
        return None
    try:
        value = Decimal(text.replace(",", "").lstrip("$€£"))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        problem = Problem(f"'{text}' is not an amount", column="--value", hint="write it as 120.50")
        raise InputError([problem])
    return str(value.quantize(Decimal("0.01")))


def convert(
    ledger: Ledger,
    text: str,
    *,
    actor: str,
    value: str | None = None,
    note: str | None = None,
    channel: str = "cli",
    unredeemed: bool = False,
) -> Result:
    """Record that the referred friend became a customer: once, after redemption, or
    (``unredeemed``) without it, for a friend who bought without presenting the gift."""
    code = _parse(text)
    if code is None:
        return _mistyped(text)
    amount = parse_value(value)
    done = ledger.convert(
        code,
        at=utc_now(),
        actor=actor,
        channel=channel,
        value=amount,
        note=note,
        unredeemed=unredeemed,
    )
    record = ledger.get(code)
    if done:
        return Result(Outcome.CONVERTED, code, record, f"{codes.display(code)} converted")
    if record is None:
        return Result(Outcome.UNKNOWN, code, None, f"{codes.display(code)} is not in the ledger")
    if record.converted_at:
        return Result(
            Outcome.ALREADY_CONVERTED,
            code,
            record,
            f"{codes.display(code)} was already converted on {_when(record.converted_at)}",
        )
    shown = codes.display(code)
    if record.voided_at:
        message = f"{shown} was voided; a voided certificate is never converted"
    elif unredeemed:
        message = f"{shown} was redeemed: convert it without --unredeemed"
    else:
        message = (
            f"{shown} has not been redeemed; if the friend bought without presenting it, "
            "convert it with --unredeemed"
        )
    return Result(Outcome.NOT_REDEEMED, code, record, message)


VOID_BLOCK = 500  # certificates voided in one transaction


@dataclass(frozen=True)
class RunVoid:
    """What voiding a run did, or (``dry_run``) would do."""

    run_id: str
    total: int  # certificates in the run
    voided: int  # by this call
    already: int  # voided before
    redeemed: int  # used: these stay, a redeemed certificate cannot be voided
    left: int  # could still be voided: past --limit, or taken by a redemption meanwhile
    dry_run: bool = False


def void_run(
    ledger: Ledger,
    run_id: str,
    *,
    reason: str,
    actor: str,
    limit: int | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> RunVoid:
    """Void every unredeemed certificate of run ``run_id`` (the first ``limit`` of them),
    VOID_BLOCK to a transaction, stopping between blocks on Ctrl-C: running it again voids
    the rest and never touches one already voided or redeemed."""
    records = ledger.batch(run_id)
    if not records:
        raise NotFoundError(f"no run {run_id} in the ledger (certgen runs lists the runs)")
    voidable = [r.code for r in records if r.redeemed_at is None and r.voided_at is None]
    already = sum(1 for r in records if r.voided_at is not None)
    redeemed = sum(1 for r in records if r.redeemed_at is not None and r.voided_at is None)
    now = voidable if limit is None else voidable[:limit]
    if dry_run:
        return RunVoid(run_id, len(records), 0, already, redeemed, len(voidable), dry_run=True)
    done = 0
    at = utc_now()
    for start in range(0, len(now), VOID_BLOCK):
        stopping.check()  # between transactions: every block is voided whole or not at all
        block = now[start : start + VOID_BLOCK]
        done += len(ledger.void_many(block, at=at, actor=actor, channel="cli", reason=reason))
        if progress:
            progress(start + len(block))
    left = len(voidable) - done
    return RunVoid(run_id, len(records), done, already, redeemed, left)
