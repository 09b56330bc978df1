"""Webhooks: each event a receiver listens to, posted to it as JSON signed with HMAC-SHA256
over a timestamp and the body (Stripe's scheme), from the ledger's outbox.

At least once and in order per certificate: a delivery is done only when the receiver
answers 2xx; anything else (an error status, a redirect, a timeout, no connection) is tried
again later, with a growing wait, and given up after ``MAX_ATTEMPTS`` (``certgen webhooks
retry`` queues those again). A receiver that fails rests a little before its next delivery,
so one that is down is not hammered. A sender killed mid-post leaves its claims to be taken
over (at once on this machine, after ``STALE_CLAIM`` from another), so the event is posted
again: receivers deduplicate by the event's ``id``.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import secrets
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from certgen import __version__, codes, locks
from certgen.ledger import Ledger
from certgen.ledger.webhooks import WEBHOOK_EVENTS as WEBHOOK_EVENTS
from certgen.ledger.webhooks import Owed, Webhook

SIGNATURE_HEADER = "Certgen-Signature"
TIMEOUT = 10.0  # seconds a receiver has to answer
MAX_ATTEMPTS = 15  # about a day of retries (see ``retry_delay``)
STALE_CLAIM = 600.0  # seconds: a claim from another machine older than this is retaken
ROUND = 100  # deliveries claimed at a time
PERSON_PARTS = ("email", "phone", "id")


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def check_url(url: str) -> str:
    """A receiver's address as given, or a ValueError saying what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"webhook URL {url!r}: give a full http:// or https:// address, "
            "e.g. https://hooks.example.com/certgen"
        )
    if parts.username or parts.password:
        raise ValueError(
            f"webhook URL {url!r}: put no user or password in it; the receiver checks "
            "the Certgen-Signature header instead"
        )
    return url


