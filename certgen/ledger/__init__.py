"""The ledger of issued certificates, through SQLAlchemy Core so that one code path serves
SQLite (the embedded default) and PostgreSQL. Times are UTC ISO-8601 text in both."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

from certgen import codes as codes_mod
from certgen.errors import LedgerError
from certgen.ledger.pieces import MailPieceStore
from certgen.ledger.schema import (
    MIGRATIONS,
    ROLES,
    api_replies,
    api_tokens,
    batches,
    certificates,
    deliveries,
    events,
    migrations_table,
    notifications,
    referrer_key,
    reminders,
    run_leases,
    search_folded,
    search_key,
    sign_in_attempts,
    staff,
    staff_sessions,
    unsubscribes,
)
from certgen.ledger.webhooks import WebhookStore, listened, publish

T = TypeVar("T")
SQLITE_HEADER = b"SQLite format 3\x00"
SOUND_FOR = 60.0  # seconds a quick check vouches for an open ledger
MIGRATION_LOCK = 0x63657274  # "cert": the PostgreSQL advisory lock that orders migrations
LEASE_STALE = 1800.0  # seconds without a heartbeat after which a run's lease is free
DAMAGED = (
    "the ledger is damaged, so nothing was written: run certgen ledger check for every "
    "problem, then certgen ledger restore BACKUP (your last certgen ledger backup)"
)
# certgen's own rules, each a query for what breaks it and how to say one row of it.
INVARIANTS = (
    (
        "SELECT code FROM certificates c WHERE NOT EXISTS "
        "(SELECT 1 FROM events e WHERE e.code = c.code AND e.kind = 'issued')",
        "certificate {0} has no 'issued' event",
    ),
    (
        "SELECT DISTINCT code, kind FROM events e WHERE kind != 'redeem_failed' AND NOT EXISTS "
        "(SELECT 1 FROM certificates c WHERE c.code = e.code)",
        "event '{1}' names {0}, which is not a certificate",
    ),
    (
        "SELECT code, batch_id FROM certificates c WHERE NOT EXISTS "
        "(SELECT 1 FROM batches b WHERE b.id = c.batch_id)",
        "certificate {0} names run {1}, which is not recorded",
    ),
    (
        "SELECT code FROM certificates WHERE voided_at IS NOT NULL AND redeemed_at IS NOT NULL "
        "AND redeemed_at > voided_at",
        "certificate {0} was redeemed after it was voided",
    ),
    (
        "SELECT b.id, b.count, COUNT(c.code) FROM batches b JOIN certificates c "
        "ON c.batch_id = b.id GROUP BY b.id, b.count HAVING COUNT(c.code) > b.count",
        "run {0} is of {1} certificates but records {2}",
    ),
    (
        "SELECT code, page FROM certificates WHERE page < 1",
        "certificate {0} is on page {1}",
    ),
)


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class BatchRecord:
    id: str
    design: str
    design_hash: str
    source: str  # the CSV file, or "command line"
    file: str  # the PDF
    count: int
    created_at: str
    fingerprint: str | None = None  # of its design and rows: see certgen.runs
    settings: str | None = None  # JSON: the options its output depends on (certgen.runs)


@dataclass(frozen=True)
class ApiToken:
    """An API token as listed: never the token itself (only its hash is kept)."""

    staff: str
    label: str
    created_at: float
    expires_at: float
    last_used: float | None


@dataclass(frozen=True)
class CertificateRecord:
    code: str
    batch_id: str
    file: str
    page: int
    source_row: int | None
    design: str
    design_hash: str
    recipient: str
    giver: str
    data: dict[str, str]
    issued_at: str
    expires_on: str | None
    redeemed_at: str | None = None
    redeemed_by: str | None = None
    redeemed_via: str | None = None
    voided_at: str | None = None
    voided_by: str | None = None
    void_reason: str | None = None
    converted_at: str | None = None
    conversion_value: str | None = None
    redeemed_location: str | None = None  # where the staff member who redeemed it works
    viewed_at: str | None = None  # when a person first opened its page
    mail_piece: str | None = None  # its Intelligent Mail barcode's digits, on a mailing run


@dataclass(frozen=True)
class StaffMember:
    name: str
    created_at: str
    role: str  # staff or owner (ROLES)
    location: str | None
    tokens: int  # API tokens valid now


@dataclass(frozen=True)
class Event:
    code: str
    kind: str
    at: str
    actor: str
    channel: str
    detail: dict[str, Any]


def safe_url(url: str | URL) -> str:
    """The URL as it may be shown to users: never with its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparsable ledger URL>"


