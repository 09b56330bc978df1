"""The ledger's tables and its named, ordered migrations.

Each migration builds the tables it creates from its own function, so changing the current
schema later cannot change what an old migration does; the module-level tables used by
queries are the sum of the migrations.
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


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


def _lifecycle_columns() -> list[sa.Column[Any]]:
    """What m002 adds to certificates: redemption, voiding and conversion."""
    return [
        sa.Column("redeemed_at", sa.String(32)),
        sa.Column("redeemed_by", sa.Text),
        sa.Column("redeemed_via", sa.String(20)),
        sa.Column("voided_at", sa.String(32)),
        sa.Column("voided_by", sa.Text),
        sa.Column("void_reason", sa.Text),
        sa.Column("converted_at", sa.String(32)),
        sa.Column("conversion_value", sa.String(20)),
    ]


def _m002_lifecycle(conn: Connection) -> None:
    for column in _lifecycle_columns():
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE certificates ADD COLUMN {column.name} {kind}"))


_APPEND_ONLY = {
    "sqlite": [
        f"CREATE TRIGGER events_no_{verb} BEFORE {verb.upper()} ON events "
        "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
        for verb in ("update", "delete")
    ],
    "postgresql": [
        "CREATE FUNCTION certgen_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'events are append-only'; END $$",
        "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
        "FOR EACH ROW EXECUTE FUNCTION certgen_events_append_only()",
    ],
}


def _m003_append_only_events(conn: Connection) -> None:
    """The audit trail refuses changes in the database itself, not only by convention."""
    for statement in _APPEND_ONLY[conn.dialect.name]:
        conn.execute(sa.text(statement))


def _staff_and_notifications(md: sa.MetaData) -> None:
    """The tables m004 creates."""
    sa.Table(
        "staff",
        md,
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("token_hash", sa.String(64), unique=True),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    sa.Table(
        "notifications",
        md,
        sa.Column("code", sa.String(32), primary_key=True),  # one thank-you per certificate
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),  # pending, sent, failed
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("sent_at", sa.String(32)),
    )


def _m004_staff_and_notifications(conn: Connection) -> None:
    md = sa.MetaData()
    _staff_and_notifications(md)
    md.create_all(conn)


def _m005_notification_claims(conn: Connection) -> None:
    """When a sender claimed a notification, so a claim whose sender died can be retaken."""
    conn.execute(sa.text("ALTER TABLE notifications ADD COLUMN claimed_at VARCHAR(32)"))


def _deliveries(md: sa.MetaData) -> None:
    """The table m006 creates: each emailed certificate's delivery, for certgen send."""
    sa.Table(
        "deliveries",
        md,
        sa.Column("code", sa.String(32), primary_key=True),  # one email per certificate
        sa.Column("batch_id", sa.String(40), nullable=False, index=True),
        sa.Column("address", sa.Text, nullable=False),
        # pending (to send, or to retry), sending (claimed), sent, rejected (for good)
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("claimed_by", sa.String(100)),  # host:pid of the sender holding the claim
        sa.Column("claimed_at", sa.String(32)),
        sa.Column("sent_at", sa.String(32)),
    )


def _m006_deliveries(conn: Connection) -> None:
    md = sa.MetaData()
    _deliveries(md)
    md.create_all(conn)


def referrer_key(giver: str, data: dict[str, str]) -> str:
    """Who referred: the giver's email (folded to lower case) where the row had one, else the
    printed name, so two spellings of one customer are one referrer, and two customers
    who share a name but not an email are two."""
    email = (data.get("giver_email") or "").strip().lower()
    return f"email:{email}" if email else f"name:{giver}"