def check_events(text: str | None) -> tuple[str, ...]:
    """``issued,redeemed`` as event kinds, every kind when not given."""
    if not text:
        return WEBHOOK_EVENTS
    kinds = tuple(dict.fromkeys(k.strip().lower() for k in text.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in WEBHOOK_EVENTS]
    if unknown or not kinds:
        raise ValueError(
            f"--events: {', '.join(unknown) or 'none given'} is not an event; "
            f"choose from {','.join(WEBHOOK_EVENTS)}"
        )
    return kinds


def sign(secret: str, body: bytes, at: int) -> str:
    """The signature header's value: ``t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">``."""
    mac = hmac.new(secret.encode(), str(at).encode() + b"." + body, hashlib.sha256)
    return f"t={at},v1={mac.hexdigest()}"


def retry_delay(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failure: 10 s, 20 s, 40 s, ... up to 6 h."""
    return float(min(10 * 2 ** (attempts - 1), 6 * 3600))


def pause(failures: int) -> float:
    """Seconds a receiver rests after ``failures`` failed posts in a row: 1 s, 2 s, ... 60 s."""
    return float(min(2 ** (failures - 1), 60))


def payload(owed: Owed) -> dict[str, Any]:
    """The body: the event as recorded and the certificate's issued facts. Made from what
    never changes, so every attempt at one delivery posts the same bytes."""
    c = owed.certificate
    data = json.loads(c["data_json"]) if c["code"] else {}

    def person(role: str) -> dict[str, str]:
        found = {"name": c[role]}
        for part in PERSON_PARTS:
            if data.get(f"{role}_{part}"):
                found[part] = data[f"{role}_{part}"]
        return found

    certificate = (
        {
            "code": codes.display(c["code"]),
            "batch": c["batch_id"],
            "design": c["design"],
            "variant": c["variant"],
            "issued_at": c["issued_at"],
            "expires_on": c["expires_on"],
            "giver": person("giver"),
            "recipient": person("recipient"),
            "referrer": c["referrer_key"],
        }
        if c["code"]
        else None
    )
    return {
        "id": f"evt_{owed.event_id}",
        "type": owed.kind,
        "created": owed.at,
        "actor": owed.actor,
        "channel": owed.channel,
        "detail": owed.detail,
        "certificate": certificate,
    }


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class Poster:
    """Posts to receivers, keeping one connection open per receiver's host."""

    timeout: float = TIMEOUT
    connections: dict[tuple[str, str], http.client.HTTPConnection] = field(default_factory=dict)

    def post(self, url: str, secret: str, body: bytes, delivery: str, kind: str) -> str | None:
        """None when the receiver answered 2xx, else what went wrong."""
        parts = urlsplit(url)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"certgen/{__version__}",
            "Certgen-Event": kind,
            "Certgen-Delivery": delivery,
            SIGNATURE_HEADER: sign(secret, body, int(time.time())),
        }
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        key = (parts.scheme, parts.netloc)
        for fresh in (False, True):  # a kept connection the receiver closed: once more, new
            conn = self._connection(key, fresh)
            reused = not fresh and getattr(conn, "sock", None) is not None
            try:
                conn.request("POST", target, body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read(64 * 1024)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close(key)
                if reused:
                    continue
                return "the receiver closed the connection without answering"
            except TimeoutError:
                self.close(key)
                return f"no answer within {self.timeout:g} s"
            except (OSError, http.client.HTTPException) as exc:
                self.close(key)
                return _describe(exc)
            if 200 <= response.status < 300:
                if response.will_close:
                    self.close(key)
                return None
            self.close(key)  # a receiver in trouble: the next attempt starts afresh
            text = answer.decode("utf-8", "replace").strip()[:200]
            if 300 <= response.status < 400:
                where = response.getheader("Location", "")
                return (
                    f"HTTP {response.status} to {where!r}: redirects are not followed; "
                    "register that URL"
                )
            return f"HTTP {response.status}" + (f": {text}" if text else "")
        return "the receiver closed the connection without answering"

    def _connection(self, key: tuple[str, str], fresh: bool) -> http.client.HTTPConnection:
        if fresh:
            self.close(key)
        if key not in self.connections:
            scheme, netloc = key
            if scheme == "https":
                self.connections[key] = http.client.HTTPSConnection(
                    netloc, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                self.connections[key] = http.client.HTTPConnection(netloc, timeout=self.timeout)
        return self.connections[key]

    def close(self, key: tuple[str, str] | None = None) -> None:
        for k in [key] if key else list(self.connections):
            conn = self.connections.pop(k, None) if k else None
            if conn is not None:
                conn.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: nothing listens at that address"
    if isinstance(exc, socket.gaierror):
        return f"the host name does not resolve ({exc.strerror})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    return f"{type(exc).__name__}: {exc}"


@dataclass
class Tally:
    delivered: int = 0
    failed: int = 0  # attempts that failed (to be tried again, or given up)
    given_up: int = 0

    def add(self, other: Tally) -> None:
        self.delivered += other.delivered
        self.failed += other.failed
        self.given_up += other.given_up


@dataclass
class Sender:
    """Delivers what the outbox owes, a round at a time."""

    ledger: Ledger
    timeout: float = TIMEOUT
    clock: Callable[[], float] = time.time
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    def __post_init__(self) -> None:
        self.poster = Poster(self.timeout)

    def round(self, limit: int = ROUND) -> Tally:
        """Claim what is due (up to ``limit``), post it, record each result."""
        tally = Tally()
        now = self.clock()
        owed = self.ledger.claim_webhook_deliveries(self.owner, now, limit, self._dead(now))
        down: set[int] = set()  # receivers that failed this round: the rest of theirs wait
        untried = []
        for item in owed:
            if item.webhook_id in down:
                untried.append(item.id)
                continue
            error = self.poster.post(
                item.url, item.secret, encode(payload(item)), str(item.id), item.kind
            )
            at = self.clock()
            if error is None:
                self.ledger.finish_webhook_delivery(item, error=None, now=at)
                tally.delivered += 1
                continue
            attempts = item.attempts + 1
            retry_at = at + retry_delay(attempts) if attempts < MAX_ATTEMPTS else None
            rest = pause(item.failures + 1)
            self.ledger.finish_webhook_delivery(
                item, error=error, now=at, retry_at=retry_at, pause_until=at + rest
            )
            tally.failed += 1
            tally.given_up += retry_at is None
            down.add(item.webhook_id)
        self.ledger.release_webhook_deliveries(untried)
        return tally

    def drain(self, limit: int | None = None) -> Tally:
        """Rounds until nothing more is due now (or ``limit`` attempts are made)."""
        tally = Tally()
        while limit is None or tally.delivered + tally.failed < limit:
            left = ROUND if limit is None else min(ROUND, limit - tally.delivered - tally.failed)
            done = self.round(left)
            tally.add(done)
            if done.delivered + done.failed == 0:
                break
        return tally

    def run(self, stop: threading.Event, every: float = 2.0) -> None:
        """Deliver until ``stop`` is set, looking for new events every ``every`` seconds
        (``certgen serve`` and ``webhooks deliver --watch``)."""
        while not stop.is_set():
            try:
                self.drain()
            except Exception as exc:  # the ledger busy or away: the next look tries again
                sys.stderr.write(f"certgen: webhooks: {exc}; trying again\n")
            stop.wait(every)
        self.poster.close()

    def _dead(self, now: float) -> set[str]:
        """Senders whose claims may be taken over: gone from this machine, or too old."""
        dead = set()
        for owner, oldest in self.ledger.webhook_claims():
            if owner == self.owner:
                continue
            host, _, pid = owner.rpartition(":")
            alive = pid.isdigit() and locks.process_alive(host, int(pid))
            if not alive or oldest < now - STALE_CLAIM:
                dead.add(owner)
        return dead


def send_test(hook: Webhook, timeout: float = TIMEOUT) -> tuple[str | None, float]:
    """Post a signed ``ping`` to a receiver now, outside the outbox: what went wrong (None
    if it answered 2xx) and how long it took."""
    body = encode(
        {
            "id": f"evt_test_{secrets.token_hex(6)}",
            "type": "ping",
            "created": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
            "detail": {"message": "certgen webhooks test: the signature checks out"},
            "certificate": None,
        }
    )
    poster = Poster(timeout)
    started = time.perf_counter()
    try:
        error = poster.post(hook.url, hook.secret, body, "test", "ping")
    finally:
        poster.close()
    return error, time.perf_counter() - started