def _engine_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise LedgerError(
            f"'{url}' is not a ledger URL (use sqlite:///PATH or postgresql://HOST/DB)"
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise LedgerError(
            f"{safe_url(url)}: only sqlite:// and postgresql:// ledgers are supported"
        )
    return parsed


def _sqlite_pragmas(wait: float, read_only: bool = False) -> Callable[[Any, Any], None]:
    def set_up(dbapi_conn: Any, _record: Any) -> None:
        # WAL lets readers run beside the writer; the busy timeout makes writers queue
        # instead of failing with "database is locked". A read-only ledger keeps its mode.
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        else:
            _wal(cursor, wait)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return set_up


def _wal(cursor: Any, wait: float) -> None:
    """Put the file in WAL mode (once: the file keeps it). Switching is refused, busy
    timeout or not, while another process holds a new ledger's first transaction, so two
    commands opening a new ledger at once retry here for up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Ledger(WebhookStore, MailPieceStore):
    """An open ledger. Use ``open_ledger``; close it (or use it as a context manager)."""

    def __init__(self, engine: Engine, url: str, read_only: bool = False):
        self.engine = engine
        self.url = url
        self.read_only = read_only  # a file certgen may not write: it serves reads only
        self._checked = -SOUND_FOR  # when require_sound last found it sound (monotonic)
        self.applied: list[str] = []  # migrations applied when it was opened

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.IntegrityError:
            raise
        except sa.exc.DataError as exc:  # a value the schema cannot hold: nothing is damaged
            raise LedgerError(
                f"{safe_url(self.url)}: a value does not fit: {_reason(exc)}"
            ) from exc
        except sa.exc.OperationalError as exc:
            if self.read_only and "readonly" in _reason(exc).replace(" ", "").replace("-", ""):
                raise LedgerError(
                    f"{safe_url(self.url)}: the ledger is read-only here, so nothing was "
                    "written: it serves show, report, runs, verify and ledger check and export; "
                    "run this where the ledger can be written"
                ) from exc
            raise LedgerError(f"{safe_url(self.url)}: {_reason(exc)}") from exc
        except sa.exc.DatabaseError as exc:  # "database disk image is malformed"
            raise LedgerError(f"{safe_url(self.url)}: {_reason(exc)}; {DAMAGED}") from exc

    def migrate(self) -> list[str]:
        """Apply pending migrations, each in its own transaction that holds the ledger's
        write lock from its first read (two processes opening a new ledger at once: the
        second waits, then finds it done); returns their names. A read-only ledger must
        need none."""
        if self.read_only:
            with self._transaction() as conn:
                made = set(conn.execute(sa.select(migrations_table.c.name)).scalars())
            pending = [name for name, _ in MIGRATIONS if name not in made]
            if pending:
                raise LedgerError(
                    f"{safe_url(self.url)}: the ledger is read-only here and was made by an "
                    f"older certgen ({len(pending)} upgrade{'s' if len(pending) != 1 else ''} "
                    "to apply): open it once where it can be written"
                )
            return []
        with self._locked() as conn:
            migrations_table.create(conn, checkfirst=True)
        applied = []
        for name, migration in MIGRATIONS:
            with self._locked() as conn:
                done = conn.execute(
                    sa.select(migrations_table.c.name).where(migrations_table.c.name == name)
                ).first()
                if done:
                    continue
                migration(conn)
                conn.execute(migrations_table.insert().values(name=name, applied_at=utc_now()))
                applied.append(name)
        return applied

    @contextmanager
    def _locked(self) -> Iterator[Connection]:
        """A transaction that holds the write lock before it reads: SQLite's BEGIN
        IMMEDIATE, a PostgreSQL advisory lock for the transaction."""
        try:
            with self.engine.connect() as conn:
                if self.engine.dialect.name == "sqlite":
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                else:
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                try:
                    yield conn
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
        except sa.exc.OperationalError as exc:
            raise LedgerError(f"{safe_url(self.url)}: {_reason(exc)}") from exc

    def issue_batch(
        self,
        batch: BatchRecord,
        records: Iterable[CertificateRecord],
        *,
        actor: str = "certgen",
        channel: str = "cli",
        new_batch: bool = True,
        emails: Mapping[str, str] | None = None,
    ) -> None:
        """Record a batch (unless ``new_batch`` is false: a later part of a split run) and
        these certificates and their events, in one transaction; with ``emails`` (code ->
        address), each certificate's pending delivery too. The records are read and
        inserted a thousand at a time, so a long run is never all in memory."""
        self.require_sound()
        try:
            with self._transaction() as conn:
                hooked = listened(conn, "issued")
                if new_batch:
                    conn.execute(batches.insert().values(**vars(batch)))
                for some in _batches(records, 1000):
                    conn.execute(certificates.insert(), [_certificate_row(r) for r in some])
                    issued = [_issued(r, batch.id, actor, channel) for r in some]
                    _insert_events(conn, issued, "issued", hooked)
                if emails:
                    conn.execute(deliveries.insert(), _pending(batch.id, emails))
        except sa.exc.IntegrityError as exc:
            raise LedgerError(
                f"{safe_url(self.url)}: batch {batch.id} or one of its codes is already "
                "recorded; nothing was recorded, run the command again"
            ) from exc

    def existing(self, codes: Iterable[str]) -> set[str]:
        """Which of ``codes`` are already recorded."""
        found: set[str] = set()
        with self._transaction() as conn:
            for chunk in _batches(codes, 500):
                rows = conn.execute(
                    sa.select(certificates.c.code).where(certificates.c.code.in_(chunk))
                )
                found.update(row.code for row in rows)
        return found

    def get(self, code: str) -> CertificateRecord | None:
        with self._transaction() as conn:
            row = conn.execute(sa.select(certificates).where(certificates.c.code == code)).first()
        if row is None:
            self.require_sound()  # a damaged index can miss a real code: say so, not "unknown"
            return None
        return _record(row._mapping)

    # API replies: an Idempotency-Key's first answer, replayed.

    def reply_begin(
        self, staff: str, key: str, request: str, at: float, keep: float
    ) -> dict[str, Any] | None:
        """Claim ``key`` for this request (None), or the stored reply of the request that
        claimed it: ``status`` None while that one is still being answered. Replies older
        than ``keep`` seconds are forgotten."""
        a = api_replies.c
        with self._transaction() as conn:
            conn.execute(api_replies.delete().where(a.created_at < at - keep))
        try:
            with self._transaction() as conn:
                conn.execute(
                    api_replies.insert().values(
                        staff=staff, key=key, request=request, created_at=at
                    )
                )
            return None
        except sa.exc.IntegrityError:
            with self._transaction() as conn:
                row = conn.execute(
                    sa.select(api_replies).where(a.staff == staff, a.key == key)
                ).first()
            return dict(row._mapping) if row else {"request": request, "status": None, "body": None}

    def reply_finish(self, staff: str, key: str, status: int | None, body: str | None) -> None:
        """Store the reply; with ``status`` None, let the key go (the request failed before
        it could be answered, so a retry runs it)."""
        a = api_replies.c
        where = sa.and_(a.staff == staff, a.key == key)
        with self._transaction() as conn:
            if status is None:
                conn.execute(api_replies.delete().where(where))
            else:
                conn.execute(api_replies.update().where(where).values(status=status, body=body))

    # Run leases: one live process per run id.

    def take_lease(
        self, run_id: str, host: str, pid: int, at: float, alive: Callable[[str, int], bool]
    ) -> dict[str, Any] | None:
        """Hold run ``run_id`` for this process; None if taken, else who holds it. A lease
        whose holder is gone (``alive`` says so, or no heartbeat for LEASE_STALE seconds) is
        taken over."""
        r = run_leases.c
        row = {"run_id": run_id, "host": host, "pid": pid, "started_at": utc_now(), "heartbeat": at}
        for _ in range(3):
            try:
                with self._transaction() as conn:
                    conn.execute(run_leases.insert().values(**row))
                return None
            except sa.exc.IntegrityError:
                pass
            with self._transaction() as conn:
                held = conn.execute(sa.select(run_leases).where(r.run_id == run_id)).first()
                if held is None:
                    continue
                if alive(held.host, held.pid) and at - held.heartbeat < LEASE_STALE:
                    return dict(held._mapping)
                conn.execute(  # its holder is gone: only this one takes it over
                    run_leases.delete().where(
                        r.run_id == run_id, r.pid == held.pid, r.host == held.host
                    )
                )
        return {"run_id": run_id, "host": "?", "pid": 0, "started_at": "?"}

    def renew_lease(self, run_id: str, pid: int, at: float) -> None:
        r = run_leases.c
        with self._transaction() as conn:
            conn.execute(
                run_leases.update().where(r.run_id == run_id, r.pid == pid).values(heartbeat=at)
            )

    def drop_lease(self, run_id: str, pid: int) -> None:
        r = run_leases.c
        with self._transaction() as conn:
            conn.execute(run_leases.delete().where(r.run_id == run_id, r.pid == pid))

    # Soundness: a damaged file is found before it is written to, or believed.

    def require_sound(self) -> None:
        """Refuse a damaged SQLite ledger (SQLite's quick check: about 75 ms for 100,000
        certificates), at most once a minute per open ledger."""
        if self.engine.dialect.name != "sqlite" or time.monotonic() - self._checked < SOUND_FOR:
            return
        try:
            with self.engine.connect() as conn:
                found = [row[0] for row in conn.exec_driver_sql("PRAGMA quick_check(5)")]
        except sa.exc.DatabaseError as exc:
            found = [_reason(exc)]
        if found != ["ok"]:
            raise LedgerError(f"{safe_url(self.url)}: {'; '.join(found)[:300]}; {DAMAGED}")
        self._checked = time.monotonic()

    def check(self) -> list[str]:
        """Every problem: the database's own checks (SQLite integrity and foreign keys) and
        certgen's invariants. Empty for a sound ledger."""
        problems: list[str] = []
        try:
            with self.engine.connect() as conn:
                if self.engine.dialect.name == "sqlite":
                    found = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check(20)")]
                    problems += [f"SQLite: {r}" for r in found if r != "ok"]
                    keys = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    problems += [
                        f"SQLite: {r[0]} row {r[1]} refers to a missing {r[2]}" for r in keys
                    ]
                for query, says in INVARIANTS:
                    rows = conn.exec_driver_sql(query).all()
                    problems += [says.format(*row) for row in rows[:20]]
                    if len(rows) > 20:
                        problems.append(f"... and {len(rows) - 20} more like that")
        except sa.exc.DatabaseError as exc:
            problems.append(f"cannot be read: {_reason(exc)}")
        return problems

    def counts(self) -> dict[str, int]:
        """Rows in the tables a person asks about."""
        with self._transaction() as conn:
            return {
                name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
                for name, table in (
                    ("runs", batches),
                    ("certificates", certificates),
                    ("events", events),
                )
            }

    def export_events(self) -> Iterator[dict[str, Any]]:
        """Every event, in the order recorded: the audit log."""
        with self.engine.connect() as conn:
            rows = conn.execution_options(yield_per=1000).execute(
                sa.select(events).order_by(events.c.id)
            )
            for r in rows:
                yield {
                    "id": r.id,
                    "code": r.code,
                    "kind": r.kind,
                    "at": r.at,
                    "actor": r.actor,
                    "channel": r.channel,
                    "detail": json.loads(r.detail_json),
                }

    def backup(self, target: Path) -> None:
        """A consistent copy of a SQLite ledger at ``target``, taken while others write
        (SQLite's online backup: the copy is one moment of the ledger)."""
        if self.engine.dialect.name != "sqlite":
            raise LedgerError(
                f"{safe_url(self.url)} is PostgreSQL: back it up with its own tool, e.g. "
                f"pg_dump --format=custom --file={target} '{safe_url(self.url)}'"
            )
        import sqlite3

        raw = self.engine.raw_connection()
        try:
            copy = sqlite3.connect(target)
            try:
                raw.driver_connection.backup(copy)  # type: ignore[union-attr]
            finally:
                copy.close()
        except sqlite3.DatabaseError as exc:
            target.unlink(missing_ok=True)
            raise LedgerError(f"{safe_url(self.url)}: cannot be copied: {exc}; {DAMAGED}") from exc
        finally:
            raw.close()

    def events(self, code: str) -> list[Event]:
        with self._transaction() as conn:
            rows = conn.execute(
                sa.select(events).where(events.c.code == code).order_by(events.c.id)
            ).all()
        return [
            Event(r.code, r.kind, r.at, r.actor, r.channel, json.loads(r.detail_json)) for r in rows
        ]

    def _event(
        self,
        conn: Connection,
        code: str,
        kind: str,
        at: str,
        actor: str,
        channel: str,
        detail: dict[str, Any],
    ) -> None:
        recorded = events.insert().values(
            code=code,
            kind=kind,
            at=at,
            actor=actor,
            channel=channel,
            detail_json=json.dumps(detail, ensure_ascii=False, sort_keys=True),
        )
        publish(conn, [conn.execute(recorded.returning(events.c.id)).scalar_one()], time.time())

    def record_event(
        self, code: str, kind: str, *, at: str, actor: str, channel: str, detail: dict[str, Any]
    ) -> None:
        with self._transaction() as conn:
            self._event(conn, code, kind, at, actor, channel, detail)

    def _change(
        self,
        code: str,
        where: Any,
        values: dict[str, Any],
        kind: str,
        at: str,
        actor: str,
        channel: str,
        detail: dict[str, Any],
    ) -> bool:
        """One conditional UPDATE and, if it changed the row, its event, in one transaction.

        The condition is checked by the database as it writes, so of many concurrent
        callers exactly one sees a changed row, on SQLite and PostgreSQL alike, without
        locks held across a read and a write.
        """
        self.require_sound()
        with self._transaction() as conn:
            changed = conn.execute(
                certificates.update().where(certificates.c.code == code, where).values(**values)
            ).rowcount
            if changed == 1:
                self._event(conn, code, kind, at, actor, channel, detail)
        return changed == 1

    def redeem(
        self, code: str, *, at: str, today: str, actor: str, channel: str, note: str | None
    ) -> bool:
        """Mark redeemed if it is neither redeemed, voided nor expired (``today`` is ISO)."""
        c = certificates.c
        where = sa.and_(
            c.redeemed_at.is_(None),
            c.voided_at.is_(None),
            sa.or_(c.expires_on.is_(None), c.expires_on >= today),
        )
        location = sa.select(staff.c.location).where(staff.c.name == actor).scalar_subquery()
        values = {
            "redeemed_at": at,
            "redeemed_by": actor,
            "redeemed_via": channel,
            "redeemed_location": location,  # the staff member's, as it is today
        }
        return self._change(code, where, values, "redeemed", at, actor, channel, {"note": note})

    def void(self, code: str, *, at: str, actor: str, channel: str, reason: str) -> bool:
        """Void if neither redeemed nor voided."""
        c = certificates.c
        where = sa.and_(c.redeemed_at.is_(None), c.voided_at.is_(None))
        values = {"voided_at": at, "voided_by": actor, "void_reason": reason}
        return self._change(code, where, values, "voided", at, actor, channel, {"reason": reason})

    def void_many(
        self, some: Sequence[str], *, at: str, actor: str, channel: str, reason: str
    ) -> list[str]:
        """Void those of ``some`` codes that are neither redeemed nor voided, with their
        events, in one transaction; the codes voided. The same conditional UPDATE as
        ``void``, so a redemption at the same moment wins or loses cleanly."""
        c = certificates.c
        where = sa.and_(c.code.in_(list(some)), c.redeemed_at.is_(None), c.voided_at.is_(None))
        values = {"voided_at": at, "voided_by": actor, "void_reason": reason}
        detail = json.dumps({"reason": reason}, ensure_ascii=False, sort_keys=True)
        self.require_sound()
        with self._transaction() as conn:
            update = certificates.update().where(where).values(**values).returning(c.code)
            voided = [code for (code,) in conn.execute(update)]  # what this UPDATE changed
            if voided:
                event = {"kind": "voided", "at": at, "actor": actor, "channel": channel}
                rows = [{"code": code, **event, "detail_json": detail} for code in voided]
                _insert_events(conn, rows, "voided")
        return voided

    def unredeem(
        self, code: str, *, at: str, since: str, actor: str, channel: str, reason: str
    ) -> bool:
        """Take back a redemption made at ``since`` or later (ISO, UTC) and not converted.
        The certificate is valid again; its ``redeemed`` event stays and an ``unredeemed``
        event, with the reason and whose redemption it undid, follows it."""
        record = self.get(code)
        if record is None or record.redeemed_at is None:
            return False
        c = certificates.c
        where = sa.and_(
            c.redeemed_at == record.redeemed_at,  # the redemption read above, no later one
            c.redeemed_at >= since,
            c.converted_at.is_(None),
        )
        values = {
            "redeemed_at": None,
            "redeemed_by": None,
            "redeemed_via": None,
            "redeemed_location": None,
        }
        detail = {
            "reason": reason,
            "redeemed_at": record.redeemed_at,
            "redeemed_by": record.redeemed_by,
        }
        return self._change(code, where, values, "unredeemed", at, actor, channel, detail)

    def convert(
        self,
        code: str,
        *,
        at: str,
        actor: str,
        channel: str,
        value: str | None,
        note: str | None,
        unredeemed: bool = False,
    ) -> bool:
        """Record that the referred friend became a customer: once, after redemption, or
        (``unredeemed``) of a certificate never redeemed nor voided, whose friend bought
        without presenting it; the event says which."""
        c = certificates.c
        came_in = c.redeemed_at.is_(None) if unredeemed else c.redeemed_at.is_not(None)
        where = sa.and_(came_in, c.converted_at.is_(None), c.voided_at.is_(None))
        values = {"converted_at": at, "conversion_value": value}
        detail: dict[str, Any] = {"value": value, "note": note}
        if unredeemed:
            detail["unredeemed"] = True
        return self._change(code, where, values, "converted", at, actor, channel, detail)

    def record_view(self, code: str, *, at: str, within: float) -> bool:
        """A ``viewed`` event for the public opening of ``code``'s page, unless one was
        recorded in the last ``within`` seconds (a reload, a second tab)."""
        return bool(self.record_views([(code, at)], within=within))

    def record_views(self, views: list[tuple[str, str]], *, within: float) -> int:
        """``viewed`` events for (code, at) openings, in one transaction, each unless the
        code has one in the ``within`` seconds before it (recorded, or earlier in ``views``).
        Nothing about the viewer is kept. Returns how many were recorded."""
        if not views:
            return 0
        window = dt.timedelta(seconds=within)
        earliest = min(dt.datetime.fromisoformat(at) for _, at in views) - window
        wanted = sorted({code for code, _ in views})
        kept = []
        with self._transaction() as conn:
            latest = dict(
                conn.execute(
                    sa.select(events.c.code, sa.func.max(events.c.at))
                    .where(
                        events.c.code.in_(wanted),
                        events.c.kind == "viewed",
                        events.c.at > earliest.isoformat(),
                    )
                    .group_by(events.c.code)
                ).all()
            )
            for code, at in views:
                last = latest.get(code)
                moment = dt.datetime.fromisoformat(at)
                if last is not None and moment - dt.datetime.fromisoformat(last) < window:
                    continue
                latest[code] = at
                kept.append(
                    {"code": code, "kind": "viewed", "at": at, "actor": "public"}
                    | {"channel": "web", "detail_json": "{}"}
                )
            if kept:
                _insert_events(conn, kept, "viewed")
                c = certificates.c
                conn.execute(
                    certificates.update()
                    .where(c.code == sa.bindparam("seen"), c.viewed_at.is_(None))
                    .values(viewed_at=sa.bindparam("first")),
                    [{"seen": view["code"], "first": view["at"]} for view in kept],
                )
        return len(kept)

    def search(self, text: str, *, offset: int = 0, limit: int = 20) -> list[CertificateRecord]:
        """Certificates whose recipient, giver, or an email of theirs holds ``text`` (any
        case, any script; the start of a code works too), newest first."""
        term = search_folded(text)
        if not term:
            return []
        pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        c = certificates.c
        code = codes_mod.normalize(text)
        emailed = sa.select(deliveries.c.code).where(
            sa.func.lower(deliveries.c.address).like(pattern, escape="\\")
        )
        matches: list[sa.ColumnElement[bool]] = [
            c.search_key.like(pattern, escape="\\"),
            c.code.in_(emailed),
        ]
        if _code_fragment(text, code):
            matches.append(c.code.startswith(code, autoescape=True))
        query = (
            sa.select(certificates)
            .where(sa.or_(*matches))
            .order_by(c.issued_at.desc(), c.code)
            .offset(offset)
            .limit(limit)
        )
        with self._transaction() as conn:
            return [_record(row._mapping) for row in conn.execute(query)]

    def rollup(
        self, today: str, *, since: str | None = None, until: str | None = None
    ) -> list[dict[str, Any]]:
        """Counts per batch, design, variant, day of issue, location and staff who redeemed,
        of certificates issued from ``since`` through ``until`` (ISO dates, UTC, as
        ``issued_at`` is kept). The report and the dashboard fold these rows into whichever
        grouping they show; the query reads one index, in its order."""
        with self._transaction() as conn:
            return [dict(row._mapping) for row in conn.execute(rollup_query(today, since, until))]

    def referrers(
        self, today: str, *, since: str | None = None, until: str | None = None
    ) -> list[dict[str, Any]]:
        """Counts per referrer (``key``: the giver's email where known, else the name; with
        the ``name`` printed), as ``rollup`` counts them."""
        query = referrers_query(today, since, until)
        with self._transaction() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def expiring(
        self, first: str, last: str, *, limit: int | None = 50
    ) -> tuple[int, list[CertificateRecord]]:
        """Certificates neither redeemed nor voided that expire from ``first`` through
        ``last`` (ISO dates): how many, and the ``limit`` soonest (None: all)."""
        where = expiring_where(first, last)
        c = certificates.c
        with self._transaction() as conn:
            count = conn.execute(sa.select(sa.func.count()).where(where)).scalar_one()
            rows = conn.execute(
                sa.select(certificates).where(where).order_by(c.expires_on, c.code).limit(limit)
            )
            return int(count), [_record(row._mapping) for row in rows]

    # Staff: names with hashed passwords and API tokens (hashing is the caller's, in web.py).

    def add_staff(
        self, name: str, password_hash: str, *, role: str = "staff", location: str | None = None
    ) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        try:
            with self._transaction() as conn:
                conn.execute(
                    staff.insert().values(
                        name=name,
                        password_hash=password_hash,
                        created_at=utc_now(),
                        role=role,
                        location=location,
                    )
                )
        except sa.exc.IntegrityError as exc:
            raise LedgerError(f"staff member '{name}' already exists") from exc

    def set_staff(
        self, name: str, *, role: str | None = None, location: str | None | bool = False
    ) -> bool:
        """Change a staff member's role and/or location (``None`` clears it; ``False``
        leaves it). Redemptions already made keep the location they were made at."""
        values: dict[str, Any] = {}
        if role is not None:
            if role not in ROLES:
                raise ValueError(f"unknown role {role!r}")
            values["role"] = role
        if location is not False:
            values["location"] = location
        with self._transaction() as conn:
            if not values:
                found = conn.execute(sa.select(staff.c.name).where(staff.c.name == name))
                return found.first() is not None
            changed = conn.execute(staff.update().where(staff.c.name == name).values(**values))
            return changed.rowcount == 1

    def staff_role(self, name: str) -> str | None:
        with self._transaction() as conn:
            return conn.execute(sa.select(staff.c.role).where(staff.c.name == name)).scalar()

    def remove_staff(self, name: str) -> bool:
        """Remove ``name``, end every session they have open and revoke their API tokens,
        at once."""
        with self._transaction() as conn:
            conn.execute(staff_sessions.delete().where(staff_sessions.c.staff == name))
            conn.execute(api_tokens.delete().where(api_tokens.c.staff == name))
            return conn.execute(staff.delete().where(staff.c.name == name)).rowcount == 1

    # Staff sessions, kept here so that ending one ends it for every process of the site.

    def start_session(self, id_hash: str, name: str, at: float, idle: float) -> None:
        """A new session; sessions idle for longer than ``idle`` seconds are forgotten."""
        s = staff_sessions.c
        with self._transaction() as conn:
            conn.execute(staff_sessions.delete().where(s.last_seen < at - idle))
            conn.execute(
                staff_sessions.insert().values(
                    id_hash=id_hash, staff=name, created_at=at, last_seen=at
                )
            )

    def session_staff(self, id_hash: str, at: float, idle: float, touch: float) -> str | None:
        """The staff member of a session that is open, not idle for ``idle`` seconds, and
        whose person still exists; its last use is brought up to date when older than
        ``touch`` seconds (not on every request: a write per page view would queue)."""
        s = staff_sessions.c
        query = (
            sa.select(s.staff, s.last_seen)
            .join(staff, staff.c.name == s.staff)
            .where(s.id_hash == id_hash, s.last_seen > at - idle)
        )
        with self._transaction() as conn:
            found = conn.execute(query).first()
            if found is None:
                return None
            if at - found.last_seen > touch:
                conn.execute(
                    staff_sessions.update().where(s.id_hash == id_hash).values(last_seen=at)
                )
        return str(found.staff)

    def end_session(self, id_hash: str) -> None:
        with self._transaction() as conn:
            conn.execute(staff_sessions.delete().where(staff_sessions.c.id_hash == id_hash))

    def end_sessions(self, name: str) -> int:
        """End every session of ``name``; how many there were."""
        where = staff_sessions.c.staff == name
        with self._transaction() as conn:
            return int(conn.execute(staff_sessions.delete().where(where)).rowcount)

    def sessions(self) -> dict[str, int]:
        """Open sessions per staff member."""
        s = staff_sessions.c
        with self._transaction() as conn:
            rows = conn.execute(sa.select(s.staff, sa.func.count()).group_by(s.staff)).all()
        return {name: int(count) for name, count in rows}

    # Sign-in attempts: each is recorded (committed) before its password is checked, so
    # concurrent guesses on one account never get more checks than the limit allows.

    def sign_in_attempt(
        self, keys: Sequence[str], at: float, window: float
    ) -> dict[str, list[float]]:
        """Record an attempt under each key, then the times of each key's attempts within
        ``window`` seconds, this one included, oldest first. Attempts older than a day are
        forgotten, so the table stays small."""
        a = sign_in_attempts.c
        with self._transaction() as conn:
            conn.execute(sign_in_attempts.insert(), [{"key": key, "at": at} for key in keys])
            conn.execute(sign_in_attempts.delete().where(a.at < at - 86400))
        found: dict[str, list[float]] = {key: [] for key in keys}
        with self._transaction() as conn:  # a new transaction: it sees every committed one
            rows = conn.execute(
                sa.select(a.key, a.at)
                .where(a.key.in_(list(keys)), a.at > at - window)
                .order_by(a.at)
            )
            for key, when in rows:
                found[key].append(float(when))
        return found

    def clear_sign_in(self, key: str) -> None:
        """A success: the account's count starts again."""
        with self._transaction() as conn:
            conn.execute(sign_in_attempts.delete().where(sign_in_attempts.c.key == key))

    def staff_members(self, at: float) -> list[StaffMember]:
        """Every staff member, by name, with their API tokens valid at ``at``."""
        t = api_tokens.c
        live = (
            sa.select(sa.func.count())
            .where(t.staff == staff.c.name, t.expires_at > at)
            .scalar_subquery()
        )
        s = staff.c
        with self._transaction() as conn:
            rows = conn.execute(
                sa.select(s.name, s.created_at, s.role, s.location, live).order_by(s.name)
            )
            return [StaffMember(n, c, r, loc, int(k)) for n, c, r, loc, k in rows]

    def password_hash(self, name: str) -> str | None:
        with self._transaction() as conn:
            return conn.execute(
                sa.select(staff.c.password_hash).where(staff.c.name == name)
            ).scalar()

    # API tokens: several per staff member, each named and with an expiry (m014).

    def add_token(
        self, name: str, label: str, token_hash: str, expires_at: float, at: float | None = None
    ) -> bool:
        """A token ``label`` for staff ``name``, replacing one of that label; False if there
        is no such person."""
        t = api_tokens.c
        at = time.time() if at is None else at
        with self._transaction() as conn:
            if conn.execute(sa.select(staff.c.name).where(staff.c.name == name)).first() is None:
                return False
            conn.execute(api_tokens.delete().where(t.staff == name, t.label == label))
            conn.execute(
                api_tokens.insert().values(
                    token_hash=token_hash,
                    staff=name,
                    label=label,
                    created_at=at,
                    expires_at=expires_at,
                )
            )
        return True

    def tokens(self, name: str | None = None) -> list[ApiToken]:
        """Every token (or ``name``'s), by person and name; expired ones too, until revoked."""
        t = api_tokens.c
        query = sa.select(t.staff, t.label, t.created_at, t.expires_at, t.last_used)
        if name is not None:
            query = query.where(t.staff == name)
        with self._transaction() as conn:
            rows = conn.execute(query.order_by(t.staff, t.label)).all()
        return [ApiToken(**r._mapping) for r in rows]

    def revoke_tokens(self, name: str, label: str | None = None) -> int:
        """Revoke ``name``'s token ``label``, or every token of theirs; how many there were."""
        t = api_tokens.c
        where = t.staff == name if label is None else sa.and_(t.staff == name, t.label == label)
        with self._transaction() as conn:
            return int(conn.execute(api_tokens.delete().where(where)).rowcount)

    def staff_for_token(self, token_hash: str, at: float, touch: float = 60.0) -> str | None:
        """The person a token is for, if it is theirs, unexpired and they are still staff;
        its last use is written at most once every ``touch`` seconds."""
        t = api_tokens.c
        query = (
            sa.select(t.staff, t.last_used)
            .join(staff, staff.c.name == t.staff)
            .where(t.token_hash == token_hash, t.expires_at > at)
        )
        with self._transaction() as conn:
            found = conn.execute(query).first()
            if found is None:
                return None
            if found.last_used is None or at - found.last_used > touch:
                touched = api_tokens.update().where(t.token_hash == token_hash)
                conn.execute(touched.values(last_used=at))
        return str(found.staff)

    # Notifications (the referrer's thank-you) and reminders (the friend's, before the gift
    # expires): at most one of each per certificate, in tables of the same shape.

    def queue_notification(self, code: str, recipient: str) -> bool:
        """False if this certificate already has one (queued, sent or failed)."""
        return self._queue_mail(notifications, code, recipient)

    def claim_notification(self, code: str, stale_before: str | None = None) -> bool:
        """Take an unsent notification for one attempt; False if it is sent or another
        sender has it. A claim made before ``stale_before`` (its sender died mid-send) may
        be taken again."""
        return self._claim_mail(notifications, code, stale_before)

    def finish_notification(self, code: str, error: str | None, status: str = "failed") -> None:
        """Sent (no ``error``: a ``notified`` event says so), or ``status`` (failed;
        unknown: it may have arrived)."""
        self._finish_mail(notifications, code, error, status, "notified")

    def queue_reminder(self, code: str, recipient: str) -> bool:
        return self._queue_mail(reminders, code, recipient)

    def claim_reminder(self, code: str, stale_before: str | None = None) -> bool:
        return self._claim_mail(reminders, code, stale_before)

    def finish_reminder(self, code: str, error: str | None, status: str = "failed") -> None:
        """Sent (a ``reminded`` event), or ``status`` (failed; unknown: it may have arrived)."""
        self._finish_mail(reminders, code, error, status, "reminded")

    def reminder_status(self, codes: Collection[str]) -> dict[str, str]:
        """The reminder status of each of these codes that has one."""
        found: dict[str, str] = {}
        with self._transaction() as conn:
            for some in _batches(codes, 500):
                query = sa.select(reminders.c.code, reminders.c.status)
                found.update(conn.execute(query.where(reminders.c.code.in_(some))).all())
        return found

    def _queue_mail(self, table: sa.Table, code: str, recipient: str) -> bool:
        try:
            with self._transaction() as conn:
                conn.execute(
                    table.insert().values(
                        code=code,
                        recipient=recipient,
                        status="pending",
                        attempts=0,
                        created_at=utc_now(),
                    )
                )
        except sa.exc.IntegrityError:
            return False
        return True

    def _claim_mail(self, table: sa.Table, code: str, stale_before: str | None) -> bool:
        n = table.c
        claimable: sa.ColumnElement[bool] = n.status.in_(("pending", "failed"))
        if stale_before is not None:
            claimable = sa.or_(
                claimable, sa.and_(n.status == "sending", n.claimed_at < stale_before)
            )
        with self._transaction() as conn:
            claimed = conn.execute(
                table.update()
                .where(n.code == code, claimable)
                .values(status="sending", attempts=n.attempts + 1, claimed_at=utc_now())
            ).rowcount
        return claimed == 1

    def _finish_mail(
        self, table: sa.Table, code: str, error: str | None, status: str, kind: str
    ) -> None:
        at = utc_now()
        values = (
            {"status": status, "last_error": error}
            if error
            else {"status": "sent", "sent_at": at, "last_error": None}
        )
        n = table.c
        with self._transaction() as conn:
            sent = table.update().where(n.code == code).values(**values)
            recipient = conn.execute(sent.returning(n.recipient)).scalar()
            if not error and recipient is not None:
                self._event(conn, code, kind, at, "certgen", "email", {"to": recipient})

    def notifications(self, *statuses: str) -> list[dict[str, Any]]:
        query = sa.select(notifications).order_by(notifications.c.created_at)
        if statuses:
            query = query.where(notifications.c.status.in_(statuses))
        with self._transaction() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    # Deliveries: each certificate of a send run, emailed once.

    def friend_addresses(self, codes: Collection[str]) -> dict[str, str]:
        """The address each of these certificates was emailed to where a send run delivered
        it to the friend (``--address-to recipient``), not to the customer to pass on."""
        d = deliveries.c
        found: dict[str, str] = {}
        with self._transaction() as conn:
            for some in _batches(codes, 500):
                rows = conn.execute(
                    sa.select(d.code, d.address, batches.c.settings)
                    .join(batches, batches.c.id == d.batch_id)
                    .where(d.code.in_(some), d.status == "sent")
                )
                for code, address, settings in rows:
                    if json.loads(settings or "{}").get("address_to") == "recipient":
                        found[code] = address
        return found

    def deliveries(self, batch_id: str) -> dict[str, Delivery]:
        """The run's deliveries by code."""
        with self._transaction() as conn:
            rows = conn.execute(sa.select(deliveries).where(deliveries.c.batch_id == batch_id))
            return {r.code: Delivery(**r._mapping) for r in rows}

    def claim_delivery(
        self, code: str, owner: str, retake: Collection[str] = (), unknown: bool = False
    ) -> bool:
        """Take a pending delivery for one attempt, one claimed by a sender in ``retake``
        (one that died mid-send), and with ``unknown`` one that may have arrived; False if
        it is sent, rejected, or another sender has it."""
        d = deliveries.c
        ready = ("pending", "unknown") if unknown else ("pending",)
        claimable = sa.or_(
            d.status.in_(ready), sa.and_(d.status == "sending", d.claimed_by.in_(list(retake)))
        )
        with self._transaction() as conn:
            claimed = conn.execute(
                deliveries.update()
                .where(d.code == code, claimable)
                .values(
                    status="sending",
                    attempts=d.attempts + 1,
                    claimed_by=owner,
                    claimed_at=utc_now(),
                )
            ).rowcount
        return claimed == 1

    def finish_delivery(
        self, code: str, status: str, *, error: str | None, actor: str, detail: dict[str, Any]
    ) -> None:
        """End a claimed attempt: ``sent`` and ``rejected`` are events in the audit trail,
        ``pending`` (a temporary failure) leaves it to be tried again."""
        at = utc_now()
        values = {"status": status, "last_error": error, "claimed_by": None}
        with self._transaction() as conn:
            conn.execute(
                deliveries.update()
                .where(deliveries.c.code == code)
                .values(**values, **({"sent_at": at} if status == "sent" else {}))
            )
            if status in DELIVERY_EVENTS:
                kind = DELIVERY_EVENTS[status]
                self._event(conn, code, kind, at, actor, "email", detail)

    def delivery_counts(self) -> dict[str, dict[str, int]]:
        """For each run that emails its certificates: how many deliveries are in each state."""
        d = deliveries.c
        query = sa.select(d.batch_id, d.status, sa.func.count()).group_by(d.batch_id, d.status)
        counts: dict[str, dict[str, int]] = {}
        with self._transaction() as conn:
            for batch_id, status, count in conn.execute(query):
                counts.setdefault(batch_id, {})[status] = count
        return counts

    def unsubscribe(self, address: str, *, at: str, actor: str) -> bool:
        """Remember that ``address`` wants no more email; False if it was already."""
        try:
            with self._transaction() as conn:
                conn.execute(
                    unsubscribes.insert().values(address=address.lower(), at=at, actor=actor)
                )
        except sa.exc.IntegrityError:
            return False
        return True

    def resubscribe(self, address: str) -> bool:
        with self._transaction() as conn:
            found = conn.execute(
                unsubscribes.delete().where(unsubscribes.c.address == address.lower())
            )
        return bool(found.rowcount)

    def unsubscribed(self, addresses: Iterable[str] | None = None) -> set[str]:
        """Which of ``addresses`` (all, if None) asked for no more email, in lower case."""
        query = sa.select(unsubscribes.c.address)
        with self._transaction() as conn:
            if addresses is None:
                return {a for (a,) in conn.execute(query)}
            found: set[str] = set()
            for chunk in _batches((a.lower() for a in addresses), 500):
                rows = conn.execute(query.where(unsubscribes.c.address.in_(chunk)))
                found.update(a for (a,) in rows)
            return found

    def recorded(self, batch_id: str) -> int:
        """How many of a run's certificates are recorded."""
        query = sa.select(sa.func.count()).where(certificates.c.batch_id == batch_id)
        with self._transaction() as conn:
            return int(conn.execute(query).scalar_one())

    def get_batch(self, batch_id: str) -> BatchRecord | None:
        with self._transaction() as conn:
            row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).first()
        return None if row is None else BatchRecord(**row._mapping)

    def runs(self, fingerprint: str | None = None) -> list[tuple[BatchRecord, int]]:
        """Every batch (or those of one fingerprint), newest first, with how many of its
        certificates are recorded (fewer than its count: a split run that was interrupted)."""
        recorded = sa.func.count(certificates.c.code)
        query = (
            sa.select(batches, recorded.label("recorded"))
            .select_from(batches.outerjoin(certificates, certificates.c.batch_id == batches.c.id))
            .group_by(*batches.c)
            .order_by(batches.c.created_at.desc(), batches.c.id)
        )
        if fingerprint is not None:
            query = query.where(batches.c.fingerprint == fingerprint)
        with self._transaction() as conn:
            rows = conn.execute(query).all()
        return [
            (BatchRecord(**{k: v for k, v in r._mapping.items() if k != "recorded"}), r.recorded)
            for r in rows
        ]

    def batch(self, batch_id: str) -> list[CertificateRecord]:
        """The batch's certificates in input order (several may share a page or a sheet,
        and split runs restart pages in each file)."""
        c = certificates.c
        with self._transaction() as conn:
            rows = conn.execute(
                sa.select(certificates)
                .where(c.batch_id == batch_id)
                .order_by(c.source_row, c.file, c.page)
            ).all()
        return [_record(r._mapping) for r in rows]