def _m007_referrer_identity(conn: Connection) -> None:
    """certificates.referrer_key, filled for the certificates already recorded."""
    conn.execute(sa.text("ALTER TABLE certificates ADD COLUMN referrer_key TEXT"))
    table = sa.table(
        "certificates",
        sa.column("code"),
        sa.column("giver"),
        sa.column("data_json"),
        sa.column("referrer_key"),
    )
    rows = conn.execute(sa.select(table.c.code, table.c.giver, table.c.data_json)).all()
    for code, giver, data in rows:
        key = referrer_key(giver, json.loads(data))
        conn.execute(table.update().where(table.c.code == code).values(referrer_key=key))
    conn.execute(sa.text("CREATE INDEX certificates_referrer ON certificates (referrer_key)"))


def search_folded(text: str) -> str:
    """``text`` as searches compare it: NFKC, case folded, spaces collapsed, so "ИВАН",
    "Иван" and "иван" are one, in any script, on SQLite (whose LIKE folds ASCII only) as on
    PostgreSQL."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def search_key(recipient: str, giver: str, data: Mapping[str, str]) -> str:
    """certificates.search_key: the names and email addresses a certificate is found by."""
    emails = [v for k, v in sorted(data.items()) if k.endswith("email") and isinstance(v, str)]
    return "\n".join(search_folded(part) for part in (recipient, giver, *emails) if part)


def _m015_search(conn: Connection) -> None:
    """certificates.search_key, filled for the certificates already recorded."""
    conn.execute(sa.text("ALTER TABLE certificates ADD COLUMN search_key TEXT"))
    table = sa.table(
        "certificates",
        sa.column("code"),
        sa.column("recipient"),
        sa.column("giver"),
        sa.column("data_json"),
        sa.column("search_key"),
    )
    found = conn.execute(
        sa.select(table.c.code, table.c.recipient, table.c.giver, table.c.data_json)
    ).all()
    update = (
        table.update()
        .where(table.c.code == sa.bindparam("old_code"))
        .values(search_key=sa.bindparam("key"))
    )
    for start in range(0, len(found), 1000):  # one statement, many rows: fast on a big ledger
        rows = [
            {"old_code": code, "key": search_key(recipient, giver, json.loads(data))}
            for code, recipient, giver, data in found[start : start + 1000]
        ]
        conn.execute(update, rows)


def _m008_run_fingerprints(conn: Connection) -> None:
    """batches.fingerprint: what a run was made from (its design and rows), so the same
    list issued again by accident is recognised."""
    conn.execute(sa.text("ALTER TABLE batches ADD COLUMN fingerprint VARCHAR(64)"))
    conn.execute(sa.text("CREATE INDEX batches_fingerprint ON batches (fingerprint)"))


def _unsubscribes(md: sa.MetaData) -> None:
    """The table m009 creates: addresses that asked for no more email."""
    sa.Table(
        "unsubscribes",
        md,
        sa.Column("address", sa.String(254), primary_key=True),  # lower case
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
    )


def _m009_unsubscribes(conn: Connection) -> None:
    md = sa.MetaData()
    _unsubscribes(md)
    md.create_all(conn)


def _staff_sessions(md: sa.MetaData) -> None:
    """The tables m010 creates: signed-in staff sessions, kept on the server so that signing
    out or removing a person ends them at once, and sign-in attempts, counted in the ledger
    so that every thread and process of a site shares one limit."""
    sa.Table(
        "staff_sessions",
        md,
        sa.Column("id_hash", sa.String(64), primary_key=True),  # SHA-256 of the cookie's id
        sa.Column("staff", sa.String(100), nullable=False, index=True),
        sa.Column("created_at", sa.Float, nullable=False),  # seconds since the epoch
        sa.Column("last_seen", sa.Float, nullable=False),
    )
    sa.Table(
        "sign_in_attempts",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(300), nullable=False, index=True),  # account:… or address:…
        sa.Column("at", sa.Float, nullable=False),
    )


def _m010_staff_sessions(conn: Connection) -> None:
    md = sa.MetaData()
    _staff_sessions(md)
    md.create_all(conn)


def _run_leases(md: sa.MetaData) -> None:
    """The table m011 creates: which process is running a run now, so a second one under the
    same id (on any machine sharing the ledger) is refused while it lives."""
    sa.Table(
        "run_leases",
        md,
        sa.Column("run_id", sa.String(100), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("heartbeat", sa.Float, nullable=False),  # seconds since the epoch
    )


def _m011_run_leases(conn: Connection) -> None:
    md = sa.MetaData()
    _run_leases(md)
    md.create_all(conn)


def _m013_run_settings(conn: Connection) -> None:
    """batches.settings: the options a run's output depends on besides its rows (the base
    URL its QR codes point to, the sheet, mailer, order, files), as JSON, so that a reprint
    or ``--resume`` with other options is refused rather than mixing two layouts."""
    conn.execute(sa.text("ALTER TABLE batches ADD COLUMN settings TEXT"))


def _api_replies(md: sa.MetaData) -> None:
    """The table m012 creates: the first answer to each API request sent with an
    Idempotency-Key, replayed when the same request comes again (a retry after a lost
    answer), for a day."""
    sa.Table(
        "api_replies",
        md,
        sa.Column("staff", sa.String(100), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request", sa.String(300), nullable=False),  # method and path
        sa.Column("status", sa.Integer),  # None while the first request is being answered
        sa.Column("body", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False, index=True),
    )


def _m012_api_replies(conn: Connection) -> None:
    md = sa.MetaData()
    _api_replies(md)
    md.create_all(conn)


def _api_tokens(md: sa.MetaData) -> None:
    """The table m014 creates: API tokens, several per staff member, each with a name (the
    till it is for) and an expiry; only a token's SHA-256 is kept."""
    sa.Table(
        "api_tokens",
        md,
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("staff", sa.String(100), nullable=False, index=True),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("last_used", sa.Float),
        sa.UniqueConstraint("staff", "label"),
    )


