"""Mail pieces: the serials of the Intelligent Mail barcodes a mailing run prints.

Each mailer ID has a counter that only grows; a run takes a block of it at once (one
conditional UPDATE, so two runs never share a serial) and keeps the block under its id,
so a resumed run prints the same serials. A serial is the counter modulo the serials the
mailer ID's length allows; a block that would come round onto serials given out in the
last 45 days is refused, as USPS asks."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from certgen.errors import InputError, Problem, RunMismatchError
from certgen.ledger.schema import imb_blocks, imb_serials


class MailPieceStore:
    """The Ledger's mail-piece methods (a part of ``Ledger``)."""

    def _transaction(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def reserve_serials(
        self,
        batch_id: str,
        mailer_id: str,
        count: int,
        modulus: int,
        now: dt.datetime,
        reuse_days: int = 45,
    ) -> int:
        """The first of ``count`` serials for run ``batch_id`` (the run's own block if it
        took one before), as the counter's value: serial i is (first + i) % modulus."""
        at = now.astimezone(dt.UTC).isoformat(timespec="seconds")
        with self._transaction() as conn:
            taken = conn.execute(
                sa.select(imb_blocks).where(imb_blocks.c.batch_id == batch_id)
            ).first()
            if taken is not None:
                if taken.mailer_id != mailer_id or taken.pieces < count:
                    raise RunMismatchError(
                        f"run {batch_id} took {taken.pieces} IMb serials for mailer ID "
                        f"{taken.mailer_id}; this one needs {count} for {mailer_id}: "
                        "resume it with the same --imb-mailer-id and list"
                    )
                return int(taken.first)
            if count > modulus:
                raise InputError([_too_many(mailer_id, count, modulus)])
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            conn.execute(  # the counter, made at 0 the first time (another run may race)
                dialect.insert(imb_serials)
                .values(mailer_id=mailer_id, next=0)
                .on_conflict_do_nothing(index_elements=["mailer_id"])
            )
            bumped = conn.execute(  # one conditional UPDATE: no two runs share a serial
                imb_serials.update()
                .where(imb_serials.c.mailer_id == mailer_id)
                .values(next=imb_serials.c.next + count)
                .returning(imb_serials.c.next)
            ).scalar_one()
            first = int(bumped) - count
            cutoff = (now - dt.timedelta(days=reuse_days)).astimezone(dt.UTC)
            oldest = conn.execute(
                sa.select(sa.func.min(imb_blocks.c.first)).where(
                    imb_blocks.c.mailer_id == mailer_id,
                    imb_blocks.c.reserved_at >= cutoff.isoformat(timespec="seconds"),
                )
            ).scalar()
            if oldest is not None and first + count - int(oldest) > modulus:
                raise InputError([_too_many(mailer_id, count, modulus, reuse_days)])
            conn.execute(
                imb_blocks.insert().values(
                    batch_id=batch_id,
                    mailer_id=mailer_id,
                    first=first,
                    pieces=count,
                    reserved_at=at,
                )
            )
            return first


def _too_many(mailer_id: str, count: int, modulus: int, days: int | None = None) -> Problem:
    within = f" within {days} days" if days else ""
    return Problem(
        f"mailer ID {mailer_id} has {modulus:,} serials, and {count:,} more pieces would give "
        f"out one twice{within}, which USPS does not allow",
        hint="mail in smaller runs later, or use a 6-digit mailer ID (a billion serials)",
    )