DELIVERY_EVENTS = {"sent": "emailed", "rejected": "email_rejected", "unknown": "email_unknown"}


@dataclass(frozen=True)
class Delivery:
    code: str
    batch_id: str
    address: str
    status: str  # pending, sending (claimed), sent or rejected
    attempts: int
    last_error: str | None
    claimed_by: str | None
    claimed_at: str | None
    sent_at: str | None


def _code_fragment(text: str, code: str) -> bool:
    """Whether ``text`` (``code`` normalized) reads as the start of a code: one word of at
    least four code symbols, as someone types the first group or two."""
    return (
        len(text.split()) == 1
        and 4 <= len(code) <= codes_mod.CODE_LENGTH
        and set(code) <= set(codes_mod.ALPHABET)
    )


def rollup_query(today: str, since: str | None, until: str | None) -> sa.Select[Any]:
    """``Ledger.rollup``'s query (bench/dashboard.py prints its plan)."""
    c = certificates.c
    day = _issue_day()
    keys = [
        c.batch_id.label("batch"),
        c.design.label("design"),
        c.variant.label("variant"),
        day.label("day"),
        c.redeemed_location.label("location"),
        c.redeemed_by.label("staff"),
    ]
    query = sa.select(*keys, *_counts(today)).where(*_issued_between(day, since, until))
    return query.group_by(*keys)