OLD_TOKEN_DAYS = 90  # what a token made before m014 (one per person, no expiry) is given


def _m014_api_tokens(conn: Connection) -> None:
    md = sa.MetaData()
    _api_tokens(md)
    md.create_all(conn)
    # Each person's one token of before becomes their token "default", for 90 more days.
    old = sa.table("staff", sa.column("name"), sa.column("token_hash"))
    now = time.time()
    found = conn.execute(
        sa.select(old.c.name, old.c.token_hash).where(old.c.token_hash.is_not(None))
    )
    rows = [
        {"token_hash": h, "staff": n, "label": "default", "created_at": now,
         "expires_at": now + OLD_TOKEN_DAYS * 86400}
        for n, h in found
    ]  # fmt: skip
    if rows:
        conn.execute(md.tables["api_tokens"].insert(), rows)
    conn.execute(old.update().values(token_hash=None))


ROLES = ("staff", "owner")  # an owner also sees the dashboard
# The columns the dashboard and the report group by, in the order of the index that
# covers them: SQLite then reads the groups off the index in order, with no sort and no
# table row read (about 40 ms for 100,000 certificates, where a sort took 180).
ROLLUP_INDEX = (
    "CREATE INDEX certificates_rollup ON certificates (batch_id, design, variant, "
    "substr(issued_at, 1, 10), redeemed_location, redeemed_by, viewed_at, redeemed_at, "
    "converted_at, voided_at, expires_on, conversion_value)"
)
REFERRER_INDEX = (
    "CREATE INDEX certificates_referrers ON certificates (referrer_key, giver, "
    "substr(issued_at, 1, 10), viewed_at, redeemed_at, converted_at, voided_at, expires_on, "
    "conversion_value)"
)


