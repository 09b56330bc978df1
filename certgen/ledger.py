"""The ledger of issued certificates, through SQLAlchemy Core so that one code path serves
SQLite (the embedded default) and PostgreSQL. Times are UTC ISO-8601 text in both."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

from certgen.errors import LedgerError


def _initial_schema(md: sa.MetaData) -> None:
    """The tables as m001 creates them. Later migrations alter them in steps of their own."""
    sa.Table(
        "batches",
        md,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("design", sa.String(200), nullable=False),
        sa.Column("design_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    sa.Table(
        "certificates",
        md,
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("batch_id", sa.String(40), sa.ForeignKey("batches.id"), nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("page", sa.Integer, nullable=False),
        sa.Column("source_row", sa.Integer),
        sa.Column("design", sa.String(200), nullable=False),
        sa.Column("design_hash", sa.String(64), nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("giver", sa.Text, nullable=False),
        sa.Column("data_json", sa.Text, nullable=False),
        sa.Column("issued_at", sa.String(32), nullable=False),
        sa.Column("expires_on", sa.String(10)),
        sa.Index("certificates_batch", "batch_id"),
    )
    sa.Table(
        "events",
        md,
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("code", sa.String(32), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("detail_json", sa.Text, nullable=False),
    )


def _m001_initial(conn: Connection) -> None:
    md = sa.MetaData()
    _initial_schema(md)
    md.create_all(conn)


# Named, ordered; each runs with its record in one transaction. Never edit a shipped one:
# each builds its own tables, so a later change to the current schema cannot alter it.
MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("m001_initial", _m001_initial),
]

# The current schema, for queries: the initial one plus each later migration's changes.
metadata = sa.MetaData()
_initial_schema(metadata)
batches = metadata.tables["batches"]
certificates = metadata.tables["certificates"]
events = metadata.tables["events"]
migrations_table = sa.Table(
    "certgen_migrations",
    sa.MetaData(),
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("applied_at", sa.String(32), nullable=False),
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


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; the busy timeout makes writers queue
    # instead of failing with "database is locked".
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Ledger:
    """An open ledger. Use ``open_ledger``; close it (or use it as a context manager)."""

    def __init__(self, engine: Engine, url: str):
        self.engine = engine
        self.url = url

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
        except sa.exc.OperationalError as exc:
            raise LedgerError(f"{safe_url(self.url)}: {_reason(exc)}") from exc

    def migrate(self) -> list[str]:
        """Apply pending migrations, each in its own transaction; returns their names."""
        with self._transaction() as conn:
            migrations_table.create(conn, checkfirst=True)
        applied = []
        for name, migration in MIGRATIONS:
            with self._transaction() as conn:
                done = conn.execute(
                    sa.select(migrations_table.c.name).where(migrations_table.c.name == name)
                ).first()
                if done:
                    continue
                migration(conn)
                conn.execute(migrations_table.insert().values(name=name, applied_at=utc_now()))
                applied.append(name)
        return applied

    def issue_batch(self, batch: BatchRecord, records: Sequence[CertificateRecord]) -> None:
        """Record a batch and all its certificates and events in one transaction."""
        cert_rows = [_certificate_row(r) for r in records]
        event_rows = [
            {
                "code": r.code,
                "kind": "issued",
                "at": r.issued_at,
                "actor": "certgen",
                "channel": "cli",
                "detail_json": json.dumps({"batch": batch.id, "page": r.page}),
            }
            for r in records
        ]
        try:
            with self._transaction() as conn:
                conn.execute(batches.insert().values(**vars(batch)))
                if cert_rows:
                    conn.execute(certificates.insert(), cert_rows)
                    conn.execute(events.insert(), event_rows)
        except sa.exc.IntegrityError as exc:
            raise LedgerError(
                f"{safe_url(self.url)}: batch {batch.id} or one of its codes is already "
                "recorded; nothing was recorded, run the command again"
            ) from exc

    def existing(self, codes: Iterable[str]) -> set[str]:
        """Which of ``codes`` are already recorded."""
        wanted = list(codes)
        found: set[str] = set()
        with self._transaction() as conn:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                rows = conn.execute(
                    sa.select(certificates.c.code).where(certificates.c.code.in_(chunk))
                )
                found.update(row.code for row in rows)
        return found

    def get(self, code: str) -> CertificateRecord | None:
        with self._transaction() as conn:
            row = conn.execute(sa.select(certificates).where(certificates.c.code == code)).first()
        return None if row is None else _record(row._mapping)

    def events(self, code: str) -> list[Event]:
        with self._transaction() as conn:
            rows = conn.execute(
                sa.select(events).where(events.c.code == code).order_by(events.c.id)
            ).all()
        return [
            Event(r.code, r.kind, r.at, r.actor, r.channel, json.loads(r.detail_json)) for r in rows
        ]

    def batch(self, batch_id: str) -> list[CertificateRecord]:
        with self._transaction() as conn:
            rows = conn.execute(
                sa.select(certificates)
                .where(certificates.c.batch_id == batch_id)
                .order_by(certificates.c.page)
            ).all()
        return [_record(r._mapping) for r in rows]


def _certificate_row(r: CertificateRecord) -> dict[str, Any]:
    row = vars(r).copy()
    row["data_json"] = json.dumps(row.pop("data"), ensure_ascii=False, sort_keys=True)
    return row


def _record(row: Any) -> CertificateRecord:
    values = dict(row)
    values["data"] = json.loads(values.pop("data_json"))
    return CertificateRecord(**values)


def _reason(exc: sa.exc.DBAPIError) -> str:
    """The driver's first line, without SQL or parameters."""
    return str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)


def open_ledger(url: str) -> Ledger:
    """Connect and migrate; a ledger that cannot be reached is one clear LedgerError."""
    engine_url = _engine_url(url)
    if engine_url.get_backend_name() == "sqlite":
        engine = sa.create_engine(engine_url, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = sa.create_engine(engine_url, connect_args={"connect_timeout": 5})
    ledger = Ledger(engine, url)
    try:
        ledger.migrate()
    except LedgerError:
        engine.dispose()
        raise
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        raise LedgerError(f"{safe_url(url)}: {_reason(exc)}") from exc
    return ledger