def referrers_query(today: str, since: str | None, until: str | None) -> sa.Select[Any]:
    c = certificates.c
    return (
        sa.select(c.referrer_key.label("key"), sa.func.max(c.giver).label("name"))
        .add_columns(*_counts(today))
        .where(*_issued_between(_issue_day(), since, until))
        .group_by(c.referrer_key)
    )


def expiring_where(first: str, last: str) -> sa.ColumnElement[bool]:
    c = certificates.c
    return sa.and_(
        c.expires_on >= first,
        c.expires_on <= last,
        c.redeemed_at.is_(None),
        c.voided_at.is_(None),
    )


def _counts(today: str) -> list[sa.ColumnElement[Any]]:
    """What a report counts of a group of certificates (report.COUNTS), and their value."""
    c = certificates.c

    def count(condition: Any) -> Any:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    expired = sa.and_(c.redeemed_at.is_(None), c.voided_at.is_(None), c.expires_on < today)
    return [
        sa.func.count().label("issued"),
        sa.func.count(c.viewed_at).label("viewed"),
        sa.func.count(c.redeemed_at).label("redeemed"),
        count(expired).label("expired"),
        sa.func.count(c.voided_at).label("voided"),
        sa.func.count(c.converted_at).label("converted"),
        count(sa.and_(c.converted_at.is_not(None), c.redeemed_at.is_(None))).label(
            "converted_without_gift"
        ),
        sa.func.sum(sa.cast(c.conversion_value, sa.Numeric(14, 2))).label("value"),
    ]