def _m016_owners_and_locations(conn: Connection) -> None:
    """Staff get a role and a location, and a redemption keeps the location it was made at
    (the staff member's then: moving someone later leaves the past as it was). Each
    certificate keeps its variant and its first view in columns, so that counting them is
    a read of an index, not of every row's JSON and every event."""
    for statement in (
        "ALTER TABLE staff ADD COLUMN role VARCHAR(20) DEFAULT 'staff' NOT NULL",
        "ALTER TABLE staff ADD COLUMN location TEXT",
        "ALTER TABLE certificates ADD COLUMN redeemed_location TEXT",
        "ALTER TABLE certificates ADD COLUMN variant TEXT",
        "ALTER TABLE certificates ADD COLUMN viewed_at VARCHAR(32)",
        "UPDATE certificates SET viewed_at = (SELECT min(e.at) FROM events e "
        "WHERE e.code = certificates.code AND e.kind = 'viewed')",
    ):
        conn.execute(sa.text(statement))
    variant = (  # what variants.FIELD recorded in the data
        "json_extract(data_json, '$.variant')"
        if conn.dialect.name == "sqlite"
        else "CAST(data_json AS json) ->> 'variant'"
    )
    conn.execute(sa.text(f"UPDATE certificates SET variant = {variant}"))  # noqa: S608 - ours
    conn.execute(sa.text(ROLLUP_INDEX))
    conn.execute(sa.text("DROP INDEX certificates_batch"))  # the rollup index leads with it
    conn.execute(sa.text("DROP INDEX certificates_referrer"))
    conn.execute(sa.text(REFERRER_INDEX))
    expiring = "certificates (expires_on, redeemed_at, voided_at)"
    conn.execute(sa.text(f"CREATE INDEX certificates_expiring ON {expiring}"))


def _webhooks(md: sa.MetaData) -> None:
    """The tables m017 creates: receivers of the ledger's events (a CRM, Zapier) and the
    outbox of each event owed to each, filled in the transaction that records the event."""
    sa.Table(
        "webhooks",
        md,
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("events", sa.Text, nullable=False),  # comma-separated event kinds
        sa.Column("secret", sa.Text, nullable=False),  # signs each body (HMAC-SHA256)
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),  # in a row, for the pause
        sa.Column("paused_until", sa.Float),  # unix time: a receiver that is down rests
    )
    sa.Table(
        "webhook_outbox",
        md,
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("webhook_id", sa.Integer, sa.ForeignKey("webhooks.id"), nullable=False),
        sa.Column("event_id", sa.Integer, nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        # pending (to send, or to retry), sending (claimed), delivered, failed (given up)
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),  # unix time
        sa.Column("claimed_by", sa.String(100)),  # host:pid of the sender holding it
        sa.Column("claimed_at", sa.Float),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("delivered_at", sa.String(32)),
        sa.Index("webhook_outbox_due", "status", "next_attempt_at"),
        # a certificate's earlier events for the same receiver go first
        sa.Index("webhook_outbox_order", "webhook_id", "code", "event_id"),
    )


def _m017_webhooks(conn: Connection) -> None:
    md = sa.MetaData()
    _webhooks(md)
    md.create_all(conn)


def _reminders(md: sa.MetaData) -> None:
    """The table m018 creates: the friend's reminder that a gift is about to expire, at most
    one per certificate (as ``notifications`` is for the referrer's thank-you)."""
    sa.Table(
        "reminders",
        md,
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),  # pending, sending, sent, failed
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("sent_at", sa.String(32)),
        sa.Column("claimed_at", sa.String(32)),
    )


def _m018_reminders(conn: Connection) -> None:
    md = sa.MetaData()
    _reminders(md)
    md.create_all(conn)


def _mail_pieces(md: sa.MetaData) -> None:
    """The tables m019 creates: each mailer ID's serial counter (never reset: a serial is the
    counter modulo the serials its length allows) and the block of serials each run took."""
    sa.Table(
        "imb_serials",
        md,
        sa.Column("mailer_id", sa.String(9), primary_key=True),
        sa.Column("next", sa.BigInteger, nullable=False),
    )
    sa.Table(
        "imb_blocks",
        md,
        sa.Column("batch_id", sa.String(64), primary_key=True),
        sa.Column("mailer_id", sa.String(9), nullable=False),
        sa.Column("first", sa.BigInteger, nullable=False),
        sa.Column("pieces", sa.Integer, nullable=False),
        sa.Column("reserved_at", sa.String(32), nullable=False),
        sa.Index("imb_blocks_recent", "mailer_id", "reserved_at"),
    )


