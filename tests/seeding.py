"""A ledger with the shape of a real referral programme, for the dashboard's tests and bench.

Certificates come in campaigns (batches) with variants, from a few referrers known by email
(one name shared by two of them), issued over weeks; some are looked at, redeemed at two
locations, converted (a few without the gift), voided, or near expiry. Everything goes
through the ledger's own methods, as the CLI and the page record it.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from certgen import codes
from certgen.ledger import BatchRecord, CertificateRecord, Ledger

REFERRERS = (  # two of them share a name: the report keeps them apart by email
    ("Jane Doe", "jane@example.com"),
    ("Jane Doe", "jane.doe@example.org"),
    ("Ravi Patel", "ravi@example.com"),
    ("Ana García", "ana@example.com"),
)
VARIANTS = ("A", "B")
STAFF = (("Sam", "Downtown"), ("Kim", "Airport"))


@dataclass(frozen=True)
class Seeded:
    codes: list[str]
    batches: list[str]


def seed(
    ledger: Ledger,
    count: int,
    *,
    today: dt.date,
    campaigns: int = 3,
    password_hash: str = "!",
    rng_seed: int = 7,
) -> Seeded:
    """``count`` certificates over ``campaigns`` batches, issued in the 20 weeks to
    ``today``; the staff who redeem them sign in with ``password_hash``."""
    rng = random.Random(rng_seed)  # noqa: S311 - reproducible test data, not secrets
    for name, location in STAFF:
        ledger.add_staff(name, password_hash, role="staff", location=location)
    made: list[str] = []
    batch_ids = []
    per = -(-count // campaigns)
    for campaign in range(campaigns):
        size = min(per, count - len(made))
        start = today - dt.timedelta(weeks=20 - 6 * campaign)
        batch_id = f"campaign-{campaign + 1}"
        batch_ids.append(batch_id)
        records = []
        for i in range(size):
            code = codes.generate()
            giver, email = REFERRERS[rng.randrange(len(REFERRERS))]
            issued = dt.datetime.combine(
                start + dt.timedelta(days=rng.randrange(42)), dt.time(10), dt.UTC
            )
            expires = issued.date() + dt.timedelta(days=rng.randrange(30, 150))
            data = {
                "giver": giver,
                "giver_email": email,
                "recipient": f"Friend {len(made) + i}",
                "variant": VARIANTS[i % len(VARIANTS)],
            }
            records.append(
                CertificateRecord(
                    code, batch_id, "o.pdf", i + 1, i + 2, "classic", "h",
                    data["recipient"], giver, data, issued.isoformat(), expires.isoformat(),
                )
            )  # fmt: skip
        batch = BatchRecord(batch_id, "classic", "h", "list.csv", "o.pdf", size, start.isoformat())
        ledger.issue_batch(batch, records)
        made += [record.code for record in records]
        _lifecycle(ledger, records, rng, today)
    return Seeded(made, batch_ids)


def _lifecycle(
    ledger: Ledger, records: list[CertificateRecord], rng: random.Random, today: dt.date
) -> None:
    looks = []
    for record in records:
        issued = dt.datetime.fromisoformat(record.issued_at)
        if rng.random() < 0.6:
            looks.append((record.code, (issued + dt.timedelta(days=1)).isoformat()))
    ledger.record_views(looks, within=60)
    for record in records:
        issued = dt.datetime.fromisoformat(record.issued_at)
        at = (issued + dt.timedelta(days=3)).isoformat()
        roll = rng.random()
        if roll < 0.02:
            ledger.void(record.code, at=at, actor="Ann", channel="cli", reason="returned")
        elif roll < 0.35:
            staff = STAFF[rng.randrange(len(STAFF))][0]
            ledger.redeem(
                record.code, at=at, today=issued.date().isoformat(), actor=staff,
                channel="web", note=None,
            )  # fmt: skip
            if rng.random() < 0.4:
                value = f"{rng.randrange(40, 400)}.{rng.randrange(100):02d}"
                ledger.convert(
                    record.code, at=at, actor=staff, channel="web", value=value, note=None
                )
        elif roll < 0.37:
            ledger.convert(
                record.code, at=at, actor="Sam", channel="web", value="99.00", note=None,
                unredeemed=True,
            )  # fmt: skip