def _issue_day() -> sa.ColumnElement[Any]:
    """The day of issue as the rollup indexes spell it: literal numbers, since SQLite
    matches an expression index only to the same expression, never to bound parameters."""
    one: sa.ColumnElement[int] = sa.literal_column("1")
    ten: sa.ColumnElement[int] = sa.literal_column("10")
    return sa.func.substr(certificates.c.issued_at, one, ten)


def _issued_between(
    day: sa.ColumnElement[Any], since: str | None, until: str | None
) -> list[sa.ColumnElement[bool]]:
    """Issued on ``since`` or later and on ``until`` or before (ISO days, either optional)."""
    return [
        *([day >= since] if since else []),
        *([day <= until] if until else []),
    ]


def _pending(batch_id: str, emails: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {"code": code, "batch_id": batch_id, "address": address, "status": "pending"}
        | {"attempts": 0}
        for code, address in emails.items()
    ]


def _certificate_row(r: CertificateRecord) -> dict[str, Any]:
    row = vars(r).copy()
    row["data_json"] = json.dumps(row.pop("data"), ensure_ascii=False, sort_keys=True)
    row["referrer_key"] = referrer_key(r.giver, r.data)
    row["search_key"] = search_key(r.recipient, r.giver, r.data)
    row["variant"] = r.data.get("variant")  # variants.FIELD, kept in a column to group by
    return row


