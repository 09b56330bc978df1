"""The webhook outbox, the ledger's half of webhooks: receivers, and for each event a receiver
listens to, a row owed to it. The rows are written in the transaction that records the event
(``publish``), so an event is never recorded without its deliveries, nor the reverse; the
sender (``certgen.webhooks``) claims, posts and finishes them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from certgen.ledger.schema import certificates, events, webhook_outbox, webhooks

# What a receiver may listen to: the events the ledger records of a certificate.
WEBHOOK_EVENTS = (
    "issued",
    "emailed",
    "viewed",
    "redeemed",
    "unredeemed",
    "voided",
    "converted",
    "notified",
    "reminded",
)


@dataclass(frozen=True)
class Webhook:
    id: int
    url: str
    events: tuple[str, ...]
    secret: str
    created_at: str
    failures: int  # attempts in a row that failed
    paused_until: float | None
    pending: int = 0  # owed now or later, including those being sent
    delivered: int = 0
    failed: int = 0  # given up: `certgen webhooks retry` queues them again
    last_error: str | None = None


@dataclass(frozen=True)
class Owed:
    """One claimed delivery, with the event and certificate its body is made of."""

    id: int
    webhook_id: int
    url: str
    secret: str
    failures: int  # the receiver's failures in a row when this was claimed
    attempts: int  # made before this one
    event_id: int
    kind: str
    at: str
    actor: str
    channel: str
    detail: dict[str, Any]
    certificate: dict[str, Any]  # the certificate's columns (its issued facts)


def _now_iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="seconds")


def publish(conn: Connection, event_ids: Sequence[int], at: float) -> None:
    """Owe each of these events to every receiver that listens to its kind, in the
    caller's transaction."""
    if not event_ids:
        return
    w, e = webhooks.c, events.c
    listens = (sa.literal(",") + w.events + ",").like(sa.literal("%,") + e.kind + ",%")
    owed = sa.select(
        w.id,
        e.id,
        e.code,
        sa.literal("pending"),
        sa.literal(0),
        sa.literal(at, sa.Float),
        sa.literal(_now_iso(at)),
    ).where(e.id.in_(list(event_ids)), listens)
    columns = ["webhook_id", "event_id", "code", "status", "attempts", "next_attempt_at"]
    conn.execute(webhook_outbox.insert().from_select([*columns, "created_at"], owed))


def listened(conn: Connection, kind: str) -> bool:
    """Whether any receiver listens to ``kind`` (so a batch needs its events' ids)."""
    w = webhooks.c
    listens = (sa.literal(",") + w.events + ",").like(f"%,{kind},%")
    return conn.execute(sa.select(w.id).where(listens).limit(1)).first() is not None