def _m019_mail_pieces(conn: Connection) -> None:
    md = sa.MetaData()
    _mail_pieces(md)
    md.create_all(conn)
    conn.execute(sa.text("ALTER TABLE certificates ADD COLUMN mail_piece TEXT"))


# Named, ordered; each runs with its record in one transaction. Never edit a shipped one:
# each builds its own tables, so a later change to the current schema cannot alter it.
MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("m001_initial", _m001_initial),
    ("m002_lifecycle", _m002_lifecycle),
    ("m003_append_only_events", _m003_append_only_events),
    ("m004_staff_and_notifications", _m004_staff_and_notifications),
    ("m005_notification_claims", _m005_notification_claims),
    ("m006_deliveries", _m006_deliveries),
    ("m007_referrer_identity", _m007_referrer_identity),
    ("m008_run_fingerprints", _m008_run_fingerprints),
    ("m009_unsubscribes", _m009_unsubscribes),
    ("m010_staff_sessions", _m010_staff_sessions),
    ("m011_run_leases", _m011_run_leases),
    ("m012_api_replies", _m012_api_replies),
    ("m013_run_settings", _m013_run_settings),
    ("m014_api_tokens", _m014_api_tokens),
    ("m015_search", _m015_search),
    ("m016_owners_and_locations", _m016_owners_and_locations),
    ("m017_webhooks", _m017_webhooks),
    ("m018_reminders", _m018_reminders),
    ("m019_mail_pieces", _m019_mail_pieces),
]

# The current schema, for queries: the initial one plus each later migration's changes.
metadata = sa.MetaData()
_initial_schema(metadata)
batches = metadata.tables["batches"]
batches.append_column(sa.Column("fingerprint", sa.String(64)))
batches.append_column(sa.Column("settings", sa.Text))
certificates = metadata.tables["certificates"]
events = metadata.tables["events"]
for _column in _lifecycle_columns():
    certificates.append_column(_column)
certificates.append_column(sa.Column("referrer_key", sa.Text))
certificates.append_column(sa.Column("search_key", sa.Text))
certificates.append_column(sa.Column("redeemed_location", sa.Text))
certificates.append_column(sa.Column("variant", sa.Text))
certificates.append_column(sa.Column("viewed_at", sa.String(32)))
certificates.append_column(sa.Column("mail_piece", sa.Text))  # its IMb's 20 + routing digits
_staff_and_notifications(metadata)
staff = metadata.tables["staff"]
staff.append_column(sa.Column("role", sa.String(20), nullable=False, server_default="staff"))
staff.append_column(sa.Column("location", sa.Text))
notifications = metadata.tables["notifications"]
notifications.append_column(sa.Column("claimed_at", sa.String(32)))
_deliveries(metadata)
deliveries = metadata.tables["deliveries"]
_unsubscribes(metadata)
unsubscribes = metadata.tables["unsubscribes"]
_staff_sessions(metadata)
staff_sessions = metadata.tables["staff_sessions"]
sign_in_attempts = metadata.tables["sign_in_attempts"]
_run_leases(metadata)
run_leases = metadata.tables["run_leases"]
_api_replies(metadata)
api_replies = metadata.tables["api_replies"]
_api_tokens(metadata)
api_tokens = metadata.tables["api_tokens"]
_reminders(metadata)
reminders = metadata.tables["reminders"]
_mail_pieces(metadata)
imb_serials = metadata.tables["imb_serials"]
imb_blocks = metadata.tables["imb_blocks"]
_webhooks(metadata)
webhooks = metadata.tables["webhooks"]
webhook_outbox = metadata.tables["webhook_outbox"]
migrations_table = sa.Table(
    "certgen_migrations",
    sa.MetaData(),
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("applied_at", sa.String(32), nullable=False),
)