def _record(row: Any) -> CertificateRecord:
    values = dict(row)
    values["data"] = json.loads(values.pop("data_json"))
    values.pop("referrer_key", None)
    values.pop("search_key", None)
    values.pop("variant", None)
    return CertificateRecord(**values)


def _reason(exc: sa.exc.DBAPIError) -> str:
    """The driver's first line, without SQL or parameters."""
    return str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)


def open_ledger(url: str, wait: float = 30.0) -> Ledger:
    """Connect and migrate; a ledger that cannot be reached is one clear LedgerError, and a
    file that is not a certgen ledger is never taken for a new one. A write waits at most
    ``wait`` seconds for another writer (a web request less than a batch run)."""
    engine_url = _engine_url(url)
    if engine_url.get_backend_name() == "sqlite" and engine_url.database:
        _refuse_foreign_file(_sqlite_path(engine_url), url)
    read_only = _read_only(engine_url)
    if read_only:  # SQLite itself refuses every write: mode=ro
        target = _sqlite_path(engine_url).resolve().as_uri() + "?mode=ro"
        engine = sa.create_engine(
            "sqlite://",
            creator=lambda: sqlite3.connect(
                target, uri=True, timeout=wait, check_same_thread=False
            ),
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas(wait, read_only=True))
    elif engine_url.get_backend_name() == "sqlite":
        engine = sa.create_engine(engine_url, connect_args={"timeout": wait})
        sa.event.listen(engine, "connect", _sqlite_pragmas(wait))
    else:  # a connection idle a while is checked before use: a dropped one costs no request
        given = engine_url.query.get("options", "")  # e.g. a search_path: kept
        options = " ".join(
            [*([given] if isinstance(given, str) else given), f"-c lock_timeout={int(wait * 1000)}"]
        )
        engine = sa.create_engine(
            engine_url, connect_args={"connect_timeout": 5, "options": options.strip()}
        )
        _ping_when_idle(engine)
    ledger = Ledger(engine, url, read_only)
    try:
        if engine_url.get_backend_name() != "sqlite":
            with ledger._transaction() as conn:
                _refuse_foreign_tables(set(sa.inspect(conn).get_table_names()), url)
        ledger.applied = ledger.migrate()
    except LedgerError:
        engine.dispose()
        raise
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        raise LedgerError(f"{safe_url(url)}: {_reason(exc)}") from exc
    return ledger