class WebhookStore:
    """The Ledger's webhook methods (a part of ``Ledger``)."""

    def _transaction(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def add_webhook(self, url: str, kinds: Collection[str], secret: str, at: str) -> int:
        with self._transaction() as conn:
            added = webhooks.insert().values(
                url=url, events=",".join(kinds), secret=secret, created_at=at, failures=0
            )
            return int(conn.execute(added.returning(webhooks.c.id)).scalar_one())

    def webhooks(self) -> list[Webhook]:
        o = webhook_outbox.c
        tally = (
            sa.select(o.webhook_id, o.status, sa.func.count())
            .group_by(o.webhook_id, o.status)
            .subquery()
        )
        with self._transaction() as conn:
            counts: dict[int, dict[str, int]] = {}
            for webhook_id, status, n in conn.execute(sa.select(tally)):
                counts.setdefault(webhook_id, {})[status] = n
            errors = dict(
                conn.execute(  # the latest failure of each receiver still owed
                    sa.select(o.webhook_id, o.last_error)
                    .where(o.last_error.is_not(None), o.status.in_(("pending", "failed")))
                    .order_by(o.webhook_id, o.id)
                ).all()
            )
            rows = conn.execute(sa.select(webhooks).order_by(webhooks.c.id)).all()
        found = []
        for r in rows:
            n = counts.get(r.id, {})
            found.append(
                Webhook(
                    r.id,
                    r.url,
                    tuple(r.events.split(",")),
                    r.secret,
                    r.created_at,
                    r.failures,
                    r.paused_until,
                    pending=n.get("pending", 0) + n.get("sending", 0),
                    delivered=n.get("delivered", 0),
                    failed=n.get("failed", 0),
                    last_error=errors.get(r.id),
                )
            )
        return found

    def remove_webhook(self, webhook_id: int) -> int | None:
        """Forget a receiver and what was still owed to it (how many; None: no such one).
        Its events stay in the ledger's history."""
        o = webhook_outbox.c
        with self._transaction() as conn:
            owed = webhook_outbox.delete().where(o.webhook_id == webhook_id)
            dropped = conn.execute(owed.where(o.status.in_(("pending", "sending")))).rowcount
            conn.execute(webhook_outbox.delete().where(o.webhook_id == webhook_id))
            gone = conn.execute(webhooks.delete().where(webhooks.c.id == webhook_id)).rowcount
        return dropped if gone else None

    def webhook_claims(self) -> list[tuple[str, float]]:
        """The senders holding claims now, and each one's oldest claim (unix time)."""
        o = webhook_outbox.c
        with self._transaction() as conn:
            rows = conn.execute(
                sa.select(o.claimed_by, sa.func.min(o.claimed_at))
                .where(o.status == "sending")
                .group_by(o.claimed_by)
            ).all()
        return [(str(owner), float(at)) for owner, at in rows]

    def claim_webhook_deliveries(
        self, owner: str, now: float, limit: int, retake: Collection[str] = ()
    ) -> list[Owed]:
        """Claim up to ``limit`` deliveries that are due (or held by a sender in
        ``retake``, one that died), oldest first, none while an earlier event of the same
        certificate is still owed to the same receiver; a paused receiver's wait."""
        o, w = webhook_outbox.c, webhooks.c
        earlier = webhook_outbox.alias("earlier")
        blocked = (
            sa.select(earlier.c.id)
            .where(
                earlier.c.webhook_id == o.webhook_id,
                earlier.c.code == o.code,
                earlier.c.event_id < o.event_id,
                earlier.c.status.in_(("pending", "sending")),
            )
            .exists()
        )
        claimable = sa.or_(
            sa.and_(o.status == "pending", o.next_attempt_at <= now),
            sa.and_(o.status == "sending", o.claimed_by.in_(list(retake))),
        )
        ready = sa.or_(w.paused_until.is_(None), w.paused_until <= now)
        due = (
            sa.select(o.id)
            .join(webhooks, w.id == o.webhook_id)
            .where(claimable, ready, ~blocked)
            .order_by(o.id)
            .limit(limit)
        )
        with self._transaction() as conn:
            # One statement: of two senders, each row goes to one (the condition is checked
            # again as the row is written).
            claim = (
                webhook_outbox.update()
                .where(o.id.in_(due.scalar_subquery()), claimable)
                .values(status="sending", claimed_by=owner, claimed_at=now)
                .returning(o.id)
            )
            claimed = sorted(conn.execute(claim).scalars())
            if not claimed:
                return []
            rows = conn.execute(
                sa.select(
                    o.id,
                    o.webhook_id,
                    w.url,
                    w.secret,
                    w.failures,
                    o.attempts,
                    events.c.id.label("event_id"),
                    events.c.kind,
                    events.c.at,
                    events.c.actor,
                    events.c.channel,
                    events.c.detail_json,
                    *[c.label(f"c_{c.name}") for c in _CERTIFICATE_FACTS],
                )
                .join(webhooks, w.id == o.webhook_id)
                .join(events, events.c.id == o.event_id)
                .join(certificates, certificates.c.code == o.code, isouter=True)
                .where(o.id.in_(claimed))
                .order_by(o.id)
            ).all()
        return [_owed(r) for r in rows]

    def finish_webhook_delivery(
        self,
        owed: Owed,
        *,
        error: str | None,
        now: float,
        retry_at: float | None = None,
        pause_until: float | None = None,
    ) -> None:
        """Delivered (no ``error``), or failed: tried again at ``retry_at``, or given up
        without one; the receiver rests until ``pause_until``."""
        o, w = webhook_outbox.c, webhooks.c
        if error is None:
            row: dict[str, Any] = {"status": "delivered", "delivered_at": _now_iso(now)}
            receiver: dict[str, Any] = {"failures": 0, "paused_until": None}
        else:
            status = "pending" if retry_at is not None else "failed"
            row = {"status": status, "last_error": error[:500]}
            row["next_attempt_at"] = retry_at if retry_at is not None else now
            receiver = {"failures": w.failures + 1, "paused_until": pause_until}
        with self._transaction() as conn:
            conn.execute(
                webhook_outbox.update()
                .where(o.id == owed.id)
                .values(**row, attempts=o.attempts + 1, claimed_by=None, claimed_at=None)
            )
            conn.execute(webhooks.update().where(w.id == owed.webhook_id).values(**receiver))

    def release_webhook_deliveries(self, ids: Collection[int]) -> None:
        """Give back claimed deliveries not attempted (their receiver failed first)."""
        if not ids:
            return
        o = webhook_outbox.c
        with self._transaction() as conn:
            conn.execute(
                webhook_outbox.update()
                .where(o.id.in_(list(ids)), o.status == "sending")
                .values(status="pending", claimed_by=None, claimed_at=None)
            )

    def retry_webhook_deliveries(self, webhook_id: int | None, now: float) -> int:
        """Queue the given-up deliveries again (of one receiver, or all), due now."""
        o = webhook_outbox.c
        which = o.status == "failed"
        if webhook_id is not None:
            which = sa.and_(which, o.webhook_id == webhook_id)
        with self._transaction() as conn:
            queued = conn.execute(
                webhook_outbox.update()
                .where(which)
                .values(status="pending", attempts=0, next_attempt_at=now)
            ).rowcount
            receivers = webhooks.update()
            if webhook_id is not None:
                receivers = receivers.where(webhooks.c.id == webhook_id)
            conn.execute(receivers.values(failures=0, paused_until=None))
        return int(queued)

    def webhook_deliveries_due(self, now: float) -> int:
        """How many deliveries a sender would post now (claims held by senders aside)."""
        o, w = webhook_outbox.c, webhooks.c
        ready = sa.or_(w.paused_until.is_(None), w.paused_until <= now)
        with self._transaction() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(webhook_outbox.join(webhooks, w.id == o.webhook_id))
                    .where(o.status == "pending", o.next_attempt_at <= now, ready)
                ).scalar_one()
            )

    def next_webhook_attempt(self) -> float | None:
        """When the earliest delivery still waiting for a retry is due (unix time)."""
        o = webhook_outbox.c
        with self._transaction() as conn:
            return conn.execute(
                sa.select(sa.func.min(o.next_attempt_at)).where(o.status == "pending")
            ).scalar()


_CERTIFICATE_FACTS = [
    certificates.c[name]
    for name in (
        "code",
        "batch_id",
        "design",
        "recipient",
        "giver",
        "data_json",
        "issued_at",
        "expires_on",
        "referrer_key",
        "variant",
    )
]


def _owed(r: Any) -> Owed:
    facts = {c.name: getattr(r, f"c_{c.name}") for c in _CERTIFICATE_FACTS}
    return Owed(
        r.id,
        r.webhook_id,
        r.url,
        r.secret,
        r.failures,
        r.attempts,
        r.event_id,
        r.kind,
        r.at,
        r.actor,
        r.channel,
        json.loads(r.detail_json),
        facts,
    )