PING_IDLE = 1.0  # seconds a pooled connection may rest before it is checked at checkout


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled PostgreSQL connection that rested over PING_IDLE seconds before it is
    used, and replace it if the server dropped it (a restart, an idle timeout): the request
    that follows never sees the dead one. SQLAlchemy's pool_pre_ping checks every checkout,
    a round trip that cost a busy till 14% of its redemptions; a connection in steady use
    is not the one a server drops."""

    @sa.event.listens_for(engine, "checkin")
    def rested(dbapi_conn: Any, record: Any) -> None:
        record.info["rested_at"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def check(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("rested_at")
        if since is None or time.monotonic() - since < PING_IDLE:
            return
        try:
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_conn.rollback()  # leave it idle, as the pool gives it
        except Exception as exc:  # the server is gone from this connection: a new one
            raise sa.exc.DisconnectionError() from exc


def _sqlite_path(engine_url: URL) -> Path:
    """The file of a SQLite URL, also in SQLite's URI form (sqlite:///file:PATH?uri=true)."""
    return Path(str(engine_url.database).removeprefix("file:"))


def _read_only(engine_url: URL) -> bool:
    """A SQLite ledger certgen may only read: asked for (``?mode=ro``), or a file (or its
    folder, where SQLite keeps its journal) this user cannot write."""
    if engine_url.get_backend_name() != "sqlite" or not engine_url.database:
        return False
    if engine_url.query.get("mode") == "ro":
        return True
    path = _sqlite_path(engine_url)
    return path.is_file() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def _refuse_foreign_file(path: Path, url: str) -> None:
    """An empty file or another kind of file where the ledger should be is refused: SQLite
    would make a new, empty ledger of it, and every code would look unknown."""
    if path.name.startswith(":memory:") or not path.exists():
        return
    try:
        with path.open("rb") as stream:
            head = stream.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise LedgerError(f"{safe_url(url)}: cannot read {path}: {exc.strerror}") from exc
    if not head and time.time() - path.stat().st_mtime < 10:
        # Just made: another certgen is creating this ledger; its first write is moments away.
        for _ in range(50):
            time.sleep(0.1)
            if path.stat().st_size:
                return _refuse_foreign_file(path, url)
    if not head:
        raise LedgerError(
            f"{path} is an empty file, not a ledger (did it lose its data?): restore your "
            "last backup with certgen ledger restore BACKUP, or move the file away to start "
            "a new ledger"
        )
    if head != SQLITE_HEADER:
        raise LedgerError(
            f"{path} is not a SQLite database, so not a certgen ledger: give the ledger's "
            "file (--ledger sqlite:///PATH), or move this one away to start a new ledger"
        )
    import sqlite3

    # Read-only and before any setting is made: a database that is not ours stays as it is.
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        ) as conn:
            names = {
                row[0]
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
    except sqlite3.DatabaseError as exc:
        raise LedgerError(f"{safe_url(url)}: {exc}; {DAMAGED}") from exc
    _refuse_foreign_tables(names, url)


def _refuse_foreign_tables(tables: set[str], url: str) -> None:
    if tables and migrations_table.name not in tables:
        raise LedgerError(
            f"{safe_url(url)} holds tables that are not a certgen ledger's "
            f"({', '.join(sorted(tables)[:5])}): give another ledger (--ledger, "
            "CERTGEN_LEDGER) rather than write into that database"
        )


def _issued(record: CertificateRecord, batch_id: str, actor: str, channel: str) -> dict[str, Any]:
    return {
        "code": record.code,
        "kind": "issued",
        "at": record.issued_at,
        "actor": actor,
        "channel": channel,
        "detail_json": json.dumps({"batch": batch_id, "page": record.page}),
    }


def _insert_events(
    conn: Connection, rows: list[dict[str, Any]], kind: str, hooked: bool | None = None
) -> None:
    """Insert events of one kind; where a receiver listens to it (``hooked``, else asked
    here), owe them to it in the same transaction."""
    if hooked is None:
        hooked = listened(conn, kind)
    if not hooked:
        conn.execute(events.insert(), rows)
        return
    ids = conn.execute(events.insert().returning(events.c.id), rows).scalars().all()
    publish(conn, ids, time.time())


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while batch := list(itertools.islice(it, size)):
        yield batch
